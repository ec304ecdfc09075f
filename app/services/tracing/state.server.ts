/**
 * Whether the OpenTelemetry SDK runs in this process, and how to send the spans it still holds.
 * On a globalThis symbol: server.ts starts the SDK from its own bundle, and the app's copy of this
 * module (in the server build) must see it.
 */
const STATE = Symbol.for("coffer.tracing");

interface TracingState {
  flush: () => Promise<void>;
}

type WithState = typeof globalThis & { [STATE]?: TracingState };

export function tracingEnabled(): boolean {
  return (globalThis as WithState)[STATE] !== undefined;
}

/** Called once the SDK runs; `flush` sends the spans still batched. */
export function markTracingEnabled(flush: () => Promise<void>): void {
  (globalThis as WithState)[STATE] = { flush };
}

/** Before the process exits: sends what is batched, waiting at most `timeoutMs`. Nothing when off. */
export async function flushSpans(timeoutMs = 2000): Promise<void> {
  const state = (globalThis as WithState)[STATE];
  if (!state) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    state.flush().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
}
