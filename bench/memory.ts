/**
 * Coffer's resting memory: starts the production build (bench/lib/server.ts, its own process)
 * and prints the server's VmRSS and V8 heap after start, after a warm-up of a few everyday
 * requests (register, list, a small tus upload, its download, a search) and after 10 s idle.
 * First with the embedded defaults (local disk, memory cache, Postgres search), then with S3
 * (Swift) and Redis. Prints a table; asserts nothing.
 *
 * The server runs as `npm start` runs it (package.json's environment and Node flags, see
 * startCommand in bench/lib/app-process.ts). Rounds alternate the configurations.
 *
 * Knobs (env): BENCH_ROUNDS (default 1; medians are reported), BENCH_ONLY=local|s3,
 * BENCH_COMPARE_BUILD=<dir>[,<dir>…] (each configuration again from those production builds, e.g.
 * a copy of `build/` made before a change and kept inside the repository so that it finds
 * node_modules; a package.json beside a build says how it starts), BENCH_SETTLE_SECONDS (default
 * 10); every MALLOC_* variable (glibc's malloc tunables, e.g. MALLOC_ARENA_MAX) is passed on to
 * the server, over what its start script sets.
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { startEmbeddedPostgres } from "../app/services/embedded-postgres.server";
import { freePort } from "../tests/setup/free-port";
import { startRedis } from "../tests/setup/redis";
import { startS3 } from "../tests/setup/s3";
import { registerBenchUser } from "./lib/account";
import { startAppProcess, type AppProcess } from "./lib/app-process";
import { cleanUpOnSignals, onCleanup, runBenchmark } from "./lib/cleanup";
import { readProcessMemory } from "./lib/proc";

const REPO = path.resolve(import.meta.dirname, "..");
const MiB = 2 ** 20;
const STAGES = ["after start", "after warm-up", "after settle"] as const;
type Stage = (typeof STAGES)[number];
interface Sample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}
type Run = Record<Stage, Sample>;

async function main() {
  cleanUpOnSignals();
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const rounds = Number(process.env.BENCH_ROUNDS || 1);
  const only = process.env.BENCH_ONLY || "both";
  const settleSeconds = Number(process.env.BENCH_SETTLE_SECONDS || 10);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`BENCH_ROUNDS="${process.env.BENCH_ROUNDS}" is not a positive whole number`);
  if (!["both", "local", "s3"].includes(only)) throw new Error(`BENCH_ONLY="${only}" is not local or s3`);
  ensureBuild();

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-bench-memory-"));
  // Embedded Postgres runs as the `postgres` user when we are root; it must reach its directory.
  fs.chmodSync(work, 0o755);
  onCleanup("remove temp dir", () => fs.rmSync(work, { recursive: true, force: true }));
  console.log(
    `Coffer resting-memory benchmark: ${rounds} round(s), settle ${settleSeconds} s, MALLOC_* from here: ${mallocVariables() || "none"}, Node ${process.version}, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );

  const postgres = await startEmbeddedPostgres({
    dataDir: path.join(work, "pg", "data"),
    port: await freePort(),
    database: "coffer_bench",
  });
  onCleanup("stop embedded Postgres", () => postgres.stop(), 20_000);
  const baseEnv = (dataDir: string, databaseUrl: string): Record<string, string> => ({
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    SESSION_SECRET: "bench-secret-that-is-at-least-32-characters-long",
    TMPDIR: work,
    ...Object.fromEntries(
      Object.entries(process.env).filter(([name, value]) => name.startsWith("MALLOC_") && value) as Array<[string, string]>,
    ),
  });

  const configurations: Array<{ label: string; env: () => Promise<Record<string, string>> }> = [];
  if (only !== "s3") configurations.push({ label: "local disk, memory cache", env: async () => ({}) });
  if (only !== "local") {
    let extra: Record<string, string> | undefined;
    configurations.push({
      label: "S3 (Swift), Redis",
      env: async () => {
        if (extra) return extra;
        const s3Dir = path.join(work, "s3");
        onCleanup("stop the Swift S3 server", () => stopSwift(s3Dir), 60_000);
        const s3 = await startS3(s3Dir);
        const redis = await startRedis(path.join(work, "redis"));
        onCleanup("stop Redis", () => redis.stop());
        extra = {
          S3_ENDPOINT: s3.endpoint,
          S3_ACCESS_KEY: s3.accessKey,
          S3_SECRET_KEY: s3.secretKey,
          S3_REGION: s3.region,
          S3_BUCKET: "coffer-bench-memory",
          REDIS_URL: redis.url,
        };
        return extra;
      },
    });
  }

  // BENCH_COMPARE_BUILD=<dir>[,<dir>…]: each configuration again from other production builds (see
  // bench/folder-pages.ts); each runs as the package.json beside it says `npm start` runs it.
  const compareBuilds = (process.env.BENCH_COMPARE_BUILD ?? "")
    .split(",")
    .filter(Boolean)
    .map((dir) => path.resolve(dir));
  for (const { label, env } of configurations.slice()) {
    for (const compareBuild of compareBuilds) {
      configurations.push({
        label: `${label} [${path.relative(REPO, compareBuild)}]`,
        env: async () => ({ ...(await env()), COFFER_BENCH_BUILD: compareBuild }),
      });
    }
  }

  // Rounds alternate the configurations, so that a busy minute on the machine weighs on all of them.
  const results = configurations.map(({ label }) => ({ label, runs: [] as Run[] }));
  for (let round = 1; round <= rounds; round++) {
    for (const [index, { label, env }] of configurations.entries()) {
      const dataDir = path.join(work, `app-${index}-${round}`);
      fs.mkdirSync(dataDir, { recursive: true });
      // A fresh database per run: every run starts from the same empty state.
      const databaseUrl = await createDatabase(postgres.url, `coffer_memory_${index}_${round}`);
      const app = await startAppProcess({ ...baseEnv(dataDir, databaseUrl), ...(await env()) });
      onCleanup(`stop server (pid ${app.pid})`, () => app.stop(), 20_000);
      try {
        const run = {} as Run;
        run["after start"] = await sample(app);
        await warmUp(app.url);
        run["after warm-up"] = await sample(app);
        await new Promise((resolve) => setTimeout(resolve, settleSeconds * 1000));
        run["after settle"] = await sample(app);
        results[index]!.runs.push(run);
        console.log(`${label}, round ${round}: ${STAGES.map((stage) => `${stage} ${fmt(run[stage].rss)} MiB`).join(", ")}`);
      } finally {
        await app.stop();
      }
    }
  }
  printTable(results, rounds, settleSeconds);
}

async function createDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function sample(app: AppProcess): Promise<Sample> {
  const heap = await app.memoryUsage();
  return { rss: readProcessMemory(app.pid).rss, heapUsed: heap.heapUsed, heapTotal: heap.heapTotal, external: heap.external };
}

/** What a first visit does: register, list, upload a small file through tus, download it, search. */
async function warmUp(url: string) {
  const { cookie } = await registerBenchUser(url, "memory");
  const get = async (pathname: string) => {
    const response = await fetch(`${url}${pathname}`, { headers: { cookie } });
    if (!response.ok) throw new Error(`GET ${pathname}: ${response.status}`);
    return Buffer.from(await response.arrayBuffer());
  };
  await get("/files");
  const content = Buffer.from("Coffer resting-memory warm-up: a small text file.\n".repeat(200));
  const created = await fetch(`${url}/api/uploads`, {
    method: "POST",
    headers: {
      cookie,
      "Tus-Resumable": "1.0.0",
      "Upload-Length": String(content.length),
      "Upload-Metadata": `filename ${Buffer.from("warm-up.txt").toString("base64")}`,
    },
  });
  if (created.status !== 201) throw new Error(`tus POST: ${created.status} ${await created.text()}`);
  const patched = await fetch(new URL(created.headers.get("location")!, url), {
    method: "PATCH",
    headers: { cookie, "Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream" },
    body: content,
  });
  const fileId = patched.headers.get("coffer-file-id");
  if (patched.status !== 204 || !fileId) throw new Error(`tus PATCH: ${patched.status} ${await patched.text()}`);
  const downloaded = await get(`/download/${fileId}`);
  if (!downloaded.equals(content)) throw new Error("the downloaded file differs from the uploaded one");
  await get("/files");
  await get("/search?q=warm");
}

