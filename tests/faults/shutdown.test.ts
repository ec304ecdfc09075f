import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { io as connectRealtime } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort } from "../setup/free-port";
import { TestClient } from "../support/client";
import { createTestDatabase } from "../support/database";

/**
 * SIGTERM to the real server (`node build/start.js`, embedded PostgreSQL): it drains, keeps
 * what uploads received, closes everything and exits 0; a second signal ends it at once.
 * All tests share one data directory (one initdb), each starting its own process on it; one
 * upload test runs on external PostgreSQL, S3 and Redis instead.
 */
const REPO = path.resolve(import.meta.dirname, "../..");
const MiB = 1024 * 1024;
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let dataDir: string;
/** The signed-in account of the deployment under test (see signIn). */
let client: TestClient | undefined;
const accounts = new Map<string, TestClient>();

interface Server {
  url: string;
  port: number;
  process: ChildProcess;
  /** The process's output so far (JSON log lines). */
  output(): string;
  exited: Promise<{ code: number | null; at: number }>;
}

/** `npm start` (the production build), or with `dev` what `npm run dev` runs: node with tsx's loader on the sources, through Vite. */
async function startServer(env: Record<string, string> = {}, { dev = false } = {}): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, dev ? ["--import", "tsx", "server.ts"] : ["build/start.js"], {
    cwd: REPO,
    env: {
      NODE_ENV: dev ? "development" : "production",
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      PORT: String(port),
      HOST: "127.0.0.1",
      EMBEDDED_PG_PORT: String(await freePort()),
      DATA_DIR: dataDir,
      APP_URL: `http://127.0.0.1:${port}`,
      SESSION_SECRET: "shutdown-test-secret-0123456789abcdef",
      LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.once("exit", (code) => resolve({ code, at: Date.now() })),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (
    !(await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (child.exitCode !== null) throw new Error(`the server exited (code ${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`the server did not answer within 60 s:\n${output}`);
    await sleep(100);
  }
  return { url, port, process: child, output: () => output, exited };
}

/** The embedded postmaster's pid, from its pid file in DATA_DIR. */
function postmasterPid(): number | null {
  try {
    return Number(fs.readFileSync(path.join(dataDir, "postgres/postmaster.pid"), "utf8").split("\n")[0]);
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** JSON log lines whose message starts with `prefix`. */
function logLines(server: Server, prefix: string): Array<Record<string, unknown>> {
  return server
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => String(line.message).startsWith(prefix));
}

/**
 * A request whose headers are on their way (a load balancer's probe on a connection it opened
 * before the signal): `finish()` sends the rest and resolves with the raw answer.
 */
function requestInTwoParts(port: number, pathname: string) {
  const socket = net.connect(port, "127.0.0.1");
  socket.write(`GET ${pathname} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
  let answer = "";
  socket.on("data", (chunk) => (answer += chunk));
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.on("error", () => {});
  return {
    async finish(): Promise<string> {
      socket.write("Accept: application/json\r\n\r\n");
      await closed;
      return answer;
    },
  };
}

const base64 = (value: string) => Buffer.from(value).toString("base64");
const tusHeaders = (extra: Record<string, string> = {}) => ({ cookie: client!.cookieHeader, "Tus-Resumable": "1.0.0", ...extra });

async function createUpload(url: string, name: string, size: number): Promise<string> {
  const created = await fetch(`${url}/api/uploads`, {
    method: "POST",
    headers: tusHeaders({ "Upload-Length": String(size), "Upload-Metadata": `filename ${base64(name)}` }),
  });
  expect(created.status, await created.clone().text()).toBe(201);
  return new URL(created.headers.get("location")!, url).pathname;
}

function patch(url: string, uploadPath: string, offset: number, body: BodyInit) {
  return fetch(`${url}${uploadPath}`, {
    method: "PATCH",
    headers: tusHeaders({ "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" }),
    body,
    duplex: "half",
  } as RequestInit);
}

/** Uploads `bytes` in one PATCH; resolves with the new file's id. */
async function uploadFile(url: string, name: string, bytes: Buffer): Promise<string> {
  const uploadPath = await createUpload(url, name, bytes.length);
  const done = await patch(url, uploadPath, 0, new Uint8Array(bytes));
  expect(done.status).toBe(204);
  return done.headers.get("coffer-file-id")!;
}

/** Reads a download `chunk` bytes at a time with a pause after each; what arrived, and how it ended. */
function readSlowly(url: string, fileId: string, pauseMs: number) {
  return new Promise<{ received: Buffer; outcome: "complete" | "cut"; contentLength: number }>((resolve) => {
    const chunks: Buffer[] = [];
    let contentLength = -1;
    const request = http.get(`${url}/download/${fileId}`, { headers: { cookie: client!.cookieHeader } }, (response) => {
      contentLength = Number(response.headers["content-length"]);
      response.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        response.pause();
        setTimeout(() => response.resume(), pauseMs);
      });
      response.on("end", () => resolve({ received: Buffer.concat(chunks), outcome: "complete", contentLength }));
      response.on("error", () => resolve({ received: Buffer.concat(chunks), outcome: "cut", contentLength }));
      response.on("aborted", () => resolve({ received: Buffer.concat(chunks), outcome: "cut", contentLength }));
    });
    request.on("error", () => resolve({ received: Buffer.concat(chunks), outcome: "cut", contentLength }));
  });
}

/** One account per deployment (database): its session outlives restarts (same secret). */
async function signIn(server: Server, deployment = "embedded") {
  client = accounts.get(deployment);
  if (client) return;
  client = new TestClient(server.url);
  await client.register("Sam", "sam@example.com");
  accounts.set(deployment, client);
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(REPO, "build/start.js"))) throw new Error("No production build: run `npm run build` first.");
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-shutdown-"));
  fs.chmodSync(dataDir, 0o755);
});

