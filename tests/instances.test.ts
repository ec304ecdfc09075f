// The instances of a deployment (app/services/instances.server.ts) against a real Redis: an
// instance's presence key while it runs, the list the admin's system page shows (this instance
// first, the others by start time, garbage ignored), and nothing shared with the memory cache.
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, inject, it } from "vitest";
import { MemoryCache } from "~/services/cache/memory.server";
import { RedisCache } from "~/services/cache/redis.server";
import type { Services } from "~/services/index.server";
import { announceInstance, type InstanceInfo, listInstances, thisInstance } from "~/services/instances.server";

const asServices = (cache: MemoryCache | RedisCache) => ({ cache }) as unknown as Services;

function presence(id: string, startedAt: string): InstanceInfo {
  return { ...thisInstance(), id, hostname: "other-host", pid: 1, startedAt, errors: { lastHour: {}, lastDay: {} } };
}

describe("instances", () => {
  const cache = new RedisCache(inject("services").redisUrl, { prefix: `coffer-test-${randomUUID()}:` });
  afterAll(() => cache.close());

  it("with the memory cache, lists only this instance and announces nothing", async () => {
    const memory = new MemoryCache();
    const listed = await listInstances(asServices(memory));
    expect(listed.shared).toBe(false);
    expect(listed.instances.map((instance) => instance.id)).toEqual([thisInstance().id]);
    await announceInstance(asServices(memory))();
  });

  it("with Redis, keeps this instance's presence until stopped, lists the others by start time and skips garbage", async () => {
    const self = thisInstance();
    const stop = announceInstance(asServices(cache), 50);
    await expect.poll(async () => JSON.parse((await cache.get(`instances:${self.id}`)) ?? "null")?.id).toBe(self.id);

    // Other instances' presence, as they write it; and what is not one.
    await cache.set("instances:later", JSON.stringify(presence("later", "2030-01-02T00:00:00.000Z")), 60_000);
    await cache.set("instances:earlier", JSON.stringify(presence("earlier", "2030-01-01T00:00:00.000Z")), 60_000);
    await cache.set("instances:not-json", "{", 60_000);
    await cache.set("instances:wrong-shape", JSON.stringify({ id: "x", pid: "one" }), 60_000);

    const listed = await listInstances(asServices(cache));
    expect(listed.shared).toBe(true);
    expect(listed.instances.map((instance) => instance.id)).toEqual([self.id, "earlier", "later"]);
    expect(listed.instances[1]).toMatchObject({ hostname: "other-host", pid: 1 });

    await stop();
    expect(await cache.get(`instances:${self.id}`)).toBeNull();
    expect((await listInstances(asServices(cache))).instances.map((instance) => instance.id)).toEqual([self.id, "earlier", "later"]);
  });
});
