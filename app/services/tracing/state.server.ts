/**
 * Whether the OpenTelemetry SDK runs in this process, and how to send the spans it still holds.
 * On a globalThis symbol: server.ts starts the SDK from its own bundle, and the app's copy of this
 * module (in the server build) must see it.
 */
const STATE = Symbol.for("coffer.tracing");

interface TracingState {
  flush: () => Promise<void>;
  /** Names the route of the HTTP request being handled (its server span's `http.route` and name). */
  nameRoute: (route: string) => void;
}

type WithState = typeof globalThis & { [STATE]?: TracingState };

export function tracingEnabled(): boolean {
  return (globalThis as WithState)[STATE] !== undefined;
}

/** Called once the SDK runs. */
export function markTracingEnabled(state: TracingState): void {
  (globalThis as WithState)[STATE] = state;
}

/**
 * The route pattern (`/files/:folderId`) of the request being handled, for its server span: the
 * express instrumentation only knows Coffer's catch-all `*`. The longest pattern wins, since a
 * page's parent routes' loaders run beside its own. Nothing when off.
 */
export function nameRequestRoute(route: string): void {
  (globalThis as WithState)[STATE]?.nameRoute(route);
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
