import { subscribe } from "node:diagnostics_channel";
import type http from "node:http";
import type { Context, TextMapGetter, TextMapPropagator, TextMapSetter } from "@opentelemetry/api";

/**
 * A propagator that continues a trace (W3C `traceparent`/`tracestate`) only from requests a
 * trusted proxy sent; from anyone else the headers are ignored and the request starts a new
 * trace, so a client can neither join another trace nor force sampling on.
 *
 * The propagator sees only the headers. Node publishes each request on the diagnostics channel
 * `http.server.request.start` before the server's "request" event (where the http
 * instrumentation extracts the context), so the request's headers object is marked there when
 * its peer is trusted. See docs/decisions/0008-traceparent-from-trusted-proxies.md.
 */
export function trustedRequestsOnly(inner: TextMapPropagator): {
  propagator: TextMapPropagator;
  markTrusted(trusts: (request: http.IncomingMessage) => boolean): void;
} {
  const trustedCarriers = new WeakSet<object>();
  const propagator: TextMapPropagator = {
    inject: (context: Context, carrier: unknown, setter: TextMapSetter) => inner.inject(context, carrier, setter),
    extract: (context: Context, carrier: unknown, getter: TextMapGetter) =>
      typeof carrier === "object" && carrier !== null && trustedCarriers.has(carrier) ? inner.extract(context, carrier, getter) : context,
    fields: () => inner.fields(),
  };
  return {
    propagator,
    markTrusted(trusts) {
      subscribe("http.server.request.start", (message) => {
        const { request } = message as { request: http.IncomingMessage };
        if (trusts(request)) trustedCarriers.add(request.headers);
      });
    },
  };
}
