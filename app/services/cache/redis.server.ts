import { createHash, randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { type CircuitState, createBreaker, DependencyUnavailableError, type Breaker } from "../dependency.server";
import type { Logger } from "../logger.server";
import { LocalFallbackCache } from "./fallback.server";
import { MemoryCache } from "./memory.server";
import { isRedisOutage, RedisDisconnectedError } from "./redis-outage";
import { CacheClosedError, CacheError, CacheUnavailableError, type Cache, type Lock, type TryLockOptions } from "./types";

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
   * Commands issued before the first connection fail after this many reconnect attempts instead
   * of waiting indefinitely; reconnecting itself never stops. (Once connected, a command issued
   * while the connection is down fails at once.)
   */
  maxRetriesPerRequest?: number;
  /** A command that takes longer fails as an outage (DependencyUnavailableError). */
  commandTimeoutMs?: number;
  /** How long the circuit stays open after repeated outages before a trial command may pass. */
  circuitResetMs?: number;
  /**
   * How long an instance counts as alive after its last heartbeat: a lock taken with
   * releaseWhenOwnerDies whose owner stopped beating is free after at most this long.
   */
  heartbeatTtlMs?: number;
  /** Connection errors (they repeat while Redis is down). Without it they are dropped. */
  onError?: (error: Error) => void;
  /** Gets one line when Redis becomes unreachable and one when it is back, never one per retry. */
  log?: Pick<Logger, "info" | "warn" | "debug">;
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
 *
 * Every command goes through a circuit breaker: while Redis is down a command fails at once (or
 * after commandTimeoutMs at most) with DependencyUnavailableError, never hangs, and the log gets
 * one line when the connection drops and one when it is back.
 */
export class RedisCache implements Cache {
  readonly driver = "redis" as const;
  readonly prefix: string;
  /** Names this process in lock values, so a waiter can tell a dead owner from a live one. */
  readonly instanceId = randomUUID();
  readonly orLocal: Cache;
  private readonly client: Redis;
  private subscriber: Redis | null = null;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly duplicates = new Set<Redis>();
  private readonly healthTimeoutMs: number;
  private readonly heartbeatTtlMs: number;
  private readonly onError: (error: Error) => void;
  private readonly log: Pick<Logger, "info" | "warn" | "debug"> | null;
  private readonly breaker: Breaker;
  private readonly localFallback = new MemoryCache();
  /** host:port only: the URL may carry a password. */
  private readonly address: string;
  private closed = false;
  /** Before the first connection commands wait (bounded); after it, a dropped connection fails them at once. */
  private everReady = false;
  private down = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly retryAfterSeconds: number;

  constructor(url: string, options: RedisCacheOptions = {}) {
    this.prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    this.healthTimeoutMs = options.healthTimeoutMs ?? 3_000;
    this.heartbeatTtlMs = options.heartbeatTtlMs ?? 2_000;
    this.onError = options.onError ?? (() => {});
    this.log = options.log ?? null;
    this.address = safeAddress(url);
    const resetMs = options.circuitResetMs ?? 2_000;
    this.retryAfterSeconds = Math.max(1, Math.ceil(resetMs / 1000));
    this.breaker = createBreaker("cache", {
      isOutage: isRedisOutage,
      timeoutMs: options.commandTimeoutMs ?? 1_500,
      resetMs,
      // Opens and half-opens every second while Redis is down: the connection's own down/back
      // lines are the ones for people.
      onStateChange: (state) => this.log?.debug("cache circuit " + state, { address: this.address }),
    });
    this.client = this.track(
      new Redis(url, {
        connectTimeout: options.connectTimeoutMs ?? 5_000,
        maxRetriesPerRequest: options.maxRetriesPerRequest ?? 1,
        retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
      }),
    );
    this.client.on("ready", () => this.markUp());
    this.client.on("error", (error: Error) => this.markDown(error));
    this.client.on("close", () => this.markDown(null));
    this.orLocal = new LocalFallbackCache(this, this.localFallback);
  }

  /**
   * The command connection, for libraries that take an ioredis client. Run their calls through
   * command() so they fail fast too. Do not put it in subscriber mode.
   */
  redis(): Redis {
    this.assertOpen();
    return this.client;
  }

  /**
   * Runs a call on the command connection through the circuit breaker: while Redis is down it
   * rejects at once (or after commandTimeoutMs) with DependencyUnavailableError.
   */
  command<T>(call: (client: Redis) => Promise<T>): Promise<T> {
    this.assertOpen();
    return this.breaker.run(async () => {
      if (this.everReady && this.client.status !== "ready") throw new RedisDisconnectedError(this.address);
      return call(this.client);
    });
  }

  /**
   * Throws DependencyUnavailableError while Redis is known to be down (connection lost, circuit
   * open), before a request starts work it could not finish without it.
   */
  assertAvailable(): void {
    this.assertOpen();
    if (this.breaker.isOpen || (this.everReady && this.client.status !== "ready")) {
      throw new DependencyUnavailableError("cache", this.retryAfterSeconds, { cause: new RedisDisconnectedError(this.address) });
    }
  }

  /**
   * A new connection with the same options (e.g. Socket.IO's adapter); closed by close(). Its
   * PUBLISH never rejects unhandled: libraries publish fire-and-forget, and while Redis is down
   * every such rejection would print a stack trace.
   */
  duplicateClient(): Redis {
    this.assertOpen();
    const connection = this.track(this.client.duplicate(SUBSCRIBER_SAFE));
    const publish = connection.publish.bind(connection) as (...args: unknown[]) => Promise<number>;
    connection.publish = ((...args: unknown[]) => {
      const published = publish(...args);
      published.catch(() => {});
      return published;
    }) as Redis["publish"];
    this.duplicates.add(connection);
    connection.once("end", () => this.duplicates.delete(connection));
    return connection;
  }

  async get(key: string): Promise<string | null> {
    return this.command((redis) => redis.get(this.prefixed(key)));
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    const name = this.prefixed(key);
    if (ttlMs === undefined) await this.command((redis) => redis.set(name, value));
    else await this.command((redis) => redis.set(name, value, "PX", positiveMs(ttlMs)));
  }

  async delete(key: string): Promise<void> {
    await this.command((redis) => redis.del(this.prefixed(key)));
  }

  async increment(key: string, windowMs: number): Promise<{ count: number; resetMs: number }> {
    const reply = await this.command((redis) => INCREMENT.run(redis, [this.prefixed(key)], [positiveMs(windowMs)]));
    const [count, resetMs] = reply as [number, number];
    return { count, resetMs };
  }

  /**
   * Lock values are `<instance id>:<token>`. With releaseWhenOwnerDies the taker also keeps a
   * heartbeat key alive, and a lock whose owner's heartbeat is gone (the process was killed) is
   * taken over at once, atomically, instead of waiting out its ttl.
   */
  async tryLock(key: string, ttlMs: number, options: TryLockOptions = {}): Promise<Lock | null> {
    const name = this.prefixed(key);
    const value = `${this.instanceId}:${randomUUID()}`;
    const ttl = positiveMs(ttlMs);
    if (options.releaseWhenOwnerDies) {
      this.startHeartbeat();
      const taken = await this.command((redis) =>
        ACQUIRE_FROM_LIVE_OWNERS.run(
          redis,
          [name, this.heartbeatKey(this.instanceId)],
          [value, ttl, this.heartbeatKey(""), this.heartbeatTtlMs],
        ),
      );
      if (taken === 0) return null;
      if (taken === 2) this.log?.info("took over a lock its stopped owner left behind", { lock: key });
    } else {
      const taken = await this.command((redis) => redis.set(name, value, "PX", ttl, "NX"));
      if (taken !== "OK") return null;
    }
    return {
      release: async () => {
        await this.command((redis) => RELEASE.run(redis, [name], [value]));
      },
      extend: async (newTtlMs: number) => (await this.command((redis) => EXTEND.run(redis, [name], [value, positiveMs(newTtlMs)]))) === 1,
    };
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.command((redis) => redis.publish(this.prefixed(channel), message));
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
    const pending = subscription.ready;
    try {
      await this.command(() => pending);
    } catch (error) {
      subscription.handlers.delete(handler);
      throw error;
    }
    const current = subscription;
    return async () => {
      current.handlers.delete(handler);
      if (current.handlers.size > 0 || this.subscriptions.get(name) !== current) return;
      this.subscriptions.delete(name);
      // Commands on one connection run in order, so a later SUBSCRIBE to this channel still wins.
      // With Redis down there is nothing to tell it; the handler is gone all the same.
      const subscriber = this.subscriber;
      if (!this.closed && subscriber) await this.command(() => subscriber.unsubscribe(name)).catch(() => {});
    };
  }

  circuitState(): CircuitState {
    return this.breaker.state;
  }

  /** The server's version (INFO server), through the breaker. */
  async serverVersion(): Promise<string> {
    const info = await this.command((redis) => redis.info("server"));
    return /^redis_version:(\S+)/m.exec(info)?.[1] ?? "";
  }

  /** PING, bounded by healthTimeoutMs; rejects with CacheUnavailableError at once while disconnected. */
  async health(): Promise<void> {
    this.assertOpen();
    if (this.everReady && this.client.status !== "ready") throw new CacheUnavailableError(`Redis at ${this.address} is unreachable`);
    const ping = this.client.ping();
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
    this.stopHeartbeat();
    if (this.heartbeatStarted && this.client.status === "ready") {
      await this.client.del(this.heartbeatKey(this.instanceId)).catch(() => {});
    }
    this.breaker.shutdown();
    await this.localFallback.close();
    this.subscriptions.clear();
    const connections = [this.client, this.subscriber, ...this.duplicates].filter((c): c is Redis => c !== null);
    await Promise.all(connections.map(closeConnection));
  }

  private subscriberConnection(): Redis {
    this.assertOpen();
    if (!this.subscriber) {
      const subscriber = this.track(this.client.duplicate(SUBSCRIBER_SAFE));
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

  private markUp() {
    this.everReady = true;
    if (!this.down) return;
    this.down = false;
    this.log?.info("cache reachable again", { address: this.address });
  }

  /** Once per outage: ioredis repeats its error at every reconnect attempt. */
  private markDown(error: Error | null) {
    if (this.closed || this.down || (!this.everReady && !error)) return;
    this.down = true;
    this.log?.warn("cache unreachable: falling back to this instance's memory where that is safe, answering 503 elsewhere", {
      address: this.address,
      reason: error ? describeConnectionError(error) : "connection closed",
    });
  }

  private heartbeatStarted = false;

  /** Keeps this instance's heartbeat key alive while it may hold locks that die with it. */
  private startHeartbeat() {
    if (this.heartbeatStarted) return;
    this.heartbeatStarted = true;
    const key = this.heartbeatKey(this.instanceId);
    const beat = () => {
      if (this.client.status !== "ready") return;
      this.client.set(key, "1", "PX", this.heartbeatTtlMs).catch(() => {});
    };
    this.heartbeat = setInterval(beat, Math.max(50, Math.floor(this.heartbeatTtlMs / 4)));
    this.heartbeat.unref();
  }

  private stopHeartbeat() {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private heartbeatKey(instanceId: string): string {
    return `${this.prefix}instance-alive:${instanceId}`;
  }

  private prefixed(key: string): string {
    return this.prefix + key;
  }

  private assertOpen() {
    if (this.closed) throw new CacheClosedError();
  }
}

/**
 * For connections that subscribe. ioredis's ready check sends INFO after each (re)connect; a
 * SUBSCRIBE sent in between puts the connection in subscriber mode first, and the INFO then
 * rejects unhandled ("Connection in subscriber mode").
 */
const SUBSCRIBER_SAFE = { enableReadyCheck: false } as const;

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

// KEYS: the lock, this instance's heartbeat. ARGV: value, ttl, heartbeat key prefix, heartbeat ttl.
// Returns 1 when taken, 2 when taken over from an owner whose heartbeat is gone, 0 when held.
// The owner's heartbeat key is not in KEYS: fine on one Redis, not on a cluster.
const ACQUIRE_FROM_LIVE_OWNERS = new LuaScript(`
redis.call('SET', KEYS[2], '1', 'PX', ARGV[4])
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
local holder = redis.call('GET', KEYS[1])
local owner = holder and string.match(holder, '^([^:]+):')
if owner and redis.call('EXISTS', ARGV[3] .. owner) == 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0
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

/** ioredis's socket errors name host and port at most, never the password: keep the message short. */
function describeConnectionError(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : error.message.slice(0, 200);
}

function safeAddress(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "(invalid URL)";
  }
}