afterAll(() => {
  const pid = postmasterPid();
  if (pid && isAlive(pid)) process.kill(pid, "SIGKILL");
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("SIGTERM", () => {
  it("idle: /readyz turns 503 at once, Socket.IO clients are told to reconnect, PostgreSQL stops, exit 0 within 3 s", async () => {
    const server = await startServer();
    await signIn(server);
    try {
      const postmaster = postmasterPid();
      expect(postmaster && isAlive(postmaster), "the embedded PostgreSQL runs").toBe(true);

      // A browser tab: its live-updates socket, and a kept-alive connection from loading a page.
      const realtime = connectRealtime(server.url, {
        path: "/socket.io",
        transports: ["websocket"],
        extraHeaders: { cookie: client!.cookieHeader, origin: server.url },
        reconnection: true,
        reconnectionDelay: 60_000,
      });
      await new Promise<void>((resolve, reject) => {
        realtime.once("connect", () => resolve());
        realtime.once("connect_error", reject);
      });
      const disconnected = new Promise<string>((resolve) => realtime.once("disconnect", (reason) => resolve(reason)));
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      await new Promise<void>((resolve, reject) =>
        http.get(`${server.url}/healthz`, { agent }, (response) => response.resume().on("end", resolve)).on("error", reject),
      );
      const probe = requestInTwoParts(server.port, "/readyz");
      await sleep(100);

      const signalled = Date.now();
      server.process.kill("SIGTERM");
      await sleep(50);
      const readyz = await probe.finish();
      expect(readyz).toMatch(/^HTTP\/1\.1 503 /);
      expect(readyz).toMatch(/connection: close/i);
      expect(readyz).toContain('"draining":true');

      const { code, at } = await server.exited;
      expect(code).toBe(0);
      expect(at - signalled).toBeLessThan(3000);
      // Not "io server disconnect", after which a Socket.IO client stays away: the client reconnects (to another instance).
      expect(await disconnected).toMatch(/^transport (close|error)$/);
      expect(realtime.active, "the Socket.IO client will reconnect").toBe(true);
      realtime.close();
      agent.destroy();

      expect(isAlive(postmaster!), "the postmaster is gone").toBe(false);
      expect(postmasterPid(), "PostgreSQL removed its pid file: it shut down cleanly").toBeNull();
      const steps = logLines(server, "shutdown:").map((line) => line.message);
      expect(steps[0]).toBe("shutdown: draining");
      expect(steps.at(-1)).toBe("shutdown: complete");
      for (const line of logLines(server, "shutdown:")) expect(typeof line.ms).toBe("number");
    } finally {
      server.process.kill("SIGKILL");
    }
  });

  it("with SHUTDOWN_DELAY_SECONDS: /readyz 503 at once, but requests (kept-alive connections and new ones) are served until the delay ends", async () => {
    const server = await startServer({ SHUTDOWN_DELAY_SECONDS: "2" });
    await signIn(server);
    // A load balancer's kept-alive connection, which it may still pick until its checks notice.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (pathname: string) =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const request = http.get(`${server.url}${pathname}`, { agent, headers: { cookie: client!.cookieHeader } }, (response) =>
          response.resume().on("end", () => resolve({ status: response.statusCode ?? 0, reused: request.reusedSocket })),
        );
        request.on("error", reject);
      });
    try {
      expect(await get("/files")).toEqual({ status: 200, reused: false });
      const signalled = Date.now();
      server.process.kill("SIGTERM");
      await sleep(300);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
      await sleep(700);
      expect(await get("/files"), "the kept-alive connection still serves").toEqual({ status: 200, reused: true });
      expect((await fetch(`${server.url}/healthz`)).status, "new connections are still accepted").toBe(200);

      const { code, at } = await server.exited;
      expect(code).toBe(0);
      expect(at - signalled).toBeGreaterThanOrEqual(2000);
      expect(logLines(server, "shutdown: leaving the load balancer's pool")).toMatchObject([{ delaySeconds: 2, signal: "SIGTERM" }]);
      expect(logLines(server, "shutdown: complete")).toMatchObject([{ exitCode: 0 }]);
    } finally {
      agent.destroy();
      server.process.kill("SIGKILL");
    }
  });

  it("during an upload: what arrived by the deadline is stored, a restart reports that offset, and the upload finishes", async () => {
    await uploadThroughShutdown({}, "embedded", (uploadId) => fs.statSync(path.join(dataDir, "objects", uploadId)).size);
  });

  it("during an upload to S3 with Redis locks: the same", async () => {
    const services = inject("services");
    const env = {
      DATABASE_URL: (await createTestDatabase()).url,
      S3_ENDPOINT: services.s3.endpoint,
      S3_ACCESS_KEY: services.s3.accessKey,
      S3_SECRET_KEY: services.s3.secretKey,
      S3_REGION: services.s3.region,
      S3_BUCKET: `coffer-shutdown-${randomBytes(4).toString("hex")}`,
      S3_PART_SIZE: "5MiB",
      REDIS_URL: services.redisUrl,
      REDIS_PREFIX: `coffer-shutdown-${randomUUID()}:`,
    };
    await uploadThroughShutdown(env, env.DATABASE_URL, null);
  });

  it("during downloads: one that finishes in the grace period is whole, one that cannot is cut, never passed off as whole; the signal repeated at once is the same stop", async () => {
    const server = await startServer({ SHUTDOWN_GRACE_SECONDS: "2" });
    await signIn(server);
    const small = randomBytes(4 * MiB);
    const large = randomBytes(48 * MiB);
    const smallId = await uploadFile(server.url, "small.bin", small);
    const largeId = await uploadFile(server.url, "large.bin", large);
    try {
      // About 10 MiB/s and 1.3 MiB/s.
      const quick = readSlowly(server.url, smallId, 5);
      const slow = readSlowly(server.url, largeId, 50);
      await sleep(300);
      server.process.kill("SIGTERM");
      // As when a wrapper (npm, a shell script) passes on the signal its process group also got.
      await sleep(10);
      server.process.kill("SIGTERM");

      const finished = await quick;
      expect(finished.outcome).toBe("complete");
      expect(sha256(finished.received)).toBe(sha256(small));

      const cut = await slow;
      expect(cut.outcome).toBe("cut");
      expect(cut.contentLength).toBe(large.length);
      expect(cut.received.length).toBeLessThan(large.length);
      expect(cut.received.equals(large.subarray(0, cut.received.length)), "what arrived is the file's beginning").toBe(true);

      expect((await server.exited).code).toBe(0);
      expect(logLines(server, "shutdown: repeated signal ignored")).toHaveLength(1);
      expect(logLines(server, "shutdown: connections cut")[0]).toMatchObject({ requests: 1 });
    } finally {
      server.process.kill("SIGKILL");
    }
  });

  it("a second signal (a second later) during the grace period exits at once, and stops PostgreSQL too", async () => {
    const server = await startServer();
    await signIn(server);
    const fileId = await uploadFile(server.url, "held.bin", randomBytes(48 * MiB));
    try {
      const download = readSlowly(server.url, fileId, 50);
      await sleep(300);
      const postmaster = postmasterPid()!;
      server.process.kill("SIGTERM");
      await sleep(1200);
      expect(server.process.exitCode, "the download holds the 30 s grace period").toBeNull();
      const signalled = Date.now();
      server.process.kill("SIGTERM");
      const { code, at } = await server.exited;
      expect(at - signalled).toBeLessThan(1000);
      expect(code).toBe(143);
      expect(logLines(server, "shutdown: second signal")).toHaveLength(1);
      expect((await download).outcome).toBe("cut");
      const gone = Date.now() + 5000;
      while (isAlive(postmaster) && Date.now() < gone) await sleep(100);
      expect(isAlive(postmaster), "the postmaster is not left behind").toBe(false);
    } finally {
      server.process.kill("SIGKILL");
    }
  });
});

