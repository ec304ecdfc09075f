/**
 * Download throughput: Coffer's /download/<id> against a bare node:http server serving the same
 * stored object, on local disk and on S3 (Swift s3api on loopback).
 *
 *   npm run bench:download                     1 GiB, 3 rounds, local disk and S3
 *   BENCH_SIZE=256MiB npm run bench:download   a quicker run
 *
 * Each round times, for every contender in turn (the order rotates each round):
 * - whole: one GET of the whole file;
 * - ranges: BENCH_RANGES (100) GETs of BENCH_RANGE_SIZE (1 MiB) at random offsets, one after the
 *   other on one keep-alive connection (the same offsets for every contender in a round);
 * - seek: one GET of `Range: bytes=<middle>-`, as a player seeking to the middle does.
 * Medians over the rounds are printed with the ratio Coffer ÷ bare server (goal 0.9, not asserted).
 *
 * On S3 a third row is Coffer with DOWNLOAD_REDIRECT=presigned: the client follows the 302 to
 * the store (a second connection, to Swift), as a browser does.
 *
 * Other knobs (env): BENCH_ONLY=local|s3, BENCH_ROUNDS (default 3),
 * BENCH_ENCRYPTION=1 adds Coffer with encryption at rest (ENCRYPTION_MASTER_KEY) on local disk,
 * BENCH_KEEP_SERVER_LOG=1 prints the servers' log lines at the end.
 *
 * The stored file stays in the page cache for every contender (each gets an untimed warm-up read),
 * so the rows compare what serving costs, not the disk. Nothing is asserted.
 */
import { spawnSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { tusUpload } from "./lib/tus-upload";
import { parseByteSize } from "../app/config.server";
import { startEmbeddedPostgres } from "../app/services/embedded-postgres.server";
import { freePort } from "../tests/setup/free-port";
import { startS3 } from "../tests/setup/s3";
import { registerBenchUser } from "./lib/account";
import { startAppProcess, type AppProcess } from "./lib/app-process";
import { cleanUpOnSignals, onCleanup, runBenchmark } from "./lib/cleanup";
import { cpuMeter } from "./lib/proc";

const REPO = path.resolve(import.meta.dirname, "..");
const BARE_DOWNLOAD_SERVER = path.join(REPO, "bench/lib/bare-download-server.ts");
const MiB = 2 ** 20;
const TARGET_RATIO = 0.9;
const BUCKET = "coffer-bench-download";

interface Settings {
  size: number;
  rounds: number;
  only: "local" | "s3" | "both";
  ranges: number;
  rangeSize: number;
  encryption: boolean;
}

type Kind = "whole" | "ranges" | "seek";
const KINDS: Kind[] = ["whole", "ranges", "seek"];

interface Contender {
  storage: "local" | "S3";
  label: string;
  /** The bare server this one is compared with (none for the baseline itself). */
  baseline?: Contender;
  /** The URL of the whole file. */
  url: string;
  cookie?: string;
  server: AppProcess;
  /** Seconds per kind, one per round. */
  runs: Record<Kind, number[]>;
  cpu: number[];
}

function settingsFromEnv(env = process.env): Settings {
  const size = parseByteSize(env.BENCH_SIZE || "1GiB");
  if (!size || size < 16 * MiB) throw new Error(`BENCH_SIZE="${env.BENCH_SIZE}" is not a size of at least 16 MiB`);
  const rounds = Number(env.BENCH_ROUNDS || 3);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error("BENCH_ROUNDS must be a positive integer");
  const only = (env.BENCH_ONLY || "both") as Settings["only"];
  if (!["local", "s3", "both"].includes(only)) throw new Error("BENCH_ONLY must be local, s3 or both");
  const ranges = Number(env.BENCH_RANGES || 100);
  const rangeSize = parseByteSize(env.BENCH_RANGE_SIZE || "1MiB");
  if (!Number.isInteger(ranges) || ranges < 1 || !rangeSize || rangeSize > size) throw new Error("BENCH_RANGES / BENCH_RANGE_SIZE");
  return { size, rounds, only, ranges, rangeSize, encryption: /^(1|true|yes)$/i.test(env.BENCH_ENCRYPTION ?? "") };
}

const loadAtStart = loadAverage();

async function main() {
  cleanUpOnSignals();
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const settings = settingsFromEnv();
  ensureBuild();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-bench-download-"));
  fs.chmodSync(work, 0o755);
  onCleanup("remove temp dir", () => fs.rmSync(work, { recursive: true, force: true }));
  console.log(
    `Coffer download benchmark: ${fmtSize(settings.size)}, ${os.cpus().length} CPUs, Node ${process.version}, load ${loadAtStart}`,
  );

  const source = path.join(work, "random.bin");
  await writeRandomFile(source, settings.size);
  const pgPort = await freePort();
  const pgServer = await startEmbeddedPostgres({ dataDir: path.join(work, "pg", "data"), port: pgPort, database: "coffer_bench" });
  onCleanup("stop embedded Postgres", () => pgServer.stop(), 20_000);
  const appEnv = (dataDir: string): Record<string, string> => ({
    LOG_LEVEL: "warn",
    DATA_DIR: dataDir,
    DATABASE_URL: pgServer.url,
    SESSION_SECRET: "bench-secret-that-is-at-least-32-characters-long",
    RATE_LIMIT_API: "1000000/1m",
    RATE_LIMIT_GENERAL: "1000000/1m",
    MAX_UPLOAD_SIZE: String(Math.max(settings.size * 2, 10 * 2 ** 30)),
  });

  const contenders: Contender[] = [];
  if (settings.only !== "s3") {
    const dataDir = path.join(work, "app-local");
    const coffer = await cofferWithFile(appEnv(dataDir), "local", source, pgServer.url);
    const bare = await startServer({ DATA_DIR: path.join(dataDir, "objects") }, BARE_DOWNLOAD_SERVER);
    const baseline = contender("local", "bare node:http server streaming the file", `${bare.url}/${coffer.storageKey}`, bare);
    contenders.push(baseline, { ...contender("local", "Coffer", coffer.url, coffer.server, baseline), cookie: coffer.cookie });
    if (settings.encryption) {
      const env = { ...appEnv(path.join(work, "app-encrypted")), ENCRYPTION_MASTER_KEY: randomBytes(32).toString("base64") };
      const encrypted = await cofferWithFile(env, "encrypted", source, pgServer.url);
      contenders.push({
        ...contender("local", "Coffer, encryption at rest", encrypted.url, encrypted.server, baseline),
        cookie: encrypted.cookie,
      });
    }
  }
  if (settings.only !== "local") {
    const s3Dir = path.join(work, "s3");
    onCleanup("stop the Swift S3 server", () => stopSwift(s3Dir), 60_000);
    const s3 = await startS3(s3Dir);
    const s3Env = {
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY: s3.accessKey,
      S3_SECRET_KEY: s3.secretKey,
      S3_REGION: s3.region,
      S3_BUCKET: BUCKET,
    };
    const coffer = await cofferWithFile({ ...appEnv(path.join(work, "app-s3")), ...s3Env }, "s3", source, pgServer.url);
    const bare = await startServer({ DATA_DIR: path.join(work, "bare-s3"), ...s3Env }, BARE_DOWNLOAD_SERVER);
    const baseline = contender("S3", "bare node:http server relaying an AWS SDK GetObject", `${bare.url}/${coffer.storageKey}`, bare);
    contenders.push(baseline, { ...contender("S3", "Coffer", coffer.url, coffer.server, baseline), cookie: coffer.cookie });
    // A twin on the same database and bucket, so the same file, session and URL work there.
    const offloading = await startServer({
      ...appEnv(path.join(work, "app-s3-offload")),
      ...s3Env,
      DOWNLOAD_REDIRECT: "presigned",
    });
    const offloaded = contender("S3", "Coffer, DOWNLOAD_REDIRECT=presigned (302, then the store)", "", offloading, baseline);
    contenders.push({ ...offloaded, url: coffer.url.replace(coffer.server.url, offloading.url), cookie: coffer.cookie });
  }

  for (const c of contenders) await download(c, c.url, null, settings.size); // warm-up: page cache, JIT, connections
  for (let round = 0; round < settings.rounds; round++) {
    const offsets = Array.from({ length: settings.ranges }, () => randomInt(0, settings.size - settings.rangeSize + 1));
    // Rotated, and each storage's rows stay next to each other.
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]!);
    for (const c of order) {
      const meter = cpuMeter({ server: [c.server.pid] });
      c.runs.whole.push(await timed(() => download(c, c.url, null, settings.size)));
      c.runs.ranges.push(
        await timed(async () => {
          for (const start of offsets) await download(c, c.url, `bytes=${start}-${start + settings.rangeSize - 1}`, settings.rangeSize);
        }),
      );
      const middle = Math.floor(settings.size / 2);
      c.runs.seek.push(await timed(() => download(c, c.url, `bytes=${middle}-`, settings.size - middle)));
      c.cpu.push(meter.stop().server ?? 0);
      console.log(
        `  round ${round + 1}: ${`${c.storage} ${c.label}`.padEnd(62)} ${KINDS.map((k) => `${k} ${fmtRate(bytesOf(k, settings), c.runs[k].at(-1)!)}`).join("  ")}`,
      );
    }
  }
  for (const c of contenders) await c.server.stop();
  printTable(settings, contenders);
}

function contender(storage: Contender["storage"], label: string, url: string, server: AppProcess, baseline?: Contender): Contender {
  return { storage, label, url, server, baseline, runs: { whole: [], ranges: [], seek: [] }, cpu: [] };
}

