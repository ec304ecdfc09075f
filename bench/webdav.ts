/**
 * `npm run bench:webdav` — WebDAV at /dav/ (issue 18's Performance section), as whole HTTP
 * requests to the production build, each beside a baseline measured in the same run:
 *
 * 1. PROPFIND Depth: 1 on a folder of BENCH_FILES (100,000) files (and, to show that memory does
 *    not grow with the folder, one of a tenth of that), seeded straight into `files` and
 *    `search_documents` (bench/lib/seed-folder.ts): time to first byte (the response's headers,
 *    which Coffer sends with the first chunk of XML), total time, bytes and `<D:response>`
 *    elements, and the server's RSS: before, the peak of RSS sampled every 20 ms and VmHWM (reset
 *    before each request). Baselines: a bare node:http server's first byte (a static page), the
 *    folder page's first byte for the same folder (GET /files/<id>), and PROPFIND Depth: 0 of
 *    the folder. Goal: first byte ≤ 100 ms, memory bounded.
 * 2. PUT of BENCH_SIZE (1 GiB) of random data to /dav/, streamed from the file with chunked
 *    transfer encoding (no Content-Length), against a tus upload of the same file on the same
 *    server (tus-js-client, one PATCH, as bench:upload), and a PUT with Content-Length (as rclone
 *    sends). Goal: PUT ≥ 0.9 × tus.
 * 3. GET of that file through /dav/ against the page download (/download/<id>, session cookie).
 *    Goal: ≥ 0.9 ×.
 * 2 and 3 run on local disk and on S3 (the Swift s3api test server, scripts/s3-test-server.sh).
 *
 * Coffer runs in its own process (bench/lib/server.ts, embedded PostgreSQL, memory cache), so its
 * CPU (/proc) and memory are its own. The rows take turns round by round (the order rotates),
 * `sync` runs before each timed upload, and each upload's stored size is checked. Prints medians;
 * asserts nothing.
 *
 * Knobs: BENCH_FILES (100000), BENCH_RUNS (PROPFIND runs per row, 5), BENCH_SIZE (1GiB),
 * BENCH_ROUNDS (upload and download rounds, 3), BENCH_ONLY (local | s3: the storage for 2 and 3),
 * BENCH_PARTS (propfind,put,get), BENCH_KEEP_SERVER_LOG=1.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { tusUpload } from "./lib/tus-upload";
import { parseByteSize } from "../app/config.server";
import { hashSecret, newTokenParts } from "../app/domain/tokens/token-format";
import type { PrismaClient } from "../app/generated/prisma/client";
import { createPrismaClient } from "../app/services/db.server";
import { startEmbeddedPostgres } from "../app/services/embedded-postgres.server";
import { freePort } from "../tests/setup/free-port";
import { startS3 } from "../tests/setup/s3";
import { registerBenchUser } from "./lib/account";
import { type AppProcess, BARE_PAGE_SERVER, startAppProcess } from "./lib/app-process";
import { cleanUpOnSignals, onCleanup, runBenchmark } from "./lib/cleanup";
import { cpuMeter, readProcessMemory, resetPeakRss, sampleRss } from "./lib/proc";
import { seedFolder } from "./lib/seed-folder";

const REPO = path.resolve(import.meta.dirname, "..");
const MiB = 2 ** 20;
const BUCKET = "coffer-bench-webdav";
const FILES = Number(process.env.BENCH_FILES ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SIZE = parseByteSize(process.env.BENCH_SIZE || "1GiB") ?? 0;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ONLY = process.env.BENCH_ONLY ?? "both";
const PARTS = new Set((process.env.BENCH_PARTS ?? "propfind,put,get").split(",").map((p) => p.trim()));

interface Account {
  email: string;
  cookie: string;
  /** The Authorization header for /dav/: Basic with the email and an app password. */
  auth: string;
  userId: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const loadAtStart = loadAverage();

