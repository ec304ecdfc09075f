// /settings/webhooks over HTTP on the production build, as a browser without JavaScript uses it:
// add an endpoint (the secret shown once), a receiver on 127.0.0.1 gets signed events, send a test
// event, see the delivery log, rotate, turn off and on, delete; someone else's endpoint is not
// found; hostile input gets a 4xx and changes nothing. Delivery itself is tests/webhooks.test.ts's.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook as ReferenceWebhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dispatchEvents } from "~/domain/events/dispatcher.server";
import { deliverWebhooks } from "~/domain/events/webhook-delivery.server";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

let app: TestApp;
let olivia: TestClient;
let mallory: TestClient;
let oliviaId: string;
const got: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
let receiverUrl: string;

async function html(response: Response): Promise<string> {
  return (await response.text()).replaceAll("<!-- -->", "");
}

const secretIn = (text: string) =>
  /id="new-secret"[^>]*value="(whsec_[^"]+)"|value="(whsec_[^"]+)"[^>]*id="new-secret"/.exec(text)?.slice(1).find(Boolean);

async function flush() {
  await dispatchEvents(app.services);
  await deliverWebhooks(app.services);
}

/**
 * Flushes until the receiver has an event of that type. The app's own job worker may claim the
 * event or delivery first, and then one flush here finds nothing to do while that send is in flight.
 */
async function receivedOfType(type: string) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    await flush();
    const found = got.find((entry) => JSON.parse(entry.body).type === type);
    const pending = await app.services.prisma.webhookDelivery.count({ where: { status: { in: ["pending", "sending"] } } });
    if ((found && pending === 0) || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A form post with repeated fields (a checkbox group), as a browser sends it. */
function post(client: TestClient, fields: Record<string, string | string[]>) {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) for (const one of [value].flat()) body.append(name, one);
  return client.request("/settings/webhooks", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: body.toString(),
  });
}

const hooksOf = (userId: string) => app.services.prisma.webhook.findMany({ where: { userId }, orderBy: { createdAt: "asc" } });

beforeAll(async () => {
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      got.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });
  receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/coffer`;
  app = await startTestApp({ storage: "local", cache: "memory" }, { WEBHOOK_ALLOW_NETWORKS: "127.0.0.1/32" });
  olivia = new TestClient(app.url);
  mallory = new TestClient(app.url);
  await olivia.register("Olivia Owner", "olivia@example.com");
  await mallory.register("Mallory Other", "mallory@example.com");
  oliviaId = (await app.services.prisma.user.findUniqueOrThrow({ where: { email: "olivia@example.com" } })).id;
});

describe("/settings/webhooks", () => {
  let secret: string;
  let hookId: string;

  it("adds a webhook and shows its secret once", async () => {
    const added = await post(olivia, { intent: "create", url: receiverUrl, eventTypes: ["folder.created", "file.created"] });
    expect(added.status).toBe(200);
    expect(added.headers.get("cache-control")).toBe("no-store");
    const text = await html(added);
    secret = secretIn(text)!;
    expect(secret).toMatch(/^whsec_/);
    const [hook] = await hooksOf(oliviaId);
    hookId = hook!.id;
    expect(hook).toMatchObject({ url: receiverUrl, eventTypes: ["folder.created", "file.created"], enabled: true, scope: "user" });
    // Listed afterwards by its hint only.
    const page = await html(await olivia.get("/settings/webhooks"));
    expect(page).toContain(receiverUrl);
    expect(page).toContain(`whsec_…${secret.slice(-4)}`);
    expect(page).not.toContain(secret);
    expect(await html(await mallory.get("/settings/webhooks"))).not.toContain(receiverUrl);
  });

  it("delivers my events, signed with that secret, and logs them", async () => {
    const created = await olivia.postForm("/files", { intent: "create-folder", name: "Hooked" });
    expect(created.status).toBeLessThan(400);
    const delivery = await receivedOfType("folder.created");
    expect(delivery).toBeDefined();
    const event = new ReferenceWebhook(secret).verify(delivery!.body, delivery!.headers as Record<string, string>) as {
      data: { name: string };
    };
    expect(event.data.name).toBe("Hooked");
    const page = await html(await olivia.get("/settings/webhooks"));
    expect(page).toContain("Recent deliveries");
    expect(page).toContain("Delivered (HTTP 204)");
    // What was sent, in a <details> that opens without JavaScript: the event's JSON, no secret.
    expect(page).toMatch(/<details><summary[^>]*>Request body<\/summary><pre[^>]*>[^<]*&quot;type&quot;: &quot;folder.created&quot;/);
    expect(page).toContain("&quot;name&quot;: &quot;Hooked&quot;");
    expect(page).not.toContain(secret.slice(6));
  });

  it("sends a test event", async () => {
    const sent = await olivia.postForm("/settings/webhooks", { intent: "test", webhook: hookId });
    expect(sent.status).toBe(302);
    expect(sent.headers.get("location")).toBe("/settings/webhooks?done=tested");
    expect(await receivedOfType("webhook.test")).toBeDefined();
  });

  it("rotates the secret, showing the new one once", async () => {
    const rotated = await olivia.postForm("/settings/webhooks", { intent: "rotate", webhook: hookId });
    expect(rotated.status).toBe(200);
    const fresh = secretIn(await html(rotated));
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(secret);
  });

  it("keeps my webhook out of another person's reach", async () => {
    for (const intent of ["disable", "delete", "rotate", "test"]) {
      expect((await mallory.postForm("/settings/webhooks", { intent, webhook: hookId })).status).toBe(404);
    }
    expect(await hooksOf(oliviaId)).toMatchObject([{ enabled: true }]);
  });

  it("turns it off and on, and deletes it", async () => {
    expect((await olivia.postForm("/settings/webhooks", { intent: "disable", webhook: hookId })).status).toBe(302);
    expect(await hooksOf(oliviaId)).toMatchObject([{ enabled: false, disabledReason: "owner" }]);
    expect(await html(await olivia.get("/settings/webhooks?done=disabled"))).toContain("The webhook is off.");
    expect((await olivia.postForm("/settings/webhooks", { intent: "enable", webhook: hookId })).status).toBe(302);
    expect(await hooksOf(oliviaId)).toMatchObject([{ enabled: true }]);
    expect((await olivia.postForm("/settings/webhooks", { intent: "delete", webhook: hookId })).status).toBe(302);
    expect(await hooksOf(oliviaId)).toEqual([]);
  });

  it.each([
    ["a bad URL", { url: "not a url", eventTypes: "folder.created" }, 400],
    ["a huge URL", { url: `https://example.com/${"a".repeat(5000)}`, eventTypes: "folder.created" }, 400],
    ["another scheme", { url: "gopher://example.com/", eventTypes: "folder.created" }, 400],
    ["a private address", { url: "http://10.0.0.1/hook", eventTypes: "folder.created" }, 400],
    ["the metadata address", { url: "http://169.254.169.254/latest/meta-data/", eventTypes: "folder.created" }, 400],
    ["a bad event type", { url: "https://example.com/hook", eventTypes: "file.exploded" }, 400],
    ["an administrators' kind, not an administrator", { url: "https://example.com/hook", eventTypes: ["file.created", "job.failed"] }, 400],
    ["no event type", { url: "https://example.com/hook" }, 400],
    ["everyone's events, not an administrator", { url: "https://example.com/hook", eventTypes: "folder.created", scope: "instance" }, 403],
    ["an unknown intent", { intent: "explode", url: "https://example.com/hook", eventTypes: "folder.created" }, 400],
    ["an unknown webhook", { intent: "delete", webhook: "nope" }, 404],
    ["a webhook id with a NUL byte", { intent: "delete", webhook: "a\u0000b" }, 404],
  ])("refuses %s, and nothing changes", async (_, form, status) => {
    const before = await app.services.prisma.webhook.count();
    // Mallory is no administrator (Olivia, the first account, is).
    const answer = await post(mallory, { intent: "create", ...form });
    expect(answer.status).toBe(status);
    expect(await app.services.prisma.webhook.count()).toBe(before);
  });
});

