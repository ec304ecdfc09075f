import { type CircuitState, isDependencyUnavailable } from "../dependency.server";

export interface Lock {
  /** Releases the lock if this holder still owns it. */
  release(): Promise<void>;
  /**
   * Restarts the expiry at ttlMs from now if this holder still owns the lock; false when it
   * expired and may have been taken by someone else. Long holders renew well before expiry.
   */
  extend(ttlMs: number): Promise<boolean>;
}

export interface TryLockOptions {
  /**
   * Frees the lock as soon as the process holding it is gone (killed, crashed), not only when
   * its ttl runs out. For locks that guard work in progress (tus uploads); not for locks that
   * are kept on purpose after the work (once-per-window throttles, job runs).
   */
  releaseWhenOwnerDies?: boolean;
}

/**
 * Cache, counters, locks and pub/sub. The memory driver serves one process; the Redis driver
 * makes several app instances behave as one.
 */
export interface Cache {
  readonly driver: "memory" | "redis";
  get(key: string): Promise<string | null>;
  /** ttlMs omitted: no expiry. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Increments a counter and returns the new value; the window (expiry) starts at the first
   * increment. Used for rate limits.
   */
  increment(key: string, windowMs: number): Promise<{ count: number; resetMs: number }>;
  /** Tries once to take a lock that expires after ttlMs; null when another holder has it. */
  tryLock(key: string, ttlMs: number, options?: TryLockOptions): Promise<Lock | null>;
  publish(channel: string, message: string): Promise<void>;
  /** Returns an unsubscribe function. */
  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>>;
  health(): Promise<void>;
  /** The state of the circuit breaker in front of the server, for drivers that have one (Redis). */
  circuitState?(): CircuitState;
  close(): Promise<void>;
  /**
   * The same cache, except that while it cannot be reached (Redis down) each operation runs on a
   * per-process memory cache instead of failing: for state where counting or locking on this
   * instance alone is still right (rate limits, lockout counters, audit throttles). The memory
   * driver is its own fallback. See docs/decisions/0007-redis-outage-fallbacks.md.
   */
  readonly orLocal: Cache;
}

export class CacheError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CacheError";
  }
}

/** The cache server could not be reached or did not answer in time. */
export class CacheUnavailableError extends CacheError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CacheUnavailableError";
  }
}

/** The cache was used after close(). */
export class CacheClosedError extends CacheError {
  constructor() {
    super("The cache is closed");
    this.name = "CacheClosedError";
  }
}

/**
 * True when the cache could not be reached: a DependencyUnavailableError for the cache (the
 * Redis driver's commands) or a CacheUnavailableError (its health check).
 */
export function isCacheUnavailable(error: unknown): boolean {
  return error instanceof CacheUnavailableError || (isDependencyUnavailable(error) && error.dependency === "cache");
}