async function main() {
  cleanUpOnSignals();
  if (!fs.existsSync(path.join(REPO, "build/server/index.js"))) throw new Error("No production build: run `npm run build` first.");
  if (!SIZE || SIZE < 16 * MiB) throw new Error(`BENCH_SIZE="${process.env.BENCH_SIZE}" is not a size of at least 16 MiB`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-bench-webdav-"));
  fs.chmodSync(work, 0o755);
  onCleanup("remove temp dir", () => fs.rmSync(work, { recursive: true, force: true }));
  console.log(
    `Coffer WebDAV benchmark: ${FILES.toLocaleString("en-GB")} files, ${fmtSize(SIZE)}, ${os.cpus().length} CPUs, Node ${process.version}, load average ${loadAtStart}`,
  );

  const postgres = await startEmbeddedPostgres({
    dataDir: path.join(work, "pg", "data"),
    port: await freePort(),
    database: "coffer_bench",
  });
  onCleanup("stop embedded Postgres", () => postgres.stop(), 20_000);
  const prisma = createPrismaClient(postgres.url);
  onCleanup("disconnect Prisma", () => prisma.$disconnect());
  const appEnv = (dataDir: string): Record<string, string> => {
    fs.mkdirSync(dataDir, { recursive: true });
    return {
      LOG_LEVEL: "warn",
      DATA_DIR: dataDir,
      DATABASE_URL: postgres.url,
      SESSION_SECRET: "bench-secret-that-is-at-least-32-characters-long",
      TMPDIR: work,
      RATE_LIMIT_API: "1000000/1m",
      RATE_LIMIT_GENERAL: "1000000/1m",
      MAX_UPLOAD_SIZE: String(Math.max(SIZE * 2, 10 * 2 ** 30)),
    };
  };
  const local = await startServer(appEnv(path.join(work, "app-local")));

  if (PARTS.has("propfind")) await benchPropfind(local, prisma);

  if (PARTS.has("put") || PARTS.has("get")) {
    const source = path.join(work, "random.bin");
    await writeRandomFile(source, SIZE);
    const transfers: TransferRow[] = [];
    if (ONLY !== "s3") transfers.push(...(await benchTransfers("local", local, prisma, source, path.join(work, "app-local", "objects"))));
    if (ONLY !== "local") {
      const s3Dir = path.join(work, "s3");
      onCleanup("stop the Swift S3 server", () => stopSwift(s3Dir), 60_000);
      const s3 = await startS3(s3Dir);
      const server = await startServer({
        ...appEnv(path.join(work, "app-s3")),
        S3_ENDPOINT: s3.endpoint,
        S3_ACCESS_KEY: s3.accessKey,
        S3_SECRET_KEY: s3.secretKey,
        S3_REGION: s3.region,
        S3_BUCKET: BUCKET,
      });
      transfers.push(...(await benchTransfers("S3", server, prisma, source, null)));
    }
    printTransfers(transfers);
  }
  console.log(`\nload average at the start ${loadAtStart}, at the end ${loadAverage()}`);
}

// ---------------------------------------------------------------------------------------------
// 1. PROPFIND

interface LatencyRow {
  label: string;
  request: () => Promise<Timing>;
  pid: number | null;
  firstByte: number[];
  total: number[];
  bytes: number;
  responses: number;
  /** Bytes: RSS before, sampled peak, VmHWM; one per run. */
  rssBefore: number[];
  rssPeak: number[];
  hwm: number[];
  /** The server's CPU seconds (user + system, /proc) per run. */
  cpu: number[];
}

interface Timing {
  firstByte: number;
  total: number;
  bytes: number;
  responses: number;
}

async function benchPropfind(app: AppProcess, prisma: PrismaClient) {
  const account = await davAccount(app, prisma, "propfind");
  const root = await prisma.folder.findFirstOrThrow({ where: { ownerId: account.userId, parentId: null } });
  const small = Math.max(1, Math.round(FILES / 10));
  const seeding = performance.now();
  const folders: Record<string, string> = {};
  for (const [name, count] of [
    ["Photos", FILES],
    ["Small", small],
  ] as const) {
    const folder = await prisma.folder.create({ data: { ownerId: account.userId, parentId: root.id, name, nameKey: name.toLowerCase() } });
    await seedFolder(prisma, account.userId, folder.id, count);
    folders[name] = folder.id;
  }
  await seedSearchDocuments(prisma, account.userId);
  await prisma.$executeRawUnsafe("VACUUM ANALYZE");
  console.log(
    `Seeded ${FILES.toLocaleString("en-GB")} + ${small.toLocaleString("en-GB")} files in ${((performance.now() - seeding) / 1000).toFixed(1)} s`,
  );

  const bare = await startServer({}, BARE_PAGE_SERVER);
  await fetch(`${bare.url}/page`, { method: "PUT", body: "<html><body>a small static page</body></html>" });
  const dav = (folder: string, depth: string) => () =>
    timeRequest(`${app.url}/dav/${folder}/`, { method: "PROPFIND", headers: { authorization: account.auth, depth } }, 207);
  const rows: LatencyRow[] = [
    latencyRow("bare node:http server, a static page", null, () => timeRequest(`${bare.url}/page`, { method: "GET", headers: {} }, 200)),
    latencyRow(`folder page GET /files/<id>, ${kFiles(FILES)} files`, app.pid, () =>
      timeRequest(
        `${app.url}/files/${folders.Photos}`,
        { method: "GET", headers: { cookie: account.cookie, accept: "text/html", "accept-encoding": "identity" } },
        200,
      ),
    ),
    latencyRow(`PROPFIND Depth: 0, the ${kFiles(FILES)} folder`, app.pid, dav("Photos", "0")),
    latencyRow(`PROPFIND Depth: 1, ${kFiles(small)} files`, app.pid, dav("Small", "1")),
    latencyRow(`PROPFIND Depth: 1, ${kFiles(FILES)} files`, app.pid, dav("Photos", "1")),
  ];
  for (const r of rows) await r.request(); // warm-up
  for (let run = 0; run < RUNS; run++) {
    const order = rows.map((_, i) => rows[(i + run) % rows.length]!);
    for (const r of order) {
      let sampler: ReturnType<typeof sampleRss> | null = null;
      const meter = r.pid ? cpuMeter({ server: [r.pid] }) : null;
      if (r.pid) {
        r.rssBefore.push(readProcessMemory(r.pid).rss);
        resetPeakRss(r.pid);
        sampler = sampleRss(r.pid, 20);
      }
      const timing = await r.request();
      if (sampler && r.pid) {
        const { sampledPeak, hwm } = sampler.stop();
        r.rssPeak.push(sampledPeak);
        r.hwm.push(hwm);
        r.cpu.push(meter!.stop().server ?? 0);
      }
      r.firstByte.push(timing.firstByte);
      r.total.push(timing.total);
      r.bytes = timing.bytes;
      r.responses = timing.responses;
    }
  }
  console.log(
    `\nPROPFIND: ms per request (client side), median and max of ${RUNS} runs after a warm-up; server memory in MiB (median over the runs); goal first byte ≤ 100 ms, memory bounded\n`,
  );
  console.log(
    "| request | first byte p50 | first byte max | total p50 | total max | bytes | responses | server CPU ms | RSS before | peak RSS (sampled) | VmHWM | growth (HWM − before) |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const mem = r.pid
      ? [median(r.rssBefore), median(r.rssPeak), median(r.hwm), median(r.hwm.map((h, i) => h - r.rssBefore[i]!))].map(mib)
      : ["", "", "", ""];
    const cpu = r.pid ? (median(r.cpu) * 1000).toFixed(0) : "";
    console.log(
      `| ${r.label} | ${ms(median(r.firstByte))} | ${ms(Math.max(...r.firstByte))} | ${ms(median(r.total))} | ${ms(Math.max(...r.total))} | ${r.bytes.toLocaleString("en-GB")} | ${r.responses || ""} | ${cpu} | ${mem.join(" | ")} |`,
    );
  }
  for (const r of rows.filter((row) => row.pid))
    console.log(`  ${r.label}: growth per run ${r.hwm.map((h, i) => mib(h - r.rssBefore[i]!)).join(", ")} MiB`);
  await bare.stop();
}

function latencyRow(label: string, pid: number | null, request: () => Promise<Timing>): LatencyRow {
  return { label, pid, request, firstByte: [], total: [], bytes: 0, responses: 0, rssBefore: [], rssPeak: [], hwm: [], cpu: [] };
}

/** One request; the body is read as it comes and counted (`</D:response>` too), never kept. */
function timeRequest(url: string, init: { method: string; headers: Record<string, string> }, expected: number): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = http.request(url, { method: init.method, headers: init.headers, agent }, (response) => {
      const firstByte = performance.now() - started;
      if (response.statusCode !== expected) {
        response.resume();
        reject(new Error(`${init.method} ${url} answered ${response.statusCode}, expected ${expected}`));
        return;
      }
      let bytes = 0;
      let responses = 0;
      let tail = "";
      response.setEncoding("latin1");
      response.on("data", (chunk: string) => {
        bytes += chunk.length;
        const text = tail + chunk;
        responses += text.split("</D:response>").length - 1;
        tail = text.slice(-12);
        if (tail.includes("</D:response>")) tail = "";
      });
      response.on("end", () => resolve({ firstByte, total: performance.now() - started, bytes, responses }));
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end();
  });
}

