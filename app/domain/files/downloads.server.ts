import type { Readable } from "node:stream";
import type { File as FileRecord } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { inSpan } from "~/services/tracing/spans.server";
import { assertServable } from "./malware-scans.server";
import { INVISIBLE_CHARACTERS } from "./names";
import { type ByteRange, isNotModified, readDownloadHeaders } from "./request-headers";
import { countUsage } from "../analytics/usage.server";
import { noteContentRead } from "../storage-tiers/cold-tier.server";

/** RFC 6266 / RFC 5987: an ASCII fallback plus the exact UTF-8 name in filename*. */
export function contentDisposition(stored: string, type: "attachment" | "inline" = "attachment"): string {
  // Names are refused with these characters now; one stored before must not save as
  // "reportexe.txt" when it is "report<U+202E>txt.exe" (see INVISIBLE_CHARACTERS).
  const name = stored.replace(new RegExp(INVISIBLE_CHARACTERS.source, "g"), "");
  const fallback = name.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${type}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

export type RangeResult = { kind: "full" } | { kind: "partial"; start: number; end: number } | { kind: "unsatisfiable" };

/** Where a Range falls in a file of this size. */
export function resolveRange(range: ByteRange | null, size: number): RangeResult {
  if (!range) return { kind: "full" };
  let start: number;
  let end: number;
  if (range.first === null) {
    const suffix = range.last ?? 0;
    if (suffix === 0) return { kind: "unsatisfiable" };
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = range.first;
    end = range.last === null ? size - 1 : Math.min(range.last, size - 1);
  }
  if (start >= size || start > end) return { kind: "unsatisfiable" };
  return { kind: "partial", start, end };
}

export function etagOf(file: Pick<FileRecord, "id" | "sha256" | "updatedAt">): string {
  return `"${file.sha256 ?? `${file.id}-${file.updatedAt.getTime().toString(36)}`}"`;
}

/** How a viewer's inline response differs from a download (see previews.server.ts). */
export interface InlineOptions {
  disposition: "inline";
  contentType: string;
  contentSecurityPolicy: string;
}

/**
 * An HTTP answer that streams stored bytes, as the domain decides it; the route turns it into a
 * Response (see ~/route-helpers/file-response.server).
 */
export interface FileReply {
  status: number;
  headers: Headers;
  body: Readable | string | null;
}

/**
 * The 302 to a presigned URL of the stored object, named and typed like a download; null when
 * offloading is off or the store has no URL for it. The browser sends a Range again to the new
 * location, where the store answers it.
 */
async function presignedRedirect(services: Services, file: FileRecord): Promise<FileReply | null> {
  const offload = services.config.downloadRedirect;
  if (!offload || !services.storage.presignedGetUrl) return null;
  const url = await services.storage.presignedGetUrl(file.storageKey, {
    expiresInSeconds: offload.expiresSeconds,
    contentType: file.mimeType,
    contentDisposition: contentDisposition(file.name),
  });
  if (!url) return null;
  // Never kept by a cache: the URL stops working after expiresSeconds.
  const headers = new Headers({ Location: url, "Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer" });
  return { status: 302, headers, body: null };
}

/** Streams a file with validators and Range support; the bytes never sit in memory. */
export function downloadReply(services: Services, file: FileRecord, request: Request, inline?: InlineOptions): Promise<FileReply> {
  return inSpan("file.download", { "file.size": Number(file.size) }, () => fileReply(services, file, request, inline));
}

/**
 * A download as an attachment: with DOWNLOAD_REDIRECT=presigned a GET is answered with a 302 to
 * a short-lived URL of the store (see docs/storage.md#download-offloading), otherwise, and when
 * the store gives no URL for this object, as downloadReply. Callers check access first, as for
 * downloadReply; usage and the cold tier's last read are recorded either way.
 */
export function offloadableDownloadReply(services: Services, file: FileRecord, request: Request): Promise<FileReply> {
  return inSpan("file.download", { "file.size": Number(file.size) }, () => fileReply(services, file, request, undefined, true));
}

async function fileReply(
  services: Services,
  file: FileRecord,
  request: Request,
  inline?: InlineOptions,
  offloadable = false,
): Promise<FileReply> {
  // Infected bytes are never served; with scanning on, neither are bytes without a clean verdict.
  await assertServable(services, file.storageKey);
  const size = Number(file.size);
  const etag = etagOf(file);
  const headers = new Headers({
    "Content-Type": inline?.contentType ?? file.mimeType,
    "Content-Disposition": contentDisposition(file.name, inline?.disposition),
    "Accept-Ranges": "bytes",
    ETag: etag,
    "Last-Modified": file.updatedAt.toUTCString(),
    "Cache-Control": "private, no-cache",
    "X-Content-Type-Options": "nosniff",
    // Downloads are never rendered on our origin, whatever their type.
    "Content-Security-Policy": inline?.contentSecurityPolicy ?? "default-src 'none'; sandbox",
  });
  const conditions = readDownloadHeaders(request.headers);
  if (isNotModified(conditions, etag, file.updatedAt)) return { status: 304, headers, body: null };

  // A Range that no longer matches the validator gets the whole, current file (RFC 9110 If-Range).
  const range = conditions.ifRange && conditions.ifRange !== etag ? ({ kind: "full" } as const) : resolveRange(conditions.range, size);
  if (range.kind === "unsatisfiable") {
    headers.set("Content-Range", `bytes */${size}`);
    return { status: 416, headers, body: "The requested range is outside the file." };
  }
  if (request.method === "HEAD") {
    headers.set("Content-Length", String(range.kind === "partial" ? range.end - range.start + 1 : size));
    return { status: range.kind === "partial" ? 206 : 200, headers, body: null };
  }
  const redirect = offloadable && size > 0 ? await presignedRedirect(services, file) : null;
  void noteContentRead(services, file.storageKey);
  // A download starts at byte 0; a Range further on resumes one already counted.
  if (range.kind === "full" || range.start === 0) countUsage(services, "downloads");
  countUsage(services, "download_bytes", range.kind === "partial" ? range.end - range.start + 1 : size);
  if (redirect) return redirect;
  if (range.kind === "partial") {
    const stream = await services.storage.get(file.storageKey, { start: range.start, end: range.end });
    headers.set("Content-Range", `bytes ${range.start}-${range.end}/${size}`);
    headers.set("Content-Length", String(range.end - range.start + 1));
    return { status: 206, headers, body: stream };
  }
  const stream = size === 0 ? null : await services.storage.get(file.storageKey);
  headers.set("Content-Length", String(size));
  return { status: 200, headers, body: stream ?? "" };
}
