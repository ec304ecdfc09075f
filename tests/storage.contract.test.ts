import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { Server as TusServer } from "@tus/server";
import { MemoryKvStore, type DataStore } from "@tus/utils";
import * as Minio from "minio";
import { Upload as TusUpload, type UploadOptions } from "tus-js-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "~/config.server";
import { LocalObjectStore } from "~/services/storage/local.server";
import { S3ObjectStore, type S3StorageConfig } from "~/services/storage/s3.server";
import {
  InvalidObjectKeyError,
  InvalidRangeError,
  ObjectNotFoundError,
  ObjectSizeMismatchError,
  StorageUnavailableError,
  type ObjectStore,
} from "~/services/storage/types";
import { EncryptedObjectStore } from "~/services/storage/encrypted.server";
import { GuardedObjectStore } from "~/services/storage/guarded.server";
import { StorageBreaker } from "~/services/storage/storage-breaker.server";
import { DecryptionError, HEADER_LENGTH, cipherSize } from "~/services/storage/encryption-format.server";
import { KeyRing, MasterKeyMissingError } from "~/services/storage/key-ring.server";
import { parseMasterKey } from "~/config.server";
import { freePort } from "./setup/free-port";
import { TieredObjectStore } from "~/services/storage/tiered.server";
import { createTestDatabase } from "./support/database";
import { s3Config } from "./support/s3";

const MiB = 2 ** 20;

interface DriverUnderTest {
  name: "local" | "s3";
  label: string;
  /** A fresh, initialised store of this driver. */
  create(): Promise<ObjectStore>;
  /** Stores of this driver that cannot work, each with why. */
  broken(): Promise<Array<{ why: string; store: ObjectStore }>>;
  cleanup(): Promise<void>;
}

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-storage-"));
  tempDirs.push(dir);
  return dir;
}

const localDriver: DriverUnderTest = {
  name: "local",
  label: "local",
  async create() {
    const store = new LocalObjectStore(path.join(tempDir(), "objects"));
    await store.init();
    return store;
  },
  async broken() {
    const notADirectory = path.join(tempDir(), "a-file");
    fs.writeFileSync(notADirectory, "x");
    return [
      { why: "its directory is a regular file", store: new LocalObjectStore(notADirectory) },
      // e.g. a volume that is not mounted: health must not quietly recreate the directory
      { why: "its directory is missing", store: new LocalObjectStore(path.join(tempDir(), "gone")) },
    ];
  },
  async cleanup() {},
};

const s3Driver: DriverUnderTest = {
  name: "s3",
  label: "s3",
  async create() {
    const store = new S3ObjectStore(s3Config());
    await store.init();
    return store;
  },
  async broken() {
    return [
      { why: "nothing listens at its endpoint", store: new S3ObjectStore(s3Config({ endpoint: `http://127.0.0.1:${await freePort()}` })) },
      { why: "its secret key is wrong", store: new S3ObjectStore(s3Config({ secretKey: "wrong-secret" })) },
      { why: "its bucket does not exist", store: new S3ObjectStore(s3Config()) },
    ];
  },
  async cleanup() {},
};

// Encryption at rest wraps either driver and must keep the whole contract.
const keyDatabase = await createTestDatabase();
const masterKey = parseMasterKey(randomBytes(32).toString("base64"))!;
const keyRing = new KeyRing(keyDatabase.prisma, [masterKey]);

function encrypted(driver: DriverUnderTest): DriverUnderTest & { inner(store: ObjectStore): ObjectStore } {
  return {
    name: driver.name,
    label: `encrypted ${driver.name}`,
    async create() {
      const store = new EncryptedObjectStore(await driver.create(), keyRing);
      await store.init();
      return store;
    },
    async broken() {
      return (await driver.broken()).map(({ why, store }) => ({ why, store: new EncryptedObjectStore(store, keyRing) }));
    },
    cleanup: () => driver.cleanup(),
    inner: (store) => (store as EncryptedObjectStore).inner,
  };
}
const encryptedLocal = encrypted(localDriver);
const encryptedS3 = encrypted(s3Driver);

