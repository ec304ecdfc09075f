import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Where the request being handled came from, for audit entries written by domain code that is
 * not handed the request (access checks deep inside operations). Set by the HTTP server around
 * each Remix and tus request; outside one (jobs, tests calling the domain directly) it is empty.
 */
export interface RequestScope {
  ip: string | null;
  userAgent: string | null;
  /**
   * For a GET or HEAD request (nothing can change in between): the signed-in user each Cookie
   * header gave, so that the root loader and the page's loader look the session up once.
   */
  sessionUsers?: Map<string, Promise<unknown>>;
}

// On a global: copies of this module can coexist in one process (Vite re-evaluates edited modules in development; the tests load the app's sources beside the build), and the scope set by one copy must be seen by the others.
const storage = ((globalThis as Record<symbol, unknown>)[Symbol.for("coffer.requestScope")] ??=
  new AsyncLocalStorage<RequestScope>()) as AsyncLocalStorage<RequestScope>;

export function runInRequestScope<T>(scope: RequestScope, run: () => T): T {
  return storage.run(scope, run);
}

export function currentRequestScope(): RequestScope | null {
  return storage.getStore() ?? null;
}
