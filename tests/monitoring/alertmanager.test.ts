// The shipped Alertmanager configuration (deploy/monitoring/alertmanager): amtool accepts it,
// secrets only come from files, severities route to the right receivers, and a real Alertmanager
// running it delivers to Slack, PagerDuty (Events API v2) and email receivers started here, with
// the inhibitions that keep one incident to one page.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALERTMANAGER_CONFIG,
  type Daemon,
  eventually,
  MONITORING_DIR,
  PAGERDUTY_ROUTING_KEY,
  type Receivers,
  run,
  startAlertmanager,
  startReceivers,
  tempDir,
} from "./support";

describe("alertmanager.yml", () => {
  it("passes amtool check-config, its templates included", async () => {
    const shipped = await run("amtool", ["check-config", ALERTMANAGER_CONFIG]);
    expect(shipped.stdout).toContain("SUCCESS");
    // The shipped path (/etc/alertmanager/templates) does not exist here: check the templates too.
    const dir = tempDir("coffer-amtool-");
    try {
      const file = path.join(dir, "alertmanager.yml");
      const templates = path.join(MONITORING_DIR, "alertmanager/templates");
      fs.writeFileSync(file, fs.readFileSync(ALERTMANAGER_CONFIG, "utf8").replaceAll("/etc/alertmanager/templates", templates));
      const checked = await run("amtool", ["check-config", file]);
      expect(checked.stdout).toMatch(/- 1 templates\n {2}SUCCESS/);
      fs.writeFileSync(path.join(dir, "broken.tmpl"), '{{ define "coffer.title" }}{{ .Nope ');
      fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(`${templates}/*.tmpl`, `${dir}/*.tmpl`));
      await expect(run("amtool", ["check-config", file])).rejects.toThrow();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads every secret from a file, never inline", () => {
    const text = fs.readFileSync(ALERTMANAGER_CONFIG, "utf8");
    const config = YAML.parse(text);
    for (const inline of [
      "slack_api_url:",
      "api_url:",
      "routing_key:",
      "service_key:",
      "auth_password:",
      "smtp_auth_password:",
      "password:",
    ])
      expect(text, inline).not.toMatch(new RegExp(`^\\s*${inline}`, "m"));
    expect(config.global.slack_api_url_file).toBe("/etc/alertmanager/secrets/slack-webhook-url");
    expect(config.global.smtp_auth_password_file).toBe("/etc/alertmanager/secrets/smtp-password");
    const pagerduty = config.receivers.flatMap((receiver: { pagerduty_configs?: unknown[] }) => receiver.pagerduty_configs ?? []);
    expect(pagerduty.length).toBeGreaterThan(0);
    for (const entry of pagerduty) expect(entry.routing_key_file).toBe("/etc/alertmanager/secrets/pagerduty-routing-key");
  });

  it("routes pages to PagerDuty and Slack, tickets to email and Slack, anything else to Slack", async () => {
    const route = async (...labels: string[]) =>
      (await run("amtool", ["config", "routes", "test", `--config.file=${ALERTMANAGER_CONFIG}`, ...labels])).stdout.trim();
    expect(await route("alertname=CofferInstanceDown", "severity=page")).toBe("pagerduty-and-slack");
    expect(await route("alertname=CofferLoginFailureSpike", "severity=ticket")).toBe("email-and-slack");
    expect(await route("alertname=Watchdog")).toBe("slack");
  });
});

