import type { Config } from "~/config.server";
import { MemoryCache } from "./memory.server";
import { RedisCache, type RedisCacheOptions } from "./redis.server";
import type { Cache } from "./types";

export { MemoryCache } from "./memory.server";
export { RedisCache } from "./redis.server";

/** The configured cache driver. Redis connects in the background: await health() to know it works. */
export function createCache(config: Config["cache"], options: RedisCacheOptions = {}): Cache {
  switch (config.driver) {
    case "memory":
      return new MemoryCache();
    case "redis":
      return new RedisCache(config.url, { prefix: config.prefix, ...options });
  }
}
