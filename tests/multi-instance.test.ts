import { createHash, randomBytes } from "node:crypto";
import { io as connectSocket, type Socket } from "socket.io-client";
import * as tus from "tus-js-client";
import { beforeAll, describe, expect, it } from "vitest";
import { SESSION_CACHE_TTL_MS } from "~/domain/accounts/session-cache.server";
import { startRedis } from "./setup/redis";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

async function connect(app: TestApp, client: TestClient): Promise<Socket> {
  const socket = connectSocket(app.url, { path: "/socket.io", extraHeaders: { cookie: client.cookieHeader }, transports: ["websocket"] });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
  return socket;
}

/**
 * Two app instances on one PostgreSQL, one S3 bucket and one Redis, as behind a load balancer:
 * an upload begun on one continues on the other, and live events cross instances.
 */
describe("two instances sharing Redis, S3 and PostgreSQL", () => {
  let a: TestApp;
  let b: TestApp;
  let onA: TestClient;
  let onB: TestClient;

  beforeAll(async () => {
    a = await startTestApp({ storage: "s3", cache: "redis" });
    // One deployment: the same Redis prefix, so uploads and events are shared.
    b = await startTestApp(
      { storage: "s3", cache: "redis" },
      { DATABASE_URL: a.env.DATABASE_URL, S3_BUCKET: a.env.S3_BUCKET, REDIS_PREFIX: a.env.REDIS_PREFIX },
    );
    onA = new TestClient(a.url);
    await onA.register("Multi", "multi@example.com");
    // The same session cookie works on both instances: sessions live in the database.
    onB = new TestClient(b.url);
    onB.cookies = new Map(onA.cookies);
  });

  it("continues on instance B an upload that instance A started", async () => {
    const bytes = randomBytes(8 * 1024 * 1024);
    const started = await new Promise<string>((resolve, reject) => {
      const upload = new tus.Upload(bytes, {
        endpoint: `${a.url}/api/uploads`,
        chunkSize: 5 * 1024 * 1024,
        metadata: { filename: "across.bin" },
        headers: { cookie: onA.cookieHeader },
        retryDelays: [],
        onChunkComplete: (_size, accepted) => {
          if (accepted >= 5 * 1024 * 1024) void upload.abort().then(() => resolve(upload.url!));
        },
        onError: reject,
      });
      upload.start();
    });
    const uploadPath = new URL(started).pathname;
    const head = await fetch(`${b.url}${uploadPath}`, { method: "HEAD", headers: { cookie: onB.cookieHeader, "Tus-Resumable": "1.0.0" } });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("upload-offset"))).toBe(5 * 1024 * 1024);

    const socketOnA = await connect(a, onA);
    const event = new Promise<{ file: { name: string } }>((resolve) =>
      socketOnA.on("event", (e) => e.type === "file:created" && resolve(e)),
    );
    await new Promise<void>((resolve, reject) => {
      const upload = new tus.Upload(bytes, {
        uploadUrl: `${b.url}${uploadPath}`,
        chunkSize: 5 * 1024 * 1024,
        headers: { cookie: onB.cookieHeader },
        retryDelays: [],
        onSuccess: () => resolve(),
        onError: reject,
      });
      upload.start();
    });
    // Finished on B, announced to the tab connected to A through the Redis adapter.
    expect((await event).file.name).toBe("across.bin");
    socketOnA.disconnect();
    const file = await a.services.prisma.file.findFirstOrThrow({ where: { name: "across.bin" } });
    // B never saw the first half, so it hashes the stored file once it is complete.
    await expect.poll(async () => (await a.services.prisma.file.findUniqueOrThrow({ where: { id: file.id } })).sha256).toBe(sha256(bytes));
    const download = await onA.get(`/download/${file.id}`);
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(sha256(bytes));
  });

  it("refuses a second concurrent write to the same upload from another instance (shared lock)", async () => {
    const create = await fetch(`${a.url}/api/uploads`, {
      method: "POST",
      headers: {
        cookie: onA.cookieHeader,
        "Tus-Resumable": "1.0.0",
        "Upload-Length": String(6 * 1024 * 1024),
        "Upload-Metadata": `filename ${Buffer.from("locked.bin").toString("base64")}`,
      },
    });
    expect(create.status).toBe(201);
    const uploadPath = new URL(create.headers.get("location")!, a.url).pathname;
    // A slow PATCH on A holds the lock while B tries to write the same upload.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slowBody = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new Uint8Array(1024 * 1024));
        await gate;
        controller.close();
      },
    });
    const slow = fetch(`${a.url}${uploadPath}`, {
      method: "PATCH",
      headers: {
        cookie: onA.cookieHeader,
        "Tus-Resumable": "1.0.0",
        "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream",
      },
      body: slowBody,
      duplex: "half",
    } as RequestInit);
    await new Promise((r) => setTimeout(r, 500));
    const competing = await fetch(`${b.url}${uploadPath}`, {
      method: "PATCH",
      headers: {
        cookie: onB.cookieHeader,
        "Tus-Resumable": "1.0.0",
        "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream",
      },
      body: new Uint8Array(1024),
    });
    release();
    const first = await slow;
    // tus asks the current holder to release: exactly one of the two writes may succeed at offset 0.
    const statuses = [first.status, competing.status].sort();
    expect(statuses.filter((s) => s === 204).length).toBeLessThanOrEqual(1);
    const head = await fetch(`${b.url}${uploadPath}`, { method: "HEAD", headers: { cookie: onB.cookieHeader, "Tus-Resumable": "1.0.0" } });
    expect([1024 * 1024, 1024]).toContain(Number(head.headers.get("upload-offset")));
  });

  it("refuses on instance B, well within its session cache's seconds, a session signed out on A", async () => {
    const leaver = new TestClient(a.url);
    await leaver.register("Leaver", "leaver@example.com");
    const onTwin = new TestClient(b.url);
    onTwin.cookies = new Map(leaver.cookies);
    // B has now looked the session up, and keeps it for SESSION_CACHE_TTL_MS unless told otherwise.
    expect((await onTwin.request("/files")).status).toBe(200);
    const cookie = onTwin.cookieHeader;
    expect((await leaver.postForm("/logout", {})).status).toBe(302);
    const signedOut = Date.now();
    let status = 200;
    // A's message reaches B through Redis in milliseconds; only the cache's own expiry would take seconds.
    while (status === 200 && Date.now() - signedOut < SESSION_CACHE_TTL_MS / 2) {
      status = (await fetch(`${b.url}/files`, { headers: { cookie }, redirect: "manual" })).status;
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(status).toBe(302);
  });
});

