import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { onBodyChunk } from "./body-bytes.server";
import { isSpanContextValid, trace } from "@opentelemetry/api";
import type express from "express";
import { z } from "zod";
import type { TrustProxy } from "~/config.server";
import { runWithLogContext, type LogContext } from "~/services/log-context.server";
import type { Logger } from "~/services/logger.server";
import { routeGroup } from "./metrics-endpoint.server";
import { trustsPeer } from "./public-origin.server";

/** What a proxy may send as X-Request-Id: an id, never text that could forge or break a log line. */
const RequestId = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/);

/** Route classes whose requests are logged at debug level: machines polling, and static files. */
const QUIET_ROUTES = new Set(["metrics", "health", "static", "socket.io"]);

/**
 * The request's id: a trusted proxy's X-Request-Id when it is a plain id (so one id follows the
 * request through the proxy's logs and Coffer's), else a new random one. Anyone else's is ignored.
 */
export function requestIdOf(req: IncomingMessage, trustProxy: TrustProxy): string {
  if (req.headers["x-request-id"] !== undefined && trustsPeer(req, trustProxy)) {
    const sent = RequestId.safeParse(req.headers["x-request-id"]);
    if (sent.success) return sent.data;
  }
  return randomUUID();
}

export interface RequestLogging {
  /**
   * The HTTP server's first "request" listener (so it sees Socket.IO's requests too): gives the
   * request its id (echoed as X-Request-Id) and writes one access-log line when it ends.
   */
  onRequest(req: IncomingMessage, res: ServerResponse): void;
  /** Express middleware, first of all: every line written while handling the request names it. */
  withLogContext: express.RequestHandler;
}

/**
 * The access log: one line per request when its response ends or the client goes away, with
 * the method, route class (never the path: paths hold share tokens), status (none, and
 * `aborted`, when the client left first), duration, body bytes sent, request id and the signed-in user's id.
 */
export function requestLogging(options: { log: Logger; trustProxy: TrustProxy; staticFiles: ReadonlySet<string> }): RequestLogging {
  const { log, trustProxy, staticFiles } = options;
  const contexts = new WeakMap<IncomingMessage, LogContext>();
  return {
    onRequest(req, res) {
      const started = performance.now();
      const method = req.method ?? "GET";
      const context: LogContext = { requestId: requestIdOf(req, trustProxy), route: routeGroup(method, req.url ?? "/", staticFiles) };
      contexts.set(req, context);
      res.setHeader("X-Request-Id", context.requestId);
      // The span the tracing instrumentation (if any) runs this request in; it has ended by "close".
      const span = trace.getActiveSpan()?.spanContext();
      // A HEAD response has no body, whatever the handler passed to end().
      const bytes = method === "HEAD" ? { sent: 0 } : countBodyBytes(res);
      res.once("close", () => {
        // `status` is always a number (log stores map a field to one type): a client that left
        // before the answer has none, and `aborted` says the response did not end.
        const line: Record<string, unknown> = { method, route: context.route };
        if (res.headersSent) line.status = res.statusCode;
        if (!res.writableFinished) line.aborted = true;
        line.duration_ms = Math.round((performance.now() - started) * 10) / 10;
        line.bytes_sent = bytes.sent;
        line.request_id = context.requestId;
        if (context.userId) line.user_id = context.userId;
        if (span && isSpanContextValid(span)) {
          line.trace_id = span.traceId;
          line.span_id = span.spanId;
        }
        if (QUIET_ROUTES.has(context.route)) log.debug("request", line);
        else log.info("request", line);
      });
    },
    withLogContext(req, _res, next) {
      const context = contexts.get(req);
      if (context) runWithLogContext(context, next);
      else next();
    },
  };
}

/**
 * A path fit for a log line: the bearer tokens some paths hold (share links, password resets)
 * replaced. Paths hold ids, never file names; the query string is left out by the callers.
 */
export function loggablePath(path: string): string {
  return path.replace(/^\/(s|reset-password|unsubscribe)\/[^/]+/, "/$1/[token]");
}

/** Counts the body bytes written (after compression, if any: the bytes on the wire). */
function countBodyBytes(res: ServerResponse): { sent: number } {
  const bytes = { sent: 0 };
  onBodyChunk(res, (size) => (bytes.sent += size));
  return bytes;
}
