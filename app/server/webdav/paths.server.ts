import type express from "express";
import { AppError } from "~/domain/errors";
import { CONTROL_CHARACTERS, INVISIBLE_CHARACTERS } from "~/domain/files/names";

export const DAV_PREFIX = "/dav";
const MAX_SEGMENTS = 64;

function badPath(message = "The path is not valid."): AppError {
  return new AppError(400, message);
}

/**
 * The decoded segments of a path below /dav/ ("/dav/a%20b/c" → ["a b", "c"]). Encoded slashes,
 * "." and "..", NUL, control and bidi characters are refused (400): such names cannot exist.
 */
export function pathSegments(pathname: string): string[] {
  if (pathname !== DAV_PREFIX && !pathname.startsWith(`${DAV_PREFIX}/`)) throw badPath();
  const raw = pathname
    .slice(DAV_PREFIX.length)
    .split("/")
    .filter((s) => s !== "");
  if (raw.length > MAX_SEGMENTS) throw badPath("The path is too deep.");
  return raw.map((segment) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw badPath();
    }
    if (decoded === "." || decoded === ".." || /[/\\]/.test(decoded)) throw badPath();
    if (CONTROL_CHARACTERS.test(decoded) || INVISIBLE_CHARACTERS.test(decoded)) {
      throw badPath("Names cannot contain control or invisible characters.");
    }
    return decoded.normalize("NFC");
  });
}

/** The path of the request URL (without its query). */
export function requestSegments(req: express.Request): string[] {
  return pathSegments(req.originalUrl.split("?")[0]!);
}

/** The lock-store path of segments: "" for the top, "a/b" below it. */
export function lockPath(segments: string[]): string {
  return segments.join("/");
}

export function href(segments: string[], collection: boolean): string {
  const path = segments.map((s) => encodeURIComponent(s)).join("/");
  return `${DAV_PREFIX}/${path}${collection && path !== "" ? "/" : ""}`;
}

/**
 * The segments a Destination header (or an If header's tagged resource) names. It must be on this
 * server (same host) and below /dav/; otherwise 502 (RFC 4918 §9.8.5: another server) or 400.
 */
export function destinationSegments(req: express.Request, value: string | undefined): string[] {
  if (!value) throw new AppError(400, "The Destination header is missing.");
  let url: URL;
  try {
    url = new URL(value, `http://${req.headers.host ?? "localhost"}`);
  } catch {
    throw new AppError(400, "The Destination header is not a URL.");
  }
  if (url.host !== (req.headers.host ?? "localhost")) throw new AppError(502, "The destination is on another server.");
  return pathSegments(url.pathname);
}