// The app reaches each driver through the storage circuit breaker, which must change nothing.
function guarded(driver: DriverUnderTest): DriverUnderTest {
  const guard = (store: ObjectStore) => new GuardedObjectStore(store, new StorageBreaker());
  return {
    name: driver.name,
    label: `guarded ${driver.name}`,
    create: async () => guard(await driver.create()),
    broken: async () => (await driver.broken()).map(({ why, store }) => ({ why, store: guard(store) })),
    cleanup: () => driver.cleanup(),
  };
}
// A store with a second one under it (a migration, the cold tier) must keep the contract too.
function tiered(driver: DriverUnderTest, under: DriverUnderTest): DriverUnderTest {
  const tier = async (store: ObjectStore) => {
    const secondary = await under.create();
    return new TieredObjectStore(store, secondary);
  };
  return {
    name: driver.name,
    label: `${driver.name} over ${under.name}`,
    create: async () => tier(await driver.create()),
    broken: async () => Promise.all((await driver.broken()).map(async ({ why, store }) => ({ why, store: await tier(store) }))),
    cleanup: () => driver.cleanup(),
  };
}
const contractDrivers = [
  localDriver,
  s3Driver,
  encryptedLocal,
  encryptedS3,
  guarded(localDriver),
  guarded(s3Driver),
  tiered(s3Driver, localDriver),
  tiered(localDriver, s3Driver),
];

afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe.each(contractDrivers)("ObjectStore contract: $label driver", (driver) => {
  let store: ObjectStore;
  const key = (name: string) => `${name}-${randomBytes(4).toString("hex")}`;

  beforeAll(async () => {
    store = await driver.create();
  });
  afterAll(() => driver.cleanup());

  it("reports its driver", () => {
    expect(store.driver).toBe(driver.name);
  });

  it("init is idempotent", async () => {
    await store.init();
    await store.init();
    await expect(store.health()).resolves.toBeUndefined();
  });

  describe("put and get", () => {
    it("round-trips multi-MiB bodies byte for byte, with and without a declared size", async () => {
      const data = randomBytes(6 * MiB + 12_345);
      const sized = key("sized");
      const unsized = key("unsized");
      await expect(store.put(sized, streamOf(data), { size: data.length })).resolves.toEqual({ size: data.length });
      await expect(store.put(unsized, streamOf(data))).resolves.toEqual({ size: data.length });
      for (const k of [sized, unsized]) {
        const read = await readAll(await store.get(k));
        expect(read.length).toBe(data.length);
        expect(sha256(read)).toBe(sha256(data));
      }
    });

    it("stores small and empty objects", async () => {
      const small = key("small");
      const empty = key("empty");
      await store.put(small, streamOf(Buffer.from("hello")), { contentType: "text/plain" });
      await store.put(empty, streamOf(Buffer.alloc(0)), { size: 0 });
      expect((await readAll(await store.get(small))).toString()).toBe("hello");
      expect((await readAll(await store.get(empty))).length).toBe(0);
      expect((await store.stat(empty))?.size).toBe(0);
    });

    it("replaces an existing object", async () => {
      const k = key("replace");
      await store.put(k, streamOf(randomBytes(2 * MiB)));
      const second = randomBytes(1000);
      await store.put(k, streamOf(second));
      expect(sha256(await readAll(await store.get(k)))).toBe(sha256(second));
      expect((await store.stat(k))?.size).toBe(second.length);
    });

    it("rejects a body whose length differs from the declared size and keeps the old object", async () => {
      const k = key("mismatch");
      const original = randomBytes(1234);
      await store.put(k, streamOf(original));
      // 6 MiB declared as 7 MiB: on S3 this is a multipart put that must not be completed.
      await expect(store.put(k, streamOf(randomBytes(6 * MiB)), { size: 7 * MiB })).rejects.toBeInstanceOf(ObjectSizeMismatchError);
      await expect(store.put(k, streamOf(randomBytes(100)), { size: 50 })).rejects.toBeInstanceOf(ObjectSizeMismatchError);
      expect(sha256(await readAll(await store.get(k)))).toBe(sha256(original));
    });

    it("rejects when the body fails part way and keeps the old object", async () => {
      const k = key("failing-body");
      const original = randomBytes(4321);
      await store.put(k, streamOf(original));
      const failing = Readable.from(
        (async function* () {
          yield randomBytes(3 * MiB);
          yield randomBytes(3 * MiB);
          throw new Error("client went away");
        })(),
      );
      await expect(store.put(k, failing)).rejects.toThrow("client went away");
      expect(sha256(await readAll(await store.get(k)))).toBe(sha256(original));
    });

    it("rejects a missing key with ObjectNotFoundError", async () => {
      await expect(store.get(key("missing"))).rejects.toBeInstanceOf(ObjectNotFoundError);
      await expect(store.get(key("missing"), { start: 0, end: 10 })).rejects.toBeInstanceOf(ObjectNotFoundError);
    });

    it("rejects keys that are not flat, URL-safe names", async () => {
      for (const bad of ["../escape", "a/b", ".hidden", "", "white space", "ünïcode"]) {
        await expect(store.put(bad, streamOf(Buffer.from("x")))).rejects.toBeInstanceOf(InvalidObjectKeyError);
        await expect(store.get(bad)).rejects.toBeInstanceOf(InvalidObjectKeyError);
      }
    });
  });

  describe("range reads", () => {
    const data = randomBytes(3 * MiB + 7);
    const k = key("range");
    beforeAll(async () => {
      await store.put(k, streamOf(data), { size: data.length });
    });

    it.each([
      ["the first bytes", 0, 9],
      ["a middle slice", 1_000_000, 2_500_000],
      ["the last byte", data.length - 1, data.length - 1],
      ["a single byte at the start", 0, 0],
    ])("returns %s exactly", async (_label, start, end) => {
      const read = await readAll(await store.get(k, { start, end }));
      expect(read.equals(data.subarray(start, end + 1))).toBe(true);
    });

    it("clamps a range that runs past the end", async () => {
      const read = await readAll(await store.get(k, { start: data.length - 5, end: data.length + 100 }));
      expect(read.equals(data.subarray(data.length - 5))).toBe(true);
    });

    it("rejects a range starting past the end, and malformed ranges", async () => {
      await expect(store.get(k, { start: data.length, end: data.length + 10 })).rejects.toBeInstanceOf(InvalidRangeError);
      await expect(store.get(k, { start: 10, end: 5 })).rejects.toBeInstanceOf(InvalidRangeError);
      await expect(store.get(k, { start: -1, end: 5 })).rejects.toBeInstanceOf(InvalidRangeError);
    });
  });

  describe("stat", () => {
    it("reports size and modification time", async () => {
      const k = key("stat");
      const before = Date.now();
      await store.put(k, streamOf(randomBytes(54_321)));
      const info = await store.stat(k);
      expect(info).toMatchObject({ key: k, size: 54_321 });
      expect(info!.modifiedAt).toBeInstanceOf(Date);
      // S3 reports whole seconds
      expect(info!.modifiedAt.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 2000);
    });

    it("returns null for a missing object", async () => {
      await expect(store.stat(key("nothing"))).resolves.toBeNull();
    });
  });

  describe("delete", () => {
    it("deletes, and deleting again or deleting what never existed succeeds", async () => {
      const k = key("delete");
      await store.put(k, streamOf(Buffer.from("bye")));
      await store.delete(k);
      expect(await store.stat(k)).toBeNull();
      await expect(store.delete(k)).resolves.toBeUndefined();
      await expect(store.delete(key("never"))).resolves.toBeUndefined();
    });

    it("deleteMany deletes exactly the given keys and ignores missing ones", async () => {
      const [a, b, c] = [key("many-a"), key("many-b"), key("many-c")];
      for (const k of [a, b, c]) await store.put(k, streamOf(randomBytes(100)));
      await store.deleteMany([a, b, key("many-missing")]);
      expect(await store.stat(a)).toBeNull();
      expect(await store.stat(b)).toBeNull();
      expect(await store.stat(c)).not.toBeNull();
      await expect(store.deleteMany([])).resolves.toBeUndefined();
    });

    // Swift deletes the keys of one DeleteObjects request one by one: ~10 s for 1000. The
    // wrapping drivers hand the key list to the bare one unchanged, so only the bare drivers,
    // where the batching happens, run it.
    if (driver.label === driver.name) {
      it("deleteMany handles more keys than one request takes (S3 batches 1000)", { timeout: 180_000 }, async () => {
        const keys = Array.from({ length: 1005 }, (_, i) => `bulk-${i}-${randomBytes(3).toString("hex")}`);
        const kept = key("bulk-kept");
        await store.put(keys[0]!, streamOf(Buffer.from("first")));
        await store.put(keys[1004]!, streamOf(Buffer.from("last")));
        await store.put(kept, streamOf(Buffer.from("kept")));
        await store.deleteMany(keys);
        expect(await store.stat(keys[0]!)).toBeNull();
        expect(await store.stat(keys[1004]!)).toBeNull();
        expect(await store.stat(kept)).not.toBeNull();
      });
    }
  });

  describe("copy", () => {
    it("copies server-side; the copy is independent of the source", async () => {
      const from = key("copy-src");
      const to = key("copy-dst");
      const data = randomBytes(6 * MiB + 1);
      await store.put(from, streamOf(data), { size: data.length });
      await store.copy(from, to);
      expect(sha256(await readAll(await store.get(to)))).toBe(sha256(data));
      await store.put(from, streamOf(Buffer.from("changed")));
      await store.delete(from);
      expect(sha256(await readAll(await store.get(to)))).toBe(sha256(data));
    });

    it("replaces an existing target", async () => {
      const from = key("copy-src2");
      const to = key("copy-dst2");
      await store.put(from, streamOf(Buffer.from("new")));
      await store.put(to, streamOf(Buffer.from("old contents")));
      await store.copy(from, to);
      expect((await readAll(await store.get(to))).toString()).toBe("new");
    });

    it("rejects a missing source with ObjectNotFoundError", async () => {
      await expect(store.copy(key("copy-missing"), key("copy-dst3"))).rejects.toBeInstanceOf(ObjectNotFoundError);
    });
  });

  describe("list", () => {
    it("lists exactly the objects under a prefix, with sizes", async () => {
      const prefix = `lst${randomBytes(3).toString("hex")}-`;
      await store.put(`${prefix}a-1`, streamOf(randomBytes(10)));
      await store.put(`${prefix}a-2`, streamOf(randomBytes(20)));
      await store.put(`${prefix}b-1`, streamOf(randomBytes(30)));
      const under = async (p: string) => {
        const found = [];
        for await (const info of store.list(p)) found.push({ key: info.key, size: info.size, dated: info.modifiedAt instanceof Date });
        return found.sort((x, y) => x.key.localeCompare(y.key));
      };
      expect(await under(`${prefix}a-`)).toEqual([
        { key: `${prefix}a-1`, size: 10, dated: true },
        { key: `${prefix}a-2`, size: 20, dated: true },
      ]);
      expect((await under(prefix)).map((o) => o.key)).toEqual([`${prefix}a-1`, `${prefix}a-2`, `${prefix}b-1`]);
      expect(await under(`${prefix}zzz`)).toEqual([]);
    });

    it("lists everything without a prefix", async () => {
      const k = key("listall");
      await store.put(k, streamOf(Buffer.from("x")));
      const keys = new Set<string>();
      for await (const info of store.list()) keys.add(info.key);
      expect(keys.has(k)).toBe(true);
    });
  });

  describe("health", () => {
    it("passes for a working store", async () => {
      await expect(store.health()).resolves.toBeUndefined();
    });

    it("fails with StorageUnavailableError for stores that cannot work", async () => {
      const broken = await driver.broken();
      expect(broken.length).toBeGreaterThan(0);
      for (const { why, store: bad } of broken) {
        await expect(bad.health(), why).rejects.toBeInstanceOf(StorageUnavailableError);
      }
    });
  });

  describe("tus data store", () => {
    let tus: RunningTusServer;
    let datastore: DataStore;
    beforeAll(async () => {
      datastore = store.createTusDataStore({ expirationPeriodInMilliseconds: 3600_000 });
      tus = await startTusServer(datastore);
    });
    afterAll(() => tus?.close());

    it("resumes an aborted upload and stores the exact bytes under the upload id", async () => {
      const data = randomBytes(12 * MiB + 321);
      const uploadUrl = await uploadUntilAborted(tus.throttledEndpoint, data, 5 * MiB);
      const uploadId = uploadUrl.split("/").pop()!;

      const offset = await settledOffset(uploadUrl);
      expect(offset).toBeGreaterThan(0);
      expect(offset).toBeLessThan(data.length);

      const resumedFrom = await resumeUpload(uploadUrl, data);
      expect(resumedFrom).toBeGreaterThanOrEqual(offset);

      const stored = await readAll(await store.get(uploadId));
      expect(stored.length).toBe(data.length);
      expect(sha256(stored)).toBe(sha256(data));
      expect((await store.stat(uploadId))?.size).toBe(data.length);
    });

    it("keeps upload metadata in the given kvStore", async () => {
      const kvStore = new MemoryKvStore<unknown>();
      const server = await startTusServer(store.createTusDataStore({ expirationPeriodInMilliseconds: 3600_000, kvStore }));
      try {
        const data = randomBytes(12 * MiB);
        const uploadUrl = await uploadUntilAborted(server.throttledEndpoint, data, 5 * MiB);
        const uploadId = uploadUrl.split("/").pop()!;
        await settledOffset(uploadUrl);
        expect(await kvStore.get(uploadId)).toBeDefined();
        await resumeUpload(uploadUrl, data);
        expect(sha256(await readAll(await store.get(uploadId)))).toBe(sha256(data));
      } finally {
        await server.close();
      }
    });

    it("terminates an unfinished upload (on S3: DeleteObjects with Content-MD5)", async () => {
      const data = randomBytes(12 * MiB);
      const uploadUrl = await uploadUntilAborted(tus.throttledEndpoint, data, 5 * MiB);
      await settledOffset(uploadUrl);
      const response = await fetch(uploadUrl, { method: "DELETE", headers: { "Tus-Resumable": "1.0.0" } });
      expect(response.status).toBe(204);
      const head = await fetch(uploadUrl, { method: "HEAD", headers: { "Tus-Resumable": "1.0.0" } });
      expect([404, 410]).toContain(head.status);
      expect(await store.stat(uploadUrl.split("/").pop()!)).toBeNull();
    });

    it("expiry cleanup removes unfinished uploads but never finished ones", async () => {
      const finished = randomBytes(MiB);
      const finishedUrl = await uploadCompletely(tus.endpoint, finished);
      // Finished in the request that created it (creation-with-upload).
      const withCreation = await uploadCompletely(tus.endpoint, randomBytes(64 * 1024), { uploadDataDuringCreation: true });
      const unfinishedUrl = await uploadUntilAborted(tus.throttledEndpoint, randomBytes(12 * MiB), 5 * MiB);
      await settledOffset(unfinishedUrl);
      await new Promise((r) => setTimeout(r, 1100)); // S3 reports upload start times in whole seconds

      const cleaner = store.createTusDataStore({ expirationPeriodInMilliseconds: 1 });
      expect(await cleaner.deleteExpired()).toBeGreaterThan(0);

      // A fresh server: S3Store caches upload metadata in memory, so the old one would not notice.
      const fresh = await startTusServer(store.createTusDataStore({ expirationPeriodInMilliseconds: 3600_000 }));
      try {
        const head = await fetch(`${fresh.endpoint}/${unfinishedUrl.split("/").pop()}`, {
          method: "HEAD",
          headers: { "Tus-Resumable": "1.0.0" },
        });
        expect([404, 410]).toContain(head.status);
      } finally {
        await fresh.close();
      }
      const kept = await readAll(await store.get(finishedUrl.split("/").pop()!));
      expect(sha256(kept)).toBe(sha256(finished));
      expect((await readAll(await store.get(withCreation.split("/").pop()!))).length).toBe(64 * 1024);
    });
  });
});

