import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { loadConfig, parseMasterKey } from "~/config.server";
import {
  cipherRangeFor,
  cipherSize,
  createHeader,
  DecryptionError,
  Decryptor,
  Encryptor,
  HEADER_LENGTH,
  parseHeader,
  plainSize,
  unwrapDataKey,
  type StoreKey,
} from "~/services/storage/encryption-format.server";

const SEGMENT = 1024; // small segments, so boundaries are cheap to test
const storeKey: StoreKey = { id: randomBytes(16), key: randomBytes(32) };

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Feeds `data` in uneven chunks, so segment boundaries never line up with chunk boundaries. */
function chunked(data: Buffer): Readable {
  const parts: Buffer[] = [];
  for (let i = 0, step = 1; i < data.length; i += step, step = (step * 7 + 3) % 1500 || 1) parts.push(data.subarray(i, i + step));
  return Readable.from(parts);
}

async function encrypt(data: Buffer, key = storeKey): Promise<Buffer> {
  const { header, dataKey } = createHeader(key, SEGMENT);
  return collect(chunked(data).pipe(new Encryptor(header, dataKey)));
}

async function decryptAll(stored: Buffer, key = storeKey): Promise<Buffer> {
  const header = parseHeader(stored)!;
  return collect(chunked(stored.subarray(HEADER_LENGTH)).pipe(new Decryptor(header, unwrapDataKey(header, key.key))));
}

/** A Range read as the encrypted store does it: only the stored bytes of the touched segments. */
async function decryptRange(stored: Buffer, start: number, end: number): Promise<Buffer> {
  const header = parseHeader(stored)!;
  const size = plainSize(stored.length, header.segmentSize);
  const range = cipherRangeFor(start, end, size, header.segmentSize);
  const slice = stored.subarray(range.start, range.end + 1);
  return collect(Readable.from([slice]).pipe(new Decryptor(header, unwrapDataKey(header, storeKey.key), range)));
}

