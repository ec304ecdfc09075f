import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { ERRORS } from "@tus/utils";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { RedisCache } from "~/services/cache/redis.server";
import { createTusLocker, type TusLocker } from "~/services/cache/tus.server";

/**
 * tus locks live 30 s so a slow request keeps its upload, but one left by a killed process must
 * not hold the upload that long: its owner's heartbeat (2 s) says it is gone.
 */
const REPO = path.resolve(import.meta.dirname, "..");

describe("tus locks of a process that is gone", () => {
  const prefix = `test-stale-${randomUUID()}:`;
  const caches: RedisCache[] = [];
  const lockers: TusLocker[] = [];
  const open = () => {
    const cache = new RedisCache(inject("services").redisUrl, { prefix });
    caches.push(cache);
    return cache;
  };
  const locker = (cache: RedisCache, options?: Parameters<typeof createTusLocker>[1]) => {
    const created = createTusLocker(cache, options);
    lockers.push(created);
    return created;
  };
  let cache: RedisCache;

  beforeAll(() => {
    cache = open();
  });
  afterAll(async () => {
    for (const created of lockers) await created.close();
    for (const opened of caches) await opened.close();
  });

  it("takes over at once a lock whose owner id has no heartbeat", async () => {
    const id = randomUUID();
    await cache.redis().set(`${prefix}tus-lock:${id}`, `${randomUUID()}:${randomUUID()}`, "PX", 30_000);
    const started = Date.now();
    const lock = locker(cache).newLock(id);
    await lock.lock(new AbortController().signal, () => {});
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await cache.redis().get(`${prefix}tus-lock:${id}`)).toMatch(new RegExp(`^${cache.instanceId}:`));
    await lock.unlock();
  });

  it("takes over within 2 s a lock held by a process that was killed", async () => {
    const id = randomUUID();
    // One process (tsx's CLI would run the script in a child that SIGKILL does not reach).
    const holder = spawn(process.execPath, ["--import", "tsx", "tests/support/lock-holder.ts", inject("services").redisUrl, prefix, id], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes("locked") && resolve());
        holder.once("exit", (code) => reject(new Error(`the lock holder exited (${code})`)));
      });
      const lockValue = await cache.redis().get(`${prefix}tus-lock:${id}`);
      expect(lockValue).toBeTruthy();
      const exited = new Promise((resolve) => holder.once("exit", resolve));
      holder.kill("SIGKILL");
      await exited;

      const started = Date.now();
      const lock = locker(cache).newLock(id);
      await lock.lock(AbortSignal.timeout(10_000), () => {});
      // The heartbeat outlives the process by up to 2 s; the rest is room for a busy machine.
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(await cache.redis().get(`${prefix}tus-lock:${id}`)).not.toBe(lockValue);
      await lock.unlock();
    } finally {
      if (holder.exitCode === null && holder.signalCode === null) holder.kill("SIGKILL");
    }
  });

  it("never takes over the lock of a live owner", async () => {
    const id = randomUUID();
    const owner = open();
    const held = locker(owner).newLock(id);
    // A holder that ignores release requests: only its death could free the lock early.
    await held.lock(new AbortController().signal, () => {});
    const waiter = locker(cache, { acquireTimeoutMs: 3_500 }).newLock(id);
    await expect(waiter.lock(new AbortController().signal, () => {})).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT);
    expect(await cache.redis().get(`${prefix}tus-lock:${id}`)).toMatch(new RegExp(`^${owner.instanceId}:`));
    await held.unlock();
  });
});
