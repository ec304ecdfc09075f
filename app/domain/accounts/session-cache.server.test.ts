import { describe, expect, it } from "vitest";
import { createSessionCache, SESSION_CACHE_TTL_MS, sessionKeyOf } from "./session-cache.server";

describe("the session cache", () => {
  it("keeps a row for a few seconds, then asks again", () => {
    let now = 1_000;
    const cache = createSessionCache<{ name: string }>(() => now);
    cache.set("s1", { name: "Ada" }, cache.generation());
    expect(cache.get("s1")).toEqual({ name: "Ada" });
    now += SESSION_CACHE_TTL_MS - 1;
    expect(cache.get("s1")).toEqual({ name: "Ada" });
    now += 1;
    expect(cache.get("s1")).toBeUndefined();
  });

  it("does not keep a row read before a session ended (a lookup racing a sign-out)", () => {
    const cache = createSessionCache<string>();
    const started = cache.generation();
    cache.forget("s1"); // signed out while the lookup was waiting for the database
    cache.set("s1", "row read before the sign-out", started);
    expect(cache.get("s1")).toBeUndefined();
    cache.set("s1", "row read after it", cache.generation());
    expect(cache.get("s1")).toBe("row read after it");
  });

  it("drops sessions named by their keys, as other instances name them", () => {
    const cache = createSessionCache<string>();
    cache.set("s1", "one", cache.generation());
    cache.set("s2", "two", cache.generation());
    cache.forgetKeys([sessionKeyOf("s1")]);
    expect(cache.get("s1")).toBeUndefined();
    expect(cache.get("s2")).toBe("two");
    cache.clear();
    expect(cache.get("s2")).toBeUndefined();
  });

  it("names a session by a digest, never by its id", () => {
    expect(sessionKeyOf("secret-session-id")).not.toContain("secret");
    expect(sessionKeyOf("secret-session-id")).toHaveLength(22);
  });
});
