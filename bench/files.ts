/**
 * npm run bench:files — many small files through the whole app (its own process, local-disk
 * driver, embedded PostgreSQL):
 *   1. 100 small files uploaded in parallel through tus: files per second;
 *   2. a ZIP of 1,000 files streamed from a share link: throughput and the server's peak RSS.
 * Prints figures; asserts nothing. Knobs (env): BENCH_SMALL_FILES (100), BENCH_SMALL_SIZE (64KiB),
 * BENCH_PARALLEL (16), BENCH_ZIP_FILES (1000), BENCH_ZIP_FILE_SIZE (256KiB).
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
import { startAppProcess } from "./lib/app-process";
import { cleanUpOnSignals, cleanup, onCleanup } from "./lib/cleanup";
import { readProcessMemory, resetPeakRss, sampleRss } from "./lib/proc";
import { registerBenchUser, type BenchAccount } from "./lib/account";

const env = (name: string, fallback: string) => process.env[name] || fallback;
const SMALL_FILES = Number(env("BENCH_SMALL_FILES", "100"));
const SMALL_SIZE = parseByteSize(env("BENCH_SMALL_SIZE", "64KiB"))!;
const PARALLEL = Number(env("BENCH_PARALLEL", "16"));
const ZIP_FILES = Number(env("BENCH_ZIP_FILES", "1000"));
const ZIP_FILE_SIZE = parseByteSize(env("BENCH_ZIP_FILE_SIZE", "256KiB"))!;

async function main() {
  cleanUpOnSignals();
  if (!fs.existsSync(path.resolve(import.meta.dirname, "../build/server/index.js"))) {
    throw new Error("No production build: run `npm run build` first.");
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-bench-files-"));
  fs.chmodSync(work, 0o755);
  onCleanup("remove temp dir", () => fs.rmSync(work, { recursive: true, force: true }));

  const pg = await startEmbeddedPostgres({ dataDir: path.join(work, "pg", "data"), port: await freePort(), database: "coffer_bench" });
  onCleanup("stop embedded Postgres", () => pg.stop(), 20_000);
  const dataDir = path.join(work, "data");
  fs.mkdirSync(dataDir, { recursive: true });
  const app = await startAppProcess({
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    DATA_DIR: dataDir,
    DATABASE_URL: pg.url,
    SESSION_SECRET: "bench-secret-that-is-at-least-32-characters-long",
    // The benchmark measures the app, not its per-IP limits (every request comes from 127.0.0.1).
    RATE_LIMIT_API: "1000000/1m",
    RATE_LIMIT_GENERAL: "1000000/1m",
  });
  onCleanup("stop server", () => app.stop(), 20_000);
  console.log(`Coffer at ${app.url} (pid ${app.pid}), ${os.cpus().length} CPUs, Node ${process.version}`);

  const account = await registerBenchUser(app.url, "files");
  const { cookie } = account;
  const smallFolder = await createFolder(app.url, account, "small");
  const payload = randomBytes(Math.max(SMALL_SIZE, ZIP_FILE_SIZE));

  // 1. Small files in parallel.
  let started = performance.now();
  await uploadMany(app.url, cookie, smallFolder, SMALL_FILES, payload.subarray(0, SMALL_SIZE), PARALLEL);
  const smallSeconds = (performance.now() - started) / 1000;

  // 2. A ZIP of many files, streamed from a share link.
  const zipFolder = await createFolder(app.url, account, "zip");
  started = performance.now();
  await uploadMany(app.url, cookie, zipFolder, ZIP_FILES, payload.subarray(0, ZIP_FILE_SIZE), PARALLEL);
  const zipSetupSeconds = (performance.now() - started) / 1000;
  const token = await shareFolder(app.url, account, zipFolder);
  const baseline = readProcessMemory(app.pid).rss;
  resetPeakRss(app.pid);
  const sampler = sampleRss(app.pid);
  started = performance.now();
  const zipBytes = await download(`${app.url}/s/${token}/zip`);
  const zipSeconds = (performance.now() - started) / 1000;
  const memory = sampler.stop();

  const rows: Array<[string, string]> = [
    [
      `${SMALL_FILES} files of ${formatBytes(SMALL_SIZE)}, ${PARALLEL} at once (tus)`,
      `${(SMALL_FILES / smallSeconds).toFixed(1)} files/s (${smallSeconds.toFixed(2)} s)`,
    ],
    [`${ZIP_FILES} files of ${formatBytes(ZIP_FILE_SIZE)} uploaded for the ZIP`, `${(ZIP_FILES / zipSetupSeconds).toFixed(1)} files/s`],
    [
      `ZIP of ${ZIP_FILES} files (${formatBytes(zipBytes)}) from a share link`,
      `${(zipBytes / 2 ** 20 / zipSeconds).toFixed(1)} MiB/s (${zipSeconds.toFixed(2)} s)`,
    ],
    ["server RSS before the ZIP → peak during it", `${formatBytes(baseline)} → ${formatBytes(Math.max(memory.sampledPeak, memory.hwm))}`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log("");
  for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${value}`);
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

async function shareFolder(url: string, { cookie, csrfToken }: BenchAccount, folderId: string): Promise<string> {
  const response = await fetch(`${url}/shares`, {
    method: "POST",
    headers: { cookie, "x-csrf-token": csrfToken, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ intent: "create-link", item: `folder:${folderId}`, mode: "READ" }),
  });
  const token = /\/s\/([A-Za-z0-9_-]{20,})/.exec(await response.text())?.[1];
  if (!token) throw new Error(`creating a share link failed: ${response.status}`);
  return token;
}

/** Uploads `count` copies of `data` under distinct names, `parallel` at a time. */
async function uploadMany(url: string, cookie: string, folderId: string, count: number, data: Buffer, parallel: number) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      await new Promise<void>((resolve, reject) => {
        const upload = new tus.Upload(data, {
          endpoint: `${url}/api/uploads`,
          headers: { cookie },
          metadata: { filename: `file-${String(index).padStart(5, "0")}.bin`, folderId },
          retryDelays: [],
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

async function download(url: string): Promise<number> {
  const response = await fetch(url);
  if (!response.ok || !response.body) throw new Error(`download failed: ${response.status}`);
  let bytes = 0;
  const reader = response.body.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) bytes += chunk.value.length;
  return bytes;
}

main()
  .catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
