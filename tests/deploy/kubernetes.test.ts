// deploy/k8s without a cluster: every overlay renders (tests/deploy/kustomize.ts, the subset of
// kustomize the manifests use), every object validates against the Kubernetes OpenAPI schemas
// (kubernetes-models), and the settings that keep users working agree with Coffer itself: probes,
// drain time, tus limits on the ingress, the metric the autoscaler reads, the migration command.
import fs from "node:fs";
import path from "node:path";
import * as models from "kubernetes-models";
import { describe, expect, it } from "vitest";
import { envSchema, loadConfig } from "~/config.server";
import { kustomize, type Manifest } from "./kustomize";

const ROOT = path.resolve(import.meta.dirname, "../..");
const K8S = path.join(ROOT, "deploy/k8s");
const OVERLAYS = ["embedded", "production", "production/migration"] as const;
const rendered = Object.fromEntries(OVERLAYS.map((name) => [name, kustomize(path.join(K8S, "overlays", name))])) as Record<
  (typeof OVERLAYS)[number],
  Manifest[]
>;

type Model = { validate(): void };
type ModelClass = (new (data: unknown) => Model) & { apiVersion: string; kind: string };

/** The kubernetes-models class of an object's apiVersion and kind, e.g. apps/v1 Deployment. */
function modelOf(manifest: Manifest): ModelClass {
  const [group, version] = manifest.apiVersion.includes("/") ? manifest.apiVersion.split("/") : ["", manifest.apiVersion];
  // networking.k8s.io → networkingK8sIo; the core group is the top-level v1.
  const groupKey = group!.replace(/\.([a-z])/g, (_, letter: string) => letter.toUpperCase());
  const modules = models as unknown as Record<string, Record<string, Record<string, ModelClass>>>;
  const versionModule = group ? modules[groupKey]?.[version!] : (modules[version!] as unknown as Record<string, ModelClass>);
  const candidate = versionModule?.[manifest.kind];
  if (candidate?.apiVersion === manifest.apiVersion && candidate.kind === manifest.kind) return candidate;
  throw new Error(`no Kubernetes schema for ${manifest.apiVersion} ${manifest.kind}`);
}

/** Schema errors of every object, as "Kind/name: message". */
function schemaErrors(manifests: Manifest[]): string[] {
  const errors: string[] = [];
  for (const manifest of manifests) {
    try {
      new (modelOf(manifest))(manifest).validate();
    } catch (error) {
      errors.push(`${manifest.kind}/${manifest.metadata.name}: ${error instanceof Error ? error.message : error}`);
    }
  }
  return errors;
}

const find = (manifests: Manifest[], kind: string, name = "coffer") =>
  manifests.find((manifest) => manifest.kind === kind && manifest.metadata.name === name) as (Manifest & Record<string, any>) | undefined;
const deployment = (overlay: (typeof OVERLAYS)[number]) => find(rendered[overlay], "Deployment")!;
const container = (overlay: (typeof OVERLAYS)[number]) => deployment(overlay).spec.template.spec.containers[0];
/** The ConfigMap's settings as Coffer reads them, with the Secret's variables given placeholders. */
function configOf(overlay: (typeof OVERLAYS)[number]) {
  const data = find(rendered[overlay], "ConfigMap", "coffer-config")!.data as Record<string, string>;
  return { data, config: loadConfig({ ...data, ...secretPlaceholders(overlay) }) };
}
function secretPlaceholders(overlay: (typeof OVERLAYS)[number]): Record<string, string> {
  if (overlay === "embedded") return { SESSION_SECRET: "x".repeat(32) };
  const lines = fs.readFileSync(path.join(K8S, "overlays/production/secret.example.env"), "utf8").split("\n");
  return Object.fromEntries(lines.filter((line) => /^[A-Z0-9_]+=/.test(line)).map((line) => line.split(/=(.*)/s).slice(0, 2)));
}

