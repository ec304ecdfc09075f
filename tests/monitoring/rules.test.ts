// The Prometheus rules (deploy/monitoring/prometheus/rules): promtool accepts them and their unit
// tests pass; every alert carries a severity, its texts and a runbook section that exists; and
// every alert is unit-tested both firing and quiet.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { describe, expect, it } from "vitest";
import { allRules, MONITORING_DIR, ruleFiles, run } from "./support";

const TESTS_DIR = path.join(MONITORING_DIR, "prometheus/tests");
const RUNBOOKS = path.resolve(MONITORING_DIR, "../../docs/runbooks.md");
const testFiles = () =>
  fs
    .readdirSync(TESTS_DIR)
    .filter((name) => name.endsWith(".test.yml"))
    .map((name) => path.join(TESTS_DIR, name));

/** GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to dashes. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, "")
    .replace(/ /g, "-");

describe("Prometheus rules", () => {
  it("pass promtool check rules (the capacity example too)", async () => {
    const files = [...ruleFiles(), path.join(MONITORING_DIR, "prometheus/capacity.rules.yml.example")];
    expect(files.length).toBeGreaterThan(2);
    const { stdout } = await run("promtool", ["check", "rules", ...files]);
    expect(stdout.match(/SUCCESS/g)).toHaveLength(files.length);
  });

  it("pass their promtool unit tests", async () => {
    const { stdout } = await run("promtool", ["test", "rules", ...testFiles()], { cwd: TESTS_DIR });
    expect(stdout.match(/SUCCESS/g)).toHaveLength(testFiles().length);
    expect(stdout).not.toContain("FAILED");
  });

  it("give every alert a severity, a summary, a description and a runbook section that exists", () => {
    const runbooks = fs.readFileSync(RUNBOOKS, "utf8");
    const anchors = new Set([...runbooks.matchAll(/^#{2,3} (.+)$/gm)].map(([, heading]) => anchor(heading!)));
    const alerts = allRules().filter((rule) => rule.alert);
    expect(alerts.length).toBeGreaterThan(10);
    for (const rule of alerts) {
      const where = `${rule.alert} (${rule.labels?.severity})`;
      expect(["page", "ticket"], where).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, where).toBeTruthy();
      expect(rule.annotations?.description, where).toBeTruthy();
      const [file, section] = rule.annotations!.runbook_url!.split("#");
      expect(file, where).toBe("docs/runbooks.md");
      expect(anchors.has(section!), `${where}: no section #${section} in docs/runbooks.md`).toBe(true);
    }
    // Each runbook section says what the alert means, how to check and how to fix it.
    for (const alert of new Set(alerts.map((rule) => rule.alert!))) {
      const start = runbooks.indexOf(`## ${alert}\n`);
      expect(start, alert).toBeGreaterThanOrEqual(0);
      const section = runbooks.slice(start, runbooks.indexOf("\n## ", start + 1) >>> 0);
      for (const part of ["**What it means.**", "**How to check.**", "**How to fix.**"])
        expect(section, `${alert}: ${part}`).toContain(part);
    }
  });

  it("unit-test every alert of every severity firing, and every alert quiet", () => {
    type AlertTest = { alertname: string; exp_alerts?: Array<{ exp_labels?: Record<string, string> }> };
    const cases = testFiles().flatMap((file) =>
      (YAML.parse(fs.readFileSync(file, "utf8")).tests as Array<{ alert_rule_test?: AlertTest[] }>).flatMap(
        (test) => test.alert_rule_test ?? [],
      ),
    );
    for (const rule of allRules().filter((r) => r.alert)) {
      const mine = cases.filter((c) => c.alertname === rule.alert);
      const fires = mine.some((c) => (c.exp_alerts ?? []).some((alert) => alert.exp_labels?.severity === rule.labels!.severity));
      expect(fires, `${rule.alert} (${rule.labels!.severity}) is never tested firing`).toBe(true);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${rule.alert} is never tested quiet`,
      ).toBe(true);
    }
  });
});
