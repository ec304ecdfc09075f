import type { TracingConfig, TrustProxy } from "~/config.server";
import type { Logger } from "~/services/logger.server";
import type { Sampler, SpanProcessor } from "@opentelemetry/sdk-trace-node";
import { markTracingEnabled } from "./state.server";
import { redactAttributes } from "./redaction.server";
import { trustedRequestsOnly } from "./trusted-propagation.server";
import { setTraceResponseHeader } from "./trace-response.server";

/**
 * The OpenTelemetry SDK: a tracer provider exporting over OTLP/HTTP, the W3C propagator (trusted
 * proxies only), and the instrumentations of http, express, pg, ioredis and the AWS SDK.
 *
 * Every SDK package is imported dynamically, here and nowhere else: this module is bundled into
 * build/start.js, where a static import would load the SDK in every process, tracing or not.
 * It must run before the app's modules load, since the instrumentations patch packages as they
 * are imported; the app's modules are ESM, so import-in-the-middle's loader hook is registered,
 * limited to the packages the instrumentations ask for.
 */
export async function startSdk(settings: TracingConfig, trustProxy: TrustProxy, log: Logger): Promise<void> {
  const { register } = await import("node:module");
  const { createAddHookMessageChannel } = await import("import-in-the-middle");
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register("import-in-the-middle/hook.mjs", import.meta.url, registerOptions);

  const [
    { context, diag, DiagLogLevel },
    sdk,
    { W3CTraceContextPropagator, getRPCMetadata, RPCType },
    { resourceFromAttributes },
    { registerInstrumentations },
    exporterModule,
  ] = await Promise.all([
    import("@opentelemetry/api"),
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/core"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/instrumentation"),
    settings.protocol === "http/json"
      ? import("@opentelemetry/exporter-trace-otlp-http")
      : import("@opentelemetry/exporter-trace-otlp-proto"),
  ]);
  const [
    { HttpInstrumentation },
    { ExpressInstrumentation, ExpressLayerType },
    { PgInstrumentation },
    { IORedisInstrumentation },
    { AwsInstrumentation },
  ] = await Promise.all([
    import("@opentelemetry/instrumentation-http"),
    import("@opentelemetry/instrumentation-express"),
    import("@opentelemetry/instrumentation-pg"),
    import("@opentelemetry/instrumentation-ioredis"),
    import("@opentelemetry/instrumentation-aws-sdk"),
  ]);

  // The SDK's own complaints (an unreachable collector above all) as warnings, at most one a
  // minute for each: spans are dropped, the app goes on.
  diag.setLogger(throttledDiagLogger(log), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });

  const redacting: SpanProcessor = {
    onStart: () => {},
    onEnding: redactAttributes,
    onEnd: () => {},
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const provider = new sdk.NodeTracerProvider({
    resource: resourceFromAttributes({ ...settings.resourceAttributes, "service.name": settings.serviceName }),
    sampler: samplerOf(sdk, settings),
    spanProcessors: [
      redacting,
      new sdk.BatchSpanProcessor(new exporterModule.OTLPTraceExporter({ url: settings.endpoint }), {
        scheduledDelayMillis: settings.batchDelayMs,
      }),
    ],
  });
  const { propagator, markTrusted } = trustedRequestsOnly(new W3CTraceContextPropagator());
  // Registers the AsyncLocalStorage context manager too: a span stays active across awaits.
  provider.register({ propagator });

  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        // Probes and scrapes every few seconds would bury the traces people look for.
        ignoreIncomingRequestHook: (req) => /^\/(healthz|readyz|metrics)(\?|$)/.test(req.url ?? ""),
        // A background job's own requests belong to its span; without one they are noise.
        requireParentforOutgoingSpans: true,
        responseHook: (span, response) => setTraceResponseHeader(span, response),
      }),
      // Coffer's middleware (security headers, CSRF, rate limits…) would be a dozen spans on
      // every request: the routes and the request handlers are what a trace needs.
      new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE] }),
      // Prisma takes a pooled connection for each query: a connect span each would double the count.
      new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
      // Keys name sessions, addresses and accounts: the command alone.
      new IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: (command) => command }),
      new AwsInstrumentation({ suppressInternalInstrumentation: true }),
    ],
  });
  await waitForAllMessagesAcknowledged();
  // Express's own rule for TRUST_PROXY, compiled once the instrumentations are in place.
  const { default: express } = await import("express");
  const trusts = express().set("trust proxy", trustProxy).get("trust proxy fn") as (address: string, hop: number) => boolean;
  markTrusted((request) => trustProxy !== false && trusts(request.socket.remoteAddress ?? "", 0));

  markTracingEnabled({
    flush: () => provider.forceFlush(),
    nameRoute(route) {
      const request = getRPCMetadata(context.active());
      if (request?.type !== RPCType.HTTP) return;
      if (request.route === undefined || request.route === "*" || route.length > request.route.length) request.route = route;
    },
  });
}

function samplerOf(sdk: typeof import("@opentelemetry/sdk-trace-node"), settings: TracingConfig): Sampler {
  const rule = settings.sampler.replace(/^parentbased_/, "");
  const root =
    rule === "always_on"
      ? new sdk.AlwaysOnSampler()
      : rule === "always_off"
        ? new sdk.AlwaysOffSampler()
        : new sdk.TraceIdRatioBasedSampler(settings.samplerRatio);
  return settings.sampler.startsWith("parentbased_") ? new sdk.ParentBasedSampler({ root }) : root;
}

const DIAG_REPEAT_MS = 60_000;

function throttledDiagLogger(log: Logger) {
  const lastSeen = new Map<string, number>();
  const warn = (raw: string) => {
    const message = readable(raw);
    const key = message.slice(0, 80);
    const now = Date.now();
    if (now - (lastSeen.get(key) ?? -Infinity) < DIAG_REPEAT_MS) return;
    lastSeen.set(key, now);
    log.warn(`tracing: ${message.slice(0, 500)}`);
  };
  const ignore = () => {};
  return { error: warn, warn, info: ignore, debug: ignore, verbose: ignore };
}

/** The SDK reports a failed export as the error's JSON (stack and all): its message says enough. */
function readable(message: string): string {
  try {
    const error = JSON.parse(message) as { message?: unknown };
    if (typeof error?.message === "string") return `spans were not exported: ${error.message}`;
  } catch {}
  return message;
}
