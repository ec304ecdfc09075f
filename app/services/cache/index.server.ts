import type { Config } from "~/config.server";
import { MemoryCache } from "./memory.server";
import type { RedisCacheOptions } from "./redis.server";
import type { Cache } from "./types";

/**
 * The configured cache driver. Redis connects in the background: await health() to know it
 * works. ioredis is imported only when Redis is configured.
 */
export async function createCache(config: Config["cache"], options: RedisCacheOptions = {}): Promise<Cache> {
  switch (config.driver) {
    case "memory":
      return new MemoryCache();
    case "redis": {
      const { RedisCache } = await import("./redis.server");
      return new RedisCache(config.url, { prefix: config.prefix, ...options });
    }
  }
}