describe.each([encryptedLocal, encryptedS3])("encryption at rest: $label driver", (driver) => {
  let store: EncryptedObjectStore;
  let inner: ObjectStore;
  const key = (name: string) => `${name}-${randomBytes(4).toString("hex")}`;
  beforeAll(async () => {
    store = (await driver.create()) as EncryptedObjectStore;
    inner = driver.inner(store);
  });

  it("stores ciphertext: no plaintext in the stored bytes, the header's overhead on top", async () => {
    const k = key("cipher");
    const data = Buffer.from("a very recognisable secret line\n".repeat(10_000));
    await store.put(k, streamOf(data), { size: data.length });
    const stored = await readAll(await inner.get(k));
    expect(stored.length).toBe(cipherSize(data.length));
    expect(stored.includes(Buffer.from("recognisable secret"))).toBe(false);
    expect((await store.stat(k))?.size).toBe(data.length);
  });

  it("reads objects written before encryption was enabled as they are", async () => {
    const k = key("legacy");
    const data = randomBytes(300_000);
    await inner.put(k, streamOf(data));
    expect(sha256(await readAll(await store.get(k)))).toBe(sha256(data));
    expect((await readAll(await store.get(k, { start: 1000, end: 1999 }))).equals(data.subarray(1000, 2000))).toBe(true);
    expect((await store.stat(k))?.size).toBe(data.length);
    const tiny = key("legacy-tiny");
    await inner.put(tiny, streamOf(Buffer.from("hi")));
    expect((await readAll(await store.get(tiny))).toString()).toBe("hi");
  });

  it("copies the ciphertext as it is, and the copy decrypts", async () => {
    const [from, to] = [key("copy-from"), key("copy-to")];
    const data = randomBytes(200_000);
    await store.put(from, streamOf(data));
    await store.copy(from, to);
    expect((await readAll(await inner.get(to))).equals(await readAll(await inner.get(from)))).toBe(true);
    expect(sha256(await readAll(await store.get(to, { start: 70_000, end: 199_999 })))).toBe(sha256(data.subarray(70_000)));
  });

  it("fails reads of a tampered object with DecryptionError, whole or by range", async () => {
    const k = key("tampered");
    const data = randomBytes(300_000);
    await store.put(k, streamOf(data));
    const stored = await readAll(await inner.get(k));
    stored[HEADER_LENGTH + 200_000]! ^= 0x40;
    await inner.put(k, streamOf(stored));
    await expect(readAll(await store.get(k))).rejects.toBeInstanceOf(DecryptionError);
    await expect(readAll(await store.get(k, { start: 199_000, end: 201_000 }))).rejects.toBeInstanceOf(DecryptionError);
    // Segments before the damage still read.
    expect((await readAll(await store.get(k, { start: 0, end: 99 }))).equals(data.subarray(0, 100))).toBe(true);
  });

  it("fails reads of a truncated object", async () => {
    const k = key("truncated");
    await store.put(k, streamOf(randomBytes(300_000)));
    const stored = await readAll(await inner.get(k));
    await inner.put(k, streamOf(stored.subarray(0, HEADER_LENGTH + 2 * (65_536 + 16))));
    await expect(readAll(await store.get(k))).rejects.toBeInstanceOf(DecryptionError);
    // The new last segment was not written as the final one.
    await expect(readAll(await store.get(k, { start: 65_536, end: 65_546 }))).rejects.toBeInstanceOf(DecryptionError);
  });

  it("streams with bounded memory: a paused reader stops the reads from storage, whole or by range", async () => {
    const k = key("big");
    const data = randomBytes(24 * MiB);
    await store.put(k, streamOf(data), { size: data.length });
    // Counts the stored bytes read below the encryption layer.
    const get = inner.get.bind(inner);
    let pulled = 0;
    inner.get = async (objectKey, range) => {
      const stream = await get(objectKey, range);
      stream.on("data", (chunk: Buffer) => (pulled += chunk.length));
      return stream;
    };
    try {
      for (const range of [undefined, { start: 1000, end: data.length - 1000 }]) {
        pulled = 0;
        const reader = (await store.get(k, range))[Symbol.asyncIterator]();
        const hash = createHash("sha256");
        hash.update((await reader.next()).value as Buffer);
        await new Promise((r) => setTimeout(r, 500));
        // Were the object buffered (whole-object decrypt), all 24 MiB would be read by now.
        expect(pulled).toBeLessThan(2 * MiB);
        for (let next = await reader.next(); !next.done; next = await reader.next()) hash.update(next.value as Buffer);
        expect(hash.digest("hex")).toBe(sha256(range ? data.subarray(range.start, range.end + 1) : data));
      }
    } finally {
      inner.get = get;
    }
  });

  it("refuses to start without the master key that wraps its store keys", async () => {
    const other = parseMasterKey(randomBytes(32).toString("base64"))!;
    await expect(new KeyRing(keyDatabase.prisma, [other]).init()).rejects.toBeInstanceOf(MasterKeyMissingError);
  });
});

