// With encryption at rest, tus uploads are encrypted as they arrive: nothing of a paused upload is
// stored in plaintext (local files; every byte sent to S3, parts of unfinished multipart uploads
// included), a body cut inside a segment resumes from the last whole segment, and finishing keeps
// the stored object as the file's (no re-read, no new object). Uploads begun in plaintext before
// still finish, encrypted then. Through the whole app, on both storage drivers.
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import * as tus from "tus-js-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isEncryptedStore, type EncryptedObjectStore } from "~/services/storage/encrypted.server";
import { cipherSize, DEFAULT_SEGMENT_SIZE, MAGIC } from "~/services/storage/encryption-format.server";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { createTestDatabase } from "./support/database";
import { DRIVER_SETS } from "./support/people";
import { recordingS3Relay } from "./support/s3";
import { createUpload, patchThenDrop, patchUpload, tusHeaders, uploadOffset } from "./support/tus";

const MiB = 2 ** 20;
const SEGMENT = DEFAULT_SEGMENT_SIZE;
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

/** 32-byte samples spread over `data`: what a scan for its plaintext looks for. */
function samplesOf(data: Buffer, count = 64): Buffer[] {
  const step = Math.floor((data.length - 32) / count);
  return Array.from({ length: count }, (_, i) => data.subarray(i * step, i * step + 32));
}

function foundIn(haystack: Buffer, samples: Buffer[]): number {
  return samples.filter((sample) => haystack.includes(sample)).length;
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

/** A file's bytes; none when it was removed since it was listed (tus metadata of a finished upload). */
function readIfStillThere(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return Buffer.alloc(0);
    throw error;
  }
}

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function encryptedStore(app: TestApp): EncryptedObjectStore {
  const storage = app.services.storage;
  if (!isEncryptedStore(storage)) throw new Error("encryption is not on");
  return storage;
}

function tusJsUpload(app: TestApp, client: TestClient, data: Buffer, filename: string, chunkSize: number) {
  const offsets: number[] = [];
  return new Promise<{ error?: Error; offsets: number[] }>((resolve) => {
    const upload = new tus.Upload(data, {
      endpoint: `${app.url}/api/uploads`,
      uploadSize: data.length,
      chunkSize,
      metadata: { filename },
      headers: { cookie: client.cookieHeader },
      retryDelays: [],
      onChunkComplete: (_chunk, accepted) => void offsets.push(accepted),
      onSuccess: () => resolve({ offsets }),
      onError: (error) => resolve({ error, offsets }),
    });
    upload.start();
  });
}

