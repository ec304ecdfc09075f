import type { Span } from "@opentelemetry/sdk-trace-node";

/**
 * What instrumentations record of URLs, made safe to export: no query (it may carry tokens and
 * searches), and no secret path segment (share-link and password-reset tokens). Runs as each
 * span ends, while its attributes can still change, over every instrumentation's spans.
 */
export function redactAttributes(span: Span): void {
  const attributes = span.attributes as Record<string, unknown>;
  for (const key of ["url.query", "http.query"]) delete attributes[key];
  for (const key of ["url.path", "http.target", "http.route"]) {
    const value = attributes[key];
    if (typeof value === "string") attributes[key] = redactedPath(value);
  }
  for (const key of ["url.full", "http.url"]) {
    const value = attributes[key];
    if (typeof value === "string") attributes[key] = redactedUrl(value);
  }
}

/** Path segments that are secrets: what follows /s/ (a share token), /reset-password/ and /unsubscribe/. */
const SECRET_SEGMENT = /^\/(s|reset-password|unsubscribe)\/[^/?#]+/;

export function redactedPath(path: string): string {
  const withoutQuery = path.split(/[?#]/)[0];
  return withoutQuery.replace(SECRET_SEGMENT, "/$1/:token");
}

export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${redactedPath(parsed.pathname)}`;
  } catch {
    return "";
  }
}
