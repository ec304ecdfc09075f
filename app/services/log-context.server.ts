import { AsyncLocalStorage } from "node:async_hooks";

/**
 * What every log line written while handling a request says about that request. Set by the HTTP
 * server around each request (app/server/request-log.server.ts); the user is filled in once the
 * session has been read. Outside a request (jobs, start-up) there is none.
 */
export interface LogContext {
  requestId: string;
  /** The route class (routeGroup in app/server/metrics-endpoint.server.ts): never a path. */
  route: string;
  /** The signed-in user's id; never an email, a token or a cookie. */
  userId?: string;
}

// On a global: copies of this module can coexist in one process (Vite re-evaluates edited modules in development; the tests load the app's sources beside the build), and the context set by one copy must be seen by the others.
const storage = ((globalThis as Record<symbol, unknown>)[Symbol.for("coffer.logContext")] ??=
  new AsyncLocalStorage<LogContext>()) as AsyncLocalStorage<LogContext>;

export function runWithLogContext<T>(context: LogContext, run: () => T): T {
  return storage.run(context, run);
}

export function currentLogContext(): LogContext | undefined {
  return storage.getStore();
}

/** Names the signed-in user in the lines of the request being handled (if any). */
export function setLogUser(userId: string): void {
  const context = storage.getStore();
  if (context) context.userId = userId;
}
