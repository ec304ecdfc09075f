/**
 * Upload throughput: Coffer's tus endpoint against the best direct path to the same storage.
 *
 *   npm run bench:upload                      1 GiB, S3 (Swift s3api on loopback) and local disk
 *   BENCH_SIZE=256MiB npm run bench:upload    a quicker run
 *
 * Other knobs (env): BENCH_ONLY=s3|local, BENCH_ROUNDS (default 1; medians are reported),
 * BENCH_TUS_CHUNK_SIZE (tus-js-client chunkSize, default Infinity = one PATCH),
 * BENCH_ROWS=coffer (only the rows whose label contains it, e.g. for a long memory run),
 * S3_PART_SIZE (default 32MiB) and S3_UPLOAD_CONCURRENCY (default 8) for Coffer's S3 store,
 * BENCH_KEEP_SERVER_LOG=1 prints the app server's log lines at the end,
 * BENCH_TRACING=0 leaves out the rows of Coffer with tracing on (100 % sampling, bench/lib/otlp-sink.ts).
 *
 * Coffer runs in a child process (bench/lib/server.ts, production build) so that its memory
 * (/proc/<pid>/status VmRSS sampled every 50 ms, and VmHWM) is the server's alone.
 * Nothing is asserted; the target is a ratio of at least 0.9 with flat server memory.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { DeleteObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload as S3Upload } from "@aws-sdk/lib-storage";
import * as tus from "tus-js-client";
import { parseByteSize } from "../app/config.server";
import { startEmbeddedPostgres } from "../app/services/embedded-postgres.server";
import { freePort } from "../tests/setup/free-port";
import { startS3, type RunningS3 } from "../tests/setup/s3";
import { BARE_HTTP_SERVER, BARE_TUS_SERVER, RAW_SOCKET_RECEIVER, startAppProcess, type AppProcess } from "./lib/app-process";
import { cleanUpOnSignals, onCleanup, runBenchmark } from "./lib/cleanup";
import { cpuMeter, ioDelta, readIoCounters, readProcessMemory, resetPeakRss, sampleRss, type IoCounters } from "./lib/proc";
import { registerBenchUser } from "./lib/account";
import { streamedMultipartUpload } from "./lib/streamed-multipart";
import { startOtlpSink, tracingEnv } from "./lib/otlp-sink";

const REPO = path.resolve(import.meta.dirname, "..");
const MiB = 2 ** 20;
const TARGET_RATIO = 0.9;
/** Coffer with tracing on (100 % sampling) ÷ Coffer without: at most 5 % slower. */
const TRACING_TARGET_RATIO = 0.95;
const DIRECT_PART_SIZE = 32 * MiB;
const DIRECT_QUEUE_SIZE = 8;
const BUCKET = "coffer-bench";

interface Settings {
  size: number;
  only: "s3" | "local" | "both";
  rounds: number;
  tusChunkSize: number;
  s3PartSize: string;
  s3Concurrency: string;
  /** Bare tus rows: "" = plain, or a BENCH_BATCH_BODY size (see bench/lib/bare-tus-server.ts). */
  bareTus: string[];
  /** Only rows whose label contains this (case-insensitive); all when empty. */
  rows: string;
  /** Also Coffer with tracing on (100 % sampling), exporting to this OTLP/HTTP endpoint. */
  tracingEndpoint?: string;
}

interface Measurement {
  seconds: number;
  cpu?: Record<string, number>;
  memory?: { before: number; peak: number; samples: number };
  /** The server's read/write syscalls during the upload. */
  io?: IoCounters;
}

interface Row {
  storage: "S3" | "local";
  path: string;
  runs: Measurement[];
  /** The rows whose throughput this one is compared with. */
  baselines?: Row[];
  /** How a ratio against this row is labelled. */
  short?: string;
}

