import { type Attributes, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { tracingEnabled } from "./state.server";

/**
 * Coffer's own spans. Attributes name kinds and sizes, never what a user typed or owns: no email,
 * file name, token or URL with its query. A failure records the error's class alone, since error
 * messages may quote a file name.
 */
const tracer = () => trace.getTracer("coffer");

/**
 * Runs `work` inside a span that is active for everything it awaits (database, storage, Redis
 * spans become its children). With tracing off it is `work()` and nothing more.
 */
export function inSpan<T>(name: string, attributes: Attributes, work: () => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return work();
  return tracer().startActiveSpan(name, { kind: SpanKind.INTERNAL, attributes }, async (span) => {
    try {
      return await work();
    } catch (error) {
      // A thrown Response is a Remix route's redirect or refusal: an answer, not a failure.
      if (!(error instanceof Response)) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.setAttribute("error.type", errorType(error));
      }
      throw error;
    } finally {
      span.end();
    }
  });
}

function errorType(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