function printTable(results: Array<{ label: string; runs: Run[] }>, rounds: number, settleSeconds: number) {
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const header = ["configuration", "stage", "RSS MiB", "heap used MiB", "heap total MiB", "external MiB"];
  const lines = results.flatMap(({ label, runs }) =>
    STAGES.map((stage) => {
      const of = (field: keyof Sample) => fmt(median(runs.map((run) => run[stage][field])));
      return [label, stage, of("rss"), of("heapUsed"), of("heapTotal"), of("external")];
    }),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(
    `\nCoffer server process (production build), ${rounds > 1 ? `median of ${rounds} rounds` : "1 round"}; settle = ${settleSeconds} s idle after the warm-up.\n`,
  );
  console.log(format(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const line of lines) console.log(format(line));
}

const mallocVariables = () =>
  Object.entries(process.env)
    .filter(([name, value]) => name.startsWith("MALLOC_") && value)
    .map(([name, value]) => `${name}=${value}`)
    .join(" ");

const fmt = (bytes: number) => (bytes / MiB).toFixed(0);

function ensureBuild() {
  if (fs.existsSync(path.join(REPO, "build/server/index.js"))) return;
  console.log("No production build (build/server/index.js): running `npm run build` first…");
  const result = spawnSync("npm", ["run", "build"], { cwd: REPO, stdio: "inherit" });
  if (result.status !== 0) throw new Error("`npm run build` failed; fix the build, then run the benchmark again");
}

function stopSwift(dir: string) {
  if (!fs.existsSync(dir)) return;
  execFileSync("bash", [path.join(REPO, "scripts/s3-test-server.sh"), "stop", dir, "--purge"], { stdio: "ignore", timeout: 60_000 });
}

runBenchmark(main);
