import { isCacheUnavailable, type Cache, type Lock, type TryLockOptions } from "./types";

/**
 * A shared cache that falls back to a per-process one while the shared one cannot be reached
 * (Cache.orLocal). Each operation tries the shared cache first, so it heals by itself as soon as
 * Redis answers again; anything else than an outage (a refused command) still throws.
 *
 * What was written locally during an outage stays readable until it expires (get() looks there
 * when the shared cache has nothing), so a lockout counted meanwhile still holds afterwards.
 */
export class LocalFallbackCache implements Cache {
  readonly driver: Cache["driver"];

  constructor(
    private readonly shared: Cache,
    private readonly local: Cache,
  ) {
    this.driver = shared.driver;
  }

  get orLocal(): Cache {
    return this;
  }

  async get(key: string): Promise<string | null> {
    const value = await this.either(
      () => this.shared.get(key),
      () => Promise.resolve(null),
    );
    return value ?? this.local.get(key);
  }

  set(key: string, value: string, ttlMs?: number): Promise<void> {
    return this.either(
      () => this.shared.set(key, value, ttlMs),
      () => this.local.set(key, value, ttlMs),
    );
  }

  async delete(key: string): Promise<void> {
    await this.local.delete(key);
    await this.either(
      () => this.shared.delete(key),
      async () => {},
    );
  }

  increment(key: string, windowMs: number): Promise<{ count: number; resetMs: number }> {
    return this.either(
      () => this.shared.increment(key, windowMs),
      () => this.local.increment(key, windowMs),
    );
  }

  tryLock(key: string, ttlMs: number, options?: TryLockOptions): Promise<Lock | null> {
    return this.either(
      () => this.shared.tryLock(key, ttlMs, options),
      () => this.local.tryLock(key, ttlMs, options),
    );
  }

  /** Messages are for other instances: there is no local stand-in, so an outage still throws. */
  publish(channel: string, message: string): Promise<void> {
    return this.shared.publish(channel, message);
  }

  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    return this.shared.subscribe(channel, handler);
  }

  health(): Promise<void> {
    return this.shared.health();
  }

  /** Closed with the cache it belongs to. */
  async close(): Promise<void> {}

  private async either<T>(shared: () => Promise<T>, local: () => Promise<T>): Promise<T> {
    try {
      return await shared();
    } catch (error) {
      if (!isCacheUnavailable(error)) throw error;
      return local();
    }
  }
}
