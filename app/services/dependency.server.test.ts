import { describe, expect, it } from "vitest";
import { createBreaker, DependencyUnavailableError, isDependencyUnavailable } from "./dependency.server";

const outage = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6379"), { code: "ECONNREFUSED" });
const isOutage = (error: unknown) => (error as { code?: string }).code === "ECONNREFUSED";

describe("createBreaker", () => {
  it("passes results and non-outage errors through unchanged", async () => {
    const breaker = createBreaker("cache", { isOutage });
    await expect(breaker.run(async () => 42)).resolves.toBe(42);
    const bad = new RangeError("bad key");
    await expect(breaker.run(async () => Promise.reject(bad))).rejects.toBe(bad);
    for (let i = 0; i < 5; i++) await breaker.run(async () => Promise.reject(bad)).catch(() => {});
    expect(breaker.isOpen).toBe(false);
    breaker.shutdown();
  });

  it("turns an outage into a 503 naming the dependency, and opens after three", async () => {
    const states: string[] = [];
    const breaker = createBreaker("storage", { isOutage, resetMs: 200, onStateChange: (s) => states.push(s) });
    let calls = 0;
    const failing = async () => {
      calls++;
      throw outage();
    };
    for (let i = 0; i < 3; i++) {
      const error = await breaker.run(failing).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DependencyUnavailableError);
      expect(error).toMatchObject({ status: 503, dependency: "storage", retryAfterSeconds: 1 });
      expect((error as Error).message).toMatch(/file storage/);
    }
    expect(breaker.isOpen).toBe(true);
    expect(states).toEqual(["open"]);

    // Open: refused at once, without calling the dependency.
    const started = performance.now();
    await expect(breaker.run(failing)).rejects.toSatisfy(isDependencyUnavailable);
    expect(performance.now() - started).toBeLessThan(50);
    expect(calls).toBe(3);

    // After resetMs one trial call passes; success closes the circuit.
    await new Promise((resolve) => setTimeout(resolve, 250));
    await expect(breaker.run(async () => "back")).resolves.toBe("back");
    expect(breaker.isOpen).toBe(false);
    expect(states).toEqual(["open", "half-open", "closed"]);
    breaker.shutdown();
  });

  it("fails a call that hangs within its timeout", async () => {
    const breaker = createBreaker("database", { isOutage, timeoutMs: 100 });
    const started = performance.now();
    const error = await breaker.run(() => new Promise(() => {})).catch((e: unknown) => e);
    expect(isDependencyUnavailable(error)).toBe(true);
    expect(performance.now() - started).toBeLessThan(1000);
    breaker.shutdown();
  });
});
