import { randomUUID } from "node:crypto";
import { ERRORS } from "@tus/utils";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createCache } from "~/services/cache/index.server";
import { MemoryCache } from "~/services/cache/memory.server";
import { RedisCache } from "~/services/cache/redis.server";
import { createTusKvStore, createTusLocker, tusKvPrefix, type TusLocker } from "~/services/cache/tus.server";
import { CacheClosedError, CacheUnavailableError, type Cache } from "~/services/cache/types";
import { isDependencyUnavailable } from "~/services/dependency.server";
import { freePort } from "./setup/free-port";

interface DriverUnderTest {
  name: "memory" | "redis";
  /**
   * Two handles on the same shared state, standing for two app instances. For Redis they are two
   * separate RedisCache instances (separate connections) on one server; the memory driver only
   * shares state within its own instance, so both handles are that instance.
   */
  open(): { a: Cache; b: Cache };
  /** A fresh instance of this driver, e.g. for close(). */
  fresh(): Cache;
}

const drivers: DriverUnderTest[] = [
  {
    name: "memory",
    open() {
      const cache = new MemoryCache();
      return { a: cache, b: cache };
    },
    fresh: () => new MemoryCache(),
  },
  {
    name: "redis",
    open() {
      const url = inject("services").redisUrl;
      return { a: new RedisCache(url), b: new RedisCache(url) };
    },
    fresh: () => new RedisCache(inject("services").redisUrl),
  },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, timeoutMs = 3_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Redis is shared by every test file, so every key and channel is unique to one test. */
const unique = (name: string) => `test:${randomUUID()}:${name}`;

describe.each(drivers)("$name cache", (driver) => {
  let a: Cache;
  let b: Cache;
  const opened: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    ({ a, b } = driver.open());
    opened.push(a, b);
    await a.health();
    await b.health();
  });

  afterAll(async () => {
    for (const item of opened.reverse()) await item.close();
  });

  it("reports its driver", () => {
    expect(a.driver).toBe(driver.name);
  });

  describe("get / set / delete", () => {
    it("returns null for a missing key and the stored value for a set one, on both instances", async () => {
      const key = unique("value");
      expect(await a.get(key)).toBeNull();
      await a.set(key, "one");
      expect(await a.get(key)).toBe("one");
      expect(await b.get(key)).toBe("one");
      await b.set(key, "two ✓ with unicode");
      expect(await a.get(key)).toBe("two ✓ with unicode");
    });

    it("expires a value after its ttl and keeps one without ttl", async () => {
      const expiring = unique("expiring");
      const lasting = unique("lasting");
      await a.set(expiring, "soon gone", 150);
      await a.set(lasting, "stays");
      expect(await b.get(expiring)).toBe("soon gone");
      await sleep(300);
      expect(await a.get(expiring)).toBeNull();
      expect(await b.get(expiring)).toBeNull();
      expect(await a.get(lasting)).toBe("stays");
    });

    it("set without ttl replaces an earlier ttl", async () => {
      const key = unique("replaced");
      await a.set(key, "first", 150);
      await a.set(key, "second");
      await sleep(300);
      expect(await a.get(key)).toBe("second");
    });

    it("deletes a key; deleting a missing key is fine", async () => {
      const key = unique("deleted");
      await a.set(key, "x");
      await b.delete(key);
      expect(await a.get(key)).toBeNull();
      await expect(a.delete(unique("never-set"))).resolves.toBeUndefined();
    });
  });

  describe("increment", () => {
    it("counts within a fixed window that starts at the first increment, across instances", async () => {
      const key = unique("counter");
      const first = await a.increment(key, 1_000);
      expect(first.count).toBe(1);
      expect(first.resetMs).toBeGreaterThan(0);
      expect(first.resetMs).toBeLessThanOrEqual(1_000);
      await sleep(50);
      const second = await b.increment(key, 1_000);
      expect(second.count).toBe(2);
      // The window does not restart on later increments.
      expect(second.resetMs).toBeLessThan(first.resetMs);
      expect((await a.increment(key, 1_000)).count).toBe(3);
    });

    it("starts a new window once the old one has passed", async () => {
      const key = unique("window");
      await a.increment(key, 150);
      await a.increment(key, 150);
      await sleep(300);
      const next = await b.increment(key, 150);
      expect(next.count).toBe(1);
      expect(next.resetMs).toBeGreaterThan(0);
      expect(next.resetMs).toBeLessThanOrEqual(150);
    });

    it("counts concurrent increments exactly", async () => {
      const key = unique("concurrent");
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).increment(key, 5_000)));
      expect(results.map((r) => r.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    });

    it("gives a counter left without expiry a window instead of counting forever", async () => {
      const key = unique("no-expiry");
      await a.set(key, "5");
      const result = await a.increment(key, 150);
      expect(result.count).toBe(6);
      expect(result.resetMs).toBeGreaterThan(0);
      await sleep(300);
      expect(await a.get(key)).toBeNull();
    });

    it("rejects incrementing a value that is not an integer", async () => {
      const key = unique("text");
      await a.set(key, "not a number");
      await expect(a.increment(key, 1_000)).rejects.toThrow();
    });
  });

  describe("tryLock", () => {
    it("is exclusive until released", async () => {
      const key = unique("lock");
      const first = await a.tryLock(key, 5_000);
      expect(first).not.toBeNull();
      expect(await b.tryLock(key, 5_000)).toBeNull();
      expect(await a.tryLock(key, 5_000)).toBeNull();
      await first!.release();
      const second = await b.tryLock(key, 5_000);
      expect(second).not.toBeNull();
      await second!.release();
    });

    it("frees itself after its ttl", async () => {
      const key = unique("expiring-lock");
      expect(await a.tryLock(key, 150)).not.toBeNull();
      expect(await b.tryLock(key, 150)).toBeNull();
      await sleep(300);
      const later = await b.tryLock(key, 5_000);
      expect(later).not.toBeNull();
      await later!.release();
    });

    it("is released only by its owner: a holder whose lock expired cannot release the next one", async () => {
      const key = unique("owner-lock");
      const stale = await a.tryLock(key, 150);
      await sleep(300);
      const current = await b.tryLock(key, 5_000);
      expect(current).not.toBeNull();
      await stale!.release();
      expect(await a.tryLock(key, 5_000)).toBeNull();
      expect(await stale!.extend(5_000)).toBe(false);
      await current!.release();
      expect(await a.tryLock(key, 5_000)).not.toBeNull();
    });

    it("extends only while owned", async () => {
      const key = unique("extended-lock");
      // Margins of 300 ms or more: on a loaded machine a 100 ms sleep has taken over 200 ms.
      const lock = await a.tryLock(key, 500);
      await sleep(200);
      expect(await lock!.extend(1_000)).toBe(true);
      await sleep(500);
      // Without the extension it would have expired by now.
      expect(await b.tryLock(key, 5_000)).toBeNull();
      await lock!.release();
      expect(await lock!.extend(1_000)).toBe(false);
    });

    it("lets exactly one of many concurrent callers win", async () => {
      const key = unique("race");
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).tryLock(key, 5_000)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });

  describe("publish / subscribe", () => {
    it("delivers a message published by one instance to a subscriber on the other", async () => {
      const channel = unique("channel");
      const received: string[] = [];
      const unsubscribe = await b.subscribe(channel, (message) => received.push(message));
      await a.publish(channel, "hello ✓");
      await a.publish(channel, "second");
      await waitFor(() => received.length === 2, 3_000, "two messages");
      expect(received).toEqual(["hello ✓", "second"]);
      await unsubscribe();
    });

    it("stops delivering after unsubscribe, and keeps the channel's other subscribers", async () => {
      const channel = unique("channel");
      const stopped: string[] = [];
      const kept: string[] = [];
      const unsubscribeStopped = await b.subscribe(channel, (message) => stopped.push(message));
      const unsubscribeKept = await b.subscribe(channel, (message) => kept.push(message));
      await a.publish(channel, "1");
      await waitFor(() => stopped.length === 1 && kept.length === 1, 3_000, "first message");
      await unsubscribeStopped();
      await a.publish(channel, "2");
      await waitFor(() => kept.length === 2, 3_000, "second message");
      expect(stopped).toEqual(["1"]);
      await unsubscribeKept();
      // Resubscribing to a channel after its last subscriber left works again.
      const again: string[] = [];
      const unsubscribeAgain = await b.subscribe(channel, (message) => again.push(message));
      await a.publish(channel, "3");
      await waitFor(() => again.length === 1, 3_000, "message after resubscribing");
      expect(kept).toEqual(["1", "2"]);
      await unsubscribeAgain();
    });

    it("does not deliver to other channels, and a throwing handler does not stop the others", async () => {
      const channel = unique("channel");
      const other = unique("other");
      const received: string[] = [];
      const unsubscribeOther = await b.subscribe(other, (message) => received.push(`other:${message}`));
      const unsubscribeThrowing = await b.subscribe(channel, () => {
        throw new Error("handler failure");
      });
      const unsubscribe = await b.subscribe(channel, (message) => received.push(message));
      await a.publish(channel, "x");
      await waitFor(() => received.length === 1, 3_000, "message");
      await sleep(50);
      expect(received).toEqual(["x"]);
      await Promise.all([unsubscribe(), unsubscribeOther(), unsubscribeThrowing()]);
    });
  });

  it("health resolves; after close every call rejects with CacheClosedError", async () => {
    const cache = driver.fresh();
    await cache.health();
    await cache.close();
    await expect(cache.get("anything")).rejects.toBeInstanceOf(CacheClosedError);
    await expect(cache.health()).rejects.toBeInstanceOf(CacheClosedError);
    await expect(cache.close()).resolves.toBeUndefined();
  });

  describe("tus locker", () => {
    const lockers: TusLocker[] = [];
    const locker = (cache: Cache, options?: Parameters<typeof createTusLocker>[1]) => {
      const created = createTusLocker(cache, options);
      lockers.push(created);
      return created;
    };
    afterAll(async () => {
      for (const created of lockers) await created.close();
    });

    it("makes a second instance wait until the first releases, asking the holder to release", async () => {
      const id = randomUUID();
      const first = locker(a).newLock(id);
      const second = locker(b).newLock(id);
      let releaseRequests = 0;
      await first.lock(new AbortController().signal, () => {
        releaseRequests++;
      });

      let acquired = false;
      const waiting = second
        .lock(new AbortController().signal, () => {})
        .then(() => {
          acquired = true;
        });
      await waitFor(() => releaseRequests > 0, 3_000, "the holder's requestRelease callback");
      await sleep(300);
      expect(acquired).toBe(false);

      await first.unlock();
      await waiting;
      expect(acquired).toBe(true);
      await second.unlock();
    });

    it("hands the lock over as soon as the holder honours the release request", async () => {
      const id = randomUUID();
      const first = locker(a).newLock(id);
      await first.lock(new AbortController().signal, () => first.unlock());
      const started = Date.now();
      const second = locker(b).newLock(id);
      await second.lock(new AbortController().signal, () => {});
      expect(Date.now() - started).toBeLessThan(2_000);
      await second.unlock();
    });

    it("gives up with ERR_LOCK_TIMEOUT when the holder never releases", async () => {
      const id = randomUUID();
      const first = locker(a).newLock(id);
      await first.lock(new AbortController().signal, () => {});
      const started = Date.now();
      const second = locker(b, { acquireTimeoutMs: 300 }).newLock(id);
      await expect(second.lock(new AbortController().signal, () => {})).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      await first.unlock();
    });

    it("stops waiting when the request is aborted", async () => {
      const id = randomUUID();
      const first = locker(a).newLock(id);
      await first.lock(new AbortController().signal, () => {});
      const abort = new AbortController();
      setTimeout(() => abort.abort(), 100);
      const started = Date.now();
      await expect(
        locker(b)
          .newLock(id)
          .lock(abort.signal, () => {}),
      ).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT);
      expect(Date.now() - started).toBeLessThan(2_000);
      await first.unlock();
    });

    it("renews a held lock so it outlives its ttl", async () => {
      const id = randomUUID();
      const first = locker(a, { lockTtlMs: 200 }).newLock(id);
      await first.lock(new AbortController().signal, () => {});
      const second = locker(b, { lockTtlMs: 200, acquireTimeoutMs: 700 }).newLock(id);
      await expect(second.lock(new AbortController().signal, () => {})).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT);
      await first.unlock();
      await second.lock(new AbortController().signal, () => {});
      await second.unlock();
    });

    it("locks different uploads independently and refuses to unlock a lock it does not hold", async () => {
      const shared = locker(a);
      const one = shared.newLock(randomUUID());
      const two = shared.newLock(randomUUID());
      await one.lock(new AbortController().signal, () => {});
      await two.lock(new AbortController().signal, () => {});
      await one.unlock();
      await two.unlock();
      await expect(one.unlock()).rejects.toThrow("Releasing an unlocked lock!");
    });
  });
});

