import { checkDrivers, type DriverCheck } from "~/services/driver-checks.server";
import type { Services } from "~/services/index.server";

export interface ReadinessReport {
  ok: boolean;
  checks: Record<string, DriverCheck>;
}

/** Checks every configured driver in parallel, each bounded by a timeout. */
export async function readiness(services: Services): Promise<ReadinessReport> {
  const checks = await checkDrivers(services);
  return { ok: Object.values(checks).every((c) => c.ok), checks };
}

/** What /readyz answers once shutdown has begun, so load balancers send requests elsewhere. */
export function drainingReport() {
  return { ok: false, draining: true, message: "Coffer is shutting down; send requests to another instance.", checks: {} };
}
