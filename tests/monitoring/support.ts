// Real Prometheus and Alertmanager (Debian packages) for the monitoring tests, started on free
// loopback ports in temporary directories, and the receivers they notify (Slack and PagerDuty
// webhooks, an SMTP server), all started by the test.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import YAML from "yaml";
import { freePort } from "../setup/free-port";

export const run = promisify(execFile);
export const MONITORING_DIR = path.resolve(import.meta.dirname, "../../deploy/monitoring");
export const RULES_DIR = path.join(MONITORING_DIR, "prometheus/rules");
export const ALERTMANAGER_CONFIG = path.join(MONITORING_DIR, "alertmanager/alertmanager.yml");
export const DASHBOARDS_DIR = path.join(MONITORING_DIR, "grafana/dashboards");

export const ruleFiles = () =>
  fs
    .readdirSync(RULES_DIR)
    .filter((name) => name.endsWith(".yml"))
    .map((name) => path.join(RULES_DIR, name));

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function readRules(file: string): Array<{ name: string; rules: Rule[] }> {
  return (YAML.parse(fs.readFileSync(file, "utf8")) as { groups: Array<{ name: string; rules: Rule[] }> }).groups;
}

export const allRules = (): Rule[] => ruleFiles().flatMap((file) => readRules(file).flatMap((group) => group.rules));

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A child process started here, stopped (by its own pid) when the test is done. */
export interface Daemon {
  url: string;
  process: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

async function startDaemon(command: string, args: string[], readyUrl: string, dir: string): Promise<Daemon> {
  const child = spawn(command, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk));
  let exited = false;
  child.once("exit", () => (exited = true));
  const stop = async () => {
    if (!exited) {
      const gone = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (!exited) child.kill("SIGKILL");
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited) throw new Error(`${command} exited at start:\n${output}`);
    const ready = await fetch(readyUrl).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${command} was not ready within 20 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url: new URL(readyUrl).origin, process: child, output: () => output, stop };
}

