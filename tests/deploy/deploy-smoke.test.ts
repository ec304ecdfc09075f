// scripts/deploy-smoke.sh, the deploy workflow's health gate: against the production build it
// passes, and fails once the server starts draining; its error-rate sources (two /metrics scrapes,
// a Prometheus query) fail a release above the threshold. Needs `npm run build`.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../setup/free-port";
import { TestClient } from "../support/client";
import { createTestDatabase } from "../support/database";

const REPO = path.resolve(import.meta.dirname, "../..");
const SMOKE = path.join(REPO, "scripts/deploy-smoke.sh");
const METRICS_TOKEN = "deploy-smoke-test-token-0123456789";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function smoke(args: string[], env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile("bash", [SMOKE, ...args], { env: { PATH: process.env.PATH ?? "", NODE_ENV: "production", ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, output: stdout + stderr }),
    );
  });
}

async function startApp(): Promise<{ url: string; child: ChildProcess }> {
  if (!fs.existsSync(path.join(REPO, "build/start.js"))) throw new Error("No production build: run `npm run build` first.");
  const { url: databaseUrl } = await createTestDatabase();
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-smoke-"));
  const child = spawn(process.execPath, ["build/start.js"], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: String(port),
      DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      SESSION_SECRET: "deploy-smoke-test-secret-0123456789abcdef",
      METRICS_TOKEN,
      LOG_LEVEL: "warn",
    },
    stdio: "ignore",
  });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