describe("SIGTERM to `npm run dev` (node --import tsx, Vite)", () => {
  it("shuts down the same way: exit 0, PostgreSQL stopped (Vite's own exit-on-SIGTERM does not cut it short)", async () => {
    const server = await startServer({}, { dev: true });
    try {
      expect((await fetch(`${server.url}/login`)).status).toBe(200);
      const postmaster = postmasterPid()!;
      server.process.kill("SIGTERM");
      const { code } = await server.exited;
      expect(code, server.output().slice(-3000)).toBe(0);
      expect(logLines(server, "shutdown: complete")).toHaveLength(1);
      const gone = Date.now() + 5000;
      while (isAlive(postmaster) && Date.now() < gone) await sleep(100);
      expect(isAlive(postmaster), "the postmaster is not left behind").toBe(false);
    } finally {
      server.process.kill("SIGKILL");
    }
  });
});

/**
 * A PATCH streaming past the 2 s grace period: the server exits 0 having stored what arrived
 * (`storedBytes` reads it from the store, when the test can), tells the client that offset, a
 * restarted server reports it, and the rest completes the file.
 */
async function uploadThroughShutdown(env: Record<string, string>, deployment: string, storedBytes: ((uploadId: string) => number) | null) {
  const server = await startServer({ ...env, SHUTDOWN_GRACE_SECONDS: "2" });
  await signIn(server, deployment);
  const bytes = randomBytes(24 * MiB);
  const uploadPath = await createUpload(server.url, "during-shutdown.bin", bytes.length);
  const uploadId = uploadPath.split("/").at(-1)!;

  // About 1.3 MiB/s: still streaming when the grace period ends.
  const CHUNK = 64 * 1024;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  const answer = patch(server.url, uploadPath, 0, body).then(
    (response) => ({ status: response.status, offset: Number(response.headers.get("upload-offset")) }),
    () => "connection closed" as const,
  );
  let sent = 0;
  let sending = true;
  const sender = (async () => {
    while (sending && sent + CHUNK < bytes.length) {
      try {
        controller.enqueue(new Uint8Array(bytes.subarray(sent, sent + CHUNK)));
      } catch {
        return; // the request is over
      }
      sent += CHUNK;
      await sleep(50);
    }
  })();
  let stored: number;
  try {
    await sleep(700);
    const sentAtSignal = sent;
    server.process.kill("SIGTERM");
    const { code } = await server.exited;
    sending = false;
    await sender;
    expect(code, server.output()).toBe(0);
    const stopped = logLines(server, "shutdown: uploads stopped");
    expect(stopped, server.output()).toHaveLength(1);
    expect(stopped[0]).toMatchObject({ uploads: 1, answered: 1 });

    // The client is told the exact offset before its connection closes.
    const told = await answer;
    if (told === "connection closed") throw new Error("the stopped PATCH got no answer");
    expect(told.status).toBe(204);
    stored = told.offset;
    if (storedBytes) expect(storedBytes(uploadId)).toBe(stored);
    expect(stored, "the server kept reading during the grace period").toBeGreaterThan(sentAtSignal);
    expect(stored).toBeLessThanOrEqual(sent);
  } finally {
    sending = false;
    server.process.kill("SIGKILL");
  }

  const again = await startServer(env);
  try {
    const head = await fetch(`${again.url}${uploadPath}`, { method: "HEAD", headers: tusHeaders() });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("upload-offset"))).toBe(stored);
    const rest = await patch(again.url, uploadPath, stored, new Uint8Array(bytes.subarray(stored)));
    expect(rest.status, await rest.clone().text()).toBe(204);
    const fileId = rest.headers.get("coffer-file-id");
    expect(fileId).toBeTruthy();
    const download = await fetch(`${again.url}/download/${fileId}`, { headers: { cookie: client!.cookieHeader } });
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(sha256(bytes));
  } finally {
    again.process.kill("SIGTERM");
    expect((await again.exited).code).toBe(0);
  }
}
