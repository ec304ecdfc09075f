import { createHash, randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { CacheClosedError, CacheError, CacheUnavailableError, type Cache, type Lock } from "./types";

/** Default start of every key and channel: deployments sharing one Redis each set their own (REDIS_PREFIX). */
export const DEFAULT_REDIS_PREFIX = "coffer:";

export interface RedisCacheOptions {
  /** Every key and channel starts with this; instances of one deployment share it. */
  prefix?: string;
  /** Per connection attempt. */
  connectTimeoutMs?: number;
  /** health() rejects when PING takes longer. */
  healthTimeoutMs?: number;
  /**
   * Commands issued while disconnected fail after this many reconnect attempts instead of
   * waiting indefinitely; reconnecting itself never stops.
   */
  maxRetriesPerRequest?: number;
  /** Connection errors (they repeat while Redis is down). Without it they are dropped. */
  onError?: (error: Error) => void;
}

type Handler = (message: string) => void;

interface Subscription {
  handlers: Set<Handler>;
  /** Resolves once Redis confirmed the SUBSCRIBE. */
  ready: Promise<unknown>;
}

/**
 * Cache over Redis (ioredis): one command connection, plus a subscriber connection created on the
 * first subscribe(), since a connection in subscriber mode cannot run other commands.
 */
export class RedisCache implements Cache {
  readonly driver = "redis" as const;
  readonly prefix: string;
  private readonly client: Redis;
  private subscriber: Redis | null = null;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly duplicates = new Set<Redis>();
  private readonly healthTimeoutMs: number;
  private readonly onError: (error: Error) => void;
  /** host:port only: the URL may carry a password. */
  private readonly address: string;
  private closed = false;

  constructor(url: string, options: RedisCacheOptions = {}) {
    this.prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    this.healthTimeoutMs = options.healthTimeoutMs ?? 3_000;
    this.onError = options.onError ?? (() => {});
    this.address = safeAddress(url);
    this.client = this.track(
      new Redis(url, {
        connectTimeout: options.connectTimeoutMs ?? 5_000,
        maxRetriesPerRequest: options.maxRetriesPerRequest ?? 3,
        retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
      }),
    );
  }

  /** The command connection, shared (tus's IoRedisKvStore). Do not put it in subscriber mode. */
  redis(): Redis {
    this.assertOpen();
    return this.client;
  }

  /** A new connection with the same options (e.g. Socket.IO's subscriber); closed by close(). */
  duplicateClient(): Redis {
    this.assertOpen();
    const connection = this.track(this.client.duplicate());
    this.duplicates.add(connection);
    connection.once("end", () => this.duplicates.delete(connection));
    return connection;
  }

  async get(key: string): Promise<string | null> {
    return this.redis().get(this.prefixed(key));
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs === undefined) await this.redis().set(this.prefixed(key), value);
    else await this.redis().set(this.prefixed(key), value, "PX", positiveMs(ttlMs));
  }

  async delete(key: string): Promise<void> {
    await this.redis().del(this.prefixed(key));
  }

  async increment(key: string, windowMs: number): Promise<{ count: number; resetMs: number }> {
    const reply = await INCREMENT.run(this.redis(), [this.prefixed(key)], [positiveMs(windowMs)]);
    const [count, resetMs] = reply as [number, number];
    return { count, resetMs };
  }

  async tryLock(key: string, ttlMs: number): Promise<Lock | null> {
    const name = this.prefixed(key);
    const token = randomUUID();
    const taken = await this.redis().set(name, token, "PX", positiveMs(ttlMs), "NX");
    if (taken !== "OK") return null;
    return {
      release: async () => {
        await RELEASE.run(this.redis(), [name], [token]);
      },
      extend: async (newTtlMs: number) => (await EXTEND.run(this.redis(), [name], [token, positiveMs(newTtlMs)])) === 1,
    };
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.redis().publish(this.prefixed(channel), message);
  }

  async subscribe(channel: string, handler: Handler): Promise<() => Promise<void>> {
    const name = this.prefixed(channel);
    let subscription = this.subscriptions.get(name);
    if (!subscription) {
      const ready = this.subscriberConnection().subscribe(name);
      subscription = { handlers: new Set(), ready };
      this.subscriptions.set(name, subscription);
      ready.catch(() => {
        if (this.subscriptions.get(name) === subscription) this.subscriptions.delete(name);
      });
    }
    subscription.handlers.add(handler);
    try {
      await subscription.ready;
    } catch (error) {
      subscription.handlers.delete(handler);
      throw new CacheUnavailableError(`Could not subscribe to "${channel}" on Redis at ${this.address}`, { cause: error });
    }
    const current = subscription;
    return async () => {
      current.handlers.delete(handler);
      if (current.handlers.size > 0 || this.subscriptions.get(name) !== current) return;
      this.subscriptions.delete(name);
      // Commands on one connection run in order, so a later SUBSCRIBE to this channel still wins.
      if (!this.closed) await this.subscriber?.unsubscribe(name);
    };
  }

  async health(): Promise<void> {
    const ping = this.redis().ping();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new CacheUnavailableError(`Redis at ${this.address} did not answer PING within ${this.healthTimeoutMs} ms`)),
        this.healthTimeoutMs,
      );
    });
    try {
      await Promise.race([ping, timeout]);
    } catch (error) {
      if (error instanceof CacheError) throw error;
      throw new CacheUnavailableError(`Redis at ${this.address} is unavailable: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
      ping.catch(() => {});
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.subscriptions.clear();
    const connections = [this.client, this.subscriber, ...this.duplicates].filter((c): c is Redis => c !== null);
    await Promise.all(connections.map(closeConnection));
  }

  private subscriberConnection(): Redis {
    this.assertOpen();
    if (!this.subscriber) {
      const subscriber = this.track(this.client.duplicate());
      subscriber.on("message", (channel: string, message: string) => {
        for (const handler of this.subscriptions.get(channel)?.handlers ?? []) {
          try {
            handler(message);
          } catch {
            // One failing subscriber must not stop delivery to the others.
          }
        }
      });
      this.subscriber = subscriber;
    }
    return this.subscriber;
  }

  /** Without an "error" listener ioredis prints every failed reconnect to stderr. */
  private track(connection: Redis): Redis {
    connection.on("error", (error: Error) => this.onError(error));
    return connection;
  }

  private prefixed(key: string): string {
    return this.prefix + key;
  }

  private assertOpen() {
    if (this.closed) throw new CacheClosedError();
  }
}

/** A Lua script run by EVALSHA, sending the source only when the server does not know it yet. */
class LuaScript {
  private readonly sha: string;
  constructor(private readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  async run(client: Redis, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

// A fixed window: the first increment starts it. A counter left without an expiry (by set()
// without ttl) gets one, so it can never count forever.
const INCREMENT = new LuaScript(`
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`);

const RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

const EXTEND = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`);

/** Redis rejects PX 0 and fractions. */
function positiveMs(ms: number): number {
  return Math.max(1, Math.ceil(ms));
}

/** Resolves once the socket is closed (quit() resolves on the server's OK, a little earlier). */
async function closeConnection(connection: Redis): Promise<void> {
  // Between reconnect attempts there is no socket, so disconnect() only cancels the next attempt
  // and no "end" event follows.
  const hasSocket = ["connecting", "connect", "ready"].includes(connection.status);
  let timer: NodeJS.Timeout | undefined;
  const ended = new Promise<void>((resolve) => {
    connection.once("end", resolve);
    timer = setTimeout(resolve, 2_000);
  });
  if (connection.status === "ready") {
    await connection.quit().catch(() => connection.disconnect());
  } else {
    // QUIT would wait in the offline queue for a connection that may never come.
    connection.disconnect();
  }
  if (hasSocket) await ended;
  clearTimeout(timer);
}

function safeAddress(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "(invalid URL)";
  }
}
