import type express from "express";
import { unavailableProblemBody } from "~/route-helpers/api/problem.server";
import type { DependencyUnavailableError } from "~/services/dependency.server";

/**
 * Answers a request that needs a dependency which is down: 503 with Retry-After, as problem+json
 * for scripts (tus, the API, anyone asking for JSON), a short page for browsers, text otherwise.
 */
export function sendUnavailable(req: express.Request, res: express.Response, error: DependencyUnavailableError): void {
  res.status(503).set({ "Retry-After": String(error.retryAfterSeconds), "Cache-Control": "no-store" });
  if (wantsProblemJson(req)) {
    // The API's own problem (a stable type documented on /api/docs), for tus and every script alike.
    res.type("application/problem+json").send(unavailableProblemBody(error));
  } else if (req.accepts(["html", "text"]) === "html") {
    res.type("html").send(unavailablePage(error.message, error.retryAfterSeconds));
  } else {
    res.type("text/plain").send(error.message);
  }
}

function wantsProblemJson(req: express.Request): boolean {
  return req.path.startsWith("/api/") || Boolean(req.get("tus-resumable")) || req.accepts(["html", "json"]) === "json";
}

/** Plain markup: the page must work when nothing else of the app does. */
export function unavailablePage(message: string, retryAfterSeconds: number): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta http-equiv="refresh" content="${retryAfterSeconds}"><title>Temporarily unavailable · Coffer</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto; padding: 0 1rem; color: #0f172a">
<main><h1>Coffer is temporarily unavailable</h1>
<p>${escapeHtml(message)}</p>
<p>This page reloads by itself in ${retryAfterSeconds} seconds. <a href="">Reload now</a></p></main>
</body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