function settingsFromEnv(env = process.env): Settings {
  const size = parseByteSize(env.BENCH_SIZE || "1GiB");
  if (!size || size <= 0) throw new Error(`BENCH_SIZE="${env.BENCH_SIZE}" is not a size (e.g. 256MiB, 1GiB)`);
  const chunk = env.BENCH_TUS_CHUNK_SIZE || "Infinity";
  const tusChunkSize = /^inf(inity)?$/i.test(chunk) ? Infinity : parseByteSize(chunk);
  if (!tusChunkSize) throw new Error(`BENCH_TUS_CHUNK_SIZE="${chunk}" is not a size or Infinity`);
  const only = (env.BENCH_ONLY || "both") as Settings["only"];
  if (!["s3", "local", "both"].includes(only)) throw new Error(`BENCH_ONLY must be s3, local or both`);
  const rounds = Number(env.BENCH_ROUNDS || 1);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`BENCH_ROUNDS must be a positive integer`);
  return {
    size,
    only,
    rounds,
    tusChunkSize,
    s3PartSize: env.S3_PART_SIZE || "32MiB",
    s3Concurrency: env.S3_UPLOAD_CONCURRENCY || "8",
    bareTus: parseBareTus(env.BENCH_BARE_TUS ?? ""),
    rows: (env.BENCH_ROWS ?? "").toLowerCase(),
  };
}

/** The untraced Coffer row and, when BENCH_TRACING is not 0, the same with tracing on, compared with it. */
async function cofferRows(
  settings: Settings,
  row: Row,
  options: Omit<Parameters<typeof tusContender>[1], "server" | "cookie" | "verify"> & {
    server: AppProcess;
    cookie: string;
    verify: (key: string) => Promise<void>;
    /** Starts the traced twin (same storage, its own data directory). */
    startTraced: (tracing: Record<string, string>) => Promise<{ server: AppProcess; verify: (key: string) => Promise<void> }>;
  },
): Promise<{ contenders: Contender[]; servers: AppProcess[] }> {
  const { startTraced, ...untraced } = options;
  row.short ??= "tracing off";
  const contenders = [tusContender(row, untraced)];
  if (!settings.tracingEndpoint) return { contenders, servers: [] };
  const traced = await startTraced(tracingEnv(settings.tracingEndpoint));
  const { cookie } = await registerBenchUser(traced.server.url, `${row.storage}-traced`);
  const tracedRow: Row = { storage: row.storage, path: `${row.path}, tracing on (100 %)`, runs: [], baselines: [row] };
  contenders.push(tusContender(tracedRow, { ...untraced, server: traced.server, cookie, verify: traced.verify }));
  return { contenders, servers: [traced.server] };
}

const loadAtStart = os
  .loadavg()
  .map((l) => l.toFixed(1))
  .join(" ");

/** BENCH_BARE_TUS: "1" (plain), or a comma list of "plain" and "batched[:size]". */
function parseBareTus(value: string): string[] {
  if (!value || /^(0|false|no)$/i.test(value)) return [];
  if (/^(1|true|yes)$/i.test(value)) return [""];
  return value.split(",").map((item) => {
    const [kind, size] = item.trim().split(":");
    if (kind === "plain") return "";
    if (kind === "batched" && parseByteSize(size || "1MiB")) return size || "1MiB";
    throw new Error(`BENCH_BARE_TUS: "${item}" is not "plain" or "batched[:size]"`);
  });
}

