// The Grafana dashboards (deploy/monitoring/grafana): Grafana cannot run here, so their structure
// is checked, and every metric their queries and the alerting rules read is one a real Coffer
// exports (its /metrics, scraped here) or one the recording rules make. That each query parses
// and returns data against a real Prometheus is tests/monitoring/prometheus.test.ts.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { startTestApp } from "../support/app";
import { allRules, dashboards, exportedNames, grafanaQuery, MONITORING_DIR, metricNames, panelQueries, readRules } from "./support";

const TOKEN = "dashboards-metrics-token-0123456789";
/** Series Prometheus itself makes: a target's health, and the alerts' state. */
const PROMETHEUS_SERIES = ["up", "ALERTS"];

const datasource = YAML.parse(fs.readFileSync(path.join(MONITORING_DIR, "grafana/provisioning/datasources/prometheus.yml"), "utf8"))
  .datasources[0];

describe("the Grafana dashboards", () => {
  it("cover the overview, transfers, storage, security, background jobs and SLOs, each with a unique uid", () => {
    const all = dashboards();
    expect(all.map(({ dashboard }) => dashboard.uid).sort()).toEqual([
      "coffer-jobs",
      "coffer-overview",
      "coffer-security",
      "coffer-slo",
      "coffer-storage",
      "coffer-transfers",
    ]);
    for (const { file, dashboard } of all) {
      expect(file).toBe(`${dashboard.uid}.json`);
      expect(dashboard.title, file).toMatch(/^Coffer \/ /);
    }
  });

  it("give every panel the provisioned Prometheus and at least one query, on a 24-column grid", () => {
    expect(datasource).toMatchObject({ type: "prometheus", uid: "coffer-prometheus" });
    for (const { file, dashboard } of dashboards()) {
      const ids = dashboard.panels.map((panel) => panel.id);
      expect(new Set(ids).size, `${file}: panel ids`).toBe(ids.length);
      const panels = dashboard.panels.filter((panel) => panel.type !== "row");
      expect(panels.length, file).toBeGreaterThan(3);
      for (const panel of panels) {
        const where = `${file}: ${panel.title}`;
        expect(panel.title, where).toBeTruthy();
        expect(panel.datasource, where).toEqual({ type: "prometheus", uid: datasource.uid });
        expect(panel.targets?.length, where).toBeGreaterThan(0);
        const refIds = panel.targets!.map((target) => target.refId);
        expect(new Set(refIds).size, `${where}: refIds`).toBe(refIds.length);
        for (const target of panel.targets!) {
          expect(target.expr?.trim(), `${where} ${target.refId}`).toBeTruthy();
          expect(target.datasource ?? panel.datasource, where).toEqual(panel.datasource);
        }
        const { x, w, h } = panel.gridPos;
        expect(x >= 0 && w > 0 && h > 0 && x + w <= 24, `${where}: gridPos ${JSON.stringify(panel.gridPos)}`).toBe(true);
      }
    }
  });

  it("use no dashboard variable but Grafana's own intervals", () => {
    for (const { expr, dashboard, panel } of panelQueries()) {
      expect(grafanaQuery(expr), `${dashboard}: ${panel}`).not.toContain("$");
    }
  });

  it("are all provisioned: the provider reads the directory compose mounts them in", () => {
    const provider = YAML.parse(fs.readFileSync(path.join(MONITORING_DIR, "grafana/provisioning/dashboards/coffer.yml"), "utf8"))
      .providers[0];
    const compose = YAML.parse(fs.readFileSync(path.join(MONITORING_DIR, "../../docker-compose.yml"), "utf8"));
    expect(compose.services.grafana.volumes).toContain(`./deploy/monitoring/grafana/dashboards:${provider.options.path}:ro`);
    expect(datasource.url).toBe("http://prometheus:9090");
  });
});

describe("metric names in dashboards and rules", () => {
  let known: Set<string>;

  beforeAll(async () => {
    const app = await startTestApp({ storage: "local", cache: "memory" }, { METRICS_TOKEN: TOKEN });
    const response = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    const exported = exportedNames(await response.text());
    // A sanity check of the parser: a histogram's series and a counter that counted nothing yet.
    expect(exported).toContain("coffer_http_request_duration_seconds_bucket");
    expect(exported).toContain("coffer_uploads_failed_total");
    const example = path.join(MONITORING_DIR, "prometheus/capacity.rules.yml.example");
    const recorded = [...allRules(), ...readRules(example).flatMap((group) => group.rules)].flatMap((rule) =>
      rule.record ? [rule.record] : [],
    );
    known = new Set([...exported, ...recorded, ...PROMETHEUS_SERIES]);
  });

  it("every dashboard query reads only metrics Coffer exports or the rules record", () => {
    const unknown = panelQueries().flatMap(({ dashboard, panel, expr }) =>
      metricNames(grafanaQuery(expr))
        .filter((name) => !known.has(name))
        .map((name) => `${dashboard} / ${panel}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it("every rule reads only metrics Coffer exports or the rules record", () => {
    const unknown = allRules().flatMap((rule) =>
      metricNames(rule.expr)
        .filter((name) => !known.has(name))
        .map((name) => `${rule.alert ?? rule.record}: ${name}`),
    );
    expect(unknown).toEqual([]);
    // The check sees a misspelt name.
    expect(metricNames("rate(coffer_http_request_total[5m])").filter((name) => !known.has(name))).toEqual(["coffer_http_request_total"]);
  });
});
