import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import * as tus from "tus-js-client";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { addFile } from "~/domain/files/files.server";
import { getRootFolder } from "~/domain/files/folders.server";
import { hashUnhashedFiles } from "~/domain/jobs/jobs.server";
import { startTestApp, type TestApp } from "../support/app";
import { TestClient } from "../support/client";
import { outageRelay, type OutageRelay } from "../support/outage-relay";
import { incompleteMultipartUploads } from "../support/s3";
import { resumingHttpStack } from "~/components/tus-resume-stack";
import { captureStderr } from "../support/stderr";
import { createUpload, createUploadRequest, patchUpload, tusHeaders } from "../support/tus";

/**
 * The object store fails under traffic: pages stay up, what needs the store answers 503 with
 * Retry-After and a body within 2 s, nothing is left half-made, and everything comes back by
 * itself once the store does.
 *
 * S3 is taken down with a TCP relay between the app and the shared Swift server, not by stopping
 * a Swift of our own: other test files share the one global setup started, and a second Swift
 * (four processes, four ports, a ring to build) costs seconds to start and to stop, while the
 * relay fails the app's connections exactly as a dead server does (open ones reset, new ones
 * refused) or as a hung one does (accepted, never answered), and comes back on the same port.
 */

const MiB = 2 ** 20;
const HOUR = 3_600_000;
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
// Browsers and scripts alike: the store's outage must be told apart from "not found".
const HTML = { accept: "text/html" };
/** Stack frames ("    at fn (file:1:2)"), which must never reach stderr. */
const STACK_FRAME = /\n\s+at .+:\d+:\d+/;

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await run();
  return { value, ms: performance.now() - started };
}

/** Pages that never need the store, requested over and over while the test runs. */
function pageTraffic(client: TestClient) {
  const results: Array<{ path: string; status: number; ms: number }> = [];
  let running = true;
  const loop = (async () => {
    const paths = ["/files", "/search?q=notes", "/settings/security"];
    for (let i = 0; running; i++) {
      const path = paths[i % paths.length]!;
      const { value: response, ms } = await timed(() => client.get(path, HTML));
      await response.arrayBuffer();
      results.push({ path, status: response.status, ms });
      await sleep(50);
    }
  })();
  return {
    results,
    async stop() {
      running = false;
      await loop;
    },
  };
}

async function expectUnavailable(response: Response, ms: number, kind: "page" | "problem") {
  expect(response.status).toBe(503);
  expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(ms).toBeLessThan(2_000);
  const body = await response.text();
  if (kind === "problem") {
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(body)).toMatchObject({ status: 503, dependency: "storage" });
  } else {
    expect(body).toMatch(/cannot reach its file storage/);
  }
  expect(body).not.toMatch(STACK_FRAME);
}

async function storeFile(app: TestApp, ownerEmail: string, name: string, bytes: Buffer) {
  const user = await app.services.prisma.user.findUniqueOrThrow({ where: { email: ownerEmail } });
  const storageKey = randomBytes(16).toString("hex");
  await app.services.storage.put(storageKey, Readable.from([bytes]), { size: bytes.length });
  const root = await getRootFolder(app.services, user.id);
  const file = await addFile(app.services, {
    ownerId: user.id,
    folderId: root.id,
    name,
    size: bytes.length,
    mimeType: name.endsWith(".txt") ? "text/plain" : "application/octet-stream",
    storageKey,
    sha256: sha256(bytes),
  });
  return file.id;
}

/** Every key in the app's bucket, asked of the S3 server itself (not through the relay). */
async function bucketKeys(app: TestApp): Promise<string[]> {
  const s3 = inject("services").s3;
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey },
  });
  try {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: app.env.S3_BUCKET }));
    return (listed.Contents ?? []).map((object) => object.Key!);
  } finally {
    client.destroy();
  }
}

async function waitForStatus(client: TestClient, path: string, status: number, withinMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    const response = await client.get(path);
    await response.arrayBuffer();
    if (response.status === status) return performance.now() - started;
    if (performance.now() - started > withinMs) throw new Error(`${path} still answers ${response.status} after ${withinMs} ms`);
    await sleep(200);
  }
}