describe("local driver specifics", () => {
  it("leaves no temp file behind when a put fails", async () => {
    const directory = path.join(tempDir(), "objects");
    const store = new LocalObjectStore(directory);
    await store.init();
    await expect(store.put("k", streamOf(randomBytes(1000)), { size: 10 })).rejects.toBeInstanceOf(ObjectSizeMismatchError);
    expect(fs.readdirSync(path.join(directory, ".tmp"))).toEqual([]);
    expect(fs.readdirSync(directory)).toEqual([".tmp"]);
  });

  it("init removes temp files of puts that died long ago, and only those", async () => {
    const directory = path.join(tempDir(), "objects");
    fs.mkdirSync(path.join(directory, ".tmp"), { recursive: true });
    const stale = path.join(directory, ".tmp", "old.abc");
    const fresh = path.join(directory, ".tmp", "new.abc");
    fs.writeFileSync(stale, "x");
    fs.writeFileSync(fresh, "x");
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(stale, twoHoursAgo, twoHoursAgo);
    await new LocalObjectStore(directory).init();
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.existsSync(fresh)).toBe(true);
  });

  it("never lists hidden entries such as the temp directory", async () => {
    const store = new LocalObjectStore(path.join(tempDir(), "objects"));
    await store.init();
    await store.put("visible", streamOf(Buffer.from("x")));
    const keys = [];
    for await (const info of store.list()) keys.push(info.key);
    expect(keys).toEqual(["visible"]);
  });
});