/** What the upload landing writes for each file, so that the folder looks like an uploaded one. */
async function seedSearchDocuments(prisma: PrismaClient, ownerId: string) {
  await prisma.$executeRaw`
    INSERT INTO search_documents (id, owner_id, kind, name, folder_id, mime_type, size, updated_at)
    SELECT id, owner_id, 'folder', name, parent_id, NULL, NULL, updated_at FROM folders WHERE owner_id = ${ownerId} AND parent_id IS NOT NULL`;
  await prisma.$executeRaw`
    INSERT INTO search_documents (id, owner_id, kind, name, folder_id, mime_type, size, updated_at)
    SELECT id, owner_id, 'file', name, folder_id, mime_type, size, updated_at FROM files WHERE owner_id = ${ownerId} AND trashed_at IS NULL`;
}

// ---------------------------------------------------------------------------------------------
// 2 and 3. PUT against tus, GET against the page download

interface TransferRow {
  storage: string;
  label: string;
  kind: "upload" | "download";
  baseline?: TransferRow;
  seconds: number[];
  cpu: number[];
  /** Server RSS growth (VmHWM − RSS before), bytes. */
  growth: number[];
  run: (round: number) => Promise<void>;
}

async function benchTransfers(storage: string, app: AppProcess, prisma: PrismaClient, source: string, objects: string | null) {
  const account = await davAccount(app, prisma, `transfer-${storage.toLowerCase()}`);
  const name = (label: string, round: number) => `${label}-${round}-${randomBytes(3).toString("hex")}.bin`;
  /** Checks the stored size, then removes the object (local disk) so that the rounds do not fill the disk. */
  const landed = async (fileName: string, keep = false) => {
    const file = await prisma.file.findFirst({ where: { ownerId: account.userId, name: fileName } });
    if (!file || Number(file.size) !== SIZE) throw new Error(`${storage}: ${fileName} landed as ${file?.size ?? "nothing"}`);
    if (objects && !keep) {
      await prisma.file.delete({ where: { id: file.id } });
      fs.rmSync(path.join(objects, file.storageKey), { force: true });
    }
    return file;
  };
  const rows: TransferRow[] = [];
  const tusRow = transferRow(storage, "tus upload (tus-js-client, one PATCH)", "upload", async (round) => {
    const fileName = name("tus", round);
    await tusUpload(app.url, account.cookie, source, fileName);
    await landed(fileName);
  });
  rows.push(
    tusRow,
    transferRow(
      storage,
      "WebDAV PUT, chunked (no Content-Length)",
      "upload",
      async (round) => {
        const fileName = name("put-chunked", round);
        await davPut(`${app.url}/dav/${fileName}`, account.auth, source, false);
        await landed(fileName);
      },
      tusRow,
    ),
    transferRow(
      storage,
      "WebDAV PUT with Content-Length",
      "upload",
      async (round) => {
        const fileName = name("put-length", round);
        await davPut(`${app.url}/dav/${fileName}`, account.auth, source, true);
        await landed(fileName);
      },
      tusRow,
    ),
  );
  if (PARTS.has("get")) {
    const fileName = `download-${randomBytes(3).toString("hex")}.bin`;
    await davPut(`${app.url}/dav/${fileName}`, account.auth, source, false);
    const file = await landed(fileName, true);
    const page = transferRow(storage, "page download GET /download/<id>", "download", () =>
      download(`${app.url}/download/${file.id}`, { cookie: account.cookie }),
    );
    const dav = transferRow(
      storage,
      "WebDAV GET /dav/<name>",
      "download",
      () => download(`${app.url}/dav/${fileName}`, { authorization: account.auth }),
      page,
    );
    for (const r of [page, dav]) await r.run(-1); // warm-up: page cache, connections
    rows.push(page, dav);
  }
  const timed = rows.filter((r) => (r.kind === "upload" ? PARTS.has("put") : PARTS.has("get")));
  for (const r of timed.filter((row) => row.kind === "upload")) await r.run(-1); // warm-up (a whole upload each)
  for (let round = 0; round < ROUNDS; round++) {
    const order = timed.map((_, i) => timed[(i + round) % timed.length]!);
    for (const r of order) {
      if (r.kind === "upload") spawnSync("sync");
      const before = readProcessMemory(app.pid).rss;
      resetPeakRss(app.pid);
      const meter = cpuMeter({ server: [app.pid] });
      const started = performance.now();
      await r.run(round);
      r.seconds.push((performance.now() - started) / 1000);
      r.cpu.push(meter.stop().server ?? 0);
      r.growth.push(readProcessMemory(app.pid).hwm - before);
      console.log(
        `  round ${round + 1}: ${`${storage} ${r.label}`.padEnd(56)} ${(SIZE / MiB / r.seconds.at(-1)!).toFixed(0)} MiB/s, server CPU ${r.cpu.at(-1)!.toFixed(2)} s, +${mib(r.growth.at(-1)!)} MiB`,
      );
    }
  }
  return timed;
}