async function main() {
  cleanUpOnSignals();
  // The SDK warns once that its 2027 releases need Node 22; not news for a benchmark.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const settings = settingsFromEnv();
  ensureBuild();
  if (!/^(0|false|no)$/i.test(process.env.BENCH_TRACING ?? "")) {
    const sink = await startOtlpSink();
    onCleanup("stop the OTLP sink", () => sink.close());
    settings.tracingEndpoint = sink.endpoint;
  }

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-bench-"));
  // Embedded Postgres runs as the `postgres` user when we are root; it must reach its directory.
  fs.chmodSync(work, 0o755);
  onCleanup("remove temp dir", () => fs.rmSync(work, { recursive: true, force: true }));

  console.log(`Coffer upload benchmark: ${fmtSize(settings.size)} of random data, ${os.cpus().length} CPUs, Node ${process.version}`);
  console.log(`work dir ${work}`);
  const source = path.join(work, "random.bin");
  const warmup = path.join(work, "warmup.bin");
  let started = performance.now();
  await writeRandomFile(source, settings.size);
  await writeRandomFile(warmup, 4 * MiB);
  console.log(`wrote ${source} in ${secondsSince(started).toFixed(1)} s`);

  started = performance.now();
  const pgPort = await freePort();
  const pg = await startEmbeddedPostgres({ dataDir: path.join(work, "pg", "data"), port: pgPort, database: "coffer_bench" });
  onCleanup("stop embedded Postgres", () => pg.stop(), 20_000);
  console.log(`embedded Postgres on port ${pgPort} (${secondsSince(started).toFixed(1)} s)`);

  const serverTmp = fs.mkdtempSync(path.join(process.env.BENCH_SERVER_TMPDIR || work, "server-tmp-"));
  onCleanup("remove server temp dir", () => fs.rmSync(serverTmp, { recursive: true, force: true }));
  const appEnv = (dataDir: string): Record<string, string> => ({
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    DATA_DIR: dataDir,
    DATABASE_URL: pg.url,
    SESSION_SECRET: "bench-secret-that-is-at-least-32-characters-long",
    // The benchmark measures the app, not its per-IP limits (every request comes from 127.0.0.1).
    RATE_LIMIT_API: "1000000/1m",
    RATE_LIMIT_GENERAL: "1000000/1m",
    MAX_UPLOAD_SIZE: String(Math.max(settings.size * 2, 10 * 2 ** 30)),
    // @tus/s3-store buffers parts in files under the OS temp dir: keep them inside our work dir
    // (or where BENCH_SERVER_TMPDIR says, e.g. a tmpfs, to see what the disk round trip costs).
    TMPDIR: serverTmp,
  });

  const rows: Row[] = [];
  if (settings.only !== "local") rows.push(...(await benchS3(settings, work, source, warmup, appEnv)));
  if (settings.only !== "s3") rows.push(...(await benchLocal(settings, work, source, warmup, appEnv)));

  printTable(settings, rows);
}

// ---------------------------------------------------------------------------------------------
// S3

