import type http from "node:http";
import express from "express";
import type { TrustProxy } from "~/config.server";

/** A Host header that names a host (and port) and nothing else. */
const HOST = /^[a-z0-9._-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/i;

export function isPlainHost(value: string | undefined): value is string {
  if (value === undefined || !HOST.test(value)) return false;
  const port = /:(\d+)$/.exec(value)?.[1];
  return port === undefined || Number(port) <= 65535;
}

/** What deciding the public origin needs from the configuration. */
export interface OriginSettings {
  appUrl?: string;
  trustProxy: TrustProxy;
}

type TrustFn = (address: string, hop: number) => boolean;
const trustFns = new Map<string, TrustFn>();

/**
 * Whether the peer that sent the request is a proxy TRUST_PROXY trusts, decided by Express's
 * own compiled rule (the one behind req.ip and req.protocol), so every part of Coffer agrees.
 */
export function trustsPeer(req: http.IncomingMessage, trustProxy: TrustProxy): boolean {
  if (trustProxy === false) return false;
  const key = JSON.stringify(trustProxy);
  let trust = trustFns.get(key);
  if (!trust) {
    trust = express().set("trust proxy", trustProxy).get("trust proxy fn") as TrustFn;
    trustFns.set(key, trust);
  }
  return trust(req.socket.remoteAddress ?? "", 0);
}

/** The first value of a header a chain of proxies may have appended to ("a, b"). */
function firstValue(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(",")[0]?.trim() || undefined;
}

/**
 * The host (and port) the browser used: X-Forwarded-Host when a trusted proxy sent it (a proxy
 * that rewrites Host passes the original on there), else Host. Never X-Forwarded-Host from
 * anyone else, who could name any host.
 */
export function requestHost(req: http.IncomingMessage, trustProxy: TrustProxy): string | undefined {
  const forwarded = trustsPeer(req, trustProxy) ? firstValue(req.headers["x-forwarded-host"]) : undefined;
  return forwarded ?? req.headers.host;
}

/** The scheme the browser used: X-Forwarded-Proto from a trusted proxy, else the connection's own. */
function requestProtocol(req: http.IncomingMessage, trustProxy: TrustProxy): "http" | "https" {
  const forwarded = trustsPeer(req, trustProxy) ? firstValue(req.headers["x-forwarded-proto"])?.toLowerCase() : undefined;
  if (forwarded) return forwarded === "https" ? "https" : "http";
  return "encrypted" in req.socket && req.socket.encrypted ? "https" : "http";
}

/**
 * The origin browsers reach Coffer at. With APP_URL it is APP_URL's, whatever Host a reverse proxy
 * passed on (nginx's `proxy_set_header Host $upstream`, ingresses and Fly set the upstream's name);
 * without it, the request's scheme and host (from a trusted proxy's X-Forwarded-Proto and
 * X-Forwarded-Host when it sent them). Null when there is no APP_URL and the host is missing or
 * not a plain host.
 */
export function publicOrigin(req: http.IncomingMessage, { appUrl, trustProxy }: OriginSettings): string | null {
  if (appUrl) return new URL(appUrl).origin;
  const host = requestHost(req, trustProxy);
  if (!isPlainHost(host)) return null;
  // Port 443 is HTTPS's: a TLS proxy Coffer does not trust (so no X-Forwarded-Proto counts)
  // passing on the browser's "host:443" means https://host, which is what the browser sends as Origin.
  const protocol = /:443$/.test(host) ? "https" : requestProtocol(req, trustProxy);
  try {
    return new URL(`${protocol}://${host}`).origin;
  } catch {
    // A host the URL parser refuses all the same (e.g. "1.2.3.4.5"): not a plain host either.
    return null;
  }
}
