import { PassThrough, Readable } from "node:stream";
import { ERRORS } from "@tus/utils";
import { describe, expect, it } from "vitest";
import { DependencyUnavailableError, isDependencyUnavailable } from "~/services/dependency.server";
import { GuardedObjectStore } from "./guarded.server";
import { isStorageOutage } from "./outage.server";
import { StorageBreaker } from "./storage-breaker.server";
import { InvalidRangeError, ObjectNotFoundError, StorageUnavailableError, type ObjectStore } from "./types";

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
const refused = () => withCode("connect ECONNREFUSED 127.0.0.1:9000", "ECONNREFUSED");

describe("isStorageOutage", () => {
  it.each<[string, unknown]>([
    ["a refused connection", refused()],
    ["a reset connection", withCode("read ECONNRESET", "ECONNRESET")],
    ["a socket hang up", new Error("socket hang up")],
    ["every address of the host refused", Object.assign(new AggregateError([refused(), refused()]), { code: undefined })],
    [
      "an S3 5xx (AWS SDK)",
      Object.assign(new Error("Service Unavailable"), { name: "ServiceUnavailable", $metadata: { httpStatusCode: 503 } }),
    ],
    ["an S3 500 without a known code", Object.assign(new Error("oops"), { name: "Unknown", $metadata: { httpStatusCode: 500 } })],
    ["minio's SlowDown", withCode("Please reduce your request rate.", "SlowDown")],
    ["minio's answer to a 502 without a body", Object.assign(withCode("", ""), { name: "S3Error" })],
    ["a data directory replaced by a file", withCode("ENOTDIR: not a directory", "ENOTDIR")],
    ["an I/O error", withCode("EIO: i/o error", "EIO")],
    ["the driver's own StorageUnavailableError", new StorageUnavailableError("down")],
    ["a wrapped cause", new Error("failed", { cause: refused() })],
  ])("is true for %s", (_label, error) => {
    expect(isStorageOutage(error)).toBe(true);
  });

  it.each<[string, unknown]>([
    ["a missing key (minio)", withCode("Not Found", "NotFound")],
    ["a missing key (AWS SDK)", Object.assign(new Error("NoSuchKey"), { name: "NoSuchKey", $metadata: { httpStatusCode: 404 } })],
    ["a refused request", withCode("Access Denied", "AccessDenied")],
    ["an S3 error with a code", Object.assign(withCode("The specified key does not exist.", "NoSuchKey"), { name: "S3Error" })],
    ["an unsupported request (501)", Object.assign(new Error("Not Implemented"), { $metadata: { httpStatusCode: 501 } })],
    ["ObjectNotFoundError", new ObjectNotFoundError("k")],
    ["InvalidRangeError", new InvalidRangeError("k", { start: 5, end: 9 })],
    ["a missing file", withCode("ENOENT: no such file", "ENOENT")],
    ["a full disk", withCode("ENOSPC: no space left", "ENOSPC")],
    ["tus's not found", ERRORS.FILE_NOT_FOUND],
    ["a string", "ECONNREFUSED"],
  ])("is false for %s", (_label, error) => {
    expect(isStorageOutage(error)).toBe(false);
  });
});

/** An ObjectStore whose every method does what the test says. */
function fakeStore(overrides: Partial<ObjectStore>): ObjectStore & { calls: string[] } {
  const calls: string[] = [];
  const unexpected = (name: string) => async () => {
    calls.push(name);
    throw new Error(`unexpected ${name}`);
  };
  return {
    calls,
    driver: "s3",
    init: unexpected("init"),
    put: unexpected("put"),
    get: unexpected("get"),
    stat: unexpected("stat"),
    delete: unexpected("delete"),
    deleteMany: unexpected("deleteMany"),
    copy: unexpected("copy"),
    list: () => Readable.from([]),
    health: unexpected("health"),
    createTusDataStore: () => {
      throw new Error("unused");
    },
    ...overrides,
  } as ObjectStore & { calls: string[] };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("GuardedObjectStore", () => {
  it("fails a request that hangs within its timeout, as a 503", async () => {
    const store = new GuardedObjectStore(fakeStore({ stat: () => new Promise(() => {}) }), new StorageBreaker({ requestTimeoutMs: 100 }));
    const started = performance.now();
    const error = await store.stat("k").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("never times out a transfer, and passes errors that are not outages through", async () => {
    const inner = fakeStore({
      put: async (_key, body) => {
        await sleep(250);
        body.resume();
        return { size: 3 };
      },
      get: async (key) => {
        throw new ObjectNotFoundError(key);
      },
    });
    const store = new GuardedObjectStore(inner, new StorageBreaker({ requestTimeoutMs: 100 }));
    await expect(store.put("k", Readable.from([Buffer.from("abc")]))).resolves.toEqual({ size: 3 });
    await expect(store.get("missing")).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it("refuses transfers at once after repeated outages, without calling the store, and recovers", async () => {
    let down = true;
    let puts = 0;
    const inner = fakeStore({
      stat: async () => {
        if (down) throw refused();
        return null;
      },
      put: async () => {
        puts++;
        return { size: 0 };
      },
    });
    const store = new GuardedObjectStore(inner, new StorageBreaker({ resetMs: 200 }));
    for (let i = 0; i < 3; i++) await expect(store.stat("k")).rejects.toSatisfy(isDependencyUnavailable);
    expect(store.breaker.isOpen).toBe(true);
    await expect(store.put("k", Readable.from([]))).rejects.toSatisfy(isDependencyUnavailable);
    expect(puts).toBe(0);

    down = false;
    await sleep(250);
    await expect(store.stat("k")).resolves.toBeNull();
    expect(store.breaker.isOpen).toBe(false);
    await expect(store.put("k", Readable.from([]))).resolves.toEqual({ size: 0 });
    expect(puts).toBe(1);
  });

  it("counts a transfer that failed for an outage", async () => {
    const inner = fakeStore({ put: async () => Promise.reject(refused()) });
    const store = new GuardedObjectStore(inner, new StorageBreaker());
    for (let i = 0; i < 3; i++) await expect(store.put("k", Readable.from([]))).rejects.toSatisfy(isDependencyUnavailable);
    expect(store.breaker.isOpen).toBe(true);
  });

  it("turns a download that breaks midway for an outage into a 503 error on the stream", async () => {
    const source = new PassThrough();
    const store = new GuardedObjectStore(fakeStore({ get: async () => source }), new StorageBreaker());
    const stream = await store.get("k");
    const received: Buffer[] = [];
    const failure = new Promise<unknown>((resolve) => stream.on("error", resolve));
    stream.on("data", (chunk: Buffer) => received.push(chunk));
    source.write(Buffer.from("first bytes"));
    await sleep(10);
    source.destroy(withCode("read ECONNRESET", "ECONNRESET"));
    expect(isDependencyUnavailable(await failure)).toBe(true);
    expect(Buffer.concat(received).toString()).toBe("first bytes");
  });

  it("stops reading the store when the download is abandoned", async () => {
    const source = new PassThrough();
    const store = new GuardedObjectStore(fakeStore({ get: async () => source }), new StorageBreaker());
    const stream = await store.get("k");
    stream.destroy();
    await sleep(10);
    expect(source.destroyed).toBe(true);
  });
});