async function benchS3(
  settings: Settings,
  work: string,
  source: string,
  warmup: string,
  appEnv: (dir: string) => Record<string, string>,
): Promise<Row[]> {
  let started = performance.now();
  const s3Dir = path.join(work, "s3");
  // Registered before the start so that an interrupted start leaves no Swift server either.
  onCleanup("stop the Swift S3 server", () => stopSwift(s3Dir), 60_000);
  const s3 = await startS3(s3Dir);
  console.log(`\nS3: Swift s3api at ${s3.endpoint} (${secondsSince(started).toFixed(1)} s)`);
  const swiftPids = ["proxy", "object", "container", "account"].flatMap((name) => {
    const file = path.join(s3Dir, "run", `${name}.pid`);
    return fs.existsSync(file) ? [Number(fs.readFileSync(file, "utf8").trim())] : [];
  });
  const s3Env = {
    S3_ENDPOINT: s3.endpoint,
    S3_ACCESS_KEY: s3.accessKey,
    S3_SECRET_KEY: s3.secretKey,
    S3_REGION: s3.region,
    S3_BUCKET: BUCKET,
    S3_PART_SIZE: settings.s3PartSize,
    S3_UPLOAD_CONCURRENCY: settings.s3Concurrency,
  };

  started = performance.now();
  const app = await startApp({ ...appEnv(path.join(work, "app-s3")), ...s3Env });
  console.log(
    `Coffer (S3 driver, S3_PART_SIZE=${settings.s3PartSize}, S3_UPLOAD_CONCURRENCY=${settings.s3Concurrency}) at ${app.url}, pid ${app.pid} (${secondsSince(started).toFixed(1)} s)`,
  );
  const { cookie } = await registerBenchUser(app.url, "s3");
  const client = s3Client(s3);
  const verify = async (key: string) => {
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    if (head.ContentLength !== settings.size) throw new Error(`object ${key} has ${head.ContentLength} bytes, expected ${settings.size}`);
    await deleteObject(client, key);
  };

  const direct: Row = {
    storage: "S3",
    path: `direct: lib-storage Upload, ${DIRECT_PART_SIZE / MiB} MiB parts × ${DIRECT_QUEUE_SIZE}`,
    runs: [],
    short: "lib-storage",
  };
  const httpPut: Row = { storage: "S3", path: "via a bare node:http server streaming parts into S3", runs: [], short: "bare server" };
  const httpServer = await startApp({ DATA_DIR: path.join(work, "bare-http-s3"), ...s3Env }, BARE_HTTP_SERVER);
  const streamed: Row = {
    storage: "S3",
    path: `direct: parts streamed from the file, ${settings.s3PartSize} (Coffer's streamer)`,
    runs: [],
    short: "streamed",
  };
  httpPut.baselines = [direct, streamed];
  const partSize = parseByteSize(settings.s3PartSize)!;
  const contenders: Contender[] = [
    {
      row: streamed,
      run: async () => {
        const meter = cpuMeter({ swift: swiftPids });
        const started = performance.now();
        const key = await streamedMultipartUpload(client, BUCKET, fs.createReadStream(source), settings.size, partSize);
        const measurement = { seconds: secondsSince(started), cpu: meter.stop() };
        await verify(key);
        return measurement;
      },
    },
    {
      row: direct,
      warmup: async () => deleteObject(client, await directUpload(client, warmup)),
      run: async () => {
        const meter = cpuMeter({ swift: swiftPids });
        const started = performance.now();
        const key = await directUpload(client, source);
        const measurement = { seconds: secondsSince(started), cpu: meter.stop() };
        await verify(key);
        return measurement;
      },
    },
    httpPutContender(httpPut, httpServer, source, settings.size, verify, { swift: swiftPids }),
  ];
  const coffer = await cofferRows(
    settings,
    {
      storage: "S3",
      path: `Coffer tus → S3 store (${describeChunk(settings.tusChunkSize)})`,
      runs: [],
      baselines: [direct, streamed, httpPut],
    },
    {
      server: app,
      cookie,
      source,
      warmup,
      settings,
      cpuGroups: { swift: swiftPids },
      verify,
      startTraced: async (tracing) => ({
        server: await startApp({ ...appEnv(path.join(work, "app-s3-traced")), ...s3Env, ...tracing }),
        verify,
      }),
    },
  );
  contenders.push(...coffer.contenders);
  const bares: AppProcess[] = [];
  for (const [i, batch] of settings.bareTus.entries()) {
    const bare = await startApp({ ...appEnv(path.join(work, `bare-s3-${i}`)), ...s3Env, BENCH_BATCH_BODY: batch }, BARE_TUS_SERVER);
    bares.push(bare);
    const row: Row = { storage: "S3", path: bareLabel(batch), runs: [], baselines: [direct] };
    contenders.push(tusContender(row, { server: bare, source, warmup, settings, cpuGroups: { swift: swiftPids }, verify }));
  }

  await runRounds(settings, contenders);
  client.destroy();
  for (const server of [app, httpServer, ...bares, ...coffer.servers]) await stopApp(server);
  return contenders.map((c) => c.row);
}

function stopSwift(dir: string) {
  if (!fs.existsSync(dir)) return;
  execFileSync("bash", [path.join(REPO, "scripts/s3-test-server.sh"), "stop", dir, "--purge"], { stdio: "ignore", timeout: 60_000 });
}

function s3Client(s3: RunningS3): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey },
    forcePathStyle: true,
    // Plain (not aws-chunked) bodies: Swift answers aws-chunked with 501.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

async function directUpload(client: S3Client, file: string): Promise<string> {
  const key = `direct-${randomUUID()}`;
  const upload = new S3Upload({
    client,
    params: { Bucket: BUCKET, Key: key, Body: fs.createReadStream(file), ContentType: "application/octet-stream" },
    partSize: DIRECT_PART_SIZE,
    queueSize: DIRECT_QUEUE_SIZE,
    leavePartsOnError: false,
  });
  await upload.done();
  return key;
}

async function deleteObject(client: S3Client, key: string) {
  await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
}

// ---------------------------------------------------------------------------------------------
// Local disk

