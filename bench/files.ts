/**
 * npm run bench:files — many small files through the whole app (its own process, production
 * build, embedded PostgreSQL):
 *   1. BENCH_SMALL_FILES small files uploaded through tus, BENCH_PARALLEL at a time, on local disk
 *      and on S3 (Swift s3api on loopback), each against a bare @tus/server with the tus store
 *      as published (bench/lib/bare-tus-server.ts: no Express, auth, database or hooks) driven by the same
 *      tus-js-client settings in the same run. Rounds alternate the contenders; medians are
 *      printed with the ratio Coffer ÷ bare (goal ≥ 0.7, not asserted) and the load average;
 *   2. a ZIP of BENCH_ZIP_FILES files streamed from a share link (local disk): throughput and the
 *      server's peak RSS.
 * Prints figures; asserts nothing. Knobs (env): BENCH_SMALL_FILES (200), BENCH_SMALL_SIZE (64KiB),
 * BENCH_PARALLEL (16), BENCH_ROUNDS (3), BENCH_ONLY (local|s3), BENCH_CREATION_WITH_UPLOAD (1:
 * tus-js-client's uploadDataDuringCreation, as Coffer's browser client; 0: POST, then PATCH),
 * BENCH_ZIP_FILES (1000; 0 skips the ZIP), BENCH_ZIP_FILE_SIZE (256KiB), BENCH_REQUEST_TIMES (1: each tus
 * request's time by method), BENCH_BARE_STORE (plain: @tus/file-store and @tus/s3-store as published;
 * coffer: Coffer's own stores behind the bare server), BENCH_PG_FLAGS (PostgreSQL server flags, e.g. "-c synchronous_commit=off"),
 * BENCH_BEFORE_BUILD (a copy of an earlier build/: a "Coffer before" row on each storage, in the same rounds),
 * BENCH_QUERY_COUNTS (1: Coffer's Prisma statements per file, by model and operation, from its /metrics).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tus from "tus-js-client";
import { parseByteSize } from "../app/config.server";
import { formatBytes } from "../app/lib/format";
import { startEmbeddedPostgres } from "../app/services/embedded-postgres.server";
import { freePort } from "../tests/setup/free-port";
import { startS3 } from "../tests/setup/s3";
import { BARE_TUS_SERVER, startAppProcess, type AppProcess } from "./lib/app-process";
import { cleanUpOnSignals, onCleanup, runBenchmark } from "./lib/cleanup";
import { cpuMeter, processTreeCpuSeconds, readProcessMemory, resetPeakRss, sampleRss } from "./lib/proc";
import { registerBenchUser, type BenchAccount } from "./lib/account";

const env = (name: string, fallback: string) => process.env[name] || fallback;
const SMALL_FILES = Number(env("BENCH_SMALL_FILES", "200"));
const SMALL_SIZE = parseByteSize(env("BENCH_SMALL_SIZE", "64KiB"))!;
const PARALLEL = Number(env("BENCH_PARALLEL", "16"));
const ROUNDS = Number(env("BENCH_ROUNDS", "3"));
const ONLY = env("BENCH_ONLY", "both");
const CREATION_WITH_UPLOAD = !/^(0|false|no)$/i.test(env("BENCH_CREATION_WITH_UPLOAD", "1"));
const ZIP_FILES = Number(env("BENCH_ZIP_FILES", "1000"));
const ZIP_FILE_SIZE = parseByteSize(env("BENCH_ZIP_FILE_SIZE", "256KiB"))!;
/** The bare server's store: "plain" (@tus/file-store, @tus/s3-store as published) or "coffer" (Coffer's own). */
const BARE_STORE = env("BENCH_BARE_STORE", "plain");
const REQUEST_TIMES = /^(1|true|yes)$/i.test(env("BENCH_REQUEST_TIMES", "0"));
const QUERY_COUNTS = /^(1|true|yes)$/i.test(env("BENCH_QUERY_COUNTS", "0"));
const METRICS_TOKEN = "bench-metrics-token-0123456789";
const BEFORE_BUILD = process.env.BENCH_BEFORE_BUILD ? path.resolve(process.env.BENCH_BEFORE_BUILD) : undefined;
const BUCKET = "coffer-bench";

/** One server to upload small files to: a bare tus server or Coffer (then with a logged-in user and a folder). */
interface Contender {
  label: string;
  storage: "local" | "S3";
  bare: boolean;
  server: AppProcess;
  account?: BenchAccount;
  cookie?: string;
  folderId?: string;
  rates: number[];
  loads: number[];
  /** CPU milliseconds per file: the server's, and PostgreSQL's (all its processes). */
  serverCpu: number[];
  postgresCpu: number[];
  /** Each tus request's time by method (BENCH_REQUEST_TIMES=1). */
  requestTimes?: Map<string, number[]>;
}

