/**
 * npm run bench:browser-upload — a folder of many small files uploaded in Chromium, end to end:
 * Coffer from the production build in its own process (embedded PostgreSQL, local disk, or S3
 * on Swift with BENCH_ONLY=s3), Debian's Chromium driven by @playwright/test's launcher (as the
 * e2e config starts it), a logged-in user on a folder page. The clock runs from choosing the
 * folder with "Choose a folder" until the upload panel says every file is uploaded; the database
 * must then hold every file in the folder it recreated. Prints files per second (goal ≥ 150 for 1,000 files) with the
 * load average; asserts nothing.
 *
 * Knobs (env): BENCH_BROWSER_FILES (1000), BENCH_BROWSER_FILE_SIZE (64KiB), BENCH_ROUNDS (1),
 * BENCH_ONLY (local|s3; local), BENCH_CHROMIUM (/usr/bin/chromium), BENCH_BROWSER_PROFILE (a path: the
 * page's CPU profile of each round is written beside it).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "@playwright/test";
import pg from "pg";
import { parseByteSize } from "../app/config.server";
import { formatBytes } from "../app/lib/format";
import { startEmbeddedPostgres } from "../app/services/embedded-postgres.server";
import { freePort } from "../tests/setup/free-port";
import { startS3 } from "../tests/setup/s3";
import { startAppProcess } from "./lib/app-process";
import { cleanUpOnSignals, onCleanup, runBenchmark } from "./lib/cleanup";
import { registerBenchUser, type BenchAccount } from "./lib/account";

const env = (name: string, fallback: string) => process.env[name] || fallback;
const FILES = Number(env("BENCH_BROWSER_FILES", "1000"));
const FILE_SIZE = parseByteSize(env("BENCH_BROWSER_FILE_SIZE", "64KiB"))!;
const ROUNDS = Number(env("BENCH_ROUNDS", "1"));
const ONLY = env("BENCH_ONLY", "local");
const CHROMIUM = env("BENCH_CHROMIUM", "/usr/bin/chromium");
/** Where to write the page's CPU profile of each round (<path>.round-N.cpuprofile), if anywhere. */
const BROWSER_PROFILE = process.env.BENCH_BROWSER_PROFILE;
const GOAL = 150;