describe("S3 store outage", () => {
  let relay: OutageRelay;
  let app: TestApp;
  let client: TestClient;
  const email = "outage@example.com";
  let small: { id: string; bytes: Buffer };
  let big: { id: string; bytes: Buffer };

  beforeAll(async () => {
    relay = await outageRelay(inject("services").s3.endpoint);
    app = await startTestApp({ storage: "s3", cache: "memory" }, { S3_ENDPOINT: relay.endpoint, LOG_LEVEL: "info" });
    client = new TestClient(app.url);
    await client.register("Olga Outage", email);
    const smallBytes = Buffer.from("meeting notes\n".repeat(100));
    small = { id: await storeFile(app, email, "notes.txt", smallBytes), bytes: smallBytes };
    const bigBytes = randomBytes(32 * MiB);
    big = { id: await storeFile(app, email, "big.bin", bigBytes), bytes: bigBytes };
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await relay?.close();
  });

  it("keeps pages up, answers 503 fast for what needs the store, and recovers by itself", async () => {
    const stderr = captureStderr();
    const stdout = vi.spyOn(process.stdout, "write");
    let printed = "";
    let logged = "";
    const traffic = pageTraffic(client);
    try {
      // An upload with part of it stored, to be continued during and after the outage.
      const paused = randomBytes(8 * MiB);
      const pausedUrl = await createUpload(app, client, { name: "paused.bin", size: paused.length });
      expect((await patchUpload(client, pausedUrl, 0, paused.subarray(0, 5 * MiB))).status).toBe(204);

      // A download under way, its reader pausing after the first bytes.
      const download = await client.get(`/download/${big.id}`);
      expect(download.status).toBe(200);
      const reader = download.body!.getReader();
      let downloaded = (await reader.read()).value!.length;

      // An upload streaming when S3 dies: the store goes down in the middle of a PATCH body.
      const streamed = randomBytes(20 * MiB);
      let outageStarted!: () => void;
      const outage = new Promise<void>((resolve) => (outageStarted = resolve));
      let killing: Promise<void> | null = null;
      const uploadUrls: string[] = [];
      const uploadDone = new Promise<void>((resolve, reject) => {
        const upload = new tus.Upload(streamed, {
          endpoint: `${app.url}/api/uploads`,
          // As Coffer's upload queue does: a 503 HEAD is retried, not answered by starting over.
          httpStack: resumingHttpStack(new tus.DefaultHttpStack({})),
          onUploadUrlAvailable: () => void uploadUrls.push(upload.url!),
          chunkSize: 6 * MiB,
          metadata: { filename: "streamed.bin" },
          headers: { cookie: client.cookieHeader },
          retryDelays: Array(60).fill(500),
          onProgress: (sent) => {
            if (sent > 8 * MiB && !killing) killing = relay.kill().then(outageStarted);
          },
          onSuccess: () => resolve(),
          onError: reject,
        });
        upload.start();
      });
      await outage;

      // The download is cut, never finished short.
      let cut = false;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          downloaded += value.length;
        }
      } catch {
        cut = true;
      }
      expect(cut).toBe(true);
      expect(downloaded).toBeLessThan(big.bytes.length);

      // What needs the store: 503, Retry-After, a human body or problem+json, within 2 s.
      for (let round = 0; round < 4; round++) {
        for (const target of [`/download/${small.id}`, `/view/${small.id}`, `/bulk/zip?item=file:${small.id}`]) {
          const { value, ms } = await timed(() => client.get(target, HTML));
          await expectUnavailable(value, ms, "page");
        }
      }
      const uploadsBefore = await app.services.prisma.upload.count();
      const head = await timed(() => fetch(pausedUrl, { method: "HEAD", headers: tusHeaders(client) }));
      expect(head.value.status).toBe(503);
      expect(head.value.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(Number(head.value.headers.get("content-length"))).toBeGreaterThan(0);
      expect(Number(head.value.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(head.ms).toBeLessThan(2_000);
      const post = await timed(() => createUploadRequest(app, client, { name: "during.bin", size: 3 }));
      await expectUnavailable(post.value, post.ms, "problem");
      expect(await app.services.prisma.upload.count()).toBe(uploadsBefore);
      expect(await app.services.prisma.upload.findFirst({ where: { name: "during.bin" } })).toBeNull();
      const patch = await timed(() => patchUpload(client, pausedUrl, 5 * MiB, paused.subarray(5 * MiB)));
      await expectUnavailable(patch.value, patch.ms, "problem");
      expect(patch.value.headers.get("tus-resumable")).toBe("1.0.0");

      // Operators: /readyz names the store, in one line.
      const ready = await fetch(`${app.url}/readyz`);
      expect(ready.status).toBe(503);
      const report = (await ready.json()) as { checks: Record<string, { ok: boolean; error?: string }> };
      expect(report.checks.storage).toMatchObject({ ok: false });
      expect(report.checks.storage!.error).not.toMatch(/\n/);
      expect(report.checks.database).toMatchObject({ ok: true });

      // Pages never needed the store.
      await sleep(300);
      const duringOutage = traffic.results.length;
      expect(duringOutage).toBeGreaterThan(3);

      // The store comes back: no restart, and the app notices within its breaker's reset.
      await relay.revive();
      const recoveredIn = await waitForStatus(client, `/download/${small.id}`, 200, 10_000);
      expect(recoveredIn).toBeLessThan(7_000);
      expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
      const again = await client.get(`/download/${small.id}`);
      expect(Buffer.from(await again.arrayBuffer()).equals(small.bytes)).toBe(true);

      // The PATCH refused during the outage resumes at the exact offset it had.
      const resumed = await fetch(pausedUrl, { method: "HEAD", headers: tusHeaders(client) });
      expect(resumed.status).toBe(200);
      expect(Number(resumed.headers.get("upload-offset"))).toBe(5 * MiB);
      const finish = await patchUpload(client, pausedUrl, 5 * MiB, paused.subarray(5 * MiB));
      expect(finish.status, await finish.clone().text()).toBe(204);

      // The upload cut mid-body finishes with the right bytes, as the same upload: resumed, not sent again.
      await uploadDone;
      expect(new Set(uploadUrls).size).toBe(1);
      const streamedFile = await app.services.prisma.file.findFirstOrThrow({ where: { name: "streamed.bin" } });
      expect(streamedFile.storageKey).toBe(uploadUrls[0]!.split("/").at(-1));
      for (const [name, bytes] of [
        ["streamed.bin", streamed],
        ["paused.bin", paused],
      ] as const) {
        const file = await app.services.prisma.file.findFirstOrThrow({ where: { name } });
        const body = await (await client.get(`/download/${file.id}`)).arrayBuffer();
        expect(sha256(new Uint8Array(body)), name).toBe(sha256(bytes));
        // Hashed in the stream, or from storage once finished; should the store fail that hash
        // too, the periodic safety net (hashUnhashedFiles) makes it later.
        const stored = async () => (await app.services.prisma.file.findUniqueOrThrow({ where: { id: file.id } })).sha256;
        await expect
          .poll(stored, { timeout: 3_000 })
          .not.toBeNull()
          .catch(() => hashUnhashedFiles(app.services, new Date(Date.now() + HOUR)));
        expect(await stored(), name).toBe(sha256(bytes));
      }

      // No row without an object, no object without a row, nothing half-made.
      await traffic.stop();
      expect(await app.services.prisma.upload.count()).toBe(0);
      expect(await incompleteMultipartUploads(app)).toBe(0);
      const files = await app.services.prisma.file.findMany({ select: { storageKey: true } });
      await expect.poll(async () => (await bucketKeys(app)).filter((key) => key.endsWith(".info"))).toEqual([]);
      expect((await bucketKeys(app)).sort()).toEqual(files.map((file) => file.storageKey).sort());
    } finally {
      await traffic.stop();
      printed = stderr.stop();
      logged = stdout.mock.calls.map(([chunk]) => String(chunk)).join("");
      stdout.mockRestore();
    }
    expect(printed).not.toMatch(STACK_FRAME);
    // Operators see the outage and the recovery in the log.
    expect(printed).toMatch(/"message":"object storage unreachable/);
    expect(logged).toMatch(/"message":"object storage reachable again"/);
    const failedPages = traffic.results.filter((result) => result.status !== 200);
    expect(failedPages).toEqual([]);
  }, 60_000);
});

describe("S3 store that hangs", () => {
  let relay: OutageRelay;
  let app: TestApp;
  let client: TestClient;
  let fileId: string;

  beforeAll(async () => {
    relay = await outageRelay(inject("services").s3.endpoint);
    app = await startTestApp({ storage: "s3", cache: "memory" }, { S3_ENDPOINT: relay.endpoint });
    client = new TestClient(app.url);
    await client.register("Hana Hang", "hang@example.com");
    fileId = await storeFile(app, "hang@example.com", "hang.txt", Buffer.from("still here\n"));
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await relay?.close();
  });

  it("costs at most one short timeout per request while the store hangs, then fails at once", async () => {
    await relay.hang();
    try {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const { value, ms } = await timed(() => client.get(`/download/${fileId}`, HTML));
        await expectUnavailable(value, ms, "page");
        times.push(ms);
      }
      // Three timeouts open the circuit; then the store is not even asked.
      expect(Math.max(...times.slice(3))).toBeLessThan(300);
      const page = await timed(() => client.get("/files", HTML));
      expect(page.value.status).toBe(200);
    } finally {
      await relay.revive();
    }
    await waitForStatus(client, `/download/${fileId}`, 200, 10_000);
  }, 30_000);
});

describe("local disk outage", () => {
  let app: TestApp;
  let client: TestClient;
  const email = "disk@example.com";

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    client = new TestClient(app.url);
    await client.register("Dora Disk", email);
  });

  /**
   * The cheapest real disk outage: the storage directory replaced by a file (an unmounted or
   * swapped volume), every file operation then failing with ENOTDIR.
   */
  it("answers 503 while the storage directory is gone, and recovers when it is back", async () => {
    const bytes = Buffer.from("local notes\n");
    const fileId = await storeFile(app, email, "local-notes.txt", bytes);
    const uploadUrl = await createUpload(app, client, { name: "local-paused.bin", size: 10 });
    expect((await patchUpload(client, uploadUrl, 0, Buffer.from("01234"))).status).toBe(204);
    const directory = path.join(app.dataDir, "objects");
    const away = `${directory}.away`;
    const stderr = captureStderr();
    fs.renameSync(directory, away);
    fs.writeFileSync(directory, "not a directory");
    try {
      const download = await timed(() => client.get(`/download/${fileId}`, HTML));
      await expectUnavailable(download.value, download.ms, "page");
      const head = await fetch(uploadUrl, { method: "HEAD", headers: tusHeaders(client) });
      expect(head.status).toBe(503);
      expect(head.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      const uploads = await app.services.prisma.upload.count();
      const post = await timed(() => createUploadRequest(app, client, { name: "local-during.bin", size: 3 }));
      await expectUnavailable(post.value, post.ms, "problem");
      expect(await app.services.prisma.upload.count()).toBe(uploads);
      const patch = await timed(() => patchUpload(client, uploadUrl, 5, Buffer.from("56789")));
      await expectUnavailable(patch.value, patch.ms, "problem");
      const form = new FormData();
      form.append("file", new Blob([new Uint8Array(Buffer.from("form bytes"))]), "form-during.txt");
      const formUpload = await timed(() => client.postMultipart("/files", form));
      expect(formUpload.value.status).toBe(503);
      expect(formUpload.ms).toBeLessThan(2_000);
      expect(await app.services.prisma.file.findFirst({ where: { name: "form-during.txt" } })).toBeNull();
      // The account export asks the store first: a 503, and no export recorded as done.
      const exports = await app.services.prisma.auditEvent.count({ where: { action: "user.data_exported" } });
      const exported = await timed(() => client.postForm("/settings/privacy/export", {}));
      await expectUnavailable(exported.value, exported.ms, "page");
      expect(await app.services.prisma.auditEvent.count({ where: { action: "user.data_exported" } })).toBe(exports);
      expect((await client.get("/files", HTML)).status).toBe(200);
    } finally {
      fs.rmSync(directory);
      fs.renameSync(away, directory);
      expect(stderr.stop()).not.toMatch(STACK_FRAME);
    }
    await waitForStatus(client, `/download/${fileId}`, 200, 10_000);
    const head = await fetch(uploadUrl, { method: "HEAD", headers: tusHeaders(client) });
    expect(Number(head.headers.get("upload-offset"))).toBe(5);
    expect((await patchUpload(client, uploadUrl, 5, Buffer.from("56789"))).status).toBe(204);
    const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "local-paused.bin" } });
    expect(await (await client.get(`/download/${file.id}`)).text()).toBe("0123456789");
  }, 30_000);
});
