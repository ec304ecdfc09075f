import type { Services } from "~/services/index.server";

export interface ReadinessReport {
  ok: boolean;
  checks: Record<string, { ok: boolean; driver: string; ms: number; error?: string }>;
}

const TIMEOUT_MS = 3000;

/** Checks every configured driver in parallel, each bounded by a timeout. */
export async function readiness(services: Services): Promise<ReadinessReport> {
  const probes: Record<string, { driver: string; check: () => Promise<void> }> = {
    database: { driver: services.db.embedded ? "embedded-postgres" : "postgres", check: () => services.db.health() },
    storage: { driver: services.storage.driver, check: () => services.storage.health() },
    search: { driver: services.search.driver, check: () => services.search.health() },
    cache: { driver: services.cache.driver, check: () => services.cache.health() },
  };
  const entries = await Promise.all(
    Object.entries(probes).map(async ([name, probe]) => {
      const started = performance.now();
      try {
        await withTimeout(probe.check(), TIMEOUT_MS);
        return [name, { ok: true, driver: probe.driver, ms: Math.round(performance.now() - started) }] as const;
      } catch (error) {
        const reason = describe(error);
        services.log.warn("readiness check failed", { check: name, error: reason });
        return [name, { ok: false, driver: probe.driver, ms: Math.round(performance.now() - started), error: reason }] as const;
      }
    }),
  );
  const checks: ReadinessReport["checks"] = Object.fromEntries(entries);
  return { ok: Object.values(checks).every((c) => c.ok), checks };
}

/**
 * One short line without connection strings, stack traces or quoted code: the last meaningful
 * line of the message (Prisma's put the calling code first and the reason last).
 */
function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !/^(→|\d+\s|at\s)/.test(line) && !/invocation/.test(line));
  return (lines.at(-1) ?? "failed")
    .replace(/`/g, "")
    .replace(/\w+:\/\/[^\s]+/g, "<url>")
    .slice(0, 200);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** What /readyz answers once shutdown has begun, so load balancers send requests elsewhere. */
export function drainingReport() {
  return { ok: false, draining: true, message: "Coffer is shutting down; send requests to another instance.", checks: {} };
}
