import type { RedisCache } from "./redis.server";
import type { Cache } from "./types";

/** The Redis driver, told by its name: importing RedisCache for instanceof would load ioredis. */
export function isRedisCache(cache: Cache): cache is RedisCache {
  // Its orLocal view says "redis" too, but has no connection to hand out.
  return cache.driver === "redis" && typeof (cache as Partial<RedisCache>).redis === "function";
}
