// scripts/deploy-k8s.sh with a stand-in kubectl that records its calls (rendering with
// tests/deploy/kustomize.ts) and a stand-in app for the smoke check: migrations run and complete
// before the app is applied, a failed migration leaves the release alone, and a failed rollout or
// smoke check rolls back.
import { execFile } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { afterEach, describe, expect, it } from "vitest";

const REPO = path.resolve(import.meta.dirname, "../..");
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A kubectl that logs each call, keeps applied files, and fails the step named in FAKE_FAIL. */
function fakeKubectl(dir: string): string {
  const file = path.join(dir, "kubectl");
  fs.writeFileSync(
    file,
    `#!/usr/bin/env bash
echo "$*" >> "${dir}/calls"
case "$1 $2 $3 $4" in
  kustomize*) exec node --import tsx "${REPO}/tests/deploy/render-overlay.ts" "$2" ;;
  *" apply -f"*) cp "$5" "${dir}/applied-$(basename "$5")" ;;
  *" wait "*) [[ "$FAKE_FAIL" != migration ]] ;;
  *" rollout status"*) [[ "$FAKE_FAIL" != rollout || -f "${dir}/undone" ]] ;;
  *" rollout undo"*) touch "${dir}/undone" ;;
esac
`,
    { mode: 0o755 },
  );
  return file;
}

async function app(readyz: number): Promise<string> {
  const server = http.createServer((request, response) => response.writeHead(request.url === "/readyz" ? readyz : 200).end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function deploy(options: { fail?: "migration" | "rollout"; readyz?: number }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-deploy-k8s-"));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = {
    PATH: process.env.PATH ?? "",
    NODE_ENV: "production" as const,
    KUBECTL: fakeKubectl(dir),
    FAKE_FAIL: options.fail ?? "",
    SMOKE_URL: await app(options.readyz ?? 200),
    SMOKE_ERROR_RATE: "off",
    SMOKE_WAIT_SECONDS: "1",
    SMOKE_WATCH_SECONDS: "0",
  };
  const result = await new Promise<{ code: number; output: string }>((resolve) =>
    execFile(
      "bash",
      [path.join(REPO, "scripts/deploy-k8s.sh"), "production", "ghcr.io/acme/coffer:1.4.0"],
      { env },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, output: stdout + stderr }),
    ),
  );
  const calls = fs
    .readFileSync(path.join(dir, "calls"), "utf8")
    .trim()
    .split("\n")
    .filter((call) => !call.startsWith("kustomize"))
    .map((call) => call.replace(/ \/tmp\/\S+\/(\w+\.yaml)/, " $1"));
  const applied = (name: string) => YAML.parseAllDocuments(fs.readFileSync(path.join(dir, `applied-${name}`), "utf8")).map((d) => d.toJS());
  return { ...result, calls, applied };
}

describe("scripts/deploy-k8s.sh", () => {
  it("migrates, waits for the Job, then rolls out the image and checks it", async () => {
    const { code, output, calls, applied } = await deploy({});
    expect(code, output).toBe(0);
    expect(calls).toEqual([
      "-n coffer delete job coffer-migrate --ignore-not-found --wait=true",
      "-n coffer apply -f migration.yaml",
      "-n coffer wait --for=condition=complete job/coffer-migrate --timeout=900s",
      "-n coffer apply -f app.yaml",
      "-n coffer rollout status deployment/coffer --timeout=600s",
    ]);
    expect(output).toContain("deploy-smoke: healthy");
    const [job] = applied("migration.yaml");
    expect(job.kind).toBe("Job");
    expect(job.spec.template.spec.containers[0].image).toBe("ghcr.io/acme/coffer:1.4.0");
    const deployment = applied("app.yaml").find((manifest) => manifest.kind === "Deployment");
    expect(deployment.spec.template.spec.containers[0].image).toBe("ghcr.io/acme/coffer:1.4.0");
  });

  it("stops before touching the app when the migration fails", async () => {
    const { code, output, calls } = await deploy({ fail: "migration" });
    expect(code).toBe(1);
    expect(output).toContain("the migration Job did not complete; the running release is untouched");
    expect(calls.at(-1)).toBe("-n coffer logs job/coffer-migrate --tail=100");
    expect(calls.some((call) => call.includes("app.yaml") || call.includes("rollout"))).toBe(false);
  });

  it.each([
    ["the rollout does not finish", { fail: "rollout" as const }],
    ["the smoke check fails", { readyz: 503 }],
  ])("rolls back when %s", async (_, options) => {
    const { code, output, calls } = await deploy(options);
    expect(code).toBe(1);
    expect(output).toContain("ROLLING BACK");
    const status = "-n coffer rollout status deployment/coffer --timeout=600s";
    expect(calls.slice(3)).toEqual(["-n coffer apply -f app.yaml", status, "-n coffer rollout undo deployment/coffer", status]);
  });
});
