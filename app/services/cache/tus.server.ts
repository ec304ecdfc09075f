import { ERRORS, IoRedisKvStore, type Lock as TusLock, type Locker, type RequestRelease, type Upload } from "@tus/utils";
import type { Redis } from "ioredis";
import type { RedisCache } from "./redis.server";
import { isRedisCache } from "./is-redis";
import type { Cache, Lock } from "./types";

/** Where tus keeps upload metadata in Redis, under the cache's own prefix. */
export const tusKvPrefix = (cache: RedisCache) => `${cache.prefix}tus:`;
// Outside "tus:" on purpose: the KV store lists everything under its prefix as uploads.
const LOCK_KEY_PREFIX = "tus-lock:";
/** Carries the id of an upload whose lock someone is waiting for. */
const RELEASE_CHANNEL = "tus-lock-release";

export interface TusLockerOptions {
  /** lock() gives up with ERR_LOCK_TIMEOUT after this long (tus's MemoryLocker default). */
  acquireTimeoutMs?: number;
  /** A crashed holder's lock frees itself after this long; live holders renew it. */
  lockTtlMs?: number;
  /** Pause between attempts to take a held lock. */
  retryDelayMs?: number;
  /** How often a waiter asks the holder again to let go. */
  releaseRequestIntervalMs?: number;
}

export interface TusLocker extends Locker {
  /** Stops listening for release requests. */
  close(): Promise<void>;
}

/**
 * A tus Locker over the cache: with Redis, uploads are locked across every app instance and a
 * waiter asks the holder, wherever it runs, to finish early (tus's requestRelease) via pub/sub.
 */
export function createTusLocker(cache: Cache, options: TusLockerOptions = {}): TusLocker {
  return new CacheLocker(cache, {
    acquireTimeoutMs: options.acquireTimeoutMs ?? 30_000,
    lockTtlMs: options.lockTtlMs ?? 30_000,
    retryDelayMs: options.retryDelayMs ?? 100,
    releaseRequestIntervalMs: options.releaseRequestIntervalMs ?? 1_000,
  });
}

/**
 * tus upload metadata in Redis so every instance sees every upload; undefined for the memory
 * driver, where tus's own default store is right.
 */
export function createTusKvStore<T = Upload>(cache: Cache): IoRedisKvStore<T> | undefined {
  return isRedisCache(cache) ? new UnprefixedListKvStore<T>(cache.redis(), tusKvPrefix(cache)) : undefined;
}

/**
 * IoRedisKvStore.list() (@tus/utils 0.7) returns keys with the prefix still on, which its own
 * get() prefixes again, so FileStore.deleteExpired() never found an expired upload.
 */
class UnprefixedListKvStore<T> extends IoRedisKvStore<T> {
  constructor(
    redis: Redis,
    private readonly keyPrefix: string,
  ) {
    super(redis, keyPrefix);
  }

  override async list(): Promise<string[]> {
    const keys = await super.list();
    return keys.map((key) => (key.startsWith(this.keyPrefix) ? key.slice(this.keyPrefix.length) : key));
  }
}

class CacheLocker implements TusLocker {
  /** Locks this locker holds, by upload id. */
  readonly holders = new Map<string, CacheLock>();
  private listening: Promise<() => Promise<void>> | null = null;

  constructor(
    readonly cache: Cache,
    readonly options: Required<TusLockerOptions>,
  ) {}

  newLock(id: string): TusLock {
    return new CacheLock(id, this);
  }

  /** Subscribes once, before the first lock is taken, so no release request is missed. */
  listen(): Promise<unknown> {
    if (!this.listening) {
      const listening = this.cache.subscribe(RELEASE_CHANNEL, (id) => this.holders.get(id)?.askToRelease());
      listening.catch(() => {
        if (this.listening === listening) this.listening = null;
      });
      this.listening = listening;
    }
    return this.listening;
  }

  async close(): Promise<void> {
    const listening = this.listening;
    this.listening = null;
    const unsubscribe = await listening?.catch(() => null);
    await unsubscribe?.();
  }
}

class CacheLock implements TusLock {
  private held: Lock | null = null;
  private requestRelease: RequestRelease | null = null;
  private renewal: NodeJS.Timeout | null = null;

  constructor(
    private readonly id: string,
    private readonly locker: CacheLocker,
  ) {}

  async lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    if (this.held) throw new Error(`Lock for upload ${this.id} is already held by this Lock`);
    const { cache, options } = this.locker;
    await this.locker.listen();
    const deadline = Date.now() + options.acquireTimeoutMs;
    let lastRequest = -Infinity;
    while (!signal.aborted) {
      const lock = await cache.tryLock(LOCK_KEY_PREFIX + this.id, options.lockTtlMs);
      if (lock) {
        this.hold(lock, requestRelease);
        return;
      }
      const now = Date.now();
      if (now >= deadline) break;
      if (now - lastRequest >= options.releaseRequestIntervalMs) {
        lastRequest = now;
        await cache.publish(RELEASE_CHANNEL, this.id);
      }
      await sleep(Math.min(options.retryDelayMs, deadline - now), signal);
    }
    // tus's MemoryLocker answers both a timeout and an aborted request this way.
    throw ERRORS.ERR_LOCK_TIMEOUT;
  }

  async unlock(): Promise<void> {
    const lock = this.held;
    if (!lock) throw new Error("Releasing an unlocked lock!");
    this.stopHolding();
    await lock.release();
  }

  askToRelease() {
    const requestRelease = this.requestRelease;
    if (!requestRelease) return;
    Promise.resolve()
      .then(requestRelease)
      .catch(() => {});
  }

  private hold(lock: Lock, requestRelease: RequestRelease) {
    this.held = lock;
    this.requestRelease = requestRelease;
    this.locker.holders.set(this.id, this);
    const ttl = this.locker.options.lockTtlMs;
    this.renewal = setInterval(
      () => {
        lock.extend(ttl).then(
          (stillOurs) => {
            if (stillOurs || this.held !== lock) return;
            // It expired (e.g. the process stalled) and may be someone else's now: stop writing.
            this.askToRelease();
            this.stopRenewal();
          },
          // Cache briefly unreachable: keep trying; the TTL is the safety net.
          () => {},
        );
      },
      Math.max(1, Math.floor(ttl / 3)),
    );
    this.renewal.unref();
  }

  private stopHolding() {
    this.stopRenewal();
    if (this.locker.holders.get(this.id) === this) this.locker.holders.delete(this.id);
    this.held = null;
    this.requestRelease = null;
  }

  private stopRenewal() {
    if (this.renewal) clearInterval(this.renewal);
    this.renewal = null;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