describe("segment format", () => {
  it.each([0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT, 3 * SEGMENT + 17])(
    "round-trips %i bytes, and sizes convert both ways",
    async (length) => {
      const data = randomBytes(length);
      const stored = await encrypt(data);
      expect(stored.length).toBe(cipherSize(length, SEGMENT));
      expect(plainSize(stored.length, SEGMENT)).toBe(length);
      expect((await decryptAll(stored)).equals(data)).toBe(true);
    },
  );

  it("does not contain the plaintext and differs for the same plaintext each time", async () => {
    const data = Buffer.from("secret ".repeat(1000));
    const [a, b] = [await encrypt(data), await encrypt(data)];
    expect(a.includes(Buffer.from("secret secret"))).toBe(false);
    expect(a.equals(b)).toBe(false);
  });

  describe("range reads", () => {
    const size = 4 * SEGMENT + 100;
    const data = randomBytes(size);
    let stored: Buffer;
    const cases: Array<[string, number, number]> = [
      ["the first byte", 0, 0],
      ["the whole first segment", 0, SEGMENT - 1],
      ["the last byte of a segment", SEGMENT - 1, SEGMENT - 1],
      ["the first byte of a segment", SEGMENT, SEGMENT],
      ["across one segment boundary", SEGMENT - 10, SEGMENT + 10],
      ["across several segments", 100, 3 * SEGMENT + 5],
      ["exactly one middle segment", 2 * SEGMENT, 3 * SEGMENT - 1],
      ["the last partial segment", 4 * SEGMENT, size - 1],
      ["inside the last partial segment", 4 * SEGMENT + 10, 4 * SEGMENT + 20],
      ["the last byte", size - 1, size - 1],
      ["the whole object", 0, size - 1],
      ["past the end (clamped)", size - 5, size + 1000],
    ];

    it.each(cases)("%s", async (_what, start, end) => {
      stored ??= await encrypt(data);
      const read = await decryptRange(stored, start, end);
      expect(read.equals(data.subarray(start, Math.min(end, size - 1) + 1))).toBe(true);
    });

    it("reads only the stored bytes of the segments it needs", () => {
      const range = cipherRangeFor(SEGMENT + 5, SEGMENT + 6, size, SEGMENT);
      expect(range.start).toBe(HEADER_LENGTH + (SEGMENT + 16));
      expect(range.end - range.start + 1).toBe(SEGMENT + 16);
    });
  });

  describe("refuses what it cannot authenticate", () => {
    const data = randomBytes(3 * SEGMENT + 50);

    it("a flipped byte in any segment", async () => {
      const stored = await encrypt(data);
      for (const at of [HEADER_LENGTH + 3, HEADER_LENGTH + SEGMENT + 16 + 100, stored.length - 1]) {
        const tampered = Buffer.from(stored);
        tampered[at]! ^= 1;
        await expect(decryptAll(tampered)).rejects.toBeInstanceOf(DecryptionError);
      }
    });

    it("a flipped byte in the header (nonce prefix or wrapped key)", async () => {
      const stored = await encrypt(data);
      for (const at of [HEADER_LENGTH - 1, HEADER_LENGTH - 20]) {
        const tampered = Buffer.from(stored);
        tampered[at]! ^= 1;
        await expect(decryptAll(tampered)).rejects.toBeInstanceOf(DecryptionError);
      }
    });

    it("truncation, at a segment boundary or inside a segment", async () => {
      const stored = await encrypt(data);
      const atBoundary = stored.subarray(0, HEADER_LENGTH + 2 * (SEGMENT + 16));
      await expect(decryptAll(atBoundary)).rejects.toBeInstanceOf(DecryptionError);
      await expect(decryptAll(stored.subarray(0, stored.length - 10))).rejects.toBeInstanceOf(DecryptionError);
      await expect(decryptAll(stored.subarray(0, HEADER_LENGTH))).rejects.toBeInstanceOf(DecryptionError);
      // A Range read computes the final segment from the stored size, so it notices too.
      await expect(decryptRange(atBoundary, SEGMENT, SEGMENT + 10)).rejects.toBeInstanceOf(DecryptionError);
      // A last segment shorter than its tag cannot exist.
      expect(() => plainSize(stored.length - 60, SEGMENT)).toThrow(DecryptionError);
    });

    it("swapped segments", async () => {
      const stored = await encrypt(data);
      const stride = SEGMENT + 16;
      const swapped = Buffer.concat([
        stored.subarray(0, HEADER_LENGTH),
        stored.subarray(HEADER_LENGTH + stride, HEADER_LENGTH + 2 * stride),
        stored.subarray(HEADER_LENGTH, HEADER_LENGTH + stride),
        stored.subarray(HEADER_LENGTH + 2 * stride),
      ]);
      await expect(decryptAll(swapped)).rejects.toBeInstanceOf(DecryptionError);
    });

    it("the wrong store key", async () => {
      const stored = await encrypt(data);
      expect(() => unwrapDataKey(parseHeader(stored)!, randomBytes(32))).toThrow(DecryptionError);
    });

    it("a header from another object", async () => {
      const [a, b] = [await encrypt(data), await encrypt(data)];
      const mixed = Buffer.concat([b.subarray(0, HEADER_LENGTH), a.subarray(HEADER_LENGTH)]);
      await expect(decryptAll(mixed)).rejects.toBeInstanceOf(DecryptionError);
    });
  });

  it("treats data without the magic as plaintext", () => {
    expect(parseHeader(Buffer.from("just a text file, long enough to be mistaken for a header if we were careless".repeat(2)))).toBeNull();
    expect(parseHeader(Buffer.alloc(0))).toBeNull();
  });

  it("keeps memory bounded: holds at most one segment, whatever the object's size", async () => {
    const { header, dataKey } = createHeader(storeKey, SEGMENT);
    const encryptor = new Encryptor(header, dataKey);
    let largestOut = 0;
    const total = 8 * 2 ** 20;
    const source = Readable.from(
      (function* () {
        for (let sent = 0; sent < total; sent += 10_000) yield randomBytes(10_000);
      })(),
    );
    const decryptor = new Decryptor(header, dataKey);
    let decrypted = 0;
    source.pipe(encryptor);
    let headerSeen = false;
    encryptor.on("data", (chunk: Buffer) => {
      largestOut = Math.max(largestOut, chunk.length);
      // The header is pushed on its own, first.
      if (headerSeen) decryptor.write(chunk);
      else headerSeen = chunk.length === HEADER_LENGTH;
    });
    encryptor.on("end", () => decryptor.end());
    for await (const chunk of decryptor) decrypted += (chunk as Buffer).length;
    expect(decrypted).toBe(Math.ceil(total / 10_000) * 10_000);
    // Every chunk out is at most one segment and its tag; nothing accumulates the whole object.
    expect(largestOut).toBeLessThanOrEqual(SEGMENT + 16);
  });
});

