import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { io as connectSocket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../setup/free-port";
import { startRedis, type RunningRedis } from "../setup/redis";
import { TestClient } from "../support/client";
import { createTestDatabase, type TestDatabase } from "../support/database";

/**
 * Redis killed (SIGKILL) under traffic, then restarted on the same port, against the production
 * build run as `node build/start.js` so its stderr is the real one.
 */
const REPO = path.resolve(import.meta.dirname, "../..");
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const tus = (client: TestClient, extra: Record<string, string> = {}) => ({
  cookie: client.cookieHeader,
  "Tus-Resumable": "1.0.0",
  ...extra,
});

interface SpawnedApp {
  url: string;
  output: () => { stdout: string; stderr: string };
  stop(): Promise<void>;
}

async function spawnApp(env: Record<string, string>): Promise<SpawnedApp> {
  if (!fs.existsSync(path.join(REPO, "build/start.js"))) throw new Error("No production build: run `npm run build` first.");
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ["build/start.js"], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      NODE_ENV: "production",
      PORT: String(port),
      HOST: "127.0.0.1",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => (stdout += chunk));
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (
    !(await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (child.exitCode !== null) throw new Error(`the app exited (${child.exitCode}):\n${stdout}\n${stderr}`);
    if (Date.now() > deadline) throw new Error(`the app did not start:\n${stdout}\n${stderr}`);
    await sleep(100);
  }
  return {
    url,
    output: () => ({ stdout, stderr }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** Sends one request and measures it; a request that does not answer within 5 s counts as a hang. */
async function timed(request: () => Promise<Response>): Promise<{ response: Response; ms: number }> {
  const started = performance.now();
  const response = await Promise.race([
    request(),
    sleep(5_000).then(() => {
      throw new Error("no answer within 5 s");
    }),
  ]);
  return { response, ms: performance.now() - started };
}

describe("Redis killed under traffic", () => {
  let redis: RunningRedis;
  let app: SpawnedApp;
  let database: TestDatabase;
  let user: TestClient;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-redis-fault-"));

  beforeAll(async () => {
    redis = await startRedis(path.join(workDir, "redis"), { persistent: true });
    database = await createTestDatabase();
    app = await spawnApp({
      DATA_DIR: path.join(workDir, "data"),
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      REDIS_PREFIX: "coffer-fault:",
      SESSION_SECRET: "redis-fault-test-secret-0123456789abcdef",
      LOG_LEVEL: "info",
      RATE_LIMIT_GENERAL: "100000/1m",
      RATE_LIMIT_API: "100000/1m",
    });
    user = new TestClient(app.url);
    await user.register("Fault", "fault@example.com");
  });

  afterAll(async () => {
    await app?.stop();
    await redis?.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it("keeps pages and downloads up, answers 503 fast where Redis is needed, and recovers by itself", async () => {
    // A finished file to download, and an upload half done, both from before the outage.
    const stored = randomBytes(300_000);
    const created = await fetch(`${app.url}/api/uploads`, {
      method: "POST",
      headers: tus(user, {
        "Upload-Length": String(stored.length),
        "Upload-Metadata": `filename ${Buffer.from("stored.bin").toString("base64")}`,
        "Content-Type": "application/offset+octet-stream",
      }),
      body: stored,
    });
    expect(created.status).toBe(201);
    const storedId = created.headers.get("coffer-file-id")!;
    expect(storedId).toBeTruthy();

    const halves = randomBytes(2_000_000);
    const half = halves.length / 2;
    const begun = await fetch(`${app.url}/api/uploads`, {
      method: "POST",
      headers: tus(user, {
        "Upload-Length": String(halves.length),
        "Upload-Metadata": `filename ${Buffer.from("across-outage.bin").toString("base64")}`,
      }),
    });
    expect(begun.status).toBe(201);
    const uploadUrl = new URL(begun.headers.get("location")!, app.url).toString();
    const first = await fetch(uploadUrl, {
      method: "PATCH",
      headers: tus(user, { "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream" }),
      body: halves.subarray(0, half),
    });
    expect(first.status).toBe(204);

    // A live tab: its events go through Socket.IO's Redis adapter.
    const socket = connectSocket(app.url, { path: "/socket.io", extraHeaders: { cookie: user.cookieHeader }, transports: ["websocket"] });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", reject);
    });

    // Traffic all along: a signed-in page every 100 ms.
    const pageStatuses: number[] = [];
    let traffic = true;
    const background = (async () => {
      while (traffic) {
        const { response } = await timed(() => user.get("/files"));
        pageStatuses.push(response.status);
        await response.arrayBuffer();
        await sleep(100);
      }
    })();
    await sleep(300);

    await redis.kill();
    const outageStarted = Date.now();
    await sleep(200);

    // Pages and downloads that never need Redis answer as usual.
    const page = await timed(() => user.get("/files"));
    expect(page.response.status).toBe(200);
    expect(await page.response.text()).toContain("stored.bin");
    expect(page.ms).toBeLessThan(2_000);
    const download = await timed(() => user.get(`/download/${storedId}`));
    expect(download.response.status).toBe(200);
    expect(sha256(new Uint8Array(await download.response.arrayBuffer()))).toBe(sha256(stored));
    expect(download.ms).toBeLessThan(2_000);

    // A change that announces itself to live tabs (Socket.IO's adapter publishes to Redis).
    const folder = await timed(() => user.postForm("/files", { intent: "create-folder", name: "Made during the outage" }));
    expect(folder.response.status).toBe(200);
    // A failed login is still counted (locally) and answered as usual.
    const wrong = await timed(() => new TestClient(app.url).login("fault@example.com", "not the password"));
    expect(wrong.response.status).toBe(401);

    // Uploads keep their metadata in Redis: a clear 503, fast, every time.
    for (const attempt of [1, 2, 3]) {
      const head = await timed(() => fetch(uploadUrl, { method: "HEAD", headers: tus(user) }));
      expect(head.response.status, `HEAD ${attempt}`).toBe(503);
      expect(head.ms, `HEAD ${attempt}`).toBeLessThan(2_000);
      expect(Number(head.response.headers.get("retry-after"))).toBeGreaterThan(0);
      const creation = await timed(() =>
        fetch(`${app.url}/api/uploads`, {
          method: "POST",
          headers: tus(user, { "Upload-Length": "10", "Upload-Metadata": `filename ${Buffer.from("refused.bin").toString("base64")}` }),
        }),
      );
      expect(creation.response.status, `POST ${attempt}`).toBe(503);
      expect(creation.ms, `POST ${attempt}`).toBeLessThan(2_000);
      expect(creation.response.headers.get("content-type")).toContain("application/problem+json");
      expect(await creation.response.json()).toMatchObject({ status: 503, dependency: "cache" });
    }
    const patch = await timed(() =>
      fetch(uploadUrl, {
        method: "PATCH",
        headers: tus(user, { "Upload-Offset": String(half), "Content-Type": "application/offset+octet-stream" }),
        body: halves.subarray(half),
      }),
    );
    expect(patch.response.status).toBe(503);
    expect(patch.ms).toBeLessThan(2_000);
    expect(patch.response.headers.get("content-type")).toContain("application/problem+json");

    // The outage lasts a few seconds, traffic going on.
    await sleep(Math.max(0, 3_000 - (Date.now() - outageStarted)));
    await startRedis(path.join(workDir, "redis"), { persistent: true, port: redis.port }).then((restarted) => (redis = restarted));

    // Back without restarting the app: the upload resumes where it was and finishes exactly once.
    const recovery = Date.now() + 5_000;
    let offset: string | null = null;
    while (Date.now() < recovery) {
      const head = await fetch(uploadUrl, { method: "HEAD", headers: tus(user) });
      if (head.status === 200) {
        offset = head.headers.get("upload-offset");
        break;
      }
      expect(head.status).toBe(503);
      await sleep(200);
    }
    expect(offset).toBe(String(half));
    const rest = await fetch(uploadUrl, {
      method: "PATCH",
      headers: tus(user, { "Upload-Offset": String(half), "Content-Type": "application/offset+octet-stream" }),
      body: halves.subarray(half),
    });
    expect(rest.status).toBe(204);
    const finishedId = rest.headers.get("coffer-file-id")!;
    const finished = await user.get(`/download/${finishedId}`);
    expect(sha256(new Uint8Array(await finished.arrayBuffer()))).toBe(sha256(halves));
    expect(await database.prisma.file.count({ where: { name: "across-outage.bin" } })).toBe(1);
    expect(await database.prisma.file.count({ where: { name: "refused.bin" } })).toBe(0);
    expect(await database.prisma.upload.count({ where: { name: "refused.bin" } })).toBe(0);

    traffic = false;
    await background;
    socket.disconnect();
    expect(pageStatuses.length).toBeGreaterThan(10);
    expect(pageStatuses.every((status) => status === 200)).toBe(true);

    // The log says it once each way; stderr holds nothing but JSON lines and no stack trace.
    await sleep(300);
    const { stdout, stderr } = app.output();
    const lines = stderr.split("\n").filter(Boolean);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stderr).not.toContain("MaxRetriesPerRequestError");
    expect(lines.filter((line) => line.includes("cache unreachable"))).toHaveLength(1);
    expect(stdout.split("\n").filter((line) => line.includes("cache reachable again"))).toHaveLength(1);
  });
});
