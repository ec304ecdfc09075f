import type http from "node:http";
import type express from "express";
import type { Logger } from "~/services/logger.server";
import { isBearerOnlyRequest } from "./bearer-requests.server";
import { loggablePath } from "./request-log.server";
import { isPlainHost, requestHost, type OriginSettings } from "./public-origin.server";

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * The one-click unsubscribe of notification emails (RFC 8058, app/routes/unsubscribe.$unsubscribeToken.tsx):
 * exempt from this check and from the CSRF token on purpose. The RFC has the mail provider post
 * `List-Unsubscribe=One-Click` to the List-Unsubscribe URL itself, from its own servers or a
 * webmail page, with no cookie and no form token of ours. Nothing rides on a cookie there: the
 * signed token in the path is the only authority, and all it can do is turn off the one kind of
 * notification it names, for the one person it names.
 */
export function isOneClickUnsubscribe(req: { method: string; path: string }): boolean {
  return req.method === "POST" && /^\/unsubscribe\/[^/]+$/.test(req.path);
}

/**
 * Whether a browser request comes from one of our own pages. Browsers send Origin on every
 * state-changing request and Sec-Fetch-Site on all of them; a request with neither comes from
 * a non-browser client (or an old browser), which cannot ride on a visitor's cookies.
 * Our origin is APP_URL's when it is set, whatever Host says (a reverse proxy may have rewritten
 * it); without APP_URL, the request's own host (a trusted proxy's X-Forwarded-Host, else Host:
 * the app may then be reached by several names).
 */
export function isSameOriginRequest(req: http.IncomingMessage, { appUrl, trustProxy }: OriginSettings): boolean {
  if (req.headers["sec-fetch-site"] === "cross-site") return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  let originUrl: URL;
  try {
    originUrl = new URL(origin);
  } catch {
    return false; // "null" (sandboxed frames, privacy-sensitive redirects) and garbage
  }
  if (appUrl) return originUrl.origin === new URL(appUrl).origin;
  const host = requestHost(req, trustProxy);
  // Compared as URLs do: case and a default port make no difference.
  return isPlainHost(host) && originUrl.host === new URL(`${originUrl.protocol}//${host}`).host;
}

const REFUSAL_TEXT =
  "This request was refused because it came from another website. If you meant to do this, open Coffer directly and try again there.";

const REFUSAL_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Request refused · Coffer</title><link rel="icon" href="/favicon.svg" type="image/svg+xml"></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto; padding: 0 1rem; color: #0f172a">
<main role="alert">
<h1>Request refused</h1>
<p>${REFUSAL_TEXT}</p>
<p><a href="/files">Go to my files</a></p>
</main>
</body>
</html>
`;

/**
 * Refuses state-changing requests that another site's page sent with the visitor's cookies
 * (the Origin / Sec-Fetch-Site half of CSRF protection). Safe methods pass: they change nothing.
 */
export function originCheck(settings: OriginSettings, log: Logger): express.RequestHandler {
  return (req, res, next) => {
    if (!STATE_CHANGING.has(req.method) || isBearerOnlyRequest(req) || isOneClickUnsubscribe(req) || isSameOriginRequest(req, settings))
      return next();
    log.warn("refused a cross-origin request", {
      method: req.method,
      path: loggablePath(req.path),
      origin: req.headers.origin ?? null,
      secFetchSite: req.headers["sec-fetch-site"] ?? null,
    });
    res.status(403).setHeader("Connection", "close");
    res.setHeader("Cache-Control", "no-store");
    if (req.accepts(["text/html", "text/plain"]) === "text/html") res.type("html").send(REFUSAL_PAGE);
    else res.type("text/plain").send(REFUSAL_TEXT);
  };
}
