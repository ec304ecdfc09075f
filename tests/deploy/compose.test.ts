// docker-compose.yml's profiles without a Docker engine: `default` is Coffer alone on embedded
// drivers, `full` adds PostgreSQL, Redis, MinIO and Meilisearch, `monitoring` stands beside either.
// Every variable the app services set is one Coffer reads, and their values, interpolated as
// Compose does, make the configuration each profile promises.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { describe, expect, it } from "vitest";
import { envSchema, loadConfig } from "~/config.server";

const ROOT = path.resolve(import.meta.dirname, "../..");
type Service = {
  profiles?: string[];
  image: string;
  environment?: Record<string, string>;
  depends_on?: string[] | Record<string, { condition: string }>;
  healthcheck?: unknown;
  [key: string]: unknown;
};
const compose = YAML.parse(fs.readFileSync(path.join(ROOT, "docker-compose.yml"), "utf8")) as { services: Record<string, Service> };
const services = Object.entries(compose.services);
const inProfile = (profile: string) =>
  services
    .filter(([, service]) => service.profiles?.includes(profile))
    .map(([name]) => name)
    .sort();
const dependencies = (service: Service) => (Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {}));

/** `${VAR}`, `${VAR:-default}` and `${VAR:?error}` as Compose expands them with `env`. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_, name: string, operator?: string, operand?: string) => {
    if (env[name]) return env[name]!;
    if (operator === "?") throw new Error(`${name}: ${operand}`);
    return operator === "-" ? operand! : "";
  });
}
const environment = (name: string, env: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(compose.services[name]!.environment ?? {}).map(([key, value]) => [key, interpolate(String(value), env)]),
  );

const SECRET = { SESSION_SECRET: "compose-test-secret-0123456789abcdef" };

describe("docker-compose.yml profiles", () => {
  it("puts every service in exactly one of default, full and monitoring", () => {
    for (const [name, service] of services) {
      expect(service.profiles, name).toHaveLength(1);
      expect(["default", "full", "monitoring"], name).toContain(service.profiles![0]);
    }
    expect(inProfile("default")).toEqual(["app-embedded"]);
    expect(inProfile("full")).toEqual(["app", "meilisearch", "minio", "postgres", "redis"]);
    expect(inProfile("monitoring")).toEqual(["alertmanager", "grafana", "prometheus"]);
  });

  it("depends only on services of the same profile, healthy before the app of `full` starts", () => {
    for (const [name, service] of services)
      for (const dependency of dependencies(service))
        expect(compose.services[dependency]?.profiles, `${name} → ${dependency}`).toEqual(service.profiles);
    expect(compose.services.app!.depends_on).toEqual({
      postgres: { condition: "service_healthy" },
      redis: { condition: "service_healthy" },
      minio: { condition: "service_healthy" },
      meilisearch: { condition: "service_healthy" },
    });
    for (const name of ["postgres", "redis", "minio", "meilisearch"]) expect(compose.services[name]!.healthcheck, name).toBeDefined();
    expect(compose.services["app-embedded"]!.depends_on).toBeUndefined();
  });

  it("sets only variables Coffer reads, for the drivers each profile promises", () => {
    const known = new Set(Object.keys(envSchema.shape));
    for (const name of ["app", "app-embedded"])
      for (const key of Object.keys(compose.services[name]!.environment!)) expect(known.has(key), `${name}: ${key}`).toBe(true);

    const full = loadConfig(environment("app", SECRET));
    expect(full.database.embedded).toBe(false);
    expect(full.storage.driver).toBe("s3");
    expect(full.cache.driver).toBe("redis");
    expect(full.search.driver).toBe("meilisearch");

    const embedded = loadConfig(environment("app-embedded", SECRET));
    expect(embedded.database.embedded).toBe(true);
    expect(embedded.storage.driver).toBe("local");
    expect(embedded.cache.driver).toBe("memory");
    expect(embedded.search.driver).toBe("postgres");
    expect(embedded.dataDir).toBe("/data");

    // SESSION_SECRET is required by both: `${VAR:?…}` makes Compose refuse to start without it.
    expect(() => environment("app-embedded", {})).toThrow(/SESSION_SECRET/);
  });

  it("keeps the two app services alike apart from their drivers and data volume", () => {
    const app = compose.services.app!;
    const embedded = compose.services["app-embedded"]!;
    for (const key of ["build", "image", "restart", "stop_grace_period", "ports", "logging", "labels"])
      expect(embedded[key], key).toEqual(app[key]);
    const drivers = /^(DATABASE_URL|REDIS_URL|S3_|MEILI_)/;
    const shared = Object.entries(app.environment!).filter(([key]) => !drivers.test(key));
    expect(Object.entries(embedded.environment!)).toEqual(shared);
    // Docker must wait longer than Coffer's own drain (SHUTDOWN_GRACE_SECONDS, 30 s by default).
    const graceSeconds = loadConfig(environment("app", SECRET)).shutdownGraceMs / 1000;
    expect(Number.parseInt(String(app.stop_grace_period), 10)).toBeGreaterThan(graceSeconds);
    // Prometheus scrapes app:3000 under either app.
    expect(embedded.networks).toEqual({ default: { aliases: ["app"] } });
  });
});