function transferRow(
  storage: string,
  label: string,
  kind: TransferRow["kind"],
  run: TransferRow["run"],
  baseline?: TransferRow,
): TransferRow {
  return { storage, label, kind, baseline, run, seconds: [], cpu: [], growth: [] };
}

function printTransfers(rows: TransferRow[]) {
  const rate = (r: TransferRow) => SIZE / MiB / median(r.seconds);
  console.log(
    `\nPUT and GET: ${fmtSize(SIZE)}, median of ${ROUNDS} round(s) after a warm-up; goal ≥ 0.9 × the baseline (tus for PUT, the page download for GET)\n`,
  );
  console.log("| storage | request | MiB/s | ÷ baseline | server CPU s | server memory growth MiB |");
  console.log("|---|---|---|---|---|---|");
  for (const r of rows)
    console.log(
      `| ${r.storage} | ${r.label} | ${rate(r).toFixed(0)} | ${r.baseline ? (rate(r) / rate(r.baseline)).toFixed(2) : ""} | ${median(r.cpu).toFixed(2)} | ${mib(median(r.growth))} |`,
    );
}

/** A PUT streamed from the file: chunked transfer encoding unless `withLength`. */
function davPut(url: string, auth: string, file: string, withLength: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: auth, "content-type": "application/octet-stream" };
    if (withLength) headers["content-length"] = String(fs.statSync(file).size);
    const request = http.request(url, { method: "PUT", headers, agent }, (response) => {
      response.resume();
      response.on("end", () =>
        response.statusCode === 201 || response.statusCode === 204
          ? resolve()
          : reject(new Error(`PUT ${url} answered ${response.statusCode}`)),
      );
    });
    request.on("error", reject);
    fs.createReadStream(file, { highWaterMark: MiB }).on("error", reject).pipe(request);
  });
}

