import type { Services } from "./index.server";

/** The drivers Coffer depends on, in the order pages list them. */
export const DRIVERS = ["database", "storage", "search", "cache"] as const;
export type DriverName = (typeof DRIVERS)[number];

export interface DriverCheck {
  ok: boolean;
  /** The configured driver: embedded-postgres, postgres, local, s3, meilisearch, memory, redis. */
  driver: string;
  /** How long the check took (until it failed, or timed out). */
  ms: number;
  /** One line without connection strings, when the check failed. */
  error?: string;
}

const TIMEOUT_MS = 3000;

/**
 * Asks every configured driver whether it answers, in parallel, each bounded by a timeout. For
 * /readyz, the metrics scrape and the admin's system page; failures are logged.
 */
export async function checkDrivers(services: Services, timeoutMs = TIMEOUT_MS): Promise<Record<DriverName, DriverCheck>> {
  const probes: Record<DriverName, { driver: string; check: () => Promise<void> }> = {
    database: { driver: services.db.embedded ? "embedded-postgres" : "postgres", check: () => services.db.health() },
    storage: { driver: services.storage.driver, check: () => services.storage.health() },
    search: { driver: services.search.driver, check: () => services.search.health() },
    cache: { driver: services.cache.driver, check: () => services.cache.health() },
  };
  const entries = await Promise.all(
    DRIVERS.map(async (name) => {
      const probe = probes[name];
      const started = performance.now();
      try {
        await withTimeout(probe.check(), timeoutMs);
        return [name, { ok: true, driver: probe.driver, ms: Math.round(performance.now() - started) }] as const;
      } catch (error) {
        const reason = describeFailure(error);
        services.log.warn("readiness check failed", { check: name, error: reason });
        return [name, { ok: false, driver: probe.driver, ms: Math.round(performance.now() - started), error: reason }] as const;
      }
    }),
  );
  return Object.fromEntries(entries) as Record<DriverName, DriverCheck>;
}

/**
 * One short line without connection strings, stack traces or quoted code: the last meaningful
 * line of the message (Prisma's put the calling code first and the reason last).
 */
export function describeFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !/^(\u2192|\d+\s|at\s)/.test(line) && !/invocation/.test(line));
  return (lines.at(-1) ?? "failed")
    .replace(/`/g, "")
    .replace(/\w+:\/\/[^\s]+/g, "<url>")
    .slice(0, 200);
}

/** Rejects when `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
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