async function benchLocal(
  settings: Settings,
  work: string,
  source: string,
  warmup: string,
  appEnv: (dir: string) => Record<string, string>,
): Promise<Row[]> {
  const dataDir = path.join(work, "app-local");
  const started = performance.now();
  const app = await startApp(appEnv(dataDir));
  console.log(
    `\nlocal: Coffer (local-disk driver, ${path.join(dataDir, "objects")}) at ${app.url}, pid ${app.pid} (${secondsSince(started).toFixed(1)} s)`,
  );
  const { cookie } = await registerBenchUser(app.url, "local");
  const verifyIn = (objects: string) => async (key: string) => {
    const stored = fs.statSync(path.join(objects, key)).size;
    if (stored !== settings.size) throw new Error(`object ${key} has ${stored} bytes, expected ${settings.size}`);
    fs.rmSync(path.join(objects, key), { force: true });
  };

  const copy = (row: Row, copyTo: (target: string) => Promise<void>): Contender => ({
    row,
    run: async () => {
      const target = path.join(work, `copy-${randomUUID()}.bin`);
      const meter = cpuMeter({});
      const started = performance.now();
      await copyTo(target);
      const measurement = { seconds: secondsSince(started), cpu: meter.stop() };
      fs.rmSync(target, { force: true });
      return measurement;
    },
  });
  const copyFile: Row = { storage: "local", path: "direct: fs.copyFile (kernel copy_file_range, as cp)", runs: [], short: "cp" };
  const durableCopy: Row = { storage: "local", path: "direct: fs.copyFile, then fdatasync (cp; sync)", runs: [], short: "cp+sync" };
  const streamCopy: Row = { storage: "local", path: "direct: stream pipeline copy (read/write, 64 KiB)", runs: [], short: "stream copy" };
  const rawHop: Row = {
    storage: "local",
    path: "one raw TCP hop, no HTTP (reused 1 MiB buffer): any upload's ceiling",
    runs: [],
    short: "raw hop",
  };
  const httpPut: Row = { storage: "local", path: "via a bare node:http server writing the file", runs: [], short: "bare server" };
  rawHop.baselines = [copyFile, streamCopy];
  httpPut.baselines = [copyFile, streamCopy, rawHop];
  const baselines = [copyFile, durableCopy, streamCopy, rawHop, httpPut];
  const httpDir = path.join(work, "bare-http");
  const httpServer = await startApp({ DATA_DIR: httpDir }, BARE_HTTP_SERVER);
  const contenders: Contender[] = [
    httpPutContender(httpPut, httpServer, source, settings.size, async (name) => {
      const stored = fs.statSync(path.join(httpDir, name)).size;
      if (stored !== settings.size) throw new Error(`the bare HTTP server stored ${stored} bytes, expected ${settings.size}`);
      fs.rmSync(path.join(httpDir, name), { force: true });
    }),
    // Flags 0: no COPYFILE_FICLONE, so never a reflink; on ext4 libuv's copy_file_range copies in the kernel.
    copy(copyFile, (target) => fsp.copyFile(source, target)),
    // Coffer's local store flushes a finished upload to disk before recording it: the like-for-like copy.
    copy(durableCopy, async (target) => {
      await fsp.copyFile(source, target);
      const handle = await fsp.open(target, "r");
      await handle.datasync();
      await handle.close();
    }),
    copy(streamCopy, (target) => pipeline(fs.createReadStream(source), fs.createWriteStream(target))),
    rawHopContender(rawHop, source, path.join(work, "raw-hop.bin"), settings.size),
  ];
  const coffer = await cofferRows(
    settings,
    { storage: "local", path: `Coffer tus → local store (${describeChunk(settings.tusChunkSize)})`, runs: [], baselines },
    {
      server: app,
      cookie,
      source,
      warmup,
      settings,
      cpuGroups: {},
      verify: verifyIn(path.join(dataDir, "objects")),
      startTraced: async (tracing) => {
        const tracedDir = path.join(work, "app-local-traced");
        return { server: await startApp({ ...appEnv(tracedDir), ...tracing }), verify: verifyIn(path.join(tracedDir, "objects")) };
      },
    },
  );
  contenders.push(...coffer.contenders);
  const bares: AppProcess[] = [];
  for (const [i, batch] of settings.bareTus.entries()) {
    const bareDir = path.join(work, `bare-local-${i}`);
    const bare = await startApp({ ...appEnv(bareDir), BENCH_BATCH_BODY: batch }, BARE_TUS_SERVER);
    bares.push(bare);
    const row: Row = { storage: "local", path: bareLabel(batch), runs: [], baselines };
    contenders.push(
      tusContender(row, { server: bare, source, warmup, settings, cpuGroups: {}, verify: verifyIn(path.join(bareDir, "objects")) }),
    );
  }

  await runRounds(settings, contenders);
  for (const server of [app, httpServer, ...bares, ...coffer.servers]) await stopApp(server);
  return contenders.map((c) => c.row);
}