describe("a real Alertmanager running alertmanager.yml", () => {
  let receivers: Receivers;
  let alertmanager: Daemon;

  beforeAll(async () => {
    receivers = await startReceivers();
    alertmanager = await startAlertmanager(receivers);
  });
  afterAll(async () => {
    if (process.env.DEBUG_MONITORING) console.log(alertmanager?.output());
    await alertmanager?.stop();
    await receivers?.close();
  });

  const annotations = (name: string) => ({
    summary: `${name} summary`,
    description: `${name} description`,
    runbook_url: `docs/runbooks.md#${name.toLowerCase()}`,
  });

  async function post(alerts: Array<Record<string, string>>) {
    const response = await fetch(`${alertmanager.url}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(alerts.map((labels) => ({ labels, annotations: annotations(labels.alertname!) }))),
    });
    expect(response.status, await response.text()).toBe(200);
  }

  type ApiAlert = { labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } };
  async function alertState(labels: Record<string, string>): Promise<ApiAlert | undefined> {
    const alerts = (await (await fetch(`${alertmanager.url}/api/v2/alerts`)).json()) as ApiAlert[];
    return alerts.find((alert) => Object.entries(labels).every(([name, value]) => alert.labels[name] === value));
  }

  it("pages through PagerDuty's Events API v2 and Slack, with the summary and the runbook", async () => {
    await post([{ alertname: "CofferDriverDown", severity: "page", job: "coffer", driver: "database" }]);
    const event = await eventually("the PagerDuty event", 15_000, () =>
      receivers.pagerduty.find((e) => e.payload.summary.includes("CofferDriverDown (database)")),
    );
    expect(event.routing_key).toBe(PAGERDUTY_ROUTING_KEY);
    expect(event.event_action).toBe("trigger");
    expect(event.payload.severity).toBe("critical");
    expect(event.payload.summary).toBe("[FIRING:1] CofferDriverDown (database): CofferDriverDown summary");
    expect(event.payload.custom_details.runbook).toBe("docs/runbooks.md#cofferdriverdown");
    const slack = await eventually("the Slack message of the page", 15_000, () =>
      receivers.slack.find((m) => m.attachments[0]!.title.includes("CofferDriverDown (database)")),
    );
    expect(slack.attachments[0]!.text).toContain("*page* CofferDriverDown summary");
    expect(slack.attachments[0]!.text).toContain("Runbook: docs/runbooks.md#cofferdriverdown");
    expect(slack.channel).toBe("#coffer-alerts");
  });

  it("sends tickets by email and to Slack, not to PagerDuty", async () => {
    await post([{ alertname: "CofferLoginFailureSpike", severity: "ticket", job: "coffer" }]);
    const mail = await eventually("the ticket's email", 15_000, () => receivers.mail.find((m) => m.includes("CofferLoginFailureSpike")));
    const decoded = mail
      .replace(/=\r\n/g, "")
      .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    expect(decoded).toMatch(/^Subject: \[FIRING:1\] CofferLoginFailureSpike: CofferLoginFailureSpike summary\r?$/m);
    expect(decoded).toMatch(/^To: ops@example\.com\r?$/m);
    expect(decoded).toContain("Runbook: docs/runbooks.md#cofferloginfailurespike");
    await eventually("the ticket's Slack message", 15_000, () =>
      receivers.slack.find((m) => m.attachments[0]!.title.includes("CofferLoginFailureSpike")),
    );
    expect(receivers.pagerduty.some((e) => e.payload.summary.includes("CofferLoginFailureSpike"))).toBe(false);
  });

  it("inhibits an instance's other alerts while it is down, and only that instance's", async () => {
    await post([
      { alertname: "CofferInstanceDown", severity: "page", job: "coffer", instance: "a:3000" },
      { alertname: "CofferEventLoopLagging", severity: "ticket", job: "coffer", instance: "a:3000" },
      { alertname: "CofferEventLoopLagging", severity: "ticket", job: "coffer", instance: "b:3000" },
    ]);
    const onA = await eventually("the alert on a", 5000, () => alertState({ alertname: "CofferEventLoopLagging", instance: "a:3000" }));
    expect(onA.status.state).toBe("suppressed");
    expect(onA.status.inhibitedBy).toHaveLength(1);
    expect((await alertState({ alertname: "CofferEventLoopLagging", instance: "b:3000" }))!.status.state).toBe("active");
    expect((await alertState({ alertname: "CofferInstanceDown" }))!.status.state).toBe("active");
  });

  it("keeps one page for a driver down: its symptoms and its SLO tickets are inhibited", async () => {
    await post([
      { alertname: "CofferDriverDown", severity: "page", job: "coffer", driver: "storage" },
      { alertname: "CofferAvailabilityBudgetBurn", severity: "page", job: "coffer", slo: "availability" },
      { alertname: "CofferAvailabilityBudgetBurn", severity: "ticket", job: "coffer", slo: "availability" },
      { alertname: "CofferUploadFailuresHigh", severity: "page", job: "coffer" },
      { alertname: "CofferJobFailing", severity: "ticket", job: "coffer", queue: "file-thumbnail" },
      { alertname: "CofferStorageErrorsHigh", severity: "ticket", job: "coffer", driver: "s3" },
      // Another deployment's SLO and a lesser driver's ticket are not explained by it.
      { alertname: "CofferLatencyBudgetBurn", severity: "page", job: "other-coffer", slo: "latency" },
      { alertname: "CofferDriverDown", severity: "ticket", job: "coffer", driver: "search" },
    ]);
    const state = async (labels: Record<string, string>) =>
      (await eventually(JSON.stringify(labels), 5000, () => alertState(labels))).status.state;
    expect(await state({ alertname: "CofferAvailabilityBudgetBurn", severity: "page" })).toBe("suppressed");
    expect(await state({ alertname: "CofferAvailabilityBudgetBurn", severity: "ticket" })).toBe("suppressed");
    expect(await state({ alertname: "CofferUploadFailuresHigh" })).toBe("suppressed");
    expect(await state({ alertname: "CofferJobFailing" })).toBe("suppressed");
    expect(await state({ alertname: "CofferStorageErrorsHigh" })).toBe("suppressed");
    expect(await state({ alertname: "CofferLatencyBudgetBurn", job: "other-coffer" })).toBe("active");
    expect(await state({ alertname: "CofferDriverDown", driver: "search" })).toBe("active");
    expect(await state({ alertname: "CofferDriverDown", driver: "storage" })).toBe("active");
  });

  it("inhibits a certificate's ticket while the same instance's certificate pages", async () => {
    // Instances of their own: earlier tests' alerts (an instance down) stay in this Alertmanager.
    await post([
      { alertname: "CofferTlsCertificateExpiresSoon", severity: "page", job: "coffer", instance: "c:3000" },
      { alertname: "CofferTlsCertificateExpiresSoon", severity: "ticket", job: "coffer", instance: "c:3000" },
      { alertname: "CofferTlsCertificateExpiresSoon", severity: "ticket", job: "coffer", instance: "d:3000" },
    ]);
    const state = async (labels: Record<string, string>) =>
      (await eventually(JSON.stringify(labels), 5000, () => alertState({ alertname: "CofferTlsCertificateExpiresSoon", ...labels }))).status
        .state;
    expect(await state({ severity: "ticket", instance: "c:3000" })).toBe("suppressed");
    expect(await state({ severity: "ticket", instance: "d:3000" })).toBe("active");
    expect(await state({ severity: "page", instance: "c:3000" })).toBe("active");
  });

  it("inhibits an SLO's ticket while the same SLO pages", async () => {
    await post([
      { alertname: "CofferLatencyBudgetBurn", severity: "page", job: "coffer-b", slo: "latency" },
      { alertname: "CofferLatencyBudgetBurn", severity: "ticket", job: "coffer-b", slo: "latency" },
    ]);
    const ticket = await eventually("the latency ticket", 5000, () =>
      alertState({ alertname: "CofferLatencyBudgetBurn", severity: "ticket", job: "coffer-b" }),
    );
    expect(ticket.status.state).toBe("suppressed");
    expect((await alertState({ alertname: "CofferLatencyBudgetBurn", severity: "page", job: "coffer-b" }))!.status.state).toBe("active");
  });
});