describe("encryption configuration", () => {
  const key = randomBytes(32).toString("base64");
  const other = randomBytes(32).toString("base64");

  it("is off without a master key", () => {
    expect(loadConfig({}).encryption).toBeUndefined();
  });

  it("takes the current key first, then the previous ones, identified by fingerprint", () => {
    const config = loadConfig({ ENCRYPTION_MASTER_KEY: key, ENCRYPTION_PREVIOUS_MASTER_KEYS: ` ${other} , ${key}` });
    expect(config.encryption?.masterKeys.map((k) => k.id)).toEqual([parseMasterKey(key)!.id, parseMasterKey(other)!.id]);
    expect(parseMasterKey(key)!.id).toMatch(/^[0-9a-f]{16}$/);
  });

  it("names the variable of a bad key and never echoes the value", () => {
    const short = randomBytes(16).toString("base64");
    expect(() => loadConfig({ ENCRYPTION_MASTER_KEY: short })).toThrow(/ENCRYPTION_MASTER_KEY: must be base64 of exactly 32 bytes/);
    expect(() => loadConfig({ ENCRYPTION_MASTER_KEY: short })).not.toThrow(short);
    expect(() => loadConfig({ ENCRYPTION_MASTER_KEY: key, ENCRYPTION_PREVIOUS_MASTER_KEYS: "nope" })).toThrow(
      /ENCRYPTION_PREVIOUS_MASTER_KEYS/,
    );
    expect(() => loadConfig({ ENCRYPTION_PREVIOUS_MASTER_KEYS: other })).toThrow(
      /ENCRYPTION_PREVIOUS_MASTER_KEYS: needs ENCRYPTION_MASTER_KEY/,
    );
  });

  it("validates S3 server-side encryption settings", () => {
    const s3 = { S3_ENDPOINT: "http://127.0.0.1:9000", S3_ACCESS_KEY: "a", S3_SECRET_KEY: "b" };
    expect(loadConfig({ ...s3, S3_SSE: "aws:kms", S3_SSE_KMS_KEY_ID: "k1" }).storage).toMatchObject({
      sse: { type: "aws:kms", kmsKeyId: "k1" },
    });
    expect(loadConfig({ ...s3, S3_SSE: "AES256" }).storage).toMatchObject({ sse: { type: "AES256" } });
    expect(() => loadConfig({ ...s3, S3_SSE: "rot13" })).toThrow(/S3_SSE: use AES256 or aws:kms/);
    expect(() => loadConfig({ ...s3, S3_SSE: "AES256", S3_SSE_KMS_KEY_ID: "k1" })).toThrow(/S3_SSE_KMS_KEY_ID: needs S3_SSE=aws:kms/);
    expect(() => loadConfig({ S3_SSE: "AES256" })).toThrow(/S3_SSE: applies only to S3 storage/);
  });
});