/** Prometheus with `config` (an object, written as prometheus.yml into its own directory). */
export async function startPrometheus(makeConfig: (dir: string) => object): Promise<Daemon> {
  const dir = tempDir("coffer-prometheus-");
  const port = await freePort();
  fs.writeFileSync(path.join(dir, "prometheus.yml"), YAML.stringify(makeConfig(dir)));
  return startDaemon(
    "prometheus",
    [
      `--config.file=${path.join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    `http://127.0.0.1:${port}/-/ready`,
    dir,
  );
}

export interface Receivers {
  /** Slack messages: the channel and the attachment Alertmanager puts the title and text in. */
  slack: Array<{ channel: string; attachments: Array<{ title: string; text: string }> }>;
  pagerduty: Array<{
    routing_key: string;
    event_action: string;
    payload: { summary: string; severity: string; custom_details: Record<string, string> };
  }>;
  mail: string[];
  webhookUrl: string;
  smtpPort: number;
  close(): Promise<void>;
}

/**
 * The three receivers of the shipped Alertmanager configuration on loopback: an HTTP server for
 * the Slack webhook (/slack) and PagerDuty's Events API v2 (/pagerduty), and a minimal SMTP
 * server (no TLS, no AUTH advertised) that keeps each message's DATA.
 */
export async function startReceivers(): Promise<Receivers> {
  const received: Pick<Receivers, "slack" | "pagerduty" | "mail"> = { slack: [], pagerduty: [], mail: [] };
  const web = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk));
    req.on("end", () => {
      if (req.url === "/slack") received.slack.push(JSON.parse(body));
      else if (req.url === "/pagerduty") received.pagerduty.push(JSON.parse(body));
      res.writeHead(req.url === "/pagerduty" ? 202 : 200, { "content-type": "application/json" }).end('{"status":"success"}');
    });
  });
  const smtp = net.createServer((socket) => {
    let buffer = "";
    let inData = false;
    socket.write("220 localhost test SMTP\r\n");
    socket.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("latin1");
      for (;;) {
        if (inData) {
          const end = buffer.indexOf("\r\n.\r\n");
          if (end < 0) return;
          received.mail.push(buffer.slice(0, end));
          buffer = buffer.slice(end + 5);
          inData = false;
          socket.write("250 OK queued\r\n");
          continue;
        }
        const eol = buffer.indexOf("\r\n");
        if (eol < 0) return;
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        const verb = line.split(" ")[0]!.toUpperCase();
        if (verb === "EHLO" || verb === "HELO") socket.write("250-localhost\r\n250 8BITMIME\r\n");
        else if (verb === "DATA") {
          inData = true;
          socket.write("354 End data with <CR><LF>.<CR><LF>\r\n");
        } else if (verb === "QUIT") socket.end("221 Bye\r\n");
        else socket.write("250 OK\r\n");
      }
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => web.listen(0, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
  return {
    ...received,
    webhookUrl: `http://127.0.0.1:${(web.address() as net.AddressInfo).port}`,
    smtpPort: (smtp.address() as net.AddressInfo).port,
    async close() {
      web.closeAllConnections();
      await Promise.all([new Promise((resolve) => web.close(resolve)), new Promise((resolve) => smtp.close(resolve))]);
    },
  };
}

export const PAGERDUTY_ROUTING_KEY = "test-routing-key-0123456789abcdef";

/**
 * The shipped alertmanager.yml, changed only where a test must: the secret files and templates
 * point into the test's directory, PagerDuty's and SMTP's addresses at `receivers` (no TLS), and
 * the waits are short (`timing`).
 */
export function testAlertmanagerConfig(dir: string, receivers: Receivers, timing = { groupWait: "1s", groupInterval: "1s" }): object {
  const config = YAML.parse(fs.readFileSync(ALERTMANAGER_CONFIG, "utf8"));
  const secrets = path.join(dir, "secrets");
  fs.mkdirSync(secrets, { recursive: true });
  fs.writeFileSync(path.join(secrets, "slack-webhook-url"), `${receivers.webhookUrl}/slack\n`);
  fs.writeFileSync(path.join(secrets, "pagerduty-routing-key"), `${PAGERDUTY_ROUTING_KEY}\n`);
  fs.writeFileSync(path.join(secrets, "smtp-password"), "unused-by-the-test-server\n");
  const text = JSON.stringify(config)
    .replaceAll("/etc/alertmanager/secrets/", `${secrets}/`)
    .replaceAll("/etc/alertmanager/templates/", `${path.join(MONITORING_DIR, "alertmanager/templates")}/`);
  const rewritten = JSON.parse(text);
  rewritten.global.smtp_smarthost = `127.0.0.1:${receivers.smtpPort}`;
  rewritten.global.smtp_require_tls = false;
  for (const receiver of rewritten.receivers) {
    for (const pagerduty of receiver.pagerduty_configs ?? []) pagerduty.url = `${receivers.webhookUrl}/pagerduty`;
  }
  const shorten = (route: Record<string, unknown>) => {
    if ("group_wait" in route || route === rewritten.route) route.group_wait = timing.groupWait;
    if ("group_interval" in route || route === rewritten.route) route.group_interval = timing.groupInterval;
    for (const child of (route.routes as Array<Record<string, unknown>> | undefined) ?? []) shorten(child);
  };
  shorten(rewritten.route);
  return rewritten;
}

export async function startAlertmanager(receivers: Receivers): Promise<Daemon> {
  const dir = tempDir("coffer-alertmanager-");
  const port = await freePort();
  const file = path.join(dir, "alertmanager.yml");
  fs.writeFileSync(file, YAML.stringify(testAlertmanagerConfig(dir, receivers)));
  return startDaemon(
    "prometheus-alertmanager",
    [
      `--config.file=${file}`,
      `--storage.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // A single Alertmanager: no gossip port.
      "--cluster.listen-address=",
      "--log.level=warn",
    ],
    `http://127.0.0.1:${port}/-/ready`,
    dir,
  );
}

/** Polls `probe` until it returns a value (not undefined) or `ms` pass. */
export async function eventually<T>(what: string, ms: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const PROMQL_WORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "offset",
  "bool",
  "and",
  "or",
  "unless",
  "inf",
  "nan",
]);

/**
 * The metric names a PromQL expression reads: identifiers that are not functions (followed by
 * "("), keywords, label names (inside {…} or by/on/… lists), durations or numbers.
 */
export function metricNames(expr: string): string[] {
  const text = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const match of text.matchAll(/(\d+(?:\.\d+)?(?:e[+-]?\d+)?[a-z]*)|([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, number, name, call] = match;
    if (number || call || PROMQL_WORDS.has(name!.toLowerCase())) continue;
    names.add(name!);
  }
  return [...names];
}

/**
 * The sample names a Prometheus text exposition declares (from its TYPE lines, so a labelled
 * counter that has not counted anything yet is known too): a histogram's _bucket, _sum, _count.
 */
export function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(`${name}${suffix}`);
    else if (type === "summary") for (const suffix of ["", "_sum", "_count"]) names.add(`${name}${suffix}`);
    else names.add(name!);
  }
  return names;
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ refId: string; expr: string; datasource?: { type: string; uid: string } }>;
  gridPos: { x: number; y: number; w: number; h: number };
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: unknown[] };
}

export const dashboards = (): Array<{ file: string; dashboard: Dashboard }> =>
  fs
    .readdirSync(DASHBOARDS_DIR)
    .filter((name) => name.endsWith(".json"))
    .map((name) => ({ file: name, dashboard: JSON.parse(fs.readFileSync(path.join(DASHBOARDS_DIR, name), "utf8")) as Dashboard }));

/** Grafana's interval variables, as Grafana would set them for a short time range. */
export function grafanaQuery(expr: string, rateInterval = "1m"): string {
  return expr.replaceAll("$__rate_interval", rateInterval).replaceAll("$__interval", "15s").replaceAll("$__range", "1h");
}

/** Every query of every panel: `{ dashboard, panel, refId, expr }`. */
export function panelQueries() {
  return dashboards().flatMap(({ dashboard }) =>
    dashboard.panels
      .filter((panel) => panel.type !== "row")
      .flatMap((panel) =>
        (panel.targets ?? []).map((target) => ({ dashboard: dashboard.uid, panel: panel.title, refId: target.refId, expr: target.expr })),
      ),
  );
}