describe("deploy/k8s", () => {
  it.each(OVERLAYS)("renders the %s overlay into objects that match the Kubernetes schemas", (overlay) => {
    expect(rendered[overlay].length).toBeGreaterThan(0);
    expect(schemaErrors(rendered[overlay]), schemaErrors(rendered[overlay]).join("\n")).toEqual([]);
    for (const manifest of rendered[overlay]) expect(manifest.metadata.namespace, manifest.kind).toBe("coffer");
  });

  it("catches a planted schema error", () => {
    const broken = structuredClone(rendered.production);
    const planted = find(broken, "Deployment")!;
    planted.spec.replicas = "two";
    delete planted.spec.template.spec.containers[0].name;
    const errors = schemaErrors(broken);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^Deployment\/coffer: /);
    expect(errors[0]).toMatch(/replicas/);
    expect(errors[0]).toMatch(/name/);
  });

  it("gives the production overlay the objects the issue lists, and the embedded one a single pod on a volume", () => {
    const kinds = (overlay: (typeof OVERLAYS)[number]) => rendered[overlay].map((manifest) => manifest.kind).sort();
    expect(kinds("production")).toEqual(
      [
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Ingress",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
      ].sort(),
    );
    expect(kinds("production/migration")).toEqual(["Job"]);
    expect(kinds("embedded")).toEqual(
      ["ConfigMap", "Deployment", "Ingress", "NetworkPolicy", "PersistentVolumeClaim", "Service", "ServiceAccount"].sort(),
    );

    expect(deployment("production").spec.replicas).toBeGreaterThanOrEqual(2);
    expect(deployment("production").spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    expect(deployment("embedded").spec.replicas).toBe(1);
    expect(deployment("embedded").spec.strategy).toEqual({ type: "Recreate" });
    const data = deployment("embedded").spec.template.spec.volumes.find((volume: { name: string }) => volume.name === "data");
    expect(data).toEqual({ name: "data", persistentVolumeClaim: { claimName: "coffer-data" } });
    expect(find(rendered.embedded, "PersistentVolumeClaim", "coffer-data")).toBeDefined();
  });

  it("points the probes at /healthz and /readyz on the container's port", () => {
    for (const overlay of ["embedded", "production"] as const) {
      const app = container(overlay);
      const port = Number(configOf(overlay).config.port);
      expect(app.ports).toEqual([{ name: "http", containerPort: port, protocol: "TCP" }]);
      expect(app.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
      expect(app.startupProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
      expect(app.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
      // Readiness must notice a drain well inside the preStop pause plus the grace time.
      expect(app.readinessProbe.periodSeconds * app.readinessProbe.failureThreshold).toBeLessThanOrEqual(10);
      expect(app.resources.requests).toHaveProperty("cpu");
      expect(app.resources.requests).toHaveProperty("memory");
      expect(app.resources.limits).toHaveProperty("memory");
    }
  });

  it("kills a pod only after the preStop pause and Coffer's own drain time have passed", () => {
    for (const overlay of ["embedded", "production"] as const) {
      const { config } = configOf(overlay);
      const preStop = container(overlay).lifecycle.preStop.exec.command;
      expect(preStop[0]).toBe("sleep");
      const drainSeconds = Number(preStop[1]) + config.shutdownGraceMs / 1000;
      expect(deployment(overlay).spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(drainSeconds + 5);
    }
  });

  it("runs as a non-root user on a read-only root filesystem with a writable /tmp", () => {
    const pods = [deployment("embedded"), deployment("production"), find(rendered["production/migration"], "Job", "coffer-migrate")!];
    for (const pod of pods) {
      const spec = pod.spec.template.spec;
      expect(spec.securityContext.runAsNonRoot, pod.kind).toBe(true);
      expect(spec.securityContext.runAsUser).toBe(10001); // the Dockerfile's user
      expect(spec.automountServiceAccountToken).toBe(false);
      for (const c of spec.containers) {
        expect(c.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ["ALL"] },
        });
        const tmp = c.volumeMounts.find((mount: { mountPath: string }) => mount.mountPath === "/tmp");
        expect(spec.volumes.find((volume: { name: string }) => volume.name === tmp.name).emptyDir).toBeDefined();
      }
    }
    expect(fs.readFileSync(path.join(ROOT, "Dockerfile"), "utf8")).toMatch(/^USER 10001:10001$/m);
  });

  it("lets tus bodies of any size through the ingress, unbuffered, with long timeouts", () => {
    const ingress = find(rendered.production, "Ingress")!;
    const annotations = ingress.metadata.annotations as Record<string, string>;
    expect(annotations["nginx.ingress.kubernetes.io/proxy-body-size"]).toBe("0");
    expect(annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"]).toBe("off");
    expect(Number(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"])).toBeGreaterThanOrEqual(600);
    expect(Number(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"])).toBeGreaterThanOrEqual(600);
    expect(ingress.spec.rules[0].http.paths[0].backend.service).toEqual({ name: "coffer", port: { name: "http" } });
    const service = find(rendered.production, "Service")!;
    expect(service.spec.selector).toEqual(deployment("production").spec.selector.matchLabels);
  });

  it("scales on CPU and on a gauge Coffer exports (docs/metrics.md)", async () => {
    const hpa = find(rendered.production, "HorizontalPodAutoscaler")!;
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: "coffer" });
    const [cpu, pods] = hpa.spec.metrics;
    expect(cpu.resource.name).toBe("cpu");
    const metric = pods.pods.metric.name as string;
    expect(fs.readFileSync(path.join(ROOT, "docs/metrics.md"), "utf8")).toContain(`| \`${metric}\` | gauge |`);
    const { metrics } = await import("~/services/metrics.server");
    expect(metrics().registry.getSingleMetric(metric), metric).toBeDefined();
    const pdb = find(rendered.production, "PodDisruptionBudget")!;
    expect(pdb.spec.selector.matchLabels).toEqual(deployment("production").spec.selector.matchLabels);
    expect(pdb.spec.minAvailable).toBeLessThan(hpa.spec.minReplicas);
  });

  it("names only variables Coffer reads, with values it accepts, and keeps credentials out of the ConfigMap", () => {
    const known = new Set(Object.keys(envSchema.shape));
    for (const overlay of ["embedded", "production"] as const) {
      const { data, config } = configOf(overlay);
      for (const name of Object.keys(data)) expect(known.has(name), `${overlay}: ${name}`).toBe(true);
      for (const name of Object.keys(data)) expect(name).not.toMatch(/SECRET|PASSWORD|_KEY$|TOKEN|DATABASE_URL|REDIS_URL/);
      expect(config.isProduction).toBe(true);
      expect(config.dataDir).toBe("/data");
      expect(container(overlay).envFrom).toEqual([{ configMapRef: { name: "coffer-config" } }, { secretRef: { name: "coffer-secrets" } }]);
    }
    for (const name of Object.keys(secretPlaceholders("production"))) expect(known.has(name), name).toBe(true);
    const production = configOf("production").config;
    expect(production.database.embedded).toBe(false);
    expect(production.cache.driver).toBe("redis");
    expect(production.storage.driver).toBe("s3");
    expect(production.search.driver).toBe("meilisearch");
    expect(configOf("embedded").config.database.embedded).toBe(true);
  });

  it("runs the app's own compiled migration command in the Job, with the app's settings and image", () => {
    const job = find(rendered["production/migration"], "Job", "coffer-migrate")!;
    const migrate = job.spec.template.spec.containers[0];
    expect(migrate.command).toEqual(["node", "build/migrate.js"]);
    expect(migrate.image).toBe(container("production").image);
    expect(migrate.envFrom).toEqual(container("production").envFrom);
    expect(job.spec.template.spec.restartPolicy).toBe("Never");
    const packageJson = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    expect(packageJson.scripts["build:migrate"]).toContain("scripts/migrate.ts");
    expect(packageJson.scripts["build:migrate"]).toContain("--outfile=build/migrate.js");
    expect(packageJson.scripts.build).toContain("build:migrate");
  });

  it("admits traffic only from the ingress controller and Prometheus", () => {
    const policy = find(rendered.production, "NetworkPolicy")!;
    expect(policy.spec.policyTypes).toEqual(["Ingress", "Egress"]);
    const namespaces = policy.spec.ingress[0].from.map(
      (peer: { namespaceSelector: { matchLabels: Record<string, string> } }) =>
        peer.namespaceSelector.matchLabels["kubernetes.io/metadata.name"],
    );
    expect(namespaces).toEqual(["ingress-nginx", "monitoring"]);
    expect(policy.spec.podSelector.matchLabels).toEqual({ "app.kubernetes.io/name": "coffer" });
  });
});
