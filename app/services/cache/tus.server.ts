import { ERRORS, IoRedisKvStore, type Lock as TusLock, type Locker, type RequestRelease, type Upload } from "@tus/utils";
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
 * driver, where tus's own default store is right. While Redis is down its calls reject at once
 * with DependencyUnavailableError (tus requests then answer 503): there is no local stand-in for
 * metadata every instance must see.
 */
export function createTusKvStore<T = Upload>(cache: Cache): TusKvStore<T> | undefined {
  return isRedisCache(cache) ? new GuardedKvStore<T>(cache, tusKvPrefix(cache)) : undefined;
}

export interface TusKvStore<T> extends IoRedisKvStore<T> {
  /**
   * Throws DependencyUnavailableError while Redis is known to be down: a tus request checks
   * first, so it answers 503 before it creates anything (an upload row) it could not finish.
   */
  assertAvailable(): void;
}

/**
 * IoRedisKvStore with every command through the cache's circuit breaker. Its list() (@tus/utils
 * 0.7) also returned keys with the prefix still on, which its own get() prefixes again, so
 * FileStore.deleteExpired() never found an expired upload: this one returns upload ids.
 */
class GuardedKvStore<T> extends IoRedisKvStore<T> implements TusKvStore<T> {
  constructor(
    private readonly cache: RedisCache,
    private readonly keyPrefix: string,
  ) {
    super(cache.redis(), keyPrefix);
  }

  assertAvailable(): void {
    this.cache.assertAvailable();
  }

  override get(key: string): Promise<T | undefined> {
    return this.cache.command(() => super.get(key));
  }

  override set(key: string, value: T): Promise<void> {
    return this.cache.command(() => super.set(key, value));
  }

  override delete(key: string): Promise<void> {
    return this.cache.command(() => super.delete(key));
  }

  /** One SCAN per call through the breaker, so a long listing is not one long command. */
  override async list(): Promise<string[]> {
    const ids = new Set<string>();
    let cursor = "0";
    do {
      const [next, batch] = await this.cache.command((redis) => redis.scan(cursor, "MATCH", `${this.keyPrefix}*`, "COUNT", 100));
      cursor = next;
      for (const key of batch) ids.add(key.slice(this.keyPrefix.length));
    } while (cursor !== "0");
    return [...ids];
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
      // A lock its owner's process left behind (killed mid-request) is free at once.
      const lock = await cache.tryLock(LOCK_KEY_PREFIX + this.id, options.lockTtlMs, { releaseWhenOwnerDies: true });
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