describe("redis driver specifics", () => {
  let cache: RedisCache;
  beforeAll(() => {
    cache = new RedisCache(inject("services").redisUrl);
  });
  afterAll(async () => {
    await cache.close();
  });

  it("keeps every key under the coffer: prefix by default", async () => {
    const key = unique("prefixed");
    await cache.set(key, "v");
    expect(cache.prefix).toBe("coffer:");
    expect(await cache.redis().get(`coffer:${key}`)).toBe("v");
    expect(await cache.redis().get(key)).toBeNull();
  });

  describe("deployments sharing one Redis", () => {
    const url = () => inject("services").redisUrl;
    const prefix = () => `test-${randomUUID()}:`;
    let ours: RedisCache;
    let ourTwin: RedisCache;
    let theirs: RedisCache;
    beforeAll(() => {
      const shared = prefix();
      ours = new RedisCache(url(), { prefix: shared });
      ourTwin = new RedisCache(url(), { prefix: shared });
      theirs = new RedisCache(url(), { prefix: prefix() });
    });
    afterAll(async () => {
      await Promise.all([ours.close(), ourTwin.close(), theirs.close()]);
    });

    it("keep keys and counters apart under different prefixes and share them under the same one", async () => {
      const key = unique("key");
      await ours.set(key, "ours");
      expect(await ourTwin.get(key)).toBe("ours");
      expect(await theirs.get(key)).toBeNull();
      expect(await ours.redis().get(`${ours.prefix}${key}`)).toBe("ours");

      const counter = unique("ip:127.0.0.1");
      await ours.increment(counter, 60_000);
      expect((await ourTwin.increment(counter, 60_000)).count).toBe(2);
      expect((await theirs.increment(counter, 60_000)).count).toBe(1);
    });

    it("keep locks apart under different prefixes and share them under the same one", async () => {
      const name = unique("jobs:cleanup");
      const held = await ours.tryLock(name, 10_000);
      expect(held).not.toBeNull();
      expect(await ourTwin.tryLock(name, 10_000)).toBeNull();
      const other = await theirs.tryLock(name, 10_000);
      expect(other).not.toBeNull();
      await held!.release();
      await other!.release();
    });

    it("deliver messages only under the same prefix", async () => {
      const channel = unique("events");
      const twinGot: string[] = [];
      const theirsGot: string[] = [];
      const stopTwin = await ourTwin.subscribe(channel, (m) => twinGot.push(m));
      const stopTheirs = await theirs.subscribe(channel, (m) => theirsGot.push(m));
      try {
        await ours.publish(channel, "hello");
        await theirs.publish(channel, "theirs");
        await waitFor(() => twinGot.length === 1 && theirsGot.length === 1, 3_000, "both deliveries");
        // Give a wrongly routed message time to arrive before checking it did not.
        await sleep(100);
        expect(twinGot).toEqual(["hello"]);
        expect(theirsGot).toEqual(["theirs"]);
      } finally {
        await stopTwin();
        await stopTheirs();
      }
    });

    it("keep tus upload metadata apart", async () => {
      const id = `upload-${randomUUID()}`;
      await createTusKvStore<{ id: string }>(ours)!.set(id, { id });
      expect(await createTusKvStore<{ id: string }>(ourTwin)!.get(id)).toEqual({ id });
      expect(await createTusKvStore<{ id: string }>(theirs)!.get(id)).toBeUndefined();
      expect(await createTusKvStore(theirs)!.list!()).not.toContain(id);
      expect(await ours.redis().get(`${ours.prefix}tus:${id}`)).toBe(JSON.stringify({ id }));
      await createTusKvStore(ours)!.delete(id);
    });
  });

  it("health rejects quickly, without leaking the password, when nothing listens", async () => {
    const port = await freePort();
    const unreachable = new RedisCache(`redis://:hunter2-secret@127.0.0.1:${port}`, { connectTimeoutMs: 300, healthTimeoutMs: 1_500 });
    const started = Date.now();
    try {
      const error = await unreachable.health().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(CacheUnavailableError);
      expect((error as Error).message).toContain(`127.0.0.1:${port}`);
      expect((error as Error).message).not.toContain("hunter2");
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await unreachable.close();
    }
  });

  it("fails fast with DependencyUnavailableError while Redis is unreachable; orLocal then counts in memory", async () => {
    const port = await freePort();
    const unreachable = new RedisCache(`redis://127.0.0.1:${port}`, { connectTimeoutMs: 300 });
    try {
      const started = Date.now();
      const error = await unreachable.get("anything").then(
        () => null,
        (e: unknown) => e,
      );
      expect(isDependencyUnavailable(error) && error.dependency).toBe("cache");
      expect(Date.now() - started).toBeLessThan(2_000);
      expect((await unreachable.orLocal.increment("counter", 60_000)).count).toBe(1);
      expect((await unreachable.orLocal.increment("counter", 60_000)).count).toBe(2);
      await unreachable.orLocal.set("kept", "locally");
      expect(await unreachable.orLocal.get("kept")).toBe("locally");
      expect(await unreachable.orLocal.tryLock("lock", 60_000)).not.toBeNull();
      expect(await unreachable.orLocal.tryLock("lock", 60_000)).toBeNull();
    } finally {
      await unreachable.close();
    }
  });

  it("orLocal uses Redis while it is up, and a refused command is not taken for an outage", async () => {
    const key = unique("or-local");
    await cache.orLocal.set(key, "shared");
    expect(await cache.get(key)).toBe("shared");
    await expect(cache.orLocal.increment(key, 1_000)).rejects.toThrow();
    expect(await cache.get(key)).toBe("shared");
  });

  it("hands out duplicate connections and closes them with the cache", async () => {
    const own = new RedisCache(inject("services").redisUrl);
    const duplicate = own.duplicateClient();
    expect(await duplicate.ping()).toBe("PONG");
    await own.close();
    expect(duplicate.status).toBe("end");
  });

  it("createCache picks the configured driver", async () => {
    const memory = await createCache({ driver: "memory" });
    const redis = await createCache({ driver: "redis", url: inject("services").redisUrl, prefix: "coffer-created:" });
    try {
      expect(memory).toBeInstanceOf(MemoryCache);
      expect(redis).toBeInstanceOf(RedisCache);
      expect((redis as RedisCache).prefix).toBe("coffer-created:");
      await redis.health();
    } finally {
      await memory.close();
      await redis.close();
    }
  });

  it("gives tus a Redis KV store under coffer:tus: whose list() returns upload ids", async () => {
    const store = createTusKvStore<{ id: string; offset: number }>(cache);
    expect(store).toBeDefined();
    const id = `upload-${randomUUID()}`;
    await store!.set(id, { id, offset: 42 });
    expect(await store!.get(id)).toEqual({ id, offset: 42 });
    expect(await cache.redis().get(`${tusKvPrefix(cache)}${id}`)).toBe(JSON.stringify({ id, offset: 42 }));
    const listed = await store!.list!();
    expect(listed).toContain(id);
    expect(listed.every((key) => !key.startsWith(tusKvPrefix(cache)))).toBe(true);
    // The ids that list() returns work with get(), as FileStore.deleteExpired() relies on.
    expect(await store!.get(listed.find((key) => key === id)!)).toEqual({ id, offset: 42 });
    await store!.delete(id);
    expect(await store!.get(id)).toBeUndefined();
  });

  it("keeps tus locks out of the KV store's listing", async () => {
    const store = createTusKvStore(cache)!;
    const id = `upload-${randomUUID()}`;
    const lock = createTusLocker(cache).newLock(id);
    await lock.lock(new AbortController().signal, () => {});
    try {
      expect((await store.list!()).some((key) => key.includes(id))).toBe(false);
    } finally {
      await lock.unlock();
    }
  });

  it("has no tus KV store for the memory driver (tus keeps its own)", async () => {
    const memory = new MemoryCache();
    expect(createTusKvStore(memory)).toBeUndefined();
    await memory.close();
  });
});
