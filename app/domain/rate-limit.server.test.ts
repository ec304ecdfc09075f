import { afterAll, describe, expect, it } from "vitest";
import { describeWait, rateLimit, TooManyRequestsError } from "~/domain/rate-limit.server";
import { MemoryCache } from "~/services/cache/memory.server";
import type { Services } from "~/services/index.server";

describe("rateLimit", () => {
  const cache = new MemoryCache();
  const services = { cache } as unknown as Services;
  afterAll(() => cache.close());

  it("allows `limit` requests per window, then throws 429 with Retry-After seconds", async () => {
    for (let i = 1; i <= 3; i++) {
      const state = await rateLimit(services, "test:a", { limit: 3, windowMs: 60_000 });
      expect(state.remaining).toBe(3 - i);
    }
    const error = await rateLimit(services, "test:a", { limit: 3, windowMs: 60_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TooManyRequestsError);
    expect((error as TooManyRequestsError).status).toBe(429);
    expect((error as TooManyRequestsError).retryAfter).toBeGreaterThan(55);
    expect((error as TooManyRequestsError).retryAfter).toBeLessThanOrEqual(60);
    expect((error as TooManyRequestsError).message).toContain("try again in 1 minute");
  });

  it("keeps keys apart and starts over after the window", async () => {
    await expect(rateLimit(services, "test:b", { limit: 1, windowMs: 50 })).resolves.toBeTruthy();
    await expect(rateLimit(services, "test:b", { limit: 1, windowMs: 50 })).rejects.toBeInstanceOf(TooManyRequestsError);
    await expect(rateLimit(services, "test:c", { limit: 1, windowMs: 50 })).resolves.toBeTruthy();
    await new Promise((resolve) => setTimeout(resolve, 80));
    await expect(rateLimit(services, "test:b", { limit: 1, windowMs: 50 })).resolves.toBeTruthy();
  });

  it("uses the caller's message", async () => {
    await rateLimit(services, "test:d", { limit: 0, windowMs: 10_000, message: (s) => `Wait ${s}s.` }).catch((e: Error) => {
      expect(e.message).toMatch(/^Wait \d+s\.$/);
    });
    expect.assertions(1);
  });

  it.each([
    [1, "1 second"],
    [45, "45 seconds"],
    [60, "1 minute"],
    [900, "15 minutes"],
    [7200, "2 hours"],
  ])("describes %i s as %j", (seconds, text) => {
    expect(describeWait(seconds)).toBe(text);
  });
});
