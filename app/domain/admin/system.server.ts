import type { Config } from "~/config.server";
import { buildInfo } from "~/services/build-info.server";
import { isRedisCache } from "~/services/cache/is-redis";
import type { CircuitState } from "~/services/dependency.server";
import { checkDrivers, describeFailure, DRIVERS, type DriverName, withTimeout } from "~/services/driver-checks.server";
import type { Services } from "~/services/index.server";
import { type InstanceInfo, listInstances, thisInstance } from "~/services/instances.server";

/** A version that does not come within this time is left out rather than slow the page. */
const VERSION_TIMEOUT_MS = 1_500;
const CHECK_TIMEOUT_MS = 3_000;

export interface DriverStatus {
  name: DriverName;
  /** The configured driver, as /readyz names it. */
  driver: string;
  /** For people: "Embedded PostgreSQL", "S3", … */
  kind: string;
  /** Where it is: a host name and port, a directory; never a URL (it may carry a password). */
  location: string;
  up: boolean;
  /** How long the live check took. */
  ms: number;
  error: string | null;
  /** Null for drivers without a circuit breaker. */
  circuit: CircuitState | null;
}

export interface SystemReport {
  checkedAt: string;
  drivers: DriverStatus[];
  versions: {
    coffer: string;
    commit: string | null;
    node: string;
    /** Null when the database did not say in time. */
    postgres: string | null;
    /** Only with Redis; null when it did not say in time. */
    redis?: string | null;
    /** Only with Meilisearch; null when it did not say in time. */
    meilisearch?: string | null;
  };
  process: { hostname: string; startedAt: string; uptimeSeconds: number };
  /**
   * 5xx answers by route class. With Redis, of every live instance (each reports every 15 s, this
   * one as of now); otherwise, or when Redis cannot be asked, of this instance only.
   */
  serverErrors: {
    scope: "this-instance" | "all-instances";
    instanceCount: number;
    byRoute: Array<{ route: string; lastHour: number; lastDay: number }>;
  };
  /** shared: false with the memory cache (only this instance is known). error: Redis could not be asked. */
  instances: { shared: boolean; list: InstanceInfo[]; error: string | null };
}

/** Everything the admin's system page shows, measured now on this instance. */
export async function systemReport(services: Services): Promise<SystemReport> {
  const [drivers, versions, instances] = await Promise.all([
    driverHealth(services),
    driverVersions(services),
    listInstances(services).then(
      (found) => ({ ...found, error: null }),
      (error: unknown) => ({ shared: isRedisCache(services.cache), instances: [thisInstance()], error: describeFailure(error) }),
    ),
  ]);
  const self = instances.instances[0];
  const { version, commit } = buildInfo();
  return {
    checkedAt: new Date().toISOString(),
    drivers,
    versions: { coffer: version, commit, node: process.version.replace(/^v/, ""), ...versions },
    process: { hostname: self.hostname, startedAt: self.startedAt, uptimeSeconds: Math.floor(process.uptime()) },
    serverErrors: {
      scope: instances.shared && !instances.error ? "all-instances" : "this-instance",
      instanceCount: instances.instances.length,
      byRoute: sumErrors(instances.instances),
    },
    instances: { shared: instances.shared, list: instances.instances, error: instances.error },
  };
}

/** Every driver checked live now, each within the page's time limit. */
export async function driverHealth(services: Services): Promise<DriverStatus[]> {
  const checks = await checkDrivers(services, CHECK_TIMEOUT_MS);
  return DRIVERS.map((name): DriverStatus => {
    const check = checks[name];
    return {
      name,
      driver: check.driver,
      ...describeDriver(services.config, name),
      up: check.ok,
      ms: check.ms,
      error: check.error ?? null,
      circuit: circuitOf(services, name),
    };
  });
}

async function driverVersions(services: Services): Promise<Omit<SystemReport["versions"], "coffer" | "commit" | "node">> {
  const ask = (question: () => Promise<string>) =>
    withTimeout(question(), VERSION_TIMEOUT_MS).then(
      (answer) => answer || null,
      () => null,
    );
  const { cache, search } = services;
  const [postgres, redis, meilisearch] = await Promise.all([
    ask(() => services.db.serverVersion()),
    isRedisCache(cache) ? ask(() => cache.serverVersion()) : undefined,
    search.serverVersion ? ask(() => search.serverVersion!()) : undefined,
  ]);
  return {
    postgres,
    ...(redis === undefined ? {} : { redis }),
    ...(meilisearch === undefined ? {} : { meilisearch }),
  };
}

function describeDriver(config: Config, name: DriverName): { kind: string; location: string } {
  switch (name) {
    case "database":
      return config.database.embedded
        ? { kind: "Embedded PostgreSQL", location: `on this server, port ${config.database.port}` }
        : { kind: "PostgreSQL (external)", location: hostOf(config.database.url) };
    case "storage":
      return config.storage.driver === "local"
        ? { kind: "Local disk", location: config.storage.directory }
        : { kind: "S3", location: `${hostOf(config.storage.endpoint)}, bucket ${config.storage.bucket}` };
    case "search":
      return config.search.driver === "postgres"
        ? { kind: "PostgreSQL full-text search", location: "in the database" }
        : { kind: "Meilisearch", location: `${hostOf(config.search.host)}, index ${config.search.index}` };
    case "cache":
      return config.cache.driver === "memory"
        ? { kind: "Memory", location: "in this process" }
        : { kind: "Redis", location: hostOf(config.cache.url) };
  }
}

function circuitOf(services: Services, name: DriverName): CircuitState | null {
  switch (name) {
    case "database":
      return services.db.circuitState();
    case "storage":
      return services.storage.circuitState?.() ?? null;
    case "cache":
      return services.cache.circuitState?.() ?? null;
    case "search":
      return null;
  }
}

/** Host and port only: user name and password stay out of pages. */
function hostOf(url: string): string {
  try {
    return new URL(url).host || "(unknown host)";
  } catch {
    return "(unknown host)";
  }
}

function sumErrors(instances: InstanceInfo[]): SystemReport["serverErrors"]["byRoute"] {
  const rows = new Map<string, { lastHour: number; lastDay: number }>();
  for (const { errors } of instances) {
    for (const [route, n] of Object.entries(errors.lastDay)) {
      const row = rows.get(route) ?? { lastHour: 0, lastDay: 0 };
      row.lastDay += n;
      row.lastHour += errors.lastHour[route] ?? 0;
      rows.set(route, row);
    }
  }
  return [...rows].map(([route, row]) => ({ route, ...row })).sort((a, b) => b.lastDay - a.lastDay || a.route.localeCompare(b.route));
}