async function main() {
  cleanUpOnSignals();
  if (!fs.existsSync(path.resolve(import.meta.dirname, "../build/server/index.js"))) {
    throw new Error("No production build: run `npm run build` first.");
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-bench-browser-"));
  fs.chmodSync(work, 0o755);
  onCleanup("remove temp dir", () => fs.rmSync(work, { recursive: true, force: true }));

  const pg = await startEmbeddedPostgres({ dataDir: path.join(work, "pg", "data"), port: await freePort(), database: "coffer_bench" });
  onCleanup("stop embedded Postgres", () => pg.stop(), 20_000);
  const dataDir = path.join(work, "data");
  fs.mkdirSync(dataDir, { recursive: true });
  let s3Env: Record<string, string> = {};
  if (ONLY === "s3") {
    const s3 = await startS3(path.join(work, "s3"));
    onCleanup("stop the Swift S3 server", () => s3.stop(), 60_000);
    s3Env = {
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY: s3.accessKey,
      S3_SECRET_KEY: s3.secretKey,
      S3_REGION: s3.region,
      S3_BUCKET: "coffer-bench",
    };
  }
  const app = await startAppProcess({
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    DATA_DIR: dataDir,
    DATABASE_URL: pg.url,
    SESSION_SECRET: "bench-secret-that-is-at-least-32-characters-long",
    // The benchmark measures the app, not its per-IP limits (every request comes from 127.0.0.1).
    RATE_LIMIT_API: "1000000/1m",
    RATE_LIMIT_GENERAL: "1000000/1m",
    TMPDIR: dataDir,
    ...s3Env,
  });
  onCleanup("stop server", () => app.stop(), 20_000);
  console.log(
    `bench:browser-upload: ${FILES} files of ${formatBytes(FILE_SIZE)} as one chosen folder, ${ONLY === "s3" ? "S3 (Swift)" : "local disk"}, ` +
      `${ROUNDS} round(s); Coffer at ${app.url}, ${os.cpus().length} CPUs`,
  );

  // The folder to choose: FILES files in one directory.
  const source = path.join(work, "photos");
  fs.mkdirSync(source);
  const payload = randomBytes(FILE_SIZE);
  for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(source, `photo-${String(i).padStart(5, "0")}.bin`), payload);

  const account = await registerBenchUser(app.url, "browser");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-dev-shm-usage",
    ],
  });
  onCleanup("close Chromium", () => browser.close(), 20_000);
  const context = await browser.newContext({ baseURL: app.url });
  await context.addCookies(
    account.cookie.split("; ").map((pair) => {
      const [name, ...value] = pair.split("=");
      return { name: name!, value: value.join("="), url: app.url };
    }),
  );
  const page = await context.newPage();

  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const folderId = await createFolder(app.url, account, `round-${round + 1}`);
    await page.goto(`/files/${folderId}`);
    await page.getByTestId("tus-folder-input").waitFor({ state: "attached" });
    const load = os.loadavg()[0]!;
    const profiler = BROWSER_PROFILE ? await page.context().newCDPSession(page) : undefined;
    if (profiler) {
      await profiler.send("Profiler.enable");
      await profiler.send("Profiler.start");
    }
    const started = performance.now();
    await page.getByTestId("tus-folder-input").setInputFiles(source);
    await page.waitForFunction(
      (n) => {
        const totals = document.querySelector("[data-testid=upload-totals]")?.textContent ?? "";
        if (document.querySelector("[data-testid=upload-item][data-status=error]")) throw new Error(`an upload failed: ${totals}`);
        return totals.startsWith(`${n} of ${n} files`);
      },
      FILES,
      { timeout: 30 * 60_000, polling: 100 },
    );
    const seconds = (performance.now() - started) / 1000;
    if (profiler) {
      const { profile } = await profiler.send("Profiler.stop");
      fs.writeFileSync(`${BROWSER_PROFILE}.round-${round + 1}.cpuprofile`, JSON.stringify(profile));
    }
    rates.push(FILES / seconds);
    console.log(
      `  round ${round + 1}: ${FILES} files in ${seconds.toFixed(1)} s = ${(FILES / seconds).toFixed(1)} files/s ` +
        `(load ${load.toFixed(1)} → ${os.loadavg()[0]!.toFixed(1)})`,
    );
    await assertStored(pg.url, folderId);
  }
  const sorted = [...rates].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  console.log(
    `\nBrowser folder upload, ${FILES} files of ${formatBytes(FILE_SIZE)}: ${median.toFixed(1)} files/s (median of ${ROUNDS}; goal ≥ ${GOAL}), ` +
      `load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`,
  );
}

/** Every file was recorded, in the folder recreated under `parentId`. */
async function assertStored(databaseUrl: string, parentId: string) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      "SELECT count(*) AS n FROM files f JOIN folders d ON d.id = f.folder_id WHERE d.parent_id = $1 AND f.trashed_at IS NULL",
      [parentId],
    );
    if (Number(rows[0]?.n) !== FILES) throw new Error(`the server recorded ${rows[0]?.n} files, expected ${FILES}`);
  } finally {
    await client.end();
  }
}

async function createFolder(url: string, { cookie, csrfToken }: BenchAccount, name: string): Promise<string> {
  const response = await fetch(`${url}/files`, {
    method: "POST",
    headers: { cookie, "x-csrf-token": csrfToken, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ intent: "create-folder", name, open: "1" }),
    redirect: "manual",
  });
  const id = response.headers.get("location")?.split("/").pop();
  if (response.status !== 302 || !id) throw new Error(`creating folder ${name} failed: ${response.status}`);
  return id;
}

runBenchmark(main);