async function main() {
  cleanUpOnSignals();
  if (!fs.existsSync(path.resolve(import.meta.dirname, "../build/server/index.js"))) {
    throw new Error("No production build: run `npm run build` first.");
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-bench-files-"));
  fs.chmodSync(work, 0o755);
  onCleanup("remove temp dir", () => fs.rmSync(work, { recursive: true, force: true }));

  const pg = await startEmbeddedPostgres({
    dataDir: path.join(work, "pg", "data"),
    port: await freePort(),
    database: "coffer_bench",
    postgresFlags: (process.env.BENCH_PG_FLAGS ?? "").split(/\s+/).filter(Boolean),
  });
  onCleanup("stop embedded Postgres", () => pg.stop(), 20_000);
  const appEnv = (name: string): Record<string, string> => {
    const dataDir = path.join(work, name);
    fs.mkdirSync(dataDir, { recursive: true });
    return {
      NODE_ENV: "production",
      LOG_LEVEL: "warn",
      DATA_DIR: dataDir,
      DATABASE_URL: pg.url,
      SESSION_SECRET: "bench-secret-that-is-at-least-32-characters-long",
      // The benchmark measures the app, not its per-IP limits (every request comes from 127.0.0.1).
      RATE_LIMIT_API: "1000000/1m",
      RATE_LIMIT_GENERAL: "1000000/1m",
      TMPDIR: dataDir,
      ...(QUERY_COUNTS ? { METRICS_TOKEN } : {}),
    };
  };
  const start = async (env: Record<string, string>, script?: string) => {
    const app = await startAppProcess(env, script);
    onCleanup(`stop server (pid ${app.pid})`, () => app.stop(), 20_000);
    return app;
  };
  console.log(
    `bench:files: ${SMALL_FILES} files of ${formatBytes(SMALL_SIZE)}, ${PARALLEL} at once, ${ROUNDS} rounds, ` +
      `creation-with-upload ${CREATION_WITH_UPLOAD ? "on" : "off"}; ${os.cpus().length} CPUs, Node ${process.version}`,
  );

  const contenders: Contender[] = [];
  const add = async (storage: Contender["storage"], bare: boolean, env: Record<string, string>, before = false) => {
    const server = await start(
      bare ? { ...env, BENCH_BARE_STORE: BARE_STORE } : before ? { ...env, COFFER_BENCH_BUILD: BEFORE_BUILD! } : env,
      bare ? BARE_TUS_SERVER : undefined,
    );
    const contender: Contender = {
      label: `${storage}: ${
        bare
          ? `bare @tus/server, ${BARE_STORE === "plain" ? (storage === "S3" ? "@tus/s3-store" : "@tus/file-store") : "Coffer's store"}`
          : before
            ? "Coffer before"
            : "Coffer"
      }`,
      storage,
      bare,
      server,
      rates: [],
      loads: [],
      serverCpu: [],
      postgresCpu: [],
      requestTimes: REQUEST_TIMES ? new Map() : undefined,
    };
    if (!bare) {
      const account = await registerBenchUser(server.url, `files-${storage}${before ? "-before" : ""}`);
      contender.account = account;
      contender.cookie = account.cookie;
      contender.folderId = await createFolder(server.url, account, "small");
    }
    contenders.push(contender);
    return contender;
  };
  let localCoffer: { contender: Contender; account?: BenchAccount } | undefined;
  if (ONLY !== "s3") {
    await add("local", true, appEnv("bare-local"));
    localCoffer = {
      contender: await add("local", false, appEnv("coffer-local")),
    };
    if (BEFORE_BUILD) await add("local", false, appEnv("coffer-before-local"), true);
  }
  if (ONLY !== "local") {
    const s3Dir = path.join(work, "s3");
    const s3 = await startS3(s3Dir);
    onCleanup("stop the Swift S3 server", () => s3.stop(), 60_000);
    const s3Env = {
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY: s3.accessKey,
      S3_SECRET_KEY: s3.secretKey,
      S3_REGION: s3.region,
      S3_BUCKET: BUCKET,
    };
    await add("S3", true, { ...appEnv("bare-s3"), ...s3Env });
    await add("S3", false, { ...appEnv("coffer-s3"), ...s3Env });
    if (BEFORE_BUILD) await add("S3", false, { ...appEnv("coffer-before-s3"), ...s3Env }, true);
  }

  const payload = randomBytes(Math.max(SMALL_SIZE, ZIP_FILE_SIZE));
  const small = payload.subarray(0, SMALL_SIZE);
  for (const c of contenders) await uploadMany(c.server.url, c.cookie, c.folderId, 16, small, PARALLEL, `warmup-`);
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const c = contenders[(i + round) % contenders.length]!;
      const postmaster = Number(fs.readFileSync(path.join(work, "pg", "data", "postmaster.pid"), "utf8").split("\n")[0]);
      const meter = cpuMeter({ server: [c.server.pid] });
      const postgresBefore = processTreeCpuSeconds(postmaster);
      const queriesBefore = QUERY_COUNTS && !c.bare ? await queryCounts(c.server.url) : undefined;
      const started = performance.now();
      await uploadMany(c.server.url, c.cookie, c.folderId, SMALL_FILES, small, PARALLEL, `r${round}-`, c.requestTimes);
      const seconds = (performance.now() - started) / 1000;
      const cpu = meter.stop();
      const postgresSeconds = processTreeCpuSeconds(postmaster) - postgresBefore;
      c.rates.push(SMALL_FILES / seconds);
      c.loads.push(os.loadavg()[0]!);
      c.serverCpu.push((cpu.server! * 1000) / SMALL_FILES);
      c.postgresCpu.push((postgresSeconds * 1000) / SMALL_FILES);
      console.log(
        `  round ${round + 1}: ${c.label.padEnd(38)} ${(SMALL_FILES / seconds).toFixed(1).padStart(7)} files/s  ` +
          `CPU ms per file: server ${c.serverCpu.at(-1)!.toFixed(1)}, PostgreSQL ${c.postgresCpu
            .at(-1)!
            .toFixed(1)}  (load ${os.loadavg()[0]!.toFixed(1)})`,
      );
      if (queriesBefore) printQueriesPerFile(queriesBefore, await queryCounts(c.server.url));
    }
  }

  console.log(`\n${SMALL_FILES} files of ${formatBytes(SMALL_SIZE)}, ${PARALLEL} at once, median of ${ROUNDS} rounds:`);
  for (const c of contenders) {
    const rate = median(c.rates);
    const bare = c.bare ? undefined : contenders.find((o) => o.bare && o.storage === c.storage);
    const ratio = bare ? `  Coffer ÷ bare ${(rate / median(bare.rates)).toFixed(2)} (goal ≥ 0.70)` : "";
    console.log(
      `  ${c.label.padEnd(38)} ${rate.toFixed(1).padStart(7)} files/s  [${c.rates.map((r) => r.toFixed(1)).join(", ")}]${ratio}\n` +
        `      CPU ms per file (median): server ${median(c.serverCpu).toFixed(1)}, PostgreSQL ${median(c.postgresCpu).toFixed(1)}`,
    );
    for (const [method, times] of c.requestTimes ?? []) {
      const sorted = [...times].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1);
      console.log(
        `      ${method.padEnd(6)} ${String(times.length).padStart(5)} requests, ms: p50 ${at(0.5)}, p90 ${at(0.9)}, max ${at(1)}`,
      );
    }
  }
  console.log(
    `  load average during the rounds: ${Math.min(...contenders.flatMap((c) => c.loads)).toFixed(1)}–${Math.max(
      ...contenders.flatMap((c) => c.loads),
    ).toFixed(1)} (1 min)`,
  );

  if (ZIP_FILES > 0 && localCoffer) {
    const { server, account } = localCoffer.contender;
    await zipBenchmark(server, account!, payload.subarray(0, ZIP_FILE_SIZE));
  }
}

