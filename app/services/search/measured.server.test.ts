import { describe, expect, it } from "vitest";
import { metrics } from "~/services/metrics.server";
import { MeasuredSearchIndex } from "./measured.server";
import { SearchUnavailableError, type SearchIndex } from "./types";

async function sample(name: "searchErrors" | "searchDuration", operation: string): Promise<number> {
  const { values } = await metrics()[name].get();
  const match = (v: { labels: Record<string, unknown>; metricName?: string }) =>
    v.labels.driver === "meilisearch" && v.labels.operation === operation && (name === "searchErrors" || v.metricName?.endsWith("_count"));
  return values.find(match)?.value ?? 0;
}

describe("MeasuredSearchIndex", () => {
  it("times queries and index writes by driver and counts the ones that fail", async () => {
    const index = new MeasuredSearchIndex({
      driver: "meilisearch",
      search: async () => Promise.reject(new SearchUnavailableError("Meilisearch is down")),
      upsert: async () => {},
    } as unknown as SearchIndex);
    const before = {
      searches: await sample("searchDuration", "search"),
      searchErrors: await sample("searchErrors", "search"),
      upserts: await sample("searchDuration", "upsert"),
      upsertErrors: await sample("searchErrors", "upsert"),
    };
    await expect(index.search("owner", "query")).rejects.toBeInstanceOf(SearchUnavailableError);
    await index.upsert([]);
    expect((await sample("searchDuration", "search")) - before.searches).toBe(1);
    expect((await sample("searchErrors", "search")) - before.searchErrors).toBe(1);
    expect((await sample("searchDuration", "upsert")) - before.upserts).toBe(1);
    expect((await sample("searchErrors", "upsert")) - before.upsertErrors).toBe(0);
    expect(index.driver).toBe("meilisearch");
    // Optional driver features stay visible through the wrapper, and absent ones absent.
    expect(index.serverVersion).toBeUndefined();
    const versioned = new MeasuredSearchIndex({ driver: "meilisearch", serverVersion: async () => "1.9.0" } as unknown as SearchIndex);
    expect(await versioned.serverVersion!()).toBe("1.9.0");
  });
});