describe("two deployments sharing one Redis under different prefixes", () => {
  it("keeps live events within each deployment", async () => {
    const a = await startTestApp({ storage: "local", cache: "redis" });
    const twin = await startTestApp(
      { storage: "local", cache: "redis" },
      { DATABASE_URL: a.env.DATABASE_URL, REDIS_PREFIX: a.env.REDIS_PREFIX },
    );
    // Same database so the same session works there; only the Redis prefix differs.
    const other = await startTestApp({ storage: "local", cache: "redis" }, { DATABASE_URL: a.env.DATABASE_URL });
    expect(other.env.REDIS_PREFIX).not.toBe(a.env.REDIS_PREFIX);
    const user = new TestClient(a.url);
    await user.register("Prefixes", "prefixes@example.com");
    const onTwin = new TestClient(twin.url);
    onTwin.cookies = new Map(user.cookies);
    const onOther = new TestClient(other.url);
    onOther.cookies = new Map(user.cookies);
    const twinSocket = await connect(twin, onTwin);
    const otherSocket = await connect(other, onOther);
    const otherEvents: unknown[] = [];
    otherSocket.on("event", (e) => otherEvents.push(e));
    try {
      const reachedTwin = new Promise((resolve) => twinSocket.on("event", (e) => e.type === "folder:changed" && resolve(e)));
      expect((await user.postForm("/files", { intent: "create-folder", name: "Announced" })).status).toBeLessThan(400);
      await reachedTwin;
      // The twin got it through Redis; give the other deployment the same time to (wrongly) get it.
      await new Promise((r) => setTimeout(r, 300));
      expect(otherEvents).toEqual([]);
    } finally {
      twinSocket.disconnect();
      otherSocket.disconnect();
    }
  });
});

describe("a service going down", () => {
  it("reports the cache as not ready (503) when Redis stops, while liveness stays up", async () => {
    const redis = await startRedis(`/tmp/coffer-redis-${Date.now()}`);
    const app = await startTestApp({ storage: "local", cache: "redis" }, { REDIS_URL: redis.url });
    const ok = await fetch(`${app.url}/readyz`);
    expect(ok.status).toBe(200);
    await redis.stop();
    const down = await fetch(`${app.url}/readyz`);
    expect(down.status).toBe(503);
    const body = await down.json();
    expect(body.checks.cache.ok).toBe(false);
    expect(body.checks.database.ok).toBe(true);
    expect(JSON.stringify(body)).not.toContain("redis://");
    // Liveness stays green: the process is fine, a dependency is not.
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    await app.close();
  });
});
