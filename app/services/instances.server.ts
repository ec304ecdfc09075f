import { randomUUID } from "node:crypto";
import os from "node:os";
import { z } from "zod";
import { buildInfo } from "./build-info.server";
import { isRedisCache } from "./cache/is-redis";
import type { Services } from "./index.server";
import { type ServerErrorCounts, serverErrorCounts } from "./server-errors.server";

/**
 * The app instances of a deployment, for the admin's system page. Each process is one instance;
 * with Redis each keeps a presence key alive (its own, not the lock heartbeat of the Redis
 * driver, which beats only while the instance holds an upload lock and says nothing about it).
 */

/** How often an instance renews its presence; it counts as gone after missing three renewals. */
const BEAT_MS = 15_000;
const PRESENCE_TTL_MS = 3 * BEAT_MS;
const KEY_PREFIX = "instances:";
/** More would be a misconfiguration (or another deployment sharing the prefix); the page lists these. */
const MAX_LISTED = 200;

export interface InstanceInfo {
  id: string;
  hostname: string;
  pid: number;
  /** ISO times. */
  startedAt: string;
  lastSeen: string;
  version: string;
  commit: string | null;
  /** This instance's 5xx answers by route class, as of lastSeen. */
  errors: ServerErrorCounts;
}

const presenceSchema = z.object({
  id: z.string().max(100),
  hostname: z.string().max(255),
  pid: z.number().int(),
  startedAt: z.string().max(40),
  lastSeen: z.string().max(40),
  version: z.string().max(100),
  commit: z.string().max(40).nullable(),
  errors: z.object({ lastHour: z.record(z.string(), z.number()), lastDay: z.record(z.string(), z.number()) }),
});

interface Identity {
  id: string;
  startedAt: string;
}

// One identity per process, whichever copy of this module asks.
const identity: Identity = ((globalThis as Record<symbol, unknown>)[Symbol.for("coffer.instanceIdentity")] ??= {
  id: randomUUID(),
  startedAt: new Date(Date.now() - process.uptime() * 1000).toISOString(),
}) as Identity;

/** This process, as of now. */
export function thisInstance(): InstanceInfo {
  const { version, commit } = buildInfo();
  return {
    id: identity.id,
    hostname: os.hostname(),
    pid: process.pid,
    startedAt: identity.startedAt,
    lastSeen: new Date().toISOString(),
    version,
    commit,
    errors: serverErrorCounts(),
  };
}

/**
 * With Redis, keeps this instance's presence (and its error counts) in Redis until the returned
 * function is called, which removes it. With the memory cache there is nothing to share.
 */
export function announceInstance(services: Services, beatMs = BEAT_MS): () => Promise<void> {
  const { cache } = services;
  if (!isRedisCache(cache)) return async () => {};
  const key = KEY_PREFIX + identity.id;
  const ttl = Math.max(PRESENCE_TTL_MS, 3 * beatMs);
  // While Redis is down a beat fails fast (the breaker); the next one tries again.
  const beat = () => cache.set(key, JSON.stringify(thisInstance()), ttl).catch(() => {});
  void beat();
  const timer = setInterval(beat, beatMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await cache.delete(key).catch(() => {});
  };
}

/**
 * The live instances, this one first: with Redis every instance whose presence has not expired
 * (this one as of now), with the memory cache only this one. `shared` says which.
 */
export async function listInstances(services: Services): Promise<{ shared: boolean; instances: InstanceInfo[] }> {
  const self = thisInstance();
  const { cache } = services;
  if (!isRedisCache(cache)) return { shared: false, instances: [self] };
  const pattern = `${cache.prefix}${KEY_PREFIX}*`;
  const keys = await cache.command(async (redis) => {
    const found = new Set<string>();
    let cursor = "0";
    do {
      const [next, batch] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 100);
      for (const key of batch) found.add(key);
      cursor = next;
    } while (cursor !== "0" && found.size < MAX_LISTED);
    return [...found].slice(0, MAX_LISTED);
  });
  const values = keys.length === 0 ? [] : await cache.command((redis) => redis.mget(...keys));
  const others = values
    .map((value) => parsePresence(value))
    .filter((info): info is InstanceInfo => info !== null && info.id !== self.id)
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  return { shared: true, instances: [self, ...others] };
}

function parsePresence(value: string | null): InstanceInfo | null {
  if (value === null) return null;
  try {
    const parsed = presenceSchema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
