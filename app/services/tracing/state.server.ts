/**
 * Whether the OpenTelemetry SDK runs in this process. On a globalThis symbol: server.ts starts the
 * SDK from its own bundle, and the app's copy of this module (in the server build) must see it.
 */
const ENABLED = Symbol.for("coffer.tracing.enabled");

type WithFlag = typeof globalThis & { [ENABLED]?: boolean };

export function tracingEnabled(): boolean {
  return (globalThis as WithFlag)[ENABLED] === true;
}

export function markTracingEnabled(): void {
  (globalThis as WithFlag)[ENABLED] = true;
}