/**
 * The file sent over one TCP socket to bench/lib/raw-socket-receiver.ts, which stores it with the
 * least work a process can do. Timed from the connection to the receiver's answer (after its
 * fdatasync), so the receiver's start-up is not counted.
 */
function rawHopContender(row: Row, source: string, target: string, size: number): Contender {
  return {
    row,
    run: async () => {
      const listener = net.createServer({ allowHalfOpen: true });
      await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
      const { port } = listener.address() as net.AddressInfo;
      const receiver = spawn(process.execPath, ["--import", "tsx", RAW_SOCKET_RECEIVER, String(port), target], {
        cwd: REPO,
        stdio: "inherit",
      });
      const exited = new Promise<void>((resolve, reject) =>
        receiver.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`the raw socket receiver exited with ${code}`)))),
      );
      try {
        const socket = await new Promise<net.Socket>((resolve) => listener.once("connection", resolve));
        const meter = cpuMeter({ server: [receiver.pid!] });
        const started = performance.now();
        const answered = new Promise<string>((resolve, reject) => {
          let answer = "";
          socket.setEncoding("utf8").on("data", (text: string) => (answer += text));
          socket.once("end", () => resolve(answer));
          socket.once("error", reject);
        });
        fs.createReadStream(source, { highWaterMark: MiB }).pipe(socket);
        if ((await answered) !== "ok") throw new Error("the raw socket receiver did not confirm");
        const measurement = { seconds: secondsSince(started), cpu: meter.stop() };
        socket.end();
        await exited;
        const stored = fs.statSync(target).size;
        if (stored !== size) throw new Error(`the raw socket receiver stored ${stored} bytes, expected ${size}`);
        return measurement;
      } finally {
        receiver.kill();
        listener.close();
        fs.rmSync(target, { force: true });
      }
    },
  };
}

