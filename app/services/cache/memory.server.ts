import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { CacheClosedError, CacheError, type Cache, type Lock, type TryLockOptions } from "./types";

interface Entry {
  value: string;
  /** Epoch ms; null means no expiry. */
  expiresAt: number | null;
}

export interface MemoryCacheOptions {
  /** How often expired entries are dropped; reads ignore expired entries regardless. */
  sweepIntervalMs?: number;
}

/** Cache for a single process: a Map with expiry, and pub/sub within this process only. */
export class MemoryCache implements Cache {
  readonly driver = "memory" as const;
  private readonly entries = new Map<string, Entry>();
  private readonly events = new EventEmitter().setMaxListeners(0);
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;
  /** Nothing to fall back from: one process is all this cache ever serves. */
  readonly orLocal: Cache = this;

  constructor(options: MemoryCacheOptions = {}) {
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 60_000);
    this.sweeper.unref();
  }

  async get(key: string): Promise<string | null> {
    return this.live(key)?.value ?? null;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.assertOpen();
    this.entries.set(key, { value, expiresAt: ttlMs === undefined ? null : Date.now() + ttlMs });
  }

  async delete(key: string): Promise<void> {
    this.assertOpen();
    this.entries.delete(key);
  }

  async increment(key: string, windowMs: number): Promise<{ count: number; resetMs: number }> {
    const now = Date.now();
    const entry = this.live(key);
    const previous = entry ? Number(entry.value) : 0;
    if (!Number.isSafeInteger(previous)) throw new CacheError(`Cannot increment "${key}": it does not hold an integer`);
    // Like the Redis driver: a counter without an expiry (set() without ttl) gets one now.
    const expiresAt = entry?.expiresAt ?? now + windowMs;
    const count = previous + 1;
    this.entries.set(key, { value: String(count), expiresAt });
    return { count, resetMs: expiresAt - now };
  }

  /** One process: a lock never outlives its owner, so releaseWhenOwnerDies needs nothing. */
  async tryLock(key: string, ttlMs: number, _options?: TryLockOptions): Promise<Lock | null> {
    if (this.live(key)) return null;
    const token = randomUUID();
    this.entries.set(key, { value: token, expiresAt: Date.now() + ttlMs });
    const owned = () => this.live(key)?.value === token;
    return {
      release: async () => {
        if (owned()) this.entries.delete(key);
      },
      extend: async (newTtlMs: number) => {
        if (!owned()) return false;
        this.entries.set(key, { value: token, expiresAt: Date.now() + newTtlMs });
        return true;
      },
    };
  }

  async publish(channel: string, message: string): Promise<void> {
    this.assertOpen();
    // Delivered asynchronously, as Redis does, so a publisher never runs subscriber code inline.
    setImmediate(() => this.events.emit(channel, message));
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    this.assertOpen();
    const listener = (message: string) => {
      try {
        handler(message);
      } catch {
        // One failing subscriber must not stop delivery to the others.
      }
    };
    this.events.on(channel, listener);
    return async () => {
      this.events.off(channel, listener);
    };
  }

  async health(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    this.entries.clear();
    this.events.removeAllListeners();
  }

  private live(key: string): Entry | undefined {
    this.assertOpen();
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt !== null && entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private sweep() {
    const now = Date.now();
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt !== null && entry.expiresAt <= now) this.entries.delete(key);
    }
  }

  private assertOpen() {
    if (this.closed) throw new CacheClosedError();
  }
}
