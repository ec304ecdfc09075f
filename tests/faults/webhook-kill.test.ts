// kill -9 of the webhook send step (issue 19, decision 0035): the production build posts a
// delivery to a receiver that holds the request open; the app is killed with SIGKILL mid-send and
// started again on the same database. The delivery is made again under the same webhook-id (at
// least once: a receiver drops the duplicate by it), signed with the same secret, and the log ends
// as delivered.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Webhook as ReferenceWebhook } from "standardwebhooks";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort } from "../setup/free-port";
import { TestClient } from "../support/client";
import { createTestDatabase, type TestDatabase } from "../support/database";

const REPO = path.resolve(import.meta.dirname, "../..");
const SECRET = "webhook-kill-test-secret-0123456789abcdef";

let database: TestDatabase;
let dataDir: string;
let port: number;
let child: ChildProcess | null = null;
let output = "";

type Received = { headers: http.IncomingHttpHeaders; body: string; response: http.ServerResponse };
const received: Received[] = [];
/** The first request is held open (never answered): the app is killed while it waits. */
const holdFirst = true;
const receiver = http.createServer((request, response) => {
  let body = "";
  request.setEncoding("utf8");
  request.on("data", (chunk) => (body += chunk));
  request.on("end", () => {
    received.push({ headers: request.headers, body, response });
    if (holdFirst && received.length === 1) return;
    response.writeHead(204).end();
  });
});

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output.slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** build/start.js on the test's database, as `npm start` runs it. */
async function startApp(): Promise<string> {
  if (!fs.existsSync(path.join(REPO, "build/start.js"))) throw new Error("No production build: run `npm run build` first.");
  const started = spawn(process.execPath, ["build/start.js"], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: String(port),
      APP_URL: `http://127.0.0.1:${port}`,
      DATA_DIR: dataDir,
      DATABASE_URL: database.url,
      SESSION_SECRET: SECRET,
      LOG_LEVEL: "warn",
      WEBHOOK_ALLOW_NETWORKS: "127.0.0.1/32",
      RATE_LIMIT_AUTH: "100000/1m",
      RATE_LIMIT_GENERAL: "100000/1m",
      RATE_LIMIT_API: "100000/1m",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = started;
  started.stdout!.on("data", (chunk) => (output += chunk));
  started.stderr!.on("data", (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  await until(
    "the app to answer /healthz",
    async () => {
      if (started.exitCode !== null) throw new Error(`build/start.js exited (code ${started.exitCode}):\n${output}`);
      return (await fetch(`${url}/healthz`).then(
        (response) => response.ok,
        () => false,
      ))
        ? true
        : undefined;
    },
    90_000,
  );
  return url;
}

async function kill9(): Promise<void> {
  const running = child;
  if (!running || running.exitCode !== null || running.signalCode !== null) return;
  const exited = new Promise((resolve) => running.once("exit", resolve));
  running.kill("SIGKILL");
  await exited;
}

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-webhook-kill-"));
  port = await freePort();
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
});

afterAll(async () => {
  await kill9();
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
  fs.rmSync(dataDir, { recursive: true, force: true });
});

it("delivers again, under the same webhook-id, after the app is killed with SIGKILL mid-send", { timeout: 240_000 }, async () => {
  const url = await startApp();
  const owner = new TestClient(url);
  await owner.register("Kim Killed", "kim@example.com");
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const created = await owner.request("/api/v1/me/webhooks", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ url: hookUrl, eventTypes: ["folder.created"] }),
  });
  expect(created.status).toBe(201);
  const { id: webhookId, secret } = (await created.json()) as { id: string; secret: string };

  // The app's own jobs dispatch the event and start sending it; the receiver holds the request.
  const tested = await owner.request(`/api/v1/me/webhooks/${webhookId}/test`, { method: "POST" });
  expect(tested.status).toBe(202);
  const first = await until("the first attempt to arrive", () => received[0]);
  const { prisma } = database;
  const inFlight = await prisma.webhookDelivery.findFirstOrThrow({ where: { webhookId } });
  expect(inFlight).toMatchObject({ status: "sending", attempts: 1 });
  expect(first.headers["webhook-id"]).toBe(inFlight.id);

  // kill -9 mid-send: no answer was read, nothing was recorded; the claim is left behind.
  await kill9();
  first.response.destroy();
  expect(await prisma.webhookDelivery.findUniqueOrThrow({ where: { id: inFlight.id } })).toMatchObject({
    status: "sending",
    responseStatus: null,
    lastAttemptAt: null,
  });
  // The claim lapses after 2 minutes; let that time pass rather than wait it out. (The delivery
  // job the killed app was running holds its queue until its 20 s heartbeat is missed.)
  await prisma.webhookDelivery.update({ where: { id: inFlight.id }, data: { lockedUntil: new Date(Date.now() - 1000) } });

  await startApp();
  // A second test event wakes the delivery job at once (otherwise its schedule runs within a
  // minute); it waits behind the first, an earlier event of the same resource.
  const again = new TestClient(url);
  await again.login("kim@example.com");
  expect((await again.request(`/api/v1/me/webhooks/${webhookId}/test`, { method: "POST" })).status).toBe(202);

  const delivered = await until(
    "the delivery to be recorded as delivered",
    async () => {
      const row = await prisma.webhookDelivery.findUniqueOrThrow({ where: { id: inFlight.id } });
      return row.status === "delivered" ? row : undefined;
    },
    120_000,
  );
  expect(delivered).toMatchObject({ attempts: 2, responseStatus: 204, lockedUntil: null });
  const resent = received.filter((entry) => entry.headers["webhook-id"] === inFlight.id);
  expect(resent.length).toBeGreaterThanOrEqual(2);
  // The same event, signed anew with the same secret: a receiver verifies it and drops the duplicate by its id.
  for (const entry of resent) {
    const event = new ReferenceWebhook(secret).verify(entry.body, entry.headers as Record<string, string>) as { type: string };
    expect(event.type).toBe("webhook.test");
  }
  expect(JSON.parse(resent.at(-1)!.body)).toEqual(JSON.parse(first.body));
  expect(delivered.requestBody).toBe(resent.at(-1)!.body);
  // And the second event follows, once the first is through.
  await until("the second delivery", async () =>
    (await prisma.webhookDelivery.count({ where: { webhookId, status: "delivered" } })) === 2 ? true : undefined,
  );
});