describe.each(DRIVER_SETS)("tus uploads with encryption at rest ($label)", ({ drivers }) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-enc-up-"));
  let relay: Awaited<ReturnType<typeof recordingS3Relay>> | null = null;
  let shared: Record<string, string>;
  let app: TestApp;
  let client: TestClient;
  // An upload begun before encryption (as by a Coffer that stored tus uploads in plaintext).
  const legacy = randomBytes(2 * MiB + 3);
  let legacyUrl: string;

  /** What storage holds right now: every local file, or every byte sent to S3. */
  const storedSoFar = () => (relay ? relay.sent() : Buffer.concat(filesUnder(path.join(dataDir, "objects")).map(readIfStillThere)));

  beforeAll(async () => {
    relay = drivers.storage === "s3" ? await recordingS3Relay() : null;
  });
  afterAll(async () => {
    await app?.close();
    await relay?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("(without encryption, as before) a paused upload is stored in plaintext, and the scan finds it", async () => {
    const plain = await startTestApp(drivers, {
      DATABASE_URL: (await createTestDatabase()).url,
      DATA_DIR: dataDir,
      ...(relay ? { S3_ENDPOINT: relay.endpoint } : {}),
    });
    shared = {
      DATABASE_URL: plain.env.DATABASE_URL!,
      DATA_DIR: dataDir,
      ...(relay ? { S3_ENDPOINT: relay.endpoint, S3_BUCKET: plain.env.S3_BUCKET! } : {}),
    };
    if (plain.env.REDIS_PREFIX) shared.REDIS_PREFIX = plain.env.REDIS_PREFIX;
    const plainClient = new TestClient(plain.url);
    await plainClient.register("Pat Plain", "pat@example.com");
    legacyUrl = await createUpload(plain, plainClient, { name: "legacy.bin", size: legacy.length });
    await patchThenDrop(plainClient, legacyUrl, 0, legacy.subarray(0, MiB + 5), legacy.length);
    await expect.poll(() => uploadOffset(plainClient, legacyUrl), { timeout: 10_000 }).toBe(MiB + 5);
    // The scan sees plaintext where there is some: without encryption the paused upload is plaintext.
    expect(foundIn(storedSoFar(), samplesOf(legacy.subarray(0, MiB)))).toBeGreaterThan(32);
    await plain.close();

    relay?.clear();
    app = await startTestApp(drivers, { ...shared, ENCRYPTION_MASTER_KEY: randomBytes(32).toString("base64") });
    client = new TestClient(app.url);
    client.cookies = new Map(plainClient.cookies);
    legacyUrl = legacyUrl.replace(new URL(legacyUrl).origin, app.url);
  });

  it("stores no plaintext of a paused upload, resumes a body cut inside a segment, and keeps the encrypted object on completion", async () => {
    const data = randomBytes(7 * MiB + 1000);
    const url = await createUpload(app, client, { name: "secret.bin", size: data.length });
    const uploadId = url.split("/").pop()!;

    // Cut 5000 bytes into segment 96: 6 MiB of whole segments (on S3 one 5 MiB part, the rest parked).
    await patchThenDrop(client, url, 0, data.subarray(0, 6 * MiB + 5000), data.length);
    await expect.poll(() => uploadOffset(client, url), { timeout: 10_000 }).toBe(6 * MiB);
    const sent = samplesOf(data.subarray(0, 6 * MiB + 5000));
    expect(foundIn(storedSoFar(), sent), "plaintext of the paused upload in storage").toBe(0);
    if (drivers.storage === "local") {
      const stored = fs.readFileSync(path.join(dataDir, "objects", uploadId));
      expect(stored.length).toBe(cipherSize(6 * MiB));
      expect(stored.subarray(0, MAGIC.length).equals(MAGIC)).toBe(true);
    }

    // A chunk that does not end on a segment boundary: only its whole segments count.
    const chunk = await patchUpload(client, url, 6 * MiB, new Uint8Array(data.subarray(6 * MiB, 6 * MiB + SEGMENT + 12_345)));
    expect(chunk.status).toBe(204);
    expect(Number(chunk.headers.get("upload-offset"))).toBe(6 * MiB + SEGMENT);
    expect(await uploadOffset(client, url)).toBe(6 * MiB + SEGMENT);
    expect(foundIn(storedSoFar(), samplesOf(data))).toBe(0);

    // Finishing reads nothing back and writes no other object.
    const inner = encryptedStore(app).inner;
    const calls: string[] = [];
    const { get, put, copy } = inner;
    inner.get = (key, range) => {
      calls.push(`get ${key}`);
      return get.call(inner, key, range);
    };
    inner.put = (key, body, options) => {
      calls.push(`put ${key}`);
      return put.call(inner, key, body, options);
    };
    inner.copy = (from, to) => {
      calls.push(`copy ${from}`);
      return copy.call(inner, from, to);
    };
    let last: Response;
    try {
      last = await patchUpload(client, url, 6 * MiB + SEGMENT, new Uint8Array(data.subarray(6 * MiB + SEGMENT)));
    } finally {
      Object.assign(inner, { get, put, copy });
    }
    expect(last.status, await last.clone().text()).toBe(204);
    expect(Number(last.headers.get("upload-offset"))).toBe(data.length);
    expect(calls).toEqual([]);
    expect(foundIn(storedSoFar(), samplesOf(data)), "plaintext in storage").toBe(0);

    const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "secret.bin" } });
    expect(file.storageKey).toBe(uploadId);
    // Hashed as the bytes arrived, the cut and the partial chunk notwithstanding.
    expect(file.sha256).toBe(sha256(data));
    const stored = await readAll(await inner.get(uploadId));
    expect(stored.length).toBe(cipherSize(data.length));

    const whole = await client.get(`/download/${file.id}`);
    expect(whole.status).toBe(200);
    expect(sha256(new Uint8Array(await whole.arrayBuffer()))).toBe(sha256(data));
    for (const [from, to] of [
      [0, 99],
      [SEGMENT - 10, SEGMENT + 10],
      [6 * MiB - 5, 6 * MiB + SEGMENT + 5],
      [data.length - 1500, data.length - 1],
    ] as const) {
      const part = await client.get(`/download/${file.id}`, { range: `bytes=${from}-${to}` });
      expect(part.status).toBe(206);
      expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(from, to + 1)), `${from}-${to}`).toBe(true);
    }

    // A damaged object still fails to decrypt instead of serving altered bytes.
    const tampered = Buffer.from(stored);
    tampered[3 * MiB]! ^= 1;
    await inner.put(uploadId, Readable.from([tampered]), { size: tampered.length });
    const damaged = await client.get(`/download/${file.id}`);
    const outcome = damaged.ok
      ? await damaged.arrayBuffer().then(
          () => "served",
          () => "cut off",
        )
      : `status ${damaged.status}`;
    expect(outcome).not.toBe("served");
    await app.services.prisma.file.delete({ where: { id: file.id } });
  });

  it("finishes with tus-js-client sending chunks that are not multiples of a segment (it resumes from the server's offset)", async () => {
    const data = randomBytes(3 * MiB + 777);
    const chunkSize = MiB + 1000;
    const result = await tusJsUpload(app, client, data, "chunks.bin", chunkSize);
    expect(result.error).toBeUndefined();
    // Each PATCH's Upload-Offset is the last whole segment it completed.
    expect(result.offsets.slice(0, -1).every((offset) => offset % SEGMENT === 0)).toBe(true);
    expect(result.offsets.at(-1)).toBe(data.length);
    const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "chunks.bin" } });
    expect(file.sha256).toBe(sha256(data));
    expect(foundIn(storedSoFar(), samplesOf(data))).toBe(0);
    const download = await client.get(`/download/${file.id}`);
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(sha256(data));
  });

  it("takes bytes sent with the creation request, and refuses a body longer than the upload, which stays usable", async () => {
    const atOnce = randomBytes(6 * MiB + 7);
    const created = await fetch(`${app.url}/api/uploads`, {
      method: "POST",
      headers: tusHeaders(client, {
        "Upload-Length": String(atOnce.length),
        "Upload-Metadata": `filename ${Buffer.from("at-once.bin").toString("base64")}`,
        "Content-Type": "application/offset+octet-stream",
      }),
      body: new Uint8Array(atOnce),
    });
    expect(created.status).toBe(201);
    expect(Number(created.headers.get("upload-offset"))).toBe(atOnce.length);
    const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "at-once.bin" } });
    expect(file.sha256).toBe(sha256(atOnce));
    expect((await readAll(await encryptedStore(app).inner.get(file.storageKey))).length).toBe(cipherSize(atOnce.length));

    const data = randomBytes(2 * MiB + 100);
    const url = await createUpload(app, client, { name: "long.bin", size: data.length });
    const tooLong = await patchUpload(client, url, 0, new Uint8Array(Buffer.concat([data, randomBytes(MiB)])));
    expect(tooLong.status).toBe(413);
    const offset = await uploadOffset(client, url);
    expect(offset % SEGMENT).toBe(0);
    expect((await patchUpload(client, url, offset, new Uint8Array(data.subarray(offset)))).status).toBe(204);
    const long = await app.services.prisma.file.findFirstOrThrow({ where: { name: "long.bin" } });
    expect(sha256(new Uint8Array(await (await client.get(`/download/${long.id}`)).arrayBuffer()))).toBe(sha256(data));
    expect(foundIn(storedSoFar(), samplesOf(data))).toBe(0);
  });

  it("refuses an upload without a declared length (the final segment must be known)", async () => {
    const created = await fetch(`${app.url}/api/uploads`, {
      method: "POST",
      headers: tusHeaders(client, {
        "Upload-Defer-Length": "1",
        "Upload-Metadata": `filename ${Buffer.from("later.bin").toString("base64")}`,
      }),
    });
    expect(created.status).toBe(400);
    expect(await created.text()).toContain("must declare its size");
  });

  it("stores an empty upload as an encrypted object at creation", async () => {
    await createUpload(app, client, { name: "empty.bin", size: 0 });
    const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "empty.bin" } });
    expect(file.sha256).toBe(sha256(new Uint8Array()));
    const stored = await readAll(await encryptedStore(app).inner.get(file.storageKey));
    expect(stored.length).toBe(cipherSize(0));
    const download = await client.get(`/download/${file.id}`);
    expect(download.status).toBe(200);
    expect((await download.arrayBuffer()).byteLength).toBe(0);
  });

  it("finishes an upload begun in plaintext before encryption: encrypted into a new object, the plaintext removed", async () => {
    const offset = await uploadOffset(client, legacyUrl);
    expect(offset).toBe(MiB + 5);
    const last = await patchUpload(client, legacyUrl, offset, new Uint8Array(legacy.subarray(offset)));
    expect(last.status, await last.clone().text()).toBe(204);
    const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "legacy.bin" } });
    const uploadId = legacyUrl.split("/").pop()!;
    expect(file.storageKey).not.toBe(uploadId);
    const inner = encryptedStore(app).inner;
    expect((await readAll(await inner.get(file.storageKey))).length).toBe(cipherSize(legacy.length));
    await expect.poll(() => inner.stat(uploadId)).toBeNull();
    const download = await client.get(`/download/${file.id}`);
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(sha256(legacy));
  });
});