/** One PUT of the file to bench/lib/bare-http-server.ts: what any upload through a server costs here. */
function httpPutContender(
  row: Row,
  server: AppProcess,
  source: string,
  size: number,
  verify: (name: string) => Promise<void>,
  cpuGroups: Record<string, number[]> = {},
): Contender {
  const put = () =>
    new Promise<string>((resolve, reject) => {
      const request = http.request(`${server.url}/`, { method: "PUT", headers: { "content-length": String(size) } }, (response) => {
        let name = "";
        response.setEncoding("utf8");
        response.on("data", (text: string) => (name += text));
        response.on("end", () =>
          response.statusCode === 201 ? resolve(name) : reject(new Error(`bare HTTP server answered ${response.statusCode}`)),
        );
      });
      request.on("error", reject);
      fs.createReadStream(source).pipe(request);
    });
  return {
    row,
    run: async () => {
      const meter = cpuMeter({ server: [server.pid], ...cpuGroups });
      const started = performance.now();
      const name = await put();
      const measurement = { seconds: secondsSince(started), cpu: meter.stop() };
      await verify(name);
      return measurement;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Rounds, and the tus uploads

function bareLabel(batch: string) {
  return batch ? `bare tus, handleWeb, body in ${batch} batches` : "bare @tus/server + the same store (no Coffer)";
}

interface Contender {
  row: Row;
  /** A small untimed run first (connections, JIT, Prisma, the bucket). */
  warmup?: () => Promise<void>;
  /** One timed run; checks and removes what it stored after the clock stops. */
  run: () => Promise<Measurement>;
}

/** Each round runs every contender once, starting one later each round so no one always goes first. */
async function runRounds(settings: Settings, all: Contender[]) {
  const contenders = all.filter(({ row }) => row.path.toLowerCase().includes(settings.rows));
  for (const contender of contenders) await contender.warmup?.();
  for (let round = 0; round < settings.rounds; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const { row, run } = contenders[(i + round) % contenders.length]!;
      flushPageCache();
      const measurement = await run();
      row.runs.push(measurement);
      console.log(
        `  round ${round + 1}: ${row.path.padEnd(52)} ${fmtRate(settings.size, measurement.seconds)}  ${fmtCpu(measurement.cpu)}  ${fmtMemory(measurement.memory)}`.trimEnd(),
      );
      if (measurement.io) console.log(`            ${fmtIo(measurement.io)}`);
    }
  }
}

function tusContender(
  row: Row,
  options: {
    server: AppProcess;
    cookie?: string;
    source: string;
    warmup: string;
    settings: Settings;
    cpuGroups: Record<string, number[]>;
    verify: (key: string) => Promise<void>;
  },
): Contender {
  const { server, cookie, settings } = options;
  return {
    row,
    warmup: async () => options.verify((await tusUpload(server.url, cookie, options.warmup, settings.tusChunkSize)).id).catch(() => {}),
    run: async () => {
      const before = readProcessMemory(server.pid).rss;
      resetPeakRss(server.pid);
      const sampler = sampleRss(server.pid, 50);
      const meter = cpuMeter({ server: [server.pid], ...options.cpuGroups });
      const ioBefore = readIoCounters(server.pid);
      const started = performance.now();
      const { id } = await tusUpload(server.url, cookie, options.source, settings.tusChunkSize).finally(() => sampler.stop());
      const seconds = secondsSince(started);
      const cpu = meter.stop();
      const io = ioDelta(ioBefore, readIoCounters(server.pid));
      const memory = sampler.stop();
      await options.verify(id);
      return { seconds, cpu, io, memory: { before, peak: Math.max(memory.sampledPeak, memory.hwm), samples: memory.samples } };
    },
  };
}

async function startApp(env: Record<string, string>, script?: string): Promise<AppProcess> {
  fs.mkdirSync(env.DATA_DIR!, { recursive: true });
  const app = await startAppProcess(env, script);
  onCleanup(`stop server (pid ${app.pid})`, () => app.stop(), 20_000);
  return app;
}

async function stopApp(app: AppProcess) {
  await app.stop();
  if (process.env.BENCH_KEEP_SERVER_LOG && app.log.length > 0) console.log(`server log:\n${app.log.join("\n")}`);
}

/** One tus upload with tus-js-client (Node), from a file stream; resolves with the upload id. */
function tusUpload(url: string, cookie: string | undefined, file: string, chunkSize: number): Promise<{ id: string }> {
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(fs.createReadStream(file), {
      endpoint: `${url}/api/uploads`,
      // Infinity (the default): one PATCH streams the whole file (tus-js-client opens a fresh
      // fs.ReadStream per chunk, so no chunk is ever held in memory).
      chunkSize,
      headers: cookie ? { cookie } : {},
      metadata: { filename: path.basename(file), filetype: "application/octet-stream" },
      retryDelays: [],
      storeFingerprintForResuming: false,
      onError: reject,
      onSuccess: () => {
        const id = upload.url?.split("/").pop();
        if (!id) reject(new Error("tus upload finished without an upload URL"));
        else resolve({ id });
      },
    });
    upload.start();
  });
}

// ---------------------------------------------------------------------------------------------
// Helpers

function ensureBuild() {
  if (fs.existsSync(path.join(REPO, "build/server/index.js"))) return;
  console.log("No production build (build/server/index.js): running `npm run build` first…");
  const result = spawnSync("npm", ["run", "build"], { cwd: REPO, stdio: "inherit" });
  if (result.status !== 0) throw new Error("`npm run build` failed; fix the build, then run the benchmark again");
}