describe("S3 driver specifics", () => {
  it("leaves no incomplete multipart upload behind when a put fails", async () => {
    const config = s3Config();
    const store = new S3ObjectStore(config);
    await store.init();
    const client = minioClient(config);
    // The check itself must be able to see an incomplete upload (minio's own listing cannot on Swift).
    const probeId = await client.initiateNewMultipartUpload(config.bucket, "probe", {});
    expect(await incompleteUploads(client, config.bucket)).toEqual(["probe"]);
    await client.abortMultipartUpload(config.bucket, "probe", probeId);

    // Over the 5 MiB part size, so parts are uploaded before the body turns out too short.
    await expect(store.put("failed-put", streamOf(randomBytes(11 * MiB)), { size: 12 * MiB })).rejects.toBeInstanceOf(
      ObjectSizeMismatchError,
    );
    const failing = Readable.from(
      (async function* () {
        yield randomBytes(6 * MiB);
        throw new Error("client went away");
      })(),
    );
    await expect(store.put("failed-put-2", failing)).rejects.toThrow("client went away");
    expect(await incompleteUploads(client, config.bucket)).toEqual([]);
    expect(await store.stat("failed-put")).toBeNull();
  });

  it("copies objects over the one-shot copy limit part by part, server-side", async () => {
    const store = new S3ObjectStore(s3Config(), { maxSingleCopySize: 5 * MiB });
    await store.init();
    const data = randomBytes(12 * MiB + 5);
    await store.put("big-source", streamOf(data), { size: data.length, contentType: "application/x-test" });
    await store.copy("big-source", "big-copy");
    const copied = await readAll(await store.get("big-copy"));
    expect(sha256(copied)).toBe(sha256(data));
    await expect(store.copy("no-such-source", "x")).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it("rejects an endpoint with a path, which S3 clients cannot address", () => {
    expect(() => new S3ObjectStore(s3Config({ endpoint: "http://127.0.0.1:9/some/path" }))).toThrow(ConfigError);
  });
});

// ---- helpers ------------------------------------------------------------------------------

function minioClient(config: S3StorageConfig): Minio.Client {
  const url = new URL(config.endpoint);
  return new Minio.Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: false,
    accessKey: config.accessKey,
    secretKey: config.secretKey,
    region: config.region,
    pathStyle: true,
  });
}

