import { describe, expect, it } from "vitest";
import { ValidationError } from "~/domain/errors";
import { parseSearchPageQuery, searchRequest } from "./search-page.server";

const parse = (query: string) => parseSearchPageQuery(new Request(`http://x/search?${query}`));
const NOW = new Date("2026-12-07T15:30:00Z");

describe("search page parameters", () => {
  it("reads the form's empty 'any' values as absent", () => {
    expect(parse("q=+plan+&type=&modified=&from=&to=&size=&folder=&sort=&order=")).toEqual({ q: "plan" });
    expect(searchRequest(parse("q=plan"), NOW)).toEqual({ filters: {}, folderId: undefined, sort: undefined });
  });

  it("maps type, size and sort to the search's filters", () => {
    expect(searchRequest(parse("q=a&type=folder&sort=name"), NOW)).toMatchObject({
      filters: { kind: "folder" },
      sort: { by: "name", direction: "asc" },
    });
    expect(searchRequest(parse("q=a&type=image&size=small&sort=size&order=asc&folder=f_1"), NOW)).toEqual({
      filters: { fileType: "image", maxSize: 1024 * 1024 - 1 },
      folderId: "f_1",
      sort: { by: "size", direction: "asc" },
    });
    expect(searchRequest(parse("q=a&size=medium&sort=modified"), NOW)).toMatchObject({
      filters: { minSize: 1024 * 1024, maxSize: 100 * 1024 * 1024 },
      sort: { by: "modified", direction: "desc" },
    });
    expect(searchRequest(parse("q=a&size=large"), NOW).filters).toEqual({ minSize: 100 * 1024 * 1024 + 1 });
  });

  it("maps modified to whole UTC days", () => {
    const from = (query: string) => searchRequest(parse(query), NOW).filters?.updatedFrom?.toISOString();
    expect(from("q=a&modified=today")).toBe("2026-12-07T00:00:00.000Z");
    expect(from("q=a&modified=week")).toBe("2026-12-01T00:00:00.000Z");
    expect(from("q=a&modified=month")).toBe("2026-11-08T00:00:00.000Z");
    expect(from("q=a&modified=year")).toBe("2025-12-08T00:00:00.000Z");
    const custom = searchRequest(parse("q=a&modified=custom&from=2026-01-01&to=2026-01-31"), NOW).filters;
    expect(custom?.updatedFrom?.toISOString()).toBe("2026-01-01T00:00:00.000Z");
    expect(custom?.updatedBefore?.toISOString()).toBe("2026-02-01T00:00:00.000Z");
    // Dates apply only to a custom range.
    expect(searchRequest(parse("q=a&from=2026-01-01"), NOW).filters).toEqual({});
  });

  it.each([
    ["type=pictures", /type must be one of/],
    ["modified=yesterday", /modified must be one of/],
    ["size=huge", /size must be one of/],
    ["sort=price", /sort must be one of/],
    ["order=up", /order must be asc or desc/],
    ["from=07/12/2026", /from must be a date/],
    ["to=2026-02-30", /to must be a date/],
    ["folder=..%2Fetc", /folder must be a folder id/],
    ["type=image&type=video", /type must be one of/],
    ["modified=custom&from=2026-02-01&to=2026-01-01", /from is after to/],
  ])("refuses %s with a 400 naming it", (query, message) => {
    let error: unknown;
    try {
      parse(`q=a&${query}`);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).status).toBe(400);
    expect((error as Error).message).toMatch(message);
  });
});