async function writeRandomFile(file: string, size: number) {
  const out = fs.createWriteStream(file);
  const CHUNK = 4 * MiB;
  for (let written = 0; written < size; ) {
    const n = Math.min(CHUNK, size - written);
    if (!out.write(randomBytes(n))) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
    written += n;
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

/** Writes back dirty pages so that one measurement does not pay for the previous one's writes. */
function flushPageCache() {
  try {
    execFileSync("sync");
  } catch {}
}

function describeChunk(chunkSize: number) {
  return chunkSize === Infinity ? "1 PATCH" : `${fmtSize(chunkSize)} PATCHes`;
}

function secondsSince(start: number) {
  return (performance.now() - start) / 1000;
}

function median(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function fmtSize(bytes: number) {
  if (bytes >= 2 ** 30 && bytes % 2 ** 27 === 0) return `${(bytes / 2 ** 30).toFixed(bytes % 2 ** 30 ? 2 : 0)} GiB`;
  return `${(bytes / MiB).toFixed(bytes % MiB ? 1 : 0)} MiB`;
}

function fmtRate(size: number, seconds: number) {
  return `${(size / MiB / seconds).toFixed(1)} MiB/s (${seconds.toFixed(2)} s)`;
}

function fmtCpu(cpu?: Record<string, number>) {
  if (!cpu) return "";
  const names = Object.keys(cpu).filter((name) => !name.endsWith(" sys"));
  return `cpu ${names.map((name) => `${name} ${cpu[name]!.toFixed(1)}s (sys ${(cpu[`${name} sys`] ?? 0).toFixed(1)})`).join(", ")}`;
}

function fmtIo(io?: IoCounters) {
  if (!io) return "";
  const avg = (bytes: number, calls: number) => (calls ? `${(bytes / calls / 1024).toFixed(0)} KiB` : "-");
  return `server syscalls: ${io.syscr} reads (avg ${avg(io.rchar, io.syscr)}), ${io.syscw} writes (avg ${avg(io.wchar, io.syscw)})`;
}

function fmtMemory(memory?: Measurement["memory"]) {
  if (!memory) return "";
  return `server RSS ${(memory.before / MiB).toFixed(0)} → peak ${(memory.peak / MiB).toFixed(0)} MiB (+${((memory.peak - memory.before) / MiB).toFixed(0)})`;
}

function printTable(settings: Settings, measured: Row[]) {
  const rows = measured.filter((row) => row.runs.length > 0);
  const rate = (row: Row) => settings.size / MiB / median(row.runs.map((r) => r.seconds));
  const header = ["storage", "path", "MiB/s", "time", "÷ direct", "server RSS before → peak (Δ)", "CPU s: median per process"];
  const lines = rows.map((row) => {
    const seconds = median(row.runs.map((r) => r.seconds));
    // The round whose memory grew most.
    const memory = row.runs
      .map((r) => r.memory)
      .filter((m) => m !== undefined)
      .sort((a, b) => b.peak - b.before - (a.peak - a.before))[0];
    const cpuNames = Object.keys(row.runs[0]?.cpu ?? {}).filter((name) => !name.endsWith(" sys"));
    return [
      row.storage,
      row.path,
      rate(row).toFixed(1),
      `${seconds.toFixed(2)} s`,
      row.baselines?.some((b) => b.runs.length > 0)
        ? `${row.baselines
            .filter((b) => b.runs.length > 0)
            .map((b) => `${(rate(row) / rate(b)).toFixed(2)}${row.baselines!.length > 1 && b.short ? ` vs ${b.short}` : ""}`)
            .join(
              "; ",
            )}${row.path.startsWith("Coffer") ? ` (target ${row.path.includes("tracing on") ? TRACING_TARGET_RATIO : TARGET_RATIO})` : ""}`
        : "",
      memory
        ? `${(memory.before / MiB).toFixed(0)} → ${(memory.peak / MiB).toFixed(0)} MiB (+${((memory.peak - memory.before) / MiB).toFixed(0)})`
        : "",
      cpuNames.map((name) => `${name} ${median(row.runs.map((r) => r.cpu?.[name] ?? 0)).toFixed(1)}`).join(", "),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(
    `\nResults: ${fmtSize(settings.size)}, ${settings.rounds > 1 ? `median of ${settings.rounds} rounds` : "1 round"}; ` +
      `tus-js-client chunkSize ${settings.tusChunkSize === Infinity ? "Infinity" : fmtSize(settings.tusChunkSize)}; ` +
      `Coffer S3_PART_SIZE=${settings.s3PartSize}, S3_UPLOAD_CONCURRENCY=${settings.s3Concurrency}; load average before: ${loadAtStart}\n`,
  );
  console.log(format(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const line of lines) console.log(format(line));
  console.log(
    "\n÷ direct: throughput over each named baseline's (S3: lib-storage, the streamed direct upload, the bare server; local: the copies, the raw TCP hop and the bare server)." +
      "\nServer RSS: the upload server process alone (VmRSS just before the upload → max of 50 ms samples and VmHWM during it; the round that grew most)." +
      "\nCPU s: client = this benchmark process (tus-js-client or the direct copy/upload), server = Coffer (or the bare tus server), swift = the Swift servers.",
  );
}

runBenchmark(main);
