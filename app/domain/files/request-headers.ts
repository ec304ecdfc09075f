import { z } from "zod";

/** One byte range (RFC 9110 §14.1.2): either end may be left out, not both. */
export interface ByteRange {
  first: number | null;
  last: number | null;
}

const byteRange = z
  .string()
  .trim()
  .max(64)
  .regex(/^bytes=\d{0,20}-\d{0,20}$/)
  .refine((value) => value !== "bytes=-")
  .transform((value): ByteRange => {
    const [first, last] = value.slice("bytes=".length).split("-");
    return { first: first === "" ? null : Number(first), last: last === "" ? null : Number(last) };
  });

const validator = z.string().max(1024);

/**
 * The headers a download reads. A Range the server does not support (several ranges, another
 * unit, garbage) is ignored and the whole file sent, as RFC 9110 §14.2 allows; so are validators
 * too long to be ours.
 */
const downloadHeaders = z.object({
  range: byteRange.nullable().catch(null),
  ifNoneMatch: validator.nullable().catch(null),
  ifRange: validator.nullable().catch(null),
  ifModifiedSince: validator.nullable().catch(null),
});

export type DownloadHeaders = z.infer<typeof downloadHeaders>;

export function readDownloadHeaders(headers: Headers): DownloadHeaders {
  return downloadHeaders.parse({
    range: headers.get("range"),
    ifNoneMatch: headers.get("if-none-match"),
    ifRange: headers.get("if-range"),
    ifModifiedSince: headers.get("if-modified-since"),
  });
}

/**
 * Whether a GET or HEAD may be answered 304 (RFC 9110 §13.1.2, §13.1.3): If-None-Match, a list of
 * tags compared weakly or `*`, decides when present; otherwise If-Modified-Since, to the second.
 */
export function isNotModified(conditions: DownloadHeaders, etag: string, lastModified: Date): boolean {
  if (conditions.ifNoneMatch !== null) {
    const tags = conditions.ifNoneMatch.split(",").map((tag) => tag.trim().replace(/^W\//, ""));
    return tags.includes("*") || tags.includes(etag.replace(/^W\//, ""));
  }
  if (conditions.ifModifiedSince === null) return false;
  const since = Date.parse(conditions.ifModifiedSince);
  return Number.isFinite(since) && Math.floor(lastModified.getTime() / 1000) * 1000 <= since;
}
