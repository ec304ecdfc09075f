// EncryptingTusStore against the drivers' real tus stores: cases the HTTP suite cannot provoke.
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { Upload, type DataStore } from "@tus/utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMasterKey } from "~/config.server";
import { EncryptedObjectStore } from "~/services/storage/encrypted.server";
import { EncryptingTusStore, encryptionHeaderOf } from "~/services/storage/encrypting-tus-store.server";
import { cipherOffsetOfSegment, DEFAULT_SEGMENT_SIZE, sealSegment, unwrapDataKey } from "~/services/storage/encryption-format.server";
import { KeyRing } from "~/services/storage/key-ring.server";
import { LocalObjectStore } from "~/services/storage/local.server";
import { S3ObjectStore } from "~/services/storage/s3.server";
import type { ObjectStore } from "~/services/storage/types";
import { createTestDatabase } from "./support/database";
import { s3Config } from "./support/s3";

const SEGMENT = DEFAULT_SEGMENT_SIZE;
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe.each(["local", "s3"] as const)("EncryptingTusStore over the %s tus store", (driver) => {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-enc-tus-"));
  let keys: KeyRing;
  let plain: ObjectStore;
  let inner: DataStore;
  let store: EncryptingTusStore;
  let encrypted: EncryptedObjectStore;

  beforeAll(async () => {
    const db = await createTestDatabase();
    keys = new KeyRing(db.prisma, [parseMasterKey(randomBytes(32).toString("base64"))!]);
    plain = driver === "local" ? new LocalObjectStore(directory) : new S3ObjectStore(s3Config());
    encrypted = new EncryptedObjectStore(plain, keys);
    await encrypted.init();
    inner = plain.createTusDataStore({ expirationPeriodInMilliseconds: 3600_000 });
    store = new EncryptingTusStore(inner, keys);
  });
  afterAll(() => fs.rmSync(directory, { recursive: true, force: true }));

  async function created(size: number) {
    const upload = new Upload({ id: randomBytes(16).toString("hex"), size, offset: 0, metadata: { filename: "x.bin" } });
    await store.create(upload);
    return upload;
  }

  it("continues when the store holds part of a segment past the last whole one (a failed write, an S3 part boundary)", async () => {
    const data = randomBytes(5 * SEGMENT + 999);
    const upload = await created(data.length);
    expect(await store.write(Readable.from([data.subarray(0, 3 * SEGMENT)]), upload.id, 0)).toBe(3 * SEGMENT);

    // 1000 bytes of segment 3's ciphertext reach the store without the rest.
    const header = encryptionHeaderOf((await inner.getUpload(upload.id)).metadata)!;
    const dataKey = unwrapDataKey(header, await keys.get(header.storeKeyId));
    const segment3 = sealSegment(header, dataKey, 3, false, data.subarray(3 * SEGMENT, 4 * SEGMENT));
    const innerOffset = cipherOffsetOfSegment(3, SEGMENT);
    expect(await inner.write(Readable.from([segment3.subarray(0, 1000)]), upload.id, innerOffset)).toBe(innerOffset + 1000);

    // tus still sees the end of segment 2, and the rest completes the same object.
    expect((await store.getUpload(upload.id)).offset).toBe(3 * SEGMENT);
    expect(await store.write(Readable.from([data.subarray(3 * SEGMENT)]), upload.id, 3 * SEGMENT)).toBe(data.length);
    const upload2 = await store.getUpload(upload.id);
    expect([upload2.offset, upload2.size]).toEqual([data.length, data.length]);
    expect(sha256(await readAll(await encrypted.get(upload.id)))).toBe(sha256(data));
  });

  it("refuses a write at an offset other than the upload's, and an upload without a declared length", async () => {
    const upload = await created(3 * SEGMENT);
    await expect(store.write(Readable.from([randomBytes(SEGMENT)]), upload.id, SEGMENT)).rejects.toMatchObject({ status_code: 409 });
    await expect(store.create(new Upload({ id: randomBytes(16).toString("hex"), offset: 0, size: undefined }))).rejects.toMatchObject({
      status_code: 400,
    });
  });

  it("drops the plaintext after the last whole segment when a body ends inside one", async () => {
    const data = randomBytes(4 * SEGMENT);
    const upload = await created(data.length);
    expect(await store.write(Readable.from([data.subarray(0, 2 * SEGMENT - 1)]), upload.id, 0)).toBe(SEGMENT);
    expect((await inner.getUpload(upload.id)).offset).toBe(cipherOffsetOfSegment(1, SEGMENT));
    // In pieces smaller than a segment, across its boundaries.
    const rest = data.subarray(SEGMENT);
    const pieces = Array.from({ length: Math.ceil(rest.length / 10_000) }, (_, i) => rest.subarray(i * 10_000, (i + 1) * 10_000));
    expect(await store.write(Readable.from(pieces), upload.id, SEGMENT)).toBe(data.length);
    expect(sha256(await readAll(await encrypted.get(upload.id)))).toBe(sha256(data));
    // A Range read of the last (full, final) segment authenticates.
    const tail = await readAll(await encrypted.get(upload.id, { start: 3 * SEGMENT + 5, end: 4 * SEGMENT - 1 }));
    expect(tail.equals(data.subarray(3 * SEGMENT + 5))).toBe(true);
  });
});
