import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import type http from "node:http";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { createInterface } from "node:readline";
import { io as connectRealtime, type Socket } from "socket.io-client";
import * as tus from "tus-js-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../setup/free-port";
import { startHaproxy, type RunningHaproxy } from "../setup/haproxy";
import { startRedis, type RunningRedis } from "../setup/redis";
import { TestClient } from "../support/client";
import { createTestDatabase } from "../support/database";

/**
 * Zero-downtime rolling restart (issue 17, section 3): two production-build instances
 * (`node build/start.js`) on one PostgreSQL, one Redis and one data directory, behind Debian's
 * HAProxy running deploy/haproxy/haproxy.cfg. While 50 clients browse, download, search, hold
 * Socket.IO connections and upload with tus (two 200 MiB files, and small ones), each instance
 * in turn gets SIGTERM, exits, starts again and comes back into the pool.
 *
 * Passes when no request fails (a tus PATCH the client resumes aside), every upload's stored
 * bytes have its SHA-256 (read back through a download), and every Socket.IO client is
 * connected at the end.
 */
const REPO = path.resolve(import.meta.dirname, "../..");
const MiB = 1024 * 1024;
const LARGE_BYTES = 200 * MiB;
const LARGE_UPLOADS = 2;
const SMALL_UPLOADERS = 8;
const BROWSERS = 40;
const ACCOUNTS = 10;
/** Short, so that a 200 MiB PATCH outlasts it and is handed to the other instance mid-way. */
const GRACE_SECONDS = 3;
/** How fast each large upload sends while the restarts go on: it must outlast both. */
const LARGE_PACE_BYTES_PER_SECOND = 4 * MiB;
const WORDS = ["invoice", "holiday", "quarterly", "minutes", "contract"];

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Instance {
  port: number;
  process: ChildProcess;
  /** Warnings, errors and shutdown steps it logged. */
  log: string[];
  exited: Promise<number | null>;
}

interface Account {
  /** Session and CSRF cookies, without HAProxy's stickiness cookie: requests spread over both instances. */
  cookie: string;
  files: Array<{ id: string; sha256: string }>;
}

let work: string;
let databaseUrl: string;
let redis: RunningRedis;
let haproxy: RunningHaproxy;
let statsUrl: string;
const instances: Instance[] = [];
const ports: number[] = [];