/** One GET of the whole file, the body counted and dropped; fails unless SIZE bytes arrive. */
function download(url: string, headers: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers: { ...headers, "accept-encoding": "gzip, br" } }, (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          reject(new Error(`GET ${url} answered ${response.statusCode}`));
          return;
        }
        let received = 0;
        response.on("data", (chunk: Buffer) => (received += chunk.length));
        response.on("end", () => (received === SIZE ? resolve() : reject(new Error(`GET ${url}: ${received} bytes, expected ${SIZE}`))));
        response.on("error", reject);
      })
      .on("error", reject);
  });
}

// ---------------------------------------------------------------------------------------------

/** Registers a user over HTTP (session cookie), opens My files (creates the root) and gives them an app password (seeded). */
async function davAccount(app: AppProcess, prisma: PrismaClient, label: string): Promise<Account> {
  const { cookie } = await registerBenchUser(app.url, label);
  const opened = await fetch(`${app.url}/files`, { headers: { cookie } });
  await opened.arrayBuffer();
  if (opened.status !== 200) throw new Error(`GET /files: ${opened.status}`);
  const user = await prisma.user.findFirstOrThrow({ where: { name: `Load ${label}` }, select: { id: true, email: true } });
  const parts = newTokenParts();
  await prisma.apiToken.create({
    data: { id: parts.id, userId: user.id, name: "bench", secretHash: hashSecret(parts.secret), scopes: "files:read files:write" },
  });
  const auth = `Basic ${Buffer.from(`${user.email}:${parts.token}`).toString("base64")}`;
  return { email: user.email, cookie, auth, userId: user.id };
}

async function startServer(env: Record<string, string>, script?: string): Promise<AppProcess> {
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

async function writeRandomFile(file: string, size: number) {
  const out = fs.createWriteStream(file);
  for (let written = 0; written < size; ) {
    const n = Math.min(4 * MiB, size - written);
    if (!out.write(randomBytes(n))) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
    written += n;
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

function median(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const ms = (value: number) => value.toFixed(1);
const mib = (bytes: number) => (bytes / MiB).toFixed(0);
const kFiles = (count: number) => (count >= 1000 ? `${count / 1000}k` : String(count));
const fmtSize = (bytes: number) =>
  bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(bytes % 2 ** 30 ? 2 : 0)} GiB` : `${(bytes / MiB).toFixed(bytes % MiB ? 1 : 0)} MiB`;

function loadAverage() {
  return os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
}

runBenchmark(main);