async function zipBenchmark(server: AppProcess, account: BenchAccount, data: Buffer) {
  const zipFolder = await createFolder(server.url, account, "zip");
  let started = performance.now();
  await uploadMany(server.url, account.cookie, zipFolder, ZIP_FILES, data, PARALLEL, "zip-");
  const setupSeconds = (performance.now() - started) / 1000;
  const token = await shareFolder(server.url, account, zipFolder);
  const baseline = readProcessMemory(server.pid).rss;
  resetPeakRss(server.pid);
  const sampler = sampleRss(server.pid);
  started = performance.now();
  const zipBytes = await download(`${server.url}/s/${token}/zip`);
  const zipSeconds = (performance.now() - started) / 1000;
  const memory = sampler.stop();
  console.log(`\nZIP (local disk, Coffer):`);
  console.log(`  ${ZIP_FILES} files of ${formatBytes(ZIP_FILE_SIZE)} uploaded first: ${(ZIP_FILES / setupSeconds).toFixed(1)} files/s`);
  console.log(
    `  ZIP of ${ZIP_FILES} files (${formatBytes(zipBytes)}) from a share link: ${(zipBytes / 2 ** 20 / zipSeconds).toFixed(
      1,
    )} MiB/s (${zipSeconds.toFixed(2)} s)`,
  );
  console.log(
    `  server RSS before the ZIP → peak during it: ${formatBytes(baseline)} → ${formatBytes(Math.max(memory.sampledPeak, memory.hwm))}`,
  );
}