/** Keys with unfinished multipart uploads, asked for without a delimiter (Swift lists nothing given an empty one). */
async function incompleteUploads(client: Minio.Client, bucket: string): Promise<string[]> {
  const response = await client.makeRequestAsync({ method: "GET", bucketName: bucket, query: "uploads" });
  const xml = (await readAll(response)).toString();
  return [...xml.matchAll(/<Upload>[\s\S]*?<Key>([^<]*)<\/Key>/g)].map((match) => match[1]!);
}

function streamOf(data: Buffer, chunkSize = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += chunkSize) yield data.subarray(i, i + chunkSize);
    })(),
  );
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

interface RunningTusServer {
  endpoint: string;
  /** The same server behind a proxy that forwards request bytes at ~16 MiB/s, so a client can abort mid-body. */
  throttledEndpoint: string;
  close(): Promise<void>;
}

async function startTusServer(datastore: DataStore): Promise<RunningTusServer> {
  const tus = new TusServer({ path: "/files", datastore });
  const server = http.createServer((req, res) => void tus.handle(req, res));
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const proxy = await startThrottlingProxy(port, 16 * MiB);
  return {
    endpoint: `http://127.0.0.1:${port}/files`,
    throttledEndpoint: `http://127.0.0.1:${proxy.port}/files`,
    async close() {
      await proxy.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function startThrottlingProxy(targetPort: number, bytesPerSecond: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    const throttle = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        setTimeout(() => callback(null, chunk), (chunk.length / bytesPerSecond) * 1000);
      },
    });
    // A client that goes away mid-request must look the same to the server.
    const destroyBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", destroyBoth).on("close", destroyBoth);
    }
    client.pipe(throttle).pipe(upstream);
    upstream.pipe(client);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => proxy.listen(port, "127.0.0.1", resolve));
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        proxy.close(() => resolve());
      }),
  };
}

