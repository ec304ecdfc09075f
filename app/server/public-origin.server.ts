import type http from "node:http";

/** A Host header that names a host (and port) and nothing else. */
const HOST = /^[a-z0-9._-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/i;

export function isPlainHost(value: string | undefined): value is string {
  return value !== undefined && HOST.test(value);
}

/**
 * The origin browsers reach Coffer at. With APP_URL it is APP_URL's, whatever Host a reverse proxy
 * passed on (nginx's `proxy_set_header Host $upstream`, ingresses and Fly set the upstream's name);
 * without it, the request's own scheme (`protocol`, which honours TRUST_PROXY) and Host.
 * Null when there is no APP_URL and the Host header is missing or not a plain host.
 */
export function publicOrigin(req: http.IncomingMessage, protocol: "http" | "https", appUrl: string | undefined): string | null {
  if (appUrl) return new URL(appUrl).origin;
  const host = req.headers.host;
  return isPlainHost(host) ? new URL(`${protocol}://${host}`).origin : null;
}
