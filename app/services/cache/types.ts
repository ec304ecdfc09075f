export interface Lock {
  /** Releases the lock if this holder still owns it. */
  release(): Promise<void>;
  /**
   * Restarts the expiry at ttlMs from now if this holder still owns the lock; false when it
   * expired and may have been taken by someone else. Long holders renew well before expiry.
   */
  extend(ttlMs: number): Promise<boolean>;
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
  tryLock(key: string, ttlMs: number): Promise<Lock | null>;
  publish(channel: string, message: string): Promise<void>;
  /** Returns an unsubscribe function. */
  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>>;
  health(): Promise<void>;
  close(): Promise<void>;
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