async function createFolder(url: string, { cookie, csrfToken }: BenchAccount, name: string): Promise<string> {
  const response = await fetch(`${url}/files`, {
    method: "POST",
    headers: {
      cookie,
      "x-csrf-token": csrfToken,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ intent: "create-folder", name, open: "1" }),
    redirect: "manual",
  });
  const id = response.headers.get("location")?.split("/").pop();
  if (response.status !== 302 || !id) throw new Error(`creating folder ${name} failed: ${response.status}`);
  return id;
}

async function shareFolder(url: string, { cookie, csrfToken }: BenchAccount, folderId: string): Promise<string> {
  const response = await fetch(`${url}/shares`, {
    method: "POST",
    headers: {
      cookie,
      "x-csrf-token": csrfToken,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({
      intent: "create-link",
      item: `folder:${folderId}`,
      mode: "READ",
    }),
  });
  const token = /\/s\/([A-Za-z0-9_-]{20,})/.exec(await response.text())?.[1];
  if (!token) throw new Error(`creating a share link failed: ${response.status}`);
  return token;
}

/** Uploads `count` copies of `data` under distinct names, `parallel` at a time. */
async function uploadMany(
  url: string,
  cookie: string | undefined,
  folderId: string | undefined,
  count: number,
  data: Buffer,
  parallel: number,
  prefix: string,
  requestTimes?: Map<string, number[]>,
) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      await new Promise<void>((resolve, reject) => {
        const upload = new tus.Upload(data, {
          endpoint: `${url}/api/uploads`,
          headers: cookie ? { cookie } : {},
          metadata: {
            filename: `${prefix}${String(index).padStart(5, "0")}.bin`,
            ...(folderId ? { folderId } : {}),
          },
          uploadDataDuringCreation: CREATION_WITH_UPLOAD,
          ...(requestTimes ? timeRequests(requestTimes) : {}),
          // A busy machine can make Swift slow enough for Coffer's storage breaker to refuse
          // uploads for a moment (503): every contender retries, as browsers do.
          retryDelays: [500, 1000, 2000, 5000],
          storeFingerprintForResuming: false,
          onError: reject,
          onSuccess: () => resolve(),
        });
        upload.start();
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
}

/** Prisma statements run so far by model and operation (coffer_db_query_duration_seconds_count). */
async function queryCounts(url: string): Promise<Map<string, number>> {
  const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  const counts = new Map<string, number>();
  for (const match of (await response.text()).matchAll(/^coffer_db_query_duration_seconds_count\{([^}]*)\} (\d+)/gm)) {
    const labels = Object.fromEntries([...match[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    counts.set(`${labels.model}.${labels.operation}`, Number(match[2]));
  }
  return counts;
}

/** BENCH_QUERY_COUNTS=1: the statements a round ran, per file uploaded. */
function printQueriesPerFile(before: Map<string, number>, after: Map<string, number>) {
  const rows = [...after]
    .map(([key, count]) => [key, (count - (before.get(key) ?? 0)) / SMALL_FILES] as const)
    .filter(([, perFile]) => perFile > 0)
    .sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((sum, [, perFile]) => sum + perFile, 0);
  console.log(`      Prisma statements per file: ${total.toFixed(2)} (${rows.map(([k, n]) => `${k} ${n.toFixed(2)}`).join(", ")})`);
}

/** tus-js-client hooks that record each request's time (ms) under its method. */
function timeRequests(times: Map<string, number[]>): Pick<tus.UploadOptions, "onBeforeRequest" | "onAfterResponse"> {
  const started = new WeakMap<object, number>();
  return {
    onBeforeRequest: (req) => void started.set(req, performance.now()),
    onAfterResponse: (req) => {
      const list = times.get(req.getMethod()) ?? [];
      list.push(performance.now() - (started.get(req) ?? performance.now()));
      times.set(req.getMethod(), list);
    },
  };
}

async function download(url: string): Promise<number> {
  const response = await fetch(url);
  if (!response.ok || !response.body) throw new Error(`download failed: ${response.status}`);
  let bytes = 0;
  const reader = response.body.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) bytes += chunk.value.length;
  return bytes;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

runBenchmark(main);
