import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { Readable } from "node:stream";
import type express from "express";
import type { Services } from "~/services/index.server";
import { cookiesAreSecure } from "~/lib/cookies.server";

/**
 * CSRF tokens for every state-changing request to the app's pages (double-submit, signed):
 * each browser gets a random HttpOnly cookie, and every form carries HMAC(secret, cookie) as its
 * first field, `_csrf`. A cross-site page can make the browser send the cookie but cannot read
 * the page to learn the token. JavaScript clients may send the token in `X-CSRF-Token` instead.
 *
 * The check runs here, before Remix, so no route can forget it. It reads only the first field
 * of the body (at most FIRST_FIELD_LIMIT bytes) and hands the app a stream of the whole body,
 * so multipart uploads still stream into storage.
 */

export const CSRF_FIELD = "_csrf";
export const CSRF_HEADER = "x-csrf-token";
const FIRST_FIELD_LIMIT = 16 * 1024;
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export class CsrfRefusal extends Error {
  constructor(readonly reason: string) {
    super(`CSRF check failed: ${reason}`);
  }
}

/** Named like the session cookie: `__Host-` in production over HTTPS. */
export function csrfCookieName(services: Services): string {
  return services.config.isProduction && services.config.servedOverHttps ? "__Host-coffer_csrf" : "coffer_csrf";
}

export function tokenFor(services: Services, cookieValue: string): string {
  return createHmac("sha256", services.sessionSecret).update(`csrf:${cookieValue}`).digest("base64url");
}

function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const index = part.indexOf("=");
    if (index > 0 && part.slice(0, index).trim() === name) {
      const value = part.slice(index + 1).trim();
      return /^[A-Za-z0-9_-]{16,128}$/.test(value) ? value : null;
    }
  }
  return null;
}

function sameToken(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Reads the body until its first field is complete and returns that field's value (null when
 * the first field is not `_csrf`), with a stream of the whole body: the bytes read so far
 * followed by the rest of the request, for the app to read as if nothing had been taken.
 */
export async function peekFirstField(req: express.Request): Promise<{ value: string | null; body: Readable }> {
  const contentType = req.headers["content-type"] ?? "";
  const multipartBoundary = /^multipart\/form-data;.*boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  const urlencoded = /^application\/x-www-form-urlencoded\b/i.test(contentType);
  const declaredLength = Number(req.headers["content-length"]);
  const chunks: Buffer[] = [];
  let length = 0;
  let value: string | null | undefined = null;
  if (multipartBoundary || urlencoded) {
    for (;;) {
      const seen = Buffer.concat(chunks, length);
      const ended = length === declaredLength || req.readableEnded;
      value = multipartBoundary ? firstMultipartField(seen, multipartBoundary, ended) : firstUrlencodedField(seen, ended);
      if (value !== undefined || ended || length >= FIRST_FIELD_LIMIT) break;
      const chunk = await nextChunk(req);
      if (chunk === null) {
        value = multipartBoundary ? firstMultipartField(seen, multipartBoundary, true) : firstUrlencodedField(seen, true);
        break;
      }
      chunks.push(chunk);
      length += chunk.length;
    }
  }
  const prefix = Buffer.concat(chunks, length);
  async function* whole() {
    if (prefix.length > 0) yield prefix;
    for await (const chunk of req) yield chunk as Buffer;
  }
  return { value: value ?? null, body: Readable.from(whole(), { objectMode: false }) };
}

/** The next chunk in paused mode; null at the end of the body. */
function nextChunk(req: express.Request): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunk = req.read() as Buffer | null;
    if (chunk !== null) return resolve(chunk);
    if (req.readableEnded) return resolve(null);
    const cleanup = () => {
      req.off("readable", onReadable);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onEnd);
    };
    const onReadable = () => {
      const next = req.read() as Buffer | null;
      if (next === null) return;
      cleanup();
      resolve(next);
    };
    const onEnd = () => {
      cleanup();
      resolve(null);
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    req.on("readable", onReadable);
    req.on("end", onEnd);
    req.on("close", onEnd);
    req.on("error", onError);
  });
}

