import { randomBytes } from "node:crypto";
import type express from "express";
import type { Config } from "~/config.server";
import { publicOrigin } from "./public-origin.server";

declare module "express-serve-static-core" {
  interface Locals {
    /** This response's CSP nonce; every inline script must carry it. */
    cspNonce: string;
  }
}

export interface CspOptions {
  nonce: string;
  /** Origin of Socket.IO's websocket, e.g. "wss://files.example.org". */
  websocketOrigin: string;
  development: boolean;
}

/**
 * The page policy. Style attributes stay allowed (progress bars set their width with one) but
 * style elements and scripts need to come from our origin or carry the nonce. frame-src and
 * media-src 'self' let pages embed our own previews (sandboxed iframes, video).
 */
export function contentSecurityPolicy({ nonce, websocketOrigin, development }: CspOptions): string {
  const directives: Record<string, string[]> = {
    "default-src": ["'self'"],
    "script-src": ["'self'", `'nonce-${nonce}'`],
    "style-src": ["'self'"],
    "style-src-attr": ["'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "media-src": ["'self'", "blob:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'", websocketOrigin],
    "frame-src": ["'self'"],
    "worker-src": ["'self'", "blob:"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "object-src": ["'none'"],
  };
  if (development) {
    // Vite injects CSS through style elements and talks to its HMR websocket.
    directives["style-src"].push("'unsafe-inline'");
    directives["connect-src"].push("ws:", "wss:");
  }
  return Object.entries(directives)
    .map(([name, values]) => `${name} ${values.join(" ")}`)
    .join("; ");
}

const STATIC_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  // Share links carry their token in the path: no other origin ever sees our URLs.
  "Referrer-Policy": "same-origin",
  // CSP frame-ancestors 'none' governs pages; this covers responses with their own CSP
  // (downloads) so that only our own pages may embed them.
  "X-Frame-Options": "SAMEORIGIN",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Permissions-Policy":
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), usb=(), browsing-topics=()",
};

/** A host fit to be written into the policy. */
const HOST = /^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/i;

export const HSTS = "max-age=31536000";

/**
 * Security headers on every response. They are added when the head is written, so a
 * response that sets its own (a download's sandbox CSP, a share's no-referrer) keeps it
 * instead of getting a second, conflicting copy.
 */
export function securityHeaders(config: Config, mode: "production" | "development"): express.RequestHandler {
  return (req, res, next) => {
    const nonce = randomBytes(18).toString("base64");
    res.locals.cspNonce = nonce;
    // The page's origin: APP_URL's, else the request's (see publicOrigin).
    const page = publicOrigin(req, config);
    const pageUrl = page ? new URL(page) : null;
    const websocketOrigin =
      pageUrl && HOST.test(pageUrl.host) ? `${pageUrl.protocol === "https:" ? "wss" : "ws"}://${pageUrl.host}` : "'self'";
    const headers: Record<string, string> = {
      ...STATIC_HEADERS,
      "Content-Security-Policy": contentSecurityPolicy({ nonce, websocketOrigin, development: mode === "development" }),
    };
    if (config.isProduction && req.secure) headers["Strict-Transport-Security"] = HSTS;

    const writeHead = res.writeHead;
    res.writeHead = function (this: express.Response, ...args: Parameters<typeof writeHead>) {
      for (const [name, value] of Object.entries(headers)) {
        if (!this.hasHeader(name)) this.setHeader(name, value);
      }
      return writeHead.apply(this, args);
    } as typeof writeHead;
    next();
  };
}