/** Starts a tus upload in one big PATCH and aborts it once `abortAfter` bytes were sent. */
function uploadUntilAborted(endpoint: string, data: Buffer, abortAfter: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let aborted = false;
    const upload: TusUpload = new TusUpload(data, {
      endpoint,
      chunkSize: 64 * MiB,
      retryDelays: [],
      onProgress(sent) {
        if (aborted || sent < abortAfter || !upload.url) return;
        aborted = true;
        upload.abort().then(() => resolve(upload.url!), reject);
      },
      onSuccess: () => reject(new Error("the upload finished before it could be aborted")),
      onError: reject,
    });
    upload.start();
  });
}

function uploadCompletely(endpoint: string, data: Buffer, options: Partial<UploadOptions> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const upload: TusUpload = new TusUpload(data, {
      endpoint,
      chunkSize: 64 * MiB,
      retryDelays: [],
      ...options,
      onSuccess: () => resolve(upload.url!),
      onError: reject,
    });
    upload.start();
  });
}

/** Continues an upload with a new client; resolves with the offset it continued from. */
function resumeUpload(uploadUrl: string, data: Buffer): Promise<number> {
  let resumedFrom = -1;
  return new Promise((resolve, reject) => {
    const upload: TusUpload = new TusUpload(data, {
      uploadUrl,
      chunkSize: 64 * MiB,
      // The server may still be finishing the aborted request and hold the upload's lock.
      retryDelays: [100, 500, 1000, 2000],
      onProgress(sent) {
        if (resumedFrom < 0) resumedFrom = sent;
      },
      onSuccess() {
        if (upload.url !== uploadUrl) reject(new Error(`the client started a new upload (${upload.url})`));
        else resolve(resumedFrom);
      },
      onError: reject,
    });
    upload.start();
  });
}

/** The upload's offset once the server has finished handling the aborted PATCH. */
async function settledOffset(uploadUrl: string): Promise<number> {
  let previous = -1;
  for (let i = 0; i < 100; i++) {
    const response = await fetch(uploadUrl, { method: "HEAD", headers: { "Tus-Resumable": "1.0.0" } });
    expect(response.status).toBe(200);
    const offset = Number(response.headers.get("upload-offset"));
    if (offset === previous && offset > 0) return offset;
    previous = offset;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`The offset of ${uploadUrl} never settled`);
}