/** Starts Coffer, registers a user and uploads the file through tus; the file's URL and stored key. */
async function cofferWithFile(env: Record<string, string>, label: string, source: string, databaseUrl: string) {
  const server = await startServer(env);
  const { cookie } = await registerBenchUser(server.url, label);
  const name = `bench-${label}-${randomBytes(4).toString("hex")}.bin`;
  await tusUpload(server.url, cookie, source, name);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string; storage_key: string }>("SELECT id, storage_key FROM files WHERE name = $1", [name]);
    if (!rows[0]) throw new Error(`the uploaded file ${name} is not in the database`);
    return { server, cookie, url: `${server.url}/download/${rows[0].id}`, storageKey: rows[0].storage_key };
  } finally {
    await client.end();
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** One GET, the body read and counted (not kept); fails unless exactly `expected` bytes arrive. */
function download(c: Contender, url: string, range: string | null, expected: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { "accept-encoding": "gzip, br" };
    if (c.cookie) headers.cookie = c.cookie;
    if (range) headers.range = range;
    http
      .get(url, { agent, headers }, (response) => {
        // DOWNLOAD_REDIRECT=presigned: the store serves the bytes, without the session cookie.
        if (response.statusCode === 302 && response.headers.location?.startsWith("http")) {
          response.resume();
          download({ ...c, cookie: undefined }, response.headers.location, range, expected).then(resolve, reject);
          return;
        }
        const ok = range ? 206 : 200;
        if (response.statusCode !== ok) {
          response.resume();
          reject(new Error(`${c.label}: ${url} answered ${response.statusCode}, expected ${ok}`));
          return;
        }
        let received = 0;
        response.on("data", (chunk: Buffer) => (received += chunk.length));
        response.on("end", () =>
          received === expected ? resolve() : reject(new Error(`${c.label}: received ${received} bytes, expected ${expected}`)),
        );
        response.on("error", reject);
      })
      .on("error", reject);
  });
}

async function timed(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

function bytesOf(kind: Kind, settings: Settings): number {
  if (kind === "whole") return settings.size;
  if (kind === "ranges") return settings.ranges * settings.rangeSize;
  return settings.size - Math.floor(settings.size / 2);
}

function printTable(settings: Settings, contenders: Contender[]) {
  const rate = (c: Contender, kind: Kind) => bytesOf(kind, settings) / MiB / median(c.runs[kind]);
  const header = [
    "storage",
    "server",
    ...KINDS.map((k) => `${k} MiB/s`),
    "ms per range",
    "÷ bare (whole, ranges, seek)",
    "server CPU s/round",
  ];
  const lines = contenders.map((c) => [
    c.storage,
    c.label,
    ...KINDS.map((k) => rate(c, k).toFixed(0)),
    ((median(c.runs.ranges) / settings.ranges) * 1000).toFixed(2),
    c.baseline ? KINDS.map((k) => (rate(c, k) / rate(c.baseline!, k)).toFixed(2)).join(", ") : "",
    median(c.cpu).toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(
    `\nResults: ${fmtSize(settings.size)}; ranges: ${settings.ranges} × ${fmtSize(settings.rangeSize)} at random offsets; seek: from the middle to the end; ` +
      `${settings.rounds > 1 ? `median of ${settings.rounds} rounds` : "1 round"}; goal Coffer ≥ ${TARGET_RATIO} × bare; load average before ${loadAtStart}, after ${loadAverage()}\n`,
  );
  console.log(format(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const line of lines) console.log(format(line));
}

async function startServer(env: Record<string, string>, script?: string): Promise<AppProcess> {
  fs.mkdirSync(env.DATA_DIR!, { recursive: true });
  const server = await startAppProcess(env, script);
  onCleanup(`stop server (pid ${server.pid})`, async () => {
    await server.stop();
    if (process.env.BENCH_KEEP_SERVER_LOG && server.log.length > 0) console.log(`server log:\n${server.log.join("\n")}`);
  });
  return server;
}

function stopSwift(dir: string) {
  if (!fs.existsSync(dir)) return;
  spawnSync("bash", [path.join(REPO, "scripts/s3-test-server.sh"), "stop", dir, "--purge"], { stdio: "ignore", timeout: 60_000 });
}

function ensureBuild() {
  if (fs.existsSync(path.join(REPO, "build/server/index.js"))) return;
  throw new Error("No production build: run `npm run build` first");
}

async function writeRandomFile(file: string, size: number) {
  const out = fs.createWriteStream(file);
  for (let written = 0; written < size; ) {
    const n = Math.min(4 * MiB, size - written);
    if (!out.write(randomBytes(n))) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
    written += n;
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

function loadAverage() {
  return os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
}

function median(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function fmtSize(bytes: number) {
  return bytes >= 2 ** 30
    ? `${(bytes / 2 ** 30).toFixed(bytes % 2 ** 30 ? 2 : 0)} GiB`
    : `${(bytes / MiB).toFixed(bytes % MiB ? 1 : 0)} MiB`;
}

function fmtRate(bytes: number, seconds: number) {
  return `${(bytes / MiB / seconds).toFixed(0)} MiB/s`;
}

runBenchmark(main);
