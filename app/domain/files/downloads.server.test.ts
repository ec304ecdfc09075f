import { describe, expect, it } from "vitest";
import { contentDisposition, resolveRange } from "./downloads.server";
import { isNotModified, readDownloadHeaders } from "./request-headers";

const parseRange = (range: string | null, size: number) =>
  resolveRange(readDownloadHeaders(new Headers(range === null ? {} : { range })).range, size);

describe("download headers", () => {
  it("encodes names per RFC 6266 with an ASCII fallback", () => {
    expect(contentDisposition("report.pdf")).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
    expect(contentDisposition('a "quoted" \\ name.txt')).toBe(
      `attachment; filename="a _quoted_ _ name.txt"; filename*=UTF-8''a%20%22quoted%22%20%5C%20name.txt`,
    );
    expect(contentDisposition("naïve (1).txt")).toBe(`attachment; filename="na_ve (1).txt"; filename*=UTF-8''na%C3%AFve%20%281%29.txt`);
  });

  it("leaves out invisible and direction-changing characters of names stored before they were refused", () => {
    expect(contentDisposition("report\u202Etxt.exe")).toBe(`attachment; filename="reporttxt.exe"; filename*=UTF-8''reporttxt.exe`);
    expect(contentDisposition("\uFEFFa\u2066b\u200B.pdf", "inline")).toBe(`inline; filename="ab.pdf"; filename*=UTF-8''ab.pdf`);
  });

  it("parses single byte ranges", () => {
    expect(parseRange(null, 100)).toEqual({ kind: "full" });
    expect(parseRange("bytes=0-9", 100)).toEqual({ kind: "partial", start: 0, end: 9 });
    expect(parseRange("bytes=90-", 100)).toEqual({ kind: "partial", start: 90, end: 99 });
    expect(parseRange("bytes=-5", 100)).toEqual({ kind: "partial", start: 95, end: 99 });
    expect(parseRange("bytes=50-500", 100)).toEqual({ kind: "partial", start: 50, end: 99 });
    expect(parseRange("bytes=100-", 100)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange("bytes=5-1", 100)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange("bytes=0-1,5-6", 100)).toEqual({ kind: "full" });
    expect(parseRange("items=0-1", 100)).toEqual({ kind: "full" });
    expect(parseRange("bytes=-", 100)).toEqual({ kind: "full" });
    expect(parseRange(" bytes=3-4 ", 100)).toEqual({ kind: "partial", start: 3, end: 4 });
    expect(parseRange("bytes=0-99999999999999999999", 100)).toEqual({ kind: "partial", start: 0, end: 99 });
    expect(parseRange(`bytes=${"1".repeat(100)}-`, 100)).toEqual({ kind: "full" });
  });

  it("ignores validators too long to be ours", () => {
    expect(readDownloadHeaders(new Headers({ "if-none-match": '"abc"', "if-range": '"abc"' }))).toEqual({
      range: null,
      ifNoneMatch: '"abc"',
      ifRange: '"abc"',
      ifModifiedSince: null,
    });
    expect(readDownloadHeaders(new Headers({ "if-none-match": "x".repeat(2000) })).ifNoneMatch).toBeNull();
  });
});

describe("isNotModified", () => {
  const etag = '"abc"';
  const modified = new Date("2026-12-06T10:00:00.750Z");
  const notModified = (headers: Record<string, string>) => isNotModified(readDownloadHeaders(new Headers(headers)), etag, modified);

  it("matches If-None-Match weakly, in a list, or as *", () => {
    expect(notModified({ "if-none-match": '"abc"' })).toBe(true);
    expect(notModified({ "if-none-match": 'W/"abc"' })).toBe(true);
    expect(notModified({ "if-none-match": '"x", "abc"' })).toBe(true);
    expect(notModified({ "if-none-match": "*" })).toBe(true);
    expect(notModified({ "if-none-match": '"abcd"' })).toBe(false);
    expect(notModified({ "if-none-match": "" })).toBe(false);
  });

  it("compares If-Modified-Since to the second, only without If-None-Match", () => {
    expect(notModified({ "if-modified-since": modified.toUTCString() })).toBe(true);
    expect(notModified({ "if-modified-since": new Date(modified.getTime() - 1000).toUTCString() })).toBe(false);
    expect(notModified({ "if-modified-since": "garbage" })).toBe(false);
    expect(notModified({ "if-none-match": '"x"', "if-modified-since": modified.toUTCString() })).toBe(false);
  });
});