/** A new account on the app at `url`, signed in, and an access token of it with `scopes`. */
async function userWithToken(url: string, scopes: string[]): Promise<{ client: TestClient; token: string }> {
  const deadline = Date.now() + 90_000;
  while (
    (await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    )) !== 200
  ) {
    if (Date.now() > deadline) throw new Error(`${url} not ready after 90 s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const client = new TestClient(url);
  await client.register("Smoke Check", `smoke-${randomBytes(4).toString("hex")}@example.com`);
  const created = await client.request("/api/v1/me/tokens", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "Deploy smoke", scopes }),
  });
  expect(created.status, await created.clone().text()).toBe(201);
  return { client, token: (await created.json()).secret };
}

/** A stand-in HTTP server answering `routes[path]()` as JSON or text. */
async function fakeServer(routes: Record<string, (url: URL) => { status: number; body: string }>): Promise<string> {
  const server = http.createServer((request, response) => {
    const url = new URL(request.url!, "http://x");
    const route = routes[url.pathname];
    const { status, body } = route ? route(url) : { status: 404, body: "" };
    response.writeHead(status).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const healthy = { "/healthz": () => ({ status: 200, body: "ok" }), "/readyz": () => ({ status: 200, body: "{}" }) };

describe("scripts/deploy-smoke.sh", () => {
  it("passes a running production build, counting the requests it answered from /metrics", async () => {
    const { url } = await startApp();
    const traffic = setInterval(
      () =>
        void fetch(`${url}/login`).then(
          (response) => response.arrayBuffer(),
          () => {},
        ),
      200,
    );
    cleanups.push(() => clearInterval(traffic));
    const { code, output } = await smoke([url], { METRICS_TOKEN, SMOKE_WAIT_SECONDS: "90", SMOKE_WATCH_SECONDS: "3" });
    expect(output).toContain("ready: /healthz 200, /readyz 200");
    expect(output).toMatch(/deploy-smoke: [1-9]\d* requests answered in 3 s, 0 with a 5xx/);
    expect(output).toContain("deploy-smoke: healthy");
    expect(code).toBe(0);
  });

  it("walks a user's journey with SMOKE_TOKEN and leaves nothing behind", async () => {
    const { url } = await startApp();
    const { client, token } = await userWithToken(url, ["files:write"]);
    const { code, output } = await smoke([url], {
      SMOKE_TOKEN: token,
      SMOKE_ERROR_RATE: "off",
      SMOKE_WAIT_SECONDS: "90",
      SMOKE_WATCH_SECONDS: "0",
    });
    expect(output).toMatch(
      /journey: listed, uploaded, downloaded \(SHA-256 matches\), trashed and deleted deploy-smoke-\S+\.bin in \d+ ms/,
    );
    expect(code, output).toBe(0);
    const root = await (await client.get("/api/v1/folders/root")).json();
    const children = await (await client.get(`/api/v1/folders/${root.id}/children`)).json();
    expect(children.items).toEqual([]);
    expect(await (await client.get("/trash")).text()).not.toContain("deploy-smoke-");
  });

  it("fails the journey, naming the step, for a read-only token or one not accepted", async () => {
    const { url } = await startApp();
    const { token } = await userWithToken(url, ["files:read"]);
    const env = { SMOKE_ERROR_RATE: "off", SMOKE_WAIT_SECONDS: "90", SMOKE_WATCH_SECONDS: "0" };
    const readOnly = await smoke([url], { ...env, SMOKE_TOKEN: token });
    expect(readOnly.output).toMatch(/UNHEALTHY: journey: upload start answered 403, not 201/);
    expect(readOnly.code).toBe(1);
    const unknown = await smoke([url], { ...env, SMOKE_TOKEN: "coffer_pat_notatoken" });
    expect(unknown.output).toMatch(/UNHEALTHY: journey: top folder answered 401, not 200/);
    expect(unknown.code).toBe(1);
  });

  it("fails when the server stops being ready during the watch", async () => {
    const { url, child } = await startApp();
    const ready = await smoke([url], { SMOKE_ERROR_RATE: "off", SMOKE_WAIT_SECONDS: "90", SMOKE_WATCH_SECONDS: "0" });
    expect(ready.code, ready.output).toBe(0);
    const watching = smoke([url], { SMOKE_ERROR_RATE: "off", SMOKE_WAIT_SECONDS: "5", SMOKE_WATCH_SECONDS: "20" });
    setTimeout(() => child.kill("SIGTERM"), 1500);
    const { code, output } = await watching;
    expect(output).toMatch(/UNHEALTHY: \/readyz answered (503|unreachable.*) while watching/);
    expect(code).toBe(1);
  });

  it("fails a release that never becomes ready", async () => {
    const url = await fakeServer({ ...healthy, "/readyz": () => ({ status: 503, body: "{}" }) });
    const { code, output } = await smoke([url], { SMOKE_ERROR_RATE: "off", SMOKE_WAIT_SECONDS: "1" });
    expect(output).toContain("UNHEALTHY: not ready after 1 s: /healthz 200, /readyz 503");
    expect(code).toBe(1);
  });

  it("fails when more than SMOKE_MAX_ERROR_RATIO of the requests between two scrapes failed", async () => {
    let scrapes = 0;
    const url = await fakeServer({
      ...healthy,
      "/metrics": () => {
        scrapes++;
        // 100 more page requests, 10 of them 5xx; health and aborted requests do not count.
        const n = scrapes === 1 ? 0 : 1;
        const body = [
          `coffer_http_requests_total{method="GET",route="page",status="2xx"} ${1000 + 90 * n}`,
          `coffer_http_requests_total{method="GET",route="page",status="5xx"} ${3 + 10 * n}`,
          `coffer_http_requests_total{method="GET",route="health",status="5xx"} ${500 * n}`,
          `coffer_http_requests_total{method="GET",route="page",status="aborted"} ${400 * n}`,
        ].join("\n");
        return { status: 200, body };
      },
    });
    const failing = await smoke([url], { METRICS_TOKEN, SMOKE_WATCH_SECONDS: "0" });
    expect(failing.output).toContain("100 requests answered in 0 s, 10 with a 5xx");
    expect(failing.output).toContain("UNHEALTHY: error ratio 0.1000 is above 0.02");
    expect(failing.code).toBe(1);
    scrapes = 0;
    const tolerant = await smoke([url], { METRICS_TOKEN, SMOKE_WATCH_SECONDS: "0", SMOKE_MAX_ERROR_RATIO: "0.2" });
    expect(tolerant.code, tolerant.output).toBe(0);
  });

  it("asks Prometheus for the 5xx ratio of the user-facing routes and fails above the threshold", async () => {
    let ratio = "0.5";
    const queries: string[] = [];
    const prometheus = await fakeServer({
      "/api/v1/query": (url) => {
        queries.push(url.searchParams.get("query")!);
        const result = [{ metric: {}, value: [0, ratio] }];
        return { status: 200, body: JSON.stringify({ status: "success", data: { resultType: "vector", result } }) };
      },
    });
    const app = await fakeServer(healthy);
    const failing = await smoke([app], { PROMETHEUS_URL: prometheus, SMOKE_WATCH_SECONDS: "0" });
    expect(failing.output).toContain("UNHEALTHY: error ratio 0.5000 is above 0.02");
    expect(failing.code).toBe(1);
    ratio = "0.001";
    const passing = await smoke([app], { PROMETHEUS_URL: prometheus, SMOKE_WATCH_SECONDS: "0" });
    expect(passing.output).toContain("error ratio 0.0010 (at most 0.02)");
    expect(passing.code).toBe(0);
    expect(queries[0]).toBe(
      'sum(rate(coffer_http_requests_total{route=~"page|folder|action|api|tus|download|share",status="5xx"}[1s])) / ' +
        'sum(rate(coffer_http_requests_total{route=~"page|folder|action|api|tus|download|share",status!="aborted"}[1s]))',
    );
  });

  it("refuses to run without a URL or an error-rate source", async () => {
    expect((await smoke([], { METRICS_TOKEN })).code).toBe(2);
    const noSource = await smoke(["http://127.0.0.1:1"], {});
    expect(noSource.output).toContain("set PROMETHEUS_URL or METRICS_TOKEN");
    expect(noSource.code).toBe(2);
  });
});
