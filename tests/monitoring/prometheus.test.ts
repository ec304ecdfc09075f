// End to end, against real software: a real Prometheus scrapes a real Coffer (with the bearer
// token from a file) and evaluates the shipped rules; every PromQL expression of every dashboard
// panel is evaluated through Prometheus's HTTP API; then Coffer's object store goes away and the
// alerts reach PagerDuty and Slack receivers started here, through a real Alertmanager running the
// shipped configuration; a burst of failed logins reaches the email receiver as a ticket.
//
// Test-only changes, all made on copies: every rule's `for:` becomes 0s (the shipped 2 to 10
// minutes would not fit in a test), Prometheus scrapes and evaluates every second, and
// Alertmanager's group waits are 1 s (tests/monitoring/support.ts testAlertmanagerConfig).
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app";
import { TestClient } from "../support/client";
import { createUpload, patchUpload } from "../support/tus";
import {
  type Daemon,
  eventually,
  grafanaQuery,
  panelQueries,
  type Receivers,
  readRules,
  ruleFiles,
  startAlertmanager,
  startPrometheus,
  startReceivers,
} from "./support";
import YAML from "yaml";

const TOKEN = "prometheus-scrape-token-0123456789";

/** A TCP relay to the shared S3 server that the test can cut, as if the store went down. */
async function startCuttableRelay(target: URL): Promise<{ url: string; cut(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `${target.protocol}//127.0.0.1:${port}`,
    async cut() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

type Vector = Array<{ metric: Record<string, string>; value: [number, string] }>;

describe("Prometheus and Alertmanager against a running Coffer", () => {
  let app: TestApp;
  let relay: Awaited<ReturnType<typeof startCuttableRelay>>;
  let receivers: Receivers;
  let alertmanager: Daemon;
  let prometheus: Daemon;

  async function query(expr: string): Promise<{ status: string; error?: string; data?: { resultType: string; result: Vector } }> {
    const response = await fetch(`${prometheus.url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    return (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: Vector } };
  }

  /** Waits until Prometheus has scraped the app `count` more times. */
  async function scrapes(count: number) {
    const samples = async () => Number((await query('count_over_time(up{job="coffer"}[10m])')).data?.result[0]?.value[1] ?? 0);
    const target = (await samples()) + count;
    await eventually(`${count} scrapes`, 15_000, async () => ((await samples()) >= target ? true : undefined));
  }

  let client: TestClient;
  let fileId: string;
  const pendingUploads: string[] = [];

  /** Page loads, form posts, an upload, a download and a search, failed logins: what users do. */
  async function traffic() {
    for (let i = 0; i < 5; i++) expect((await client.get("/files")).status).toBe(200);
    const stranger = new TestClient(app.url);
    const failed = await stranger.postForm("/login", { email: "nobody@example.com", password: "wrong password" });
    expect(failed.status).toBeGreaterThanOrEqual(400);
    expect((await client.get(`/download/${fileId}`)).status).toBe(200);
    expect((await client.get("/search?q=Runbook")).status).toBe(200);
  }

  beforeAll(async () => {
    const s3 = inject("services").s3;
    relay = await startCuttableRelay(new URL(s3.endpoint));
    [receivers, app] = await Promise.all([
      startReceivers(),
      startTestApp({ storage: "s3", cache: "memory" }, { METRICS_TOKEN: TOKEN, S3_ENDPOINT: relay.url }),
    ]);
    alertmanager = await startAlertmanager(receivers);
    prometheus = await startPrometheus((dir) => {
      fs.writeFileSync(path.join(dir, "metrics-token"), `${TOKEN}\n`);
      fs.mkdirSync(path.join(dir, "rules"));
      for (const file of ruleFiles()) {
        const groups = readRules(file);
        for (const rule of groups.flatMap((group) => group.rules)) if (rule.for) rule.for = "0s";
        fs.writeFileSync(path.join(dir, "rules", path.basename(file)), YAML.stringify({ groups }));
      }
      return {
        global: { scrape_interval: "1s", evaluation_interval: "1s" },
        rule_files: [path.join(dir, "rules/*.yml")],
        alerting: { alertmanagers: [{ static_configs: [{ targets: [new URL(alertmanager.url).host] }] }] },
        scrape_configs: [
          {
            job_name: "coffer",
            authorization: { type: "Bearer", credentials_file: path.join(dir, "metrics-token") },
            static_configs: [{ targets: [new URL(app.url).host] }],
          },
        ],
      };
    });

    // What users do, spread over scrapes: counters need two samples around the traffic for a rate.
    client = new TestClient(app.url);
    await client.register("Olive Operator", "olive.operator@example.com");
    const url = await createUpload(app, client, { name: "Runbook draft.txt", size: 11 });
    const done = await patchUpload(client, url, 0, new TextEncoder().encode("hello world"));
    expect(done.status).toBe(204);
    fileId = done.headers.get("coffer-file-id")!;
    await scrapes(2);
    await traffic();
    await scrapes(2);
    await traffic();
    // Uploads that will wait for their bytes when the store goes away.
    for (let i = 0; i < 3; i++) pendingUploads.push(await createUpload(app, client, { name: `Later ${i}.txt`, size: 5 }));
    await scrapes(2);
  });

  afterAll(async () => {
    await prometheus?.stop();
    await alertmanager?.stop();
    await receivers?.close();
    await relay?.cut();
  });

  it("scrapes Coffer with the token file, and every dashboard query parses; the core ones return data", async () => {
    const up = await query('up{job="coffer"}');
    expect(up.data!.result.map((sample) => sample.value[1])).toEqual(["1"]);

    const queries = panelQueries();
    expect(queries.length).toBeGreaterThan(40);
    const failures: string[] = [];
    const results = new Map<string, Vector>();
    for (const { dashboard, panel, refId, expr } of queries) {
      const answer = await query(grafanaQuery(expr));
      if (answer.status !== "success") failures.push(`${dashboard} / ${panel} ${refId}: ${answer.error}`);
      else results.set(`${dashboard} / ${panel} ${refId}`, answer.data!.result);
    }
    expect(failures).toEqual([]);

    const values = (key: string) => (results.get(key) ?? []).map((sample) => Number(sample.value[1]));
    const core = [
      "coffer-overview / Requests per second by route group A",
      "coffer-overview / 5xx ratio by route group A",
      "coffer-overview / Page load latency B",
      "coffer-overview / Drivers up A",
      "coffer-transfers / Downloads started per minute A",
      "coffer-security / Login attempts per minute by outcome A",
      "coffer-slo / Availability: 5xx ratio (5 min) against the SLO A",
      "coffer-jobs / Job backlog by queue A",
      "coffer-jobs / Job attempts per hour by queue and outcome A",
      "coffer-overview / Folder page latency B",
      "coffer-overview / Database query p95 by model and operation A",
      "coffer-overview / Database queries and errors per second A",
      "coffer-overview / Search p95 by operation A",
      "coffer-overview / Socket.IO events per minute A",
      "coffer-overview / Active users A",
      "coffer-storage / Stored bytes by driver A",
      "coffer-storage / Storage operation p95 A",
      "coffer-storage / Storage operation errors per minute A",
      "coffer-storage / Quota refusals per minute by operation A",
      "coffer-transfers / Share-link requests per minute by outcome A",
    ];
    for (const key of core) {
      expect(results.has(key), `no such panel query: ${key}`).toBe(true);
      // A ratio of a route group without requests in the window is NaN (Grafana leaves a gap).
      expect(values(key).filter(Number.isFinite).length, `${key} returned no data`).toBeGreaterThan(0);
    }
    expect(Math.max(...values("coffer-overview / Requests per second by route group A"))).toBeGreaterThan(0);
    expect(values("coffer-overview / 5xx ratio by route group A").filter(Number.isFinite)).toContain(0);
    expect(values("coffer-overview / 5xx ratio by route group A").filter((ratio) => ratio > 0)).toEqual([]);
    const p95 = values("coffer-overview / Page load latency B")[0]!;
    expect(p95).toBeGreaterThan(0);
    expect(p95).toBeLessThan(30);
    expect(values("coffer-overview / Drivers up A")).toEqual([1, 1, 1, 1]);
    expect(values("coffer-overview / Active users A")).toEqual([1, 1]);
    expect(Math.max(...values("coffer-overview / Database queries and errors per second A"))).toBeGreaterThan(0);
    const folderP95 = values("coffer-overview / Folder page latency B")[0]!;
    expect(folderP95).toBeGreaterThan(0);
    expect(folderP95).toBeLessThan(30);
    // Nothing is broken, so nothing but latency may fire: on this shared two-core machine a cold
    // production build can take longer than the SLO's 300 ms for a few folder pages.
    const firing = (await query('ALERTS{alertstate="firing"}')).data!.result.map((sample) => sample.metric.alertname);
    expect(firing.filter((name) => name !== "CofferLatencyBudgetBurn")).toEqual([]);
  });

  it("pages through Alertmanager when the object store goes down: one page for the driver, its symptoms inhibited", async () => {
    await relay.cut();
    // Users hit the outage: downloads and upload bytes need the store. Spread over scrapes: a
    // counter series born inside one scrape interval shows no increase until the next one.
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 4; i++) expect((await client.get(`/download/${fileId}`)).status).toBeGreaterThanOrEqual(500);
      const url = pendingUploads[round % pendingUploads.length]!;
      expect((await patchUpload(client, url, 0, new TextEncoder().encode("bytes"))).status).toBeGreaterThanOrEqual(500);
      await scrapes(1);
    }

    // The 5xx burst burns the availability budget at far more than 14.4x on both short windows.
    const burn = await eventually("the availability page", 20_000, () =>
      receivers.pagerduty.find((event) => event.payload.summary.includes("CofferAvailabilityBudgetBurn (availability SLO)")),
    );
    expect(burn.event_action).toBe("trigger");
    expect(burn.payload.custom_details.runbook).toBe("docs/runbooks.md#cofferavailabilitybudgetburn");

    // coffer_driver_up follows /readyz on a scrape at most every 30 s.
    const page = await eventually("the storage-down page", 45_000, () =>
      receivers.pagerduty.find((event) => event.payload.summary.includes("CofferDriverDown (storage)")),
    );
    expect(page.payload.summary).toBe("[FIRING:1] CofferDriverDown (storage): Coffer's storage is down");
    expect(page.payload.custom_details.runbook).toBe("docs/runbooks.md#cofferdriverdown");
    const slack = await eventually("the storage-down Slack message", 10_000, () =>
      receivers.slack.find((message) => message.attachments[0]!.title.includes("CofferDriverDown (storage)")),
    );
    expect(slack.attachments[0]!.text).toContain("Runbook: docs/runbooks.md#cofferdriverdown");

    // From now on the burn is explained by the driver: Alertmanager holds it back.
    const held = await eventually("the availability page to be inhibited", 10_000, async () => {
      const alerts = (await (
        await fetch(`${alertmanager.url}/api/v2/alerts?filter=alertname%3D%22CofferAvailabilityBudgetBurn%22`)
      ).json()) as Array<{
        labels: Record<string, string>;
        status: { state: string };
      }>;
      const pageAlert = alerts.find((alert) => alert.labels.severity === "page");
      return pageAlert?.status.state === "suppressed" ? pageAlert : undefined;
    });
    expect(held.labels.slo).toBe("availability");
    // The store's failures are counted by operation until the breaker stops calling it.
    const failed = await eventually("storage errors in Prometheus", 10_000, async () => {
      const result = (await query('sum(coffer_storage_operation_errors_total{job="coffer",driver="s3"})')).data!.result;
      const total = Number(result[0]?.value[1] ?? 0);
      return total > 0 ? total : undefined;
    });
    expect(failed).toBeGreaterThan(0);
    // The other drivers stayed up: no page for them.
    expect(receivers.pagerduty.filter((event) => /CofferDriverDown \((database|search|cache)\)/.test(event.payload.summary))).toEqual([]);
  });

  it("opens a ticket by email when someone guesses passwords", async () => {
    // Over 10 failures a minute on the 5-minute rate: about 60 failures, as fast as they go.
    const guesser = new TestClient(app.url);
    for (let batch = 0; batch < 7; batch++) {
      await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const answer = await guesser.postForm("/login", { email: `victim${i}@example.com`, password: `guess ${batch}` });
          expect(answer.status).toBeGreaterThanOrEqual(400);
        }),
      );
    }
    const mail = await eventually("the brute-force ticket's email", 20_000, () =>
      receivers.mail.find((message) => message.includes("CofferLoginFailureSpike")),
    );
    expect(mail).toMatch(/^To: ops@example\.com\r?$/m);
    expect(mail.replace(/=\r\n/g, "")).toContain("Runbook: docs/runbooks.md#cofferloginfailurespike");
    expect(receivers.pagerduty.some((event) => event.payload.summary.includes("CofferLoginFailureSpike"))).toBe(false);
  });
});