describe("the administrators' kinds", () => {
  const ADMIN_ONLY = ["job.failed", "admin.announcement", "settings.updated", "user.quota_changed"];
  const offered = (page: string) => [...page.matchAll(/name="eventTypes" value="([a-z_.]+)"/g)].map((m) => m[1]);
  const api = (client: TestClient, method: string, url: string, body: unknown) =>
    client.request(url, { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  it("are offered on the page to administrators only", async () => {
    const mine = offered(await html(await mallory.get("/settings/webhooks")));
    expect(mine).toContain("file.created");
    for (const kind of ADMIN_ONLY) expect(mine).not.toContain(kind);
    const admins = offered(await html(await olivia.get("/settings/webhooks")));
    for (const kind of ADMIN_ONLY) expect(admins).toContain(kind);
  });

  it("are refused through the API for anyone else with a 422 on eventTypes, and accepted for administrators", async () => {
    const before = await app.services.prisma.webhook.count();
    const refused = await api(mallory, "POST", "/api/v1/me/webhooks", { url: "https://example.com/hook", eventTypes: ["job.failed"] });
    expect(refused.status).toBe(422);
    expect((await refused.json()).errors).toEqual([{ pointer: "/body/eventTypes", detail: expect.stringContaining("job.failed") }]);
    expect(await app.services.prisma.webhook.count()).toBe(before);
    const created = await api(mallory, "POST", "/api/v1/me/webhooks", { url: "https://example.com/hook", eventTypes: ["file.created"] });
    expect(created.status).toBe(201);
    const { id } = await created.json();
    const patched = await api(mallory, "PATCH", `/api/v1/me/webhooks/${id}`, { eventTypes: ["file.created", "settings.updated"] });
    expect(patched.status).toBe(422);
    expect((await app.services.prisma.webhook.findUniqueOrThrow({ where: { id } })).eventTypes).toEqual(["file.created"]);
    const admins = await api(olivia, "POST", "/api/v1/me/webhooks", {
      url: "https://example.com/hook",
      eventTypes: ADMIN_ONLY,
      scope: "instance",
    });
    expect(admins.status).toBe(201);
    expect((await admins.json()).eventTypes).toEqual(ADMIN_ONLY);
  });
});
