import type http from "node:http";
import type { Span } from "@opentelemetry/api";

/**
 * Every response names its trace in a `traceresponse` header (W3C Trace Context Level 2:
 * `00-<trace id>-<server span id>-<flags>`), so a user's report or a proxy log leads to the trace.
 * Flags 01: the trace was sampled (exported); 00: only the logs carry its id.
 */
export function setTraceResponseHeader(span: Span, response: http.IncomingMessage | http.ServerResponse): void {
  if (!("setHeader" in response) || response.headersSent) return;
  const { traceId, spanId, traceFlags } = span.spanContext();
  response.setHeader("traceresponse", `00-${traceId}-${spanId}-${(traceFlags & 1).toString(16).padStart(2, "0")}`);
}
