import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Where the request being handled came from, for audit entries written by domain code that is
 * not handed the request (access checks deep inside operations). Set by the HTTP server around
 * each Remix and tus request; outside one (jobs, tests calling the domain directly) it is empty.
 */
export interface RequestScope {
  ip: string | null;
  userAgent: string | null;
}

// On a global: the process loads two copies of the app modules (server.ts and the Remix build).
const storage = ((globalThis as Record<symbol, unknown>)[Symbol.for("coffer.requestScope")] ??= new AsyncLocalStorage<RequestScope>()) as AsyncLocalStorage<RequestScope>;

export function runInRequestScope<T>(scope: RequestScope, run: () => T): T {
  return storage.run(scope, run);
}

export function currentRequestScope(): RequestScope | null {
  return storage.getStore() ?? null;
}
