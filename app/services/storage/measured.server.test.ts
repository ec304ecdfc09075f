import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { metrics } from "~/services/metrics.server";
import { MeasuredObjectStore } from "./measured.server";
import { ObjectNotFoundError, type ObjectStore } from "./types";

async function sample(name: "storageErrors" | "storageDuration", operation: string): Promise<number> {
  const { values } = await metrics()[name].get();
  const match = (v: { labels: Record<string, unknown>; metricName?: string }) =>
    v.labels.driver === "local" && v.labels.operation === operation && (name === "storageErrors" || v.metricName?.endsWith("_count"));
  return values.find(match)?.value ?? 0;
}

function fakeStore(overrides: Partial<ObjectStore>): ObjectStore {
  return { driver: "local", ...overrides } as ObjectStore;
}

describe("MeasuredObjectStore", () => {
  it("times every operation and counts the store's failures, not the caller's answers", async () => {
    const store = new MeasuredObjectStore(
      fakeStore({
        put: async () => Promise.reject(new Error("EIO: i/o error")),
        get: async (key) => Promise.reject(new ObjectNotFoundError(key)),
        stat: async () => null,
      }),
    );
    const before = {
      putErrors: await sample("storageErrors", "put"),
      puts: await sample("storageDuration", "put"),
      getErrors: await sample("storageErrors", "get"),
      gets: await sample("storageDuration", "get"),
      stats: await sample("storageDuration", "stat"),
    };
    await expect(store.put("k", Readable.from([]))).rejects.toThrow("EIO");
    await expect(store.get("k")).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await store.stat("k")).toBeNull();
    expect((await sample("storageErrors", "put")) - before.putErrors).toBe(1);
    expect((await sample("storageDuration", "put")) - before.puts).toBe(1);
    expect((await sample("storageErrors", "get")) - before.getErrors).toBe(0);
    expect((await sample("storageDuration", "get")) - before.gets).toBe(1);
    expect((await sample("storageDuration", "stat")) - before.stats).toBe(1);
  });

  it("keeps what one store measured when a second store of the same driver starts", async () => {
    const first = new MeasuredObjectStore(fakeStore({ delete: async () => {} }));
    await first.delete("k");
    const counted = await sample("storageDuration", "delete");
    expect(counted).toBeGreaterThan(0);
    new MeasuredObjectStore(fakeStore({}));
    expect(await sample("storageDuration", "delete")).toBe(counted);
  });

  it("observes a listing once, from its first to its last page, and counts a failure part way", async () => {
    async function* failing() {
      yield { key: "a", size: 1, modifiedAt: new Date() };
      throw new Error("connection reset");
    }
    const store = new MeasuredObjectStore(fakeStore({ list: () => failing() }));
    const before = { lists: await sample("storageDuration", "list"), errors: await sample("storageErrors", "list") };
    const seen: string[] = [];
    await expect(async () => {
      for await (const info of store.list()) seen.push(info.key);
    }).rejects.toThrow("connection reset");
    expect(seen).toEqual(["a"]);
    expect((await sample("storageDuration", "list")) - before.lists).toBe(1);
    expect((await sample("storageErrors", "list")) - before.errors).toBe(1);
  });
});