/** undefined: need more bytes; null: the first field is something else. */
function firstUrlencodedField(seen: Buffer, ended: boolean): string | null | undefined {
  const text = seen.toString("latin1");
  const amp = text.indexOf("&");
  if (amp < 0 && !ended) return undefined;
  const field = amp < 0 ? text : text.slice(0, amp);
  const eq = field.indexOf("=");
  if (eq < 0 || field.slice(0, eq) !== CSRF_FIELD) return null;
  try {
    return decodeURIComponent(field.slice(eq + 1).replace(/\+/g, " "));
  } catch {
    return null;
  }
}

function firstMultipartField(seen: Buffer, boundary: string, ended: boolean): string | null | undefined {
  const text = seen.toString("latin1");
  const start = text.indexOf(`--${boundary}\r\n`);
  if (start < 0) return ended ? null : undefined;
  const headersEnd = text.indexOf("\r\n\r\n", start);
  if (headersEnd < 0) return ended ? null : undefined;
  const headers = text.slice(start, headersEnd);
  if (!new RegExp(`content-disposition:\\s*form-data;\\s*name="${CSRF_FIELD}"\\s*(\\r\\n|$)`, "i").test(headers)) return null;
  const valueEnd = text.indexOf(`\r\n--${boundary}`, headersEnd + 4);
  if (valueEnd < 0) return ended ? null : undefined;
  return text.slice(headersEnd + 4, valueEnd);
}

export interface CsrfOptions {
  /** Paths that authenticate differently and are checked elsewhere (tus, Socket.IO). */
  exempt: (path: string, req: express.Request) => boolean;
  /** Sends the refusal page. */
  refuse: (req: express.Request, res: express.Response, reason: string) => void;
}

function csrfCookie(services: Services, value: string): string {
  return `${csrfCookieName(services)}=${value}; Path=/; HttpOnly; SameSite=Lax${cookiesAreSecure(services.config) ? "; Secure" : ""}`;
}

/**
 * Gives the browser a new CSRF cookie with this response (replacing one issued earlier in it) and
 * returns its token. Done at sign-in, so a token learnt before it (on a shared computer, or
 * planted in a login form) is worth nothing afterwards.
 */
export function renewCsrfCookie(services: Services, res: express.Response): string {
  const value = randomBytes(24).toString("base64url");
  const name = csrfCookieName(services);
  const earlier = res.getHeader("Set-Cookie");
  const kept = (Array.isArray(earlier) ? earlier : earlier === undefined ? [] : [String(earlier)]).filter(
    (cookie) => !cookie.startsWith(`${name}=`),
  );
  res.setHeader("Set-Cookie", [...kept, csrfCookie(services, value)]);
  const token = tokenFor(services, value);
  res.locals.csrfToken = token;
  return token;
}

/**
 * Issues the cookie when missing, exposes the token as `res.locals.csrfToken` (for the load
 * context), and refuses unsafe requests whose token does not match.
 */
export function csrfProtection(services: Services, options: CsrfOptions): express.RequestHandler {
  const name = csrfCookieName(services);
  return (req, res, next) => {
    let cookieValue = readCookie(req.headers.cookie, name);
    const hadCookie = cookieValue !== null;
    if (!cookieValue) {
      cookieValue = randomBytes(24).toString("base64url");
      // No Max-Age: a browser-session cookie, renewed with every page when missing.
      res.append("Set-Cookie", csrfCookie(services, cookieValue));
    }
    const expected = tokenFor(services, cookieValue);
    res.locals.csrfToken = expected;
    if (SAFE_METHODS.has(req.method) || options.exempt(req.path, req)) return next();
    if (!hadCookie) return options.refuse(req, res, "missing-cookie");

    const header = req.headers[CSRF_HEADER];
    if (typeof header === "string") {
      return sameToken(header, expected) ? next() : options.refuse(req, res, "bad-header-token");
    }
    peekFirstField(req).then(
      ({ value, body }) => {
        if (value === null) return options.refuse(req, res, "missing-token");
        if (!sameToken(value, expected)) return options.refuse(req, res, "bad-token");
        // The app reads the body from here: these bytes were taken from the request.
        res.locals.requestBody = body;
        next();
      },
      (error: unknown) => next(error),
    );
  };
}
