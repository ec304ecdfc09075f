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
});

export type DownloadHeaders = z.infer<typeof downloadHeaders>;

export function readDownloadHeaders(headers: Headers): DownloadHeaders {
  return downloadHeaders.parse({
    range: headers.get("range"),
    ifNoneMatch: headers.get("if-none-match"),
    ifRange: headers.get("if-range"),
  });
}