function startInstance(port: number): Promise<Instance> {
  const child = spawn(process.execPath, ["build/start.js"], {
    cwd: REPO,
    env: {
      NODE_ENV: "production",
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      HOST: "127.0.0.1",
      PORT: String(port),
      APP_URL: haproxy.url,
      TRUST_PROXY: "1",
      DATA_DIR: path.join(work, "data"),
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      REDIS_PREFIX: "coffer-rolling:",
      SESSION_SECRET: "rolling-restart-secret-0123456789abcdef",
      SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS),
      // HAProxy takes an instance out after 2 failed checks 1 s apart (deploy/haproxy/haproxy.cfg).
      SHUTDOWN_DELAY_SECONDS: "3",
      LOG_LEVEL: "info",
      RATE_LIMIT_AUTH: "1000000/1m",
      RATE_LIMIT_API: "1000000/1m",
      RATE_LIMIT_GENERAL: "1000000/1m",
      RATE_LIMIT_SHARE: "1000000/1m",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log: string[] = [];
  for (const stream of [child.stdout!, child.stderr!])
    createInterface({ input: stream }).on("line", (line) => {
      if (!line.startsWith("{") || /"level":"(warn|error|fatal)"|"message":"shutdown: /.test(line)) log.push(line);
    });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return waitUntilReady({ port, process: child, log, exited });
}

async function waitUntilReady(instance: Instance): Promise<Instance> {
  const deadline = Date.now() + 60_000;
  while (
    !(await fetch(`http://127.0.0.1:${instance.port}/readyz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (instance.process.exitCode !== null) throw new Error(`instance on ${instance.port} exited:\n${instance.log.join("\n")}`);
    if (Date.now() > deadline) throw new Error(`instance on ${instance.port} not ready within 60 s:\n${instance.log.join("\n")}`);
    await sleep(100);
  }
  return instance;
}

/** HAProxy's view of `server` (UP, DOWN, …), from its stats page. */
async function haproxyStatus(server: string): Promise<string> {
  const csv = await (await fetch(`${statsUrl}/;csv`)).text();
  const [header, ...rows] = csv.trim().split("\n");
  const statusColumn = header!.replace(/^# /, "").split(",").indexOf("status");
  const row = rows.map((line) => line.split(",")).find((cells) => cells[0] === "coffer" && cells[1] === server);
  return row?.[statusColumn] ?? "missing";
}

async function waitForHaproxy(server: string, status: string) {
  const deadline = Date.now() + 30_000;
  while ((await haproxyStatus(server)) !== status) {
    if (Date.now() > deadline) throw new Error(`HAProxy did not see ${server} ${status} within 30 s`);
    await sleep(100);
  }
}

/**
 * A tus file reader that hands out each chunk as a stream sent at `pace()` bytes per second
 * (Infinity: at once), so that a large upload is still streaming when the instances restart.
 */
function pacedReader(pace: () => number): tus.UploadOptions["fileReader"] {
  return {
    openFile: async (input: Buffer) => ({
      size: input.length,
      slice: async (start: number, end: number) => {
        const part = input.subarray(start, Math.min(end, input.length));
        let sent = 0;
        const value = new Readable({
          read() {
            if (sent >= part.length) return void this.push(null);
            const piece = part.subarray(sent, sent + 256 * 1024);
            sent += piece.length;
            const bytesPerSecond = pace();
            if (bytesPerSecond === Number.POSITIVE_INFINITY) this.push(piece);
            else setTimeout(() => this.push(piece), (piece.length / bytesPerSecond) * 1000);
          },
        });
        // tus-js-client checks the size of the last slice against the upload's.
        return { value: Object.assign(value, { size: part.length }), done: start + part.length >= input.length };
      },
      close() {},
    }),
  };
}

/**
 * tus-js-client's Node HTTP stack, but like a browser's XHR: when the answer comes before the
 * whole body went out (an upload the stopping instance handed back with its offset), the rest
 * of the body is dropped with the connection. Node would finish sending it and then reuse the
 * connection, which the balancer is closing.
 */
class BrowserLikeHttpStack implements tus.HttpStack {
  private readonly inner = new tus.DefaultHttpStack({});
  createRequest(method: string, url: string): tus.HttpRequest {
    const request = this.inner.createRequest(method, url);
    const send = request.send.bind(request);
    request.send = async (body: unknown) => {
      const response = await send(body);
      const req = request.getUnderlyingObject() as http.ClientRequest;
      if (!req.writableFinished) {
        req.destroy();
        if (body instanceof Readable) body.destroy();
      }
      return response;
    };
    return request;
  }
  getName() {
    return "BrowserLikeHttpStack";
  }
}

/** What went wrong during the run; only PATCHes that tus resumes are allowed. */
interface Failure {
  what: string;
  detail: string;
}

interface TusUploadResult {
  fileId: string;
  retriedPatches: number;
}

/** A tus upload through the load balancer as the app's upload queue makes it (retries included). */
function upload(
  account: Account,
  name: string,
  bytes: Buffer,
  failures: Failure[],
  options: Partial<tus.UploadOptions> = {},
): Promise<TusUploadResult> {
  let retriedPatches = 0;
  let fileId: string | undefined;
  return new Promise((resolve, reject) => {
    const tusUpload = new tus.Upload(bytes, {
      endpoint: `${haproxy.url}/api/uploads`,
      httpStack: new BrowserLikeHttpStack(),
      headers: { cookie: account.cookie },
      metadata: { filename: name },
      chunkSize: 256 * MiB,
      uploadDataDuringCreation: bytes.length <= 8 * MiB,
      retryDelays: [0, 500, 1000, 2000, 3000, 5000, 10000],
      storeFingerprintForResuming: false,
      onShouldRetry(error, _attempt) {
        const method = error.originalRequest?.getMethod() ?? "?";
        const status = error.originalResponse?.getStatus() ?? 0;
        if (method === "PATCH") retriedPatches++;
        else failures.push({ what: `tus ${method} ${name}`, detail: `${status || error.message}` });
        return !(status >= 400 && status < 500) || status === 409 || status === 423;
      },
      onAfterResponse(_req, res) {
        fileId = res.getHeader("coffer-file-id") ?? fileId;
      },
      onSuccess: () => (fileId ? resolve({ fileId, retriedPatches }) : reject(new Error(`${name}: no Coffer-File-Id`))),
      onError: (error) => reject(error),
      ...options,
    });
    tusUpload.start();
  });
}

/** The SHA-256 of a file's bytes as a download through the load balancer serves them. */
async function downloadedSha256(account: Account, fileId: string): Promise<string> {
  const response = await fetch(`${haproxy.url}/download/${fileId}`, { headers: { cookie: account.cookie } });
  if (response.status !== 200) throw new Error(`download ${fileId}: HTTP ${response.status}`);
  const hash = createHash("sha256");
  for await (const chunk of Readable.fromWeb(response.body as import("node:stream/web").ReadableStream)) hash.update(chunk);
  return hash.digest("hex");
}

async function createAccount(index: number): Promise<Account> {
  const client = new TestClient(haproxy.url);
  await client.register(`Rolling ${index}`, `rolling-${index}@example.com`);
  client.cookies.delete("coffer_instance");
  const account: Account = { cookie: client.cookieHeader, files: [] };
  for (let i = 0; i < 3; i++) {
    const bytes = Buffer.from(`${WORDS[(index + i) % WORDS.length]} ${index}-${i}\n`.repeat(2000));
    const { fileId } = await upload(account, `${WORDS[(index + i) % WORDS.length]}-${index}-${i}.txt`, bytes, []);
    account.files.push({ id: fileId, sha256: sha256(bytes) });
  }
  return account;
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(REPO, "build/start.js"))) throw new Error("No production build: run `npm run build` first.");
  work = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-rolling-"));
  databaseUrl = (await createTestDatabase()).url;
  redis = await startRedis(path.join(work, "redis"));
  ports.push(await freePort(), await freePort());
  const [listen, stats] = [await freePort(), await freePort()];
  // The deployment's file as it is, plus a stats page this test reads the servers' states from.
  const statsConfig = path.join(work, "stats.cfg");
  fs.writeFileSync(statsConfig, `listen stats\n  bind 127.0.0.1:${stats}\n  stats enable\n  stats uri /\n`);
  statsUrl = `http://127.0.0.1:${stats}`;
  haproxy = await startHaproxy([path.join(REPO, "deploy/haproxy/haproxy.cfg"), statsConfig], listen, {
    COFFER_LISTEN: `127.0.0.1:${listen}`,
    COFFER_INSTANCE_1: `127.0.0.1:${ports[0]}`,
    COFFER_INSTANCE_2: `127.0.0.1:${ports[1]}`,
  });
  // One after the other: the first applies any migration.
  for (const port of ports) instances.push(await startInstance(port));
  await waitForHaproxy("coffer1", "UP");
  await waitForHaproxy("coffer2", "UP");
}, 180_000);

afterAll(async () => {
  for (const instance of instances) {
    if (instance.process.exitCode === null && instance.process.signalCode === null) {
      instance.process.kill("SIGTERM");
      const timer = setTimeout(() => instance.process.kill("SIGKILL"), 15_000);
      await instance.exited;
      clearTimeout(timer);
    }
  }
  await haproxy?.stop();
  await redis?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
}, 60_000);

describe("rolling restart behind HAProxy", () => {
  it("restarts both instances under 50 clients without a failed request, a corrupt upload or a lost Socket.IO client", async () => {
    const accounts: Account[] = [];
    for (let i = 0; i < ACCOUNTS; i++) accounts.push(await createAccount(i));
    const failures: Failure[] = [];
    let requests = 0;
    let restarting = true;
    let running = true;

    // 40 browsers: pages, searches and downloads (checked byte for byte), each with a live connection.
    const sockets: Array<{ socket: Socket; disconnects: number }> = [];
    for (let i = 0; i < BROWSERS; i++) {
      const account = accounts[i % ACCOUNTS]!;
      const socket = connectRealtime(haproxy.url, {
        path: "/socket.io",
        transports: ["websocket"],
        extraHeaders: { cookie: account.cookie },
        reconnectionDelay: 200,
        reconnectionDelayMax: 1000,
      });
      const entry = { socket, disconnects: 0 };
      socket.on("disconnect", () => entry.disconnects++);
      sockets.push(entry);
    }
    await Promise.all(
      sockets.map(({ socket }) => (socket.connected ? null : new Promise<void>((resolve) => socket.once("connect", () => resolve())))),
    );

    const browse = async (index: number) => {
      const account = accounts[index % ACCOUNTS]!;
      for (let n = 0; running; n++) {
        const file = account.files[n % account.files.length]!;
        const target = [`/files`, `/search?q=${WORDS[n % WORDS.length]}`, `/download/${file.id}`][n % 3]!;
        requests++;
        try {
          const response = await fetch(`${haproxy.url}${target}`, { headers: { cookie: account.cookie }, redirect: "manual" });
          const body = new Uint8Array(await response.arrayBuffer());
          if (response.status !== 200) failures.push({ what: `GET ${target}`, detail: `HTTP ${response.status}` });
          else if (target.startsWith("/download/") && sha256(body) !== file.sha256)
            failures.push({ what: `GET ${target}`, detail: "wrong bytes" });
        } catch (error) {
          failures.push({ what: `GET ${target}`, detail: (error as Error).message });
        }
        await sleep(100 + ((index * 37 + n * 53) % 300));
      }
    };

    // 8 clients upload small files one after the other, each read back at once.
    const smallUploads: Array<{ name: string; ok: boolean }> = [];
    const uploadSmall = async (index: number) => {
      const account = accounts[index % ACCOUNTS]!;
      for (let n = 0; running; n++) {
        const name = `small-${index}-${n}.bin`;
        const bytes = randomBytes(64 * 1024 + ((index * 7919 + n * 104729) % MiB));
        requests++;
        const entry = { name, ok: false };
        smallUploads.push(entry);
        try {
          const { fileId } = await upload(account, name, bytes, failures);
          requests++;
          entry.ok = (await downloadedSha256(account, fileId)) === sha256(bytes);
          if (!entry.ok) failures.push({ what: name, detail: "stored bytes differ" });
        } catch (error) {
          failures.push({ what: name, detail: (error as Error).message });
        }
        await sleep(200);
      }
    };

    // Two 200 MiB uploads, sent slowly while the instances restart, then at full speed.
    const largeFiles = Array.from({ length: LARGE_UPLOADS }, () => randomBytes(LARGE_BYTES));
    const pace = () => (restarting ? LARGE_PACE_BYTES_PER_SECOND : Number.POSITIVE_INFINITY);
    const largeUploads = largeFiles.map((bytes, i) =>
      upload(accounts[i]!, `large-${i}.bin`, bytes, failures, { fileReader: pacedReader(pace) }),
    );

    const load = [
      ...Array.from({ length: BROWSERS }, (_, i) => browse(i)),
      ...Array.from({ length: SMALL_UPLOADERS }, (_, i) => uploadSmall(i)),
    ];
    await sleep(2_000);
    const restarts: Array<{ server: string; exitCode: number | null; shutdown: string[] }> = [];
    for (const [i, old] of instances.entries()) {
      const server = `coffer${i + 1}`;
      old.process.kill("SIGTERM");
      const exitCode = await old.exited;
      restarts.push({ server, exitCode, shutdown: old.log.filter((line) => line.includes('"message":"shutdown: ')) });
      expect(exitCode, old.log.join("\n")).toBe(0);
      instances[i] = await startInstance(ports[i]!);
      await waitForHaproxy(server, "UP");
    }
    restarting = false;
    await sleep(2_000);
    running = false;
    await Promise.all(load);

    const large = await Promise.all(largeUploads);
    for (const [i, { fileId }] of large.entries()) expect(await downloadedSha256(accounts[i]!, fileId)).toBe(sha256(largeFiles[i]!));

    // Every live connection is back (on whichever instance), none given up.
    const deadline = Date.now() + 15_000;
    while (sockets.some(({ socket }) => !socket.connected) && Date.now() < deadline) await sleep(100);
    const disconnected = sockets.filter(({ socket }) => !socket.connected).length;
    const reconnected = sockets.filter(({ disconnects }) => disconnects > 0).length;
    for (const { socket } of sockets) socket.disconnect();

    console.log(
      `rolling restart: ${requests} requests and uploads, ${smallUploads.length} small uploads, ` +
        `${large.map((l) => l.retriedPatches).join(" + ")} PATCHes of the large uploads resumed, ` +
        `${reconnected} of ${BROWSERS} Socket.IO clients reconnected, failures: ${JSON.stringify(failures.slice(0, 20))}\n` +
        restarts.map((r) => `${r.server} exit ${r.exitCode}:\n  ${r.shutdown.join("\n  ")}`).join("\n"),
    );
    expect(failures).toEqual([]);
    expect(smallUploads.length).toBeGreaterThan(SMALL_UPLOADERS);
    expect(smallUploads.every((u) => u.ok)).toBe(true);
    expect(disconnected).toBe(0);
    // The restarts did reach the live connections (each instance had some of them).
    expect(reconnected).toBeGreaterThan(0);
    // And the uploads: at least one large PATCH was still streaming when its instance stopped, and was handed over.
    const stoppedUploads = restarts.flatMap((r) => r.shutdown.filter((line) => line.includes('"message":"shutdown: uploads stopped"')));
    expect(stoppedUploads.length + large.reduce((sum, l) => sum + l.retriedPatches, 0)).toBeGreaterThan(0);
  }, 240_000);
});
