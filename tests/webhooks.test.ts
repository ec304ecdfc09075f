// Webhooks (decision 0035, docs/webhooks.md) against a real database and real HTTP receivers on
// 127.0.0.1: Standard Webhooks signatures checked by the reference implementation (npm
// standardwebhooks), retries with backoff, the endpoint turned off after the last attempt and its
// owner notified, who hears of what, the SSRF table (refused with the allow-list off), DNS
// rebinding, redirects not followed, timeouts and capped response excerpts.
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Webhook as ReferenceWebhook } from "standardwebhooks";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "~/config.server";
import { SYSTEM_ACTOR } from "~/domain/audit/audit.server";
import { dispatchEvents } from "~/domain/events/dispatcher.server";
import { deliverWebhooks, MAX_ATTEMPTS, retryDelayMs, signWebhook } from "~/domain/events/webhook-delivery.server";
import {
  createWebhook,
  deleteWebhook,
  listWebhooks,
  rotateWebhookSecret,
  sendTestEvent,
  setWebhookEnabled,
  updateWebhook,
} from "~/domain/events/webhooks.server";
import { purgeEventHistory } from "~/domain/events/retention.server";
import { createFolder, getRootFolder } from "~/domain/files/folders.server";
import { shareWithUser } from "~/domain/sharing/user-shares.server";
import { closeServices, createServices, type Services } from "~/services/index.server";
import { createLogger } from "~/services/logger.server";
import { allowList, EXCERPT_BYTES, refusedAddress, refusedUrl } from "~/services/webhook-http.server";
import { createTestDatabase } from "./support/database";
import { expectPayloadsMatchSchemas } from "./support/event-payloads";

/** Who the tests act as, in the audit log. */
const AUDIT = SYSTEM_ACTOR;

type Actor = { id: string; role: "USER" | "ADMIN" };
type Received = { headers: http.IncomingHttpHeaders; body: string; at: number };

let services: Services;
let alice: Actor;
let bob: Actor;
let admin: Actor;
let aliceRoot: string;
const LOOPBACK = ["127.0.0.1/32"];

/** A receiver on 127.0.0.1 that records what it gets and answers as told. */
async function receiver(
  answer: (request: Received, index: number) => { status: number; body?: string; headers?: Record<string, string> } | null = () => ({
    status: 204,
  }),
) {
  const got: Received[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const entry = { headers: request.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() };
      got.push(entry);
      const reply = answer(entry, got.length - 1);
      if (!reply) return; // never answers
      response.writeHead(reply.status, reply.headers ?? {});
      response.end(reply.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as AddressInfo).port;
  return { got, port, url: `http://127.0.0.1:${port}/hook` };
}

async function createUser(email: string, role: "USER" | "ADMIN" = "USER"): Promise<Actor> {
  const user = await services.prisma.user.create({ data: { email, name: email.split("@")[0], passwordHash: "x", role } });
  await getRootFolder(services, user.id);
  return { id: user.id, role };
}

/** Everything the outbox holds, through the dispatcher and then the delivery job. */
async function flush(options: Parameters<typeof deliverWebhooks>[1] = {}) {
  await dispatchEvents(services);
  return deliverWebhooks(services, options);
}

const deliveriesOf = (webhookId: string) =>
  services.prisma.webhookDelivery.findMany({ where: { webhookId }, orderBy: { createdAt: "asc" } });

beforeAll(async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-webhooks-"));
  const url = (await createTestDatabase()).url;
  const env = {
    NODE_ENV: "production",
    DATA_DIR: dataDir,
    DATABASE_URL: url,
    LOG_LEVEL: "error",
    SESSION_SECRET: "test-secret-that-is-at-least-32-characters-long",
  };
  services = await createServices(loadConfig(env), createLogger("error"));
  afterAll(async () => {
    await closeServices(services);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  alice = await createUser("alice@example.com");
  bob = await createUser("bob@example.com");
  admin = await createUser("admin@example.com", "ADMIN");
  aliceRoot = (await getRootFolder(services, alice.id)).id;
});

beforeEach(async () => {
  // Each test starts with no endpoints and nothing left in the outbox.
  services.config.webhookAllowNetworks = LOOPBACK;
  await dispatchEvents(services);
  await services.prisma.webhook.deleteMany();
});

describe("signatures", () => {
  it("signs every delivery so that the reference implementation verifies it, and no other secret does", async () => {
    const target = await receiver();
    const { secret, webhook } = await createWebhook(services, alice, { url: target.url, eventTypes: ["folder.created"] }, AUDIT);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    // Stored encrypted: the secret is nowhere in the row.
    const row = await services.prisma.webhook.findUniqueOrThrow({ where: { id: webhook.id } });
    expect(JSON.stringify(row)).not.toContain(secret.slice(6));

    const folder = await createFolder(services, alice, aliceRoot, "Signed");
    expect(await flush()).toMatchObject({ delivered: 1 });
    expect(target.got).toHaveLength(1);
    const [request] = target.got;
    const headers = request!.headers as Record<string, string>;
    const payload = new ReferenceWebhook(secret).verify(request!.body, headers) as { type: string; data: Record<string, unknown> };
    expect(payload.type).toBe("folder.created");
    expect(payload.data).toMatchObject({ subjectType: "folder", subjectId: folder.id, actorId: alice.id, name: "Signed" });
    expect(headers["webhook-id"]).toBe((await deliveriesOf(webhook.id))[0]!.id);
    // The log keeps exactly what was sent, and the listing shows it.
    expect((await deliveriesOf(webhook.id))[0]!.requestBody).toBe(request!.body);
    const [listed] = await listWebhooks(services, alice);
    expect(listed!.deliveries[0]!.requestBody).toBe(request!.body);

    // A wrong secret, a changed body, and a replay older than the tolerance (5 minutes) fail.
    expect(() => new ReferenceWebhook(`whsec_${Buffer.alloc(24, 1).toString("base64")}`).verify(request!.body, headers)).toThrow();
    expect(() => new ReferenceWebhook(secret).verify(request!.body.replace("Signed", "Forged"), headers)).toThrow();
    const later = Date.now() + 10 * 60_000;
    vi.spyOn(Date, "now").mockReturnValue(later);
    try {
      expect(() => new ReferenceWebhook(secret).verify(request!.body, headers)).toThrow(/timestamp/i);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it("signs with the new secret once it is rotated", async () => {
    const target = await receiver();
    const { secret: first, webhook } = await createWebhook(services, alice, { url: target.url, eventTypes: ["folder.created"] }, AUDIT);
    const second = await rotateWebhookSecret(services, alice, webhook.id, AUDIT);
    expect(second).not.toBe(first);
    await createFolder(services, alice, aliceRoot, "Rotated");
    await flush();
    const headers = target.got[0]!.headers as Record<string, string>;
    expect(() => new ReferenceWebhook(second).verify(target.got[0]!.body, headers)).not.toThrow();
    expect(() => new ReferenceWebhook(first).verify(target.got[0]!.body, headers)).toThrow();
  });

  it("matches the Standard Webhooks example signature", () => {
    // The specification's worked example.
    const body = '{"test": 2432232314}';
    expect(signWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)).toBe(
      "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    );
  });
});

describe("retries", () => {
  it("retries a 500 with growing pauses, under the same webhook-id, until it is taken", async () => {
    const target = await receiver((_, index) => ({ status: index < 2 ? 500 : 200, body: index < 2 ? "busy" : "ok" }));
    const { webhook } = await createWebhook(services, alice, { url: target.url, eventTypes: ["folder.created"] }, AUDIT);
    await createFolder(services, alice, aliceRoot, "Retried");
    await dispatchEvents(services);
    const deadline = Date.now() + 10_000;
    while (target.got.length < 3 && Date.now() < deadline) {
      await deliverWebhooks(services, { retryBaseMs: 150 });
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(target.got).toHaveLength(3);
    expect(new Set(target.got.map((entry) => entry.headers["webhook-id"])).size).toBe(1);
    const [a, b, c] = target.got.map((entry) => entry.at) as [number, number, number];
    // 150 ms then 600 ms (±10 %): exponential, not immediate.
    expect(b - a).toBeGreaterThanOrEqual(130);
    expect(c - b).toBeGreaterThanOrEqual(530);
    const [delivery] = await deliveriesOf(webhook.id);
    expect(delivery).toMatchObject({ status: "delivered", attempts: 3, responseStatus: 200, responseExcerpt: "ok" });
    expect((await services.prisma.webhook.findUniqueOrThrow({ where: { id: webhook.id } })).failingSince).toBeNull();
  });

  it("spreads the schedule over about 21 hours with jitter", () => {
    const total = Array.from({ length: MAX_ATTEMPTS - 1 }, (_, i) => retryDelayMs(i + 1, undefined, () => 0.5)).reduce((a, b) => a + b, 0);
    expect(total / 3600_000).toBeGreaterThan(20);
    expect(total / 3600_000).toBeLessThan(24 / 1.1);
    expect(retryDelayMs(1, 1000, () => 0)).toBe(900);
    expect(retryDelayMs(1, 1000, () => 1)).toBe(1100);
    expect(retryDelayMs(2, 1000, () => 0.5)).toBe(4000);
  });

  it("turns the endpoint off after the last attempt and notifies its owner", async () => {
    const target = await receiver(() => ({ status: 500, body: "x".repeat(5000) }));
    const { webhook } = await createWebhook(services, alice, { url: target.url, eventTypes: ["folder.created"] }, AUDIT);
    await createFolder(services, alice, aliceRoot, "Doomed");
    await dispatchEvents(services);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      // Time passes: the retry is due now.
      await services.prisma.webhookDelivery.updateMany({ where: { webhookId: webhook.id }, data: { nextAttemptAt: new Date(0) } });
      await deliverWebhooks(services);
      const [delivery] = await deliveriesOf(webhook.id);
      expect(delivery!.attempts).toBe(attempt);
      if (attempt === 1)
        expect((await services.prisma.webhook.findUniqueOrThrow({ where: { id: webhook.id } })).failingSince).not.toBeNull();
    }
    expect(target.got).toHaveLength(MAX_ATTEMPTS);
    const [delivery] = await deliveriesOf(webhook.id);
    expect(delivery).toMatchObject({ status: "failed", responseStatus: 500 });
    expect(delivery!.responseExcerpt!.length).toBe(EXCERPT_BYTES);
    expect(await services.prisma.webhook.findUniqueOrThrow({ where: { id: webhook.id } })).toMatchObject({
      enabled: false,
      disabledReason: "failures",
    });
    await dispatchEvents(services);
    const notices = await services.prisma.notification.findMany({ where: { userId: alice.id, kind: "webhook.disabled" } });
    expect(notices).toHaveLength(1);
    // Audited as the system's doing, with the owner and why.
    const turnedOff = await services.prisma.auditEvent.findMany({ where: { action: "webhook.disabled", targetId: webhook.id } });
    expect(turnedOff).toHaveLength(1);
    expect(turnedOff[0]).toMatchObject({ actorId: null, actorLabel: "system", targetType: "webhook" });
    expect(turnedOff[0]!.details).toMatchObject({ reason: "failures", ownerId: alice.id, attempts: MAX_ATTEMPTS });
    // Nothing more is sent to an endpoint that is off, until its owner turns it on again.
    await createFolder(services, alice, aliceRoot, "After");
    await flush();
    expect(target.got).toHaveLength(MAX_ATTEMPTS);
    await setWebhookEnabled(services, alice, webhook.id, true, AUDIT);
    expect(await services.prisma.webhook.findUniqueOrThrow({ where: { id: webhook.id } })).toMatchObject({
      enabled: true,
      disabledReason: null,
    });
  });

  it("gives up on an endpoint that does not answer within the timeout", async () => {
    const target = await receiver(() => null);
    const { webhook } = await createWebhook(services, alice, { url: target.url, eventTypes: ["folder.created"] }, AUDIT);
    await createFolder(services, alice, aliceRoot, "Silent");
    expect(await flush({ timeoutMs: 300 })).toMatchObject({ retrying: 1 });
    const [delivery] = await deliveriesOf(webhook.id);
    expect(delivery).toMatchObject({ status: "pending", responseStatus: null });
    expect(delivery!.error).toMatch(/no answer within 300 ms/);
    expect(delivery!.durationMs).toBeLessThan(2000);
  });

  it("keeps a resource's events in order while an earlier one is retried", async () => {
    let failFirst = true;
    const target = await receiver((entry) => {
      const failing = failFirst && JSON.parse(entry.body).type === "folder.created";
      if (failing) failFirst = false;
      return { status: failing ? 503 : 204 };
    });
    await createWebhook(services, alice, { url: target.url, eventTypes: ["folder.created", "folder.updated"] }, AUDIT);
    const folder = await createFolder(services, alice, aliceRoot, "Ordered");
    await services.prisma.$transaction((tx) =>
      import("~/domain/audit/activity.server").then(({ recordActivity }) =>
        recordActivity(tx, {
          userId: alice.id,
          ownerId: alice.id,
          action: "folder.renamed",
          subjectType: "folder",
          subjectId: folder.id,
          details: { from: "Ordered", to: "Renamed" },
        }),
      ),
    );
    await flush({ retryBaseMs: 1, maxBatches: 1 });
    // The rename waits for the creation: only the failed creation went out.
    expect(target.got.map((entry) => JSON.parse(entry.body).type)).toEqual(["folder.created"]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await deliverWebhooks(services, { retryBaseMs: 1 });
    expect(target.got.map((entry) => JSON.parse(entry.body).type)).toEqual(["folder.created", "folder.created", "folder.updated"]);
  });
});

describe("who hears of what", () => {
  it("sends a user's endpoint only events about what they did, own or were given", async () => {
    const aliceTarget = await receiver();
    const bobTarget = await receiver();
    await createWebhook(services, alice, { url: aliceTarget.url, eventTypes: ["folder.created", "share.granted"] }, AUDIT);
    await createWebhook(services, bob, { url: bobTarget.url, eventTypes: ["folder.created", "share.granted"] }, AUDIT);
    const folder = await createFolder(services, alice, aliceRoot, "Private to Alice");
    await flush();
    expect(aliceTarget.got).toHaveLength(1);
    expect(bobTarget.got).toHaveLength(0);
    await shareWithUser(services, alice, { kind: "folder", id: folder.id }, { email: "bob@example.com" }, SYSTEM_ACTOR);
    await flush();
    expect(bobTarget.got.map((entry) => JSON.parse(entry.body).type)).toEqual(["share.granted"]);
    expect(aliceTarget.got).toHaveLength(2);
  });

  it("lets only administrators register an instance-wide endpoint, which hears of everyone", async () => {
    const target = await receiver();
    await expect(
      createWebhook(services, alice, { url: target.url, eventTypes: ["folder.created"], scope: "instance" }, AUDIT),
    ).rejects.toMatchObject({ status: 403 });
    const { webhook } = await createWebhook(services, admin, { url: target.url, eventTypes: ["folder.created"], scope: "instance" }, AUDIT);
    await createFolder(services, bob, (await getRootFolder(services, bob.id)).id, "Bob's");
    await flush();
    expect(target.got).toHaveLength(1);
    // An administrator no longer: the endpoint hears of nobody else.
    await services.prisma.user.update({ where: { id: admin.id }, data: { role: "USER" } });
    try {
      await createFolder(services, bob, (await getRootFolder(services, bob.id)).id, "Bob's second");
      await flush();
      expect(target.got).toHaveLength(1);
    } finally {
      await services.prisma.user.update({ where: { id: admin.id }, data: { role: "ADMIN" } });
    }
    expect((await deliveriesOf(webhook.id)).length).toBe(1);
  });

  it("audits every change of an endpoint, with its host but not its URL or secret", async () => {
    const target = await receiver();
    const as = { actorId: alice.id, actorLabel: "alice@example.com", ip: "203.0.113.9", userAgent: "test" };
    const url = `${target.url}?token=sekrit`;
    const { webhook, secret } = await createWebhook(services, alice, { url, eventTypes: ["folder.created"] }, as);
    await updateWebhook(services, alice, webhook.id, { eventTypes: ["folder.created", "file.created"] }, as);
    // The same again changes nothing, so it records nothing.
    await updateWebhook(services, alice, webhook.id, { eventTypes: ["folder.created", "file.created"], enabled: true }, as);
    await updateWebhook(services, alice, webhook.id, { enabled: false }, as);
    await setWebhookEnabled(services, alice, webhook.id, true, as);
    const rotated = await rotateWebhookSecret(services, alice, webhook.id, as);
    await deleteWebhook(services, alice, webhook.id, as);
    const rows = await services.prisma.auditEvent.findMany({
      where: { targetType: "webhook", targetId: webhook.id },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    });
    expect(rows.map((row) => row.action)).toEqual([
      "webhook.created",
      "webhook.updated",
      "webhook.disabled",
      "webhook.enabled",
      "webhook.secret_rotated",
      "webhook.deleted",
    ]);
    for (const row of rows) expect(row).toMatchObject({ actorId: alice.id, ip: "203.0.113.9", outcome: "success" });
    expect(rows[0]!.details).toMatchObject({ host: new URL(target.url).host, ownerId: alice.id, eventTypes: ["folder.created"] });
    expect(rows[1]!.details).toMatchObject({ changed: ["eventTypes"] });
    expect(rows[2]!.details).toMatchObject({ reason: "owner" });
    const text = JSON.stringify(rows);
    for (const hidden of ["sekrit", secret.slice(6), rotated.slice(6)]) expect(text).not.toContain(hidden);
    // A refused change records nothing.
    await expect(updateWebhook(services, bob, webhook.id, { enabled: false }, as)).rejects.toMatchObject({ status: 404 });
    expect(await services.prisma.auditEvent.count({ where: { targetType: "webhook", targetId: webhook.id } })).toBe(6);
  });

  it("keeps each person's endpoints to themselves", async () => {
    const target = await receiver();
    const { webhook } = await createWebhook(services, alice, { url: target.url, eventTypes: ["folder.created"] }, AUDIT);
    for (const act of [
      () => deleteWebhook(services, bob, webhook.id, AUDIT),
      () => setWebhookEnabled(services, bob, webhook.id, false, AUDIT),
      () => rotateWebhookSecret(services, bob, webhook.id, AUDIT),
      () => sendTestEvent(services, bob, webhook.id),
    ]) {
      await expect(act()).rejects.toMatchObject({ status: 404 });
    }
    expect(await listWebhooks(services, bob)).toEqual([]);
    expect(await services.prisma.webhook.findUniqueOrThrow({ where: { id: webhook.id } })).toMatchObject({ enabled: true });
  });

  it("sends a test event to the one endpoint it was asked for", async () => {
    const target = await receiver();
    const other = await receiver();
    const { webhook } = await createWebhook(services, alice, { url: target.url, eventTypes: ["folder.created"] }, AUDIT);
    await createWebhook(services, alice, { url: other.url, eventTypes: ["folder.created"] }, AUDIT);
    await sendTestEvent(services, alice, webhook.id);
    await flush();
    expect(target.got.map((entry) => JSON.parse(entry.body).type)).toEqual(["webhook.test"]);
    expect(other.got).toHaveLength(0);
  });
});

describe("registration refuses bad input, and nothing is stored", () => {
  it.each([
    ["not a URL", "not a url"],
    ["a scheme other than http(s)", "ftp://example.com/hook"],
    ["a file URL", "file:///etc/passwd"],
    ["credentials", "https://user:pass@example.com/hook"],
    ["a huge URL", `https://example.com/${"a".repeat(3000)}`],
  ])("%s", async (_, url) => {
    await expect(createWebhook(services, alice, { url, eventTypes: ["folder.created"] }, AUDIT)).rejects.toMatchObject({ status: 400 });
    expect(await services.prisma.webhook.count()).toBe(0);
  });

  it("an unknown event type, or none", async () => {
    for (const eventTypes of [["file.exploded"], [], ["webhook.test"]]) {
      await expect(createWebhook(services, alice, { url: "https://example.com/hook", eventTypes }, AUDIT)).rejects.toMatchObject({
        status: 400,
      });
    }
    expect(await services.prisma.webhook.count()).toBe(0);
  });
});

describe("SSRF", () => {
  const none = allowList([]);
  it.each([
    ["IPv4 loopback", "http://127.0.0.1/"],
    ["IPv4 loopback, elsewhere in 127/8", "http://127.5.6.7/"],
    ["IPv4 loopback as a decimal number", "http://2130706433/"],
    ["IPv4 loopback in hex", "http://0x7f.0.0.1/"],
    ["localhost", "http://localhost:8080/"],
    ["10/8", "http://10.0.0.5/"],
    ["172.16/12", "http://172.31.255.255/"],
    ["192.168/16", "http://192.168.1.1/"],
    ["carrier-grade NAT", "http://100.64.0.1/"],
    ["this network", "http://0.0.0.0/"],
    ["link-local, the cloud metadata address", "http://169.254.169.254/latest/meta-data/"],
    ["multicast", "http://224.0.0.1/"],
    ["broadcast", "http://255.255.255.255/"],
    ["IPv6 loopback", "http://[::1]/"],
    ["IPv6 unspecified", "http://[::]/"],
    ["IPv6 unique-local", "http://[fd12:3456::1]/"],
    ["IPv6 AWS metadata", "http://[fd00:ec2::254]/"],
    ["IPv6 link-local", "http://[fe80::1]/"],
    ["IPv4-mapped IPv6 loopback", "http://[::ffff:127.0.0.1]/"],
    ["IPv4-mapped IPv6 metadata", "http://[::ffff:169.254.169.254]/"],
    ["NAT64 of a private address", "http://[64:ff9b::a00:1]/"],
    ["6to4", "http://[2002:7f00:1::]/"],
  ])("refuses %s", async (_, url) => {
    services.config.webhookAllowNetworks = [];
    expect(refusedUrl(new URL(url), none)).not.toBeNull();
    await expect(createWebhook(services, alice, { url, eventTypes: ["folder.created"] }, AUDIT)).rejects.toMatchObject({ status: 400 });
  });

  it("lets public addresses through", () => {
    for (const url of ["https://example.com/hook", "http://93.184.216.34/", "http://[2606:4700::1111]/", "https://8.8.8.8:8443/x"]) {
      expect(refusedUrl(new URL(url), none)).toBeNull();
    }
    expect(refusedAddress("::ffff:8.8.8.8", none)).toBeNull();
    expect(refusedAddress("::ffff:7f00:1", none)).not.toBeNull();
    expect(refusedAddress("127.0.0.1", allowList(["127.0.0.1/32"]))).toBeNull();
    expect(refusedAddress("127.0.0.2", allowList(["127.0.0.1/32"]))).not.toBeNull();
  });

  it("refuses loopback at delivery when it is not allow-listed, and nothing reaches the receiver", async () => {
    const target = await receiver();
    const { webhook } = await createWebhook(services, alice, { url: target.url, eventTypes: ["folder.created"] }, AUDIT);
    services.config.webhookAllowNetworks = [];
    await createFolder(services, alice, aliceRoot, "Refused");
    await flush();
    expect(target.got).toHaveLength(0);
    const [delivery] = await deliveriesOf(webhook.id);
    expect(delivery).toMatchObject({ status: "pending", responseStatus: null });
    expect(delivery!.error).toMatch(/private, loopback/);
  });

  it("checks the address a name resolves to when connecting (DNS rebinding)", async () => {
    const target = await receiver();
    // Registered while the name pointed elsewhere; it now resolves to loopback.
    const { webhook } = await createWebhook(
      services,
      alice,
      {
        url: `http://rebind.example.com:${target.port}/hook`,
        eventTypes: ["folder.created"],
      },
      AUDIT,
    );
    const rebound = ((
      _host: string,
      _options: unknown,
      callback: (error: null, addresses: Array<{ address: string; family: number }>) => void,
    ) => callback(null, [{ address: "127.0.0.1", family: 4 }])) as unknown as typeof import("node:dns").lookup;
    services.config.webhookAllowNetworks = [];
    await createFolder(services, alice, aliceRoot, "Rebound");
    await flush({ lookup: rebound });
    expect(target.got).toHaveLength(0);
    expect((await deliveriesOf(webhook.id))[0]!.error).toMatch(/rebind\.example\.com resolves to 127\.0\.0\.1/);
    // The same lookup reaches the receiver once loopback is allow-listed: the connection uses its answer.
    services.config.webhookAllowNetworks = LOOPBACK;
    await services.prisma.webhookDelivery.updateMany({ where: { webhookId: webhook.id }, data: { nextAttemptAt: new Date(0) } });
    await deliverWebhooks(services, { lookup: rebound });
    expect(target.got).toHaveLength(1);
  });

  it("does not follow a redirect, to the metadata address or anywhere", async () => {
    const inner = await receiver();
    const toMetadata = await receiver(() => ({ status: 302, headers: { location: "http://169.254.169.254/latest/meta-data/" } }));
    const toInner = await receiver(() => ({ status: 307, headers: { location: inner.url } }));
    const first = await createWebhook(services, alice, { url: toMetadata.url, eventTypes: ["folder.created"] }, AUDIT);
    const second = await createWebhook(services, alice, { url: toInner.url, eventTypes: ["folder.created"] }, AUDIT);
    await createFolder(services, alice, aliceRoot, "Redirected");
    await flush();
    expect(toMetadata.got).toHaveLength(1);
    expect(toInner.got).toHaveLength(1);
    expect(inner.got).toHaveLength(0);
    expect((await deliveriesOf(first.webhook.id))[0]).toMatchObject({ status: "pending", responseStatus: 302 });
    expect((await deliveriesOf(first.webhook.id))[0]!.error).toMatch(/redirect not followed \(to http:\/\/169\.254\.169\.254/);
    expect((await deliveriesOf(second.webhook.id))[0]).toMatchObject({ status: "pending", responseStatus: 307 });
  });
});

describe("payload schemas", () => {
  it("hold every event these tests wrote, webhook.test and webhook.disabled included (docs/events.md#payload-schemas)", async () => {
    const kinds = await expectPayloadsMatchSchemas(services.prisma);
    expect(kinds).toEqual(expect.arrayContaining(["webhook.test", "webhook.disabled", "folder.created", "folder.updated"]));
  });
});

describe("load", () => {
  // 2,000 in the suite; WEBHOOK_LOAD_EVENTS=10000 for the figure (docs/webhooks.md).
  const COUNT = Number(process.env.WEBHOOK_LOAD_EVENTS) || 2_000;
  it(`delivers ${COUNT} events to a local receiver in bounded memory, and prints the throughput`, { timeout: 600_000 }, async () => {
    let received = 0;
    const ids = new Set<string>();
    const target = await receiver((entry) => {
      received++;
      ids.add(String(entry.headers["webhook-id"]));
      entry.body = ""; // keep nothing of it
      return { status: 204 };
    });
    target.got.length = 0;
    await createWebhook(services, alice, { url: target.url, eventTypes: ["file.created"] }, AUDIT);
    for (let start = 0; start < COUNT; start += 1_000) {
      await services.prisma.event.createMany({
        data: Array.from({ length: Math.min(1_000, COUNT - start) }, (_, i) => ({
          kind: "file.created",
          actorUserId: alice.id,
          ownerUserId: alice.id,
          subjectType: "file",
          subjectId: `load-${start + i}`,
          resourceKey: `file:load-${start + i}`,
          payload: { name: `load-${start + i}.txt`, size: 1 },
        })),
      });
    }
    global.gc?.();
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().heapUsed);
      target.got.length = 0;
    }, 50);
    const began = Date.now();
    try {
      while ((await dispatchEvents(services)).delivered > 0);
      await deliverWebhooks(services);
    } finally {
      clearInterval(sampler);
    }
    const seconds = (Date.now() - began) / 1000;
    console.log(
      `webhooks load: ${received} deliveries in ${seconds.toFixed(1)} s, ${(received / seconds).toFixed(0)}/s; heap grew by at most ${((peak - baseline) / 2 ** 20).toFixed(1)} MiB`,
    );
    expect(received).toBe(COUNT);
    expect(ids.size).toBe(COUNT);
    // 20 deliveries in flight at a time: the heap does not grow with the number of events.
    expect(peak - baseline).toBeLessThan(256 * 2 ** 20);
  });
});

describe("retention", () => {
  it("deletes deliveries and dispatched events past their retention, keeping what is recent or still needed", async () => {
    const target = await receiver();
    const { webhook } = await createWebhook(services, alice, { url: target.url, eventTypes: ["folder.created"] }, AUDIT);
    for (const name of ["Old one", "Old two", "Recent"]) await createFolder(services, alice, aliceRoot, name);
    await flush();
    const deliveries = await deliveriesOf(webhook.id);
    expect(deliveries.map((delivery) => delivery.status)).toEqual(["delivered", "delivered", "delivered"]);
    // An event no sink kept anything of (bob's own, with no endpoint or notification), and one not yet dispatched.
    await createFolder(services, bob, (await getRootFolder(services, bob.id)).id, "Bob's old");
    await dispatchEvents(services);
    const bobEvent = await services.prisma.event.findFirstOrThrow({ where: { actorUserId: bob.id, kind: "folder.created" } });
    await createFolder(services, bob, (await getRootFolder(services, bob.id)).id, "Bob's undispatched");
    const undispatched = await services.prisma.event.findFirstOrThrow({ where: { dispatchedAt: null } });

    const now = new Date();
    const daysAgo = (days: number) => new Date(now.getTime() - days * 24 * 3600 * 1000);
    const [old1, old2, recent] = deliveries;
    await services.prisma.webhookDelivery.updateMany({ where: { id: { in: [old1!.id, old2!.id] } }, data: { createdAt: daysAgo(31) } });
    await services.prisma.webhookDelivery.update({ where: { id: recent!.id }, data: { createdAt: daysAgo(29) } });
    await services.prisma.event.updateMany({ data: { createdAt: daysAgo(40) } });

    // A small batch, so the loop runs more than once.
    const first = await purgeEventHistory(services, now, 1);
    expect(first.webhookDeliveries).toBe(2);
    expect((await deliveriesOf(webhook.id)).map((delivery) => delivery.id)).toEqual([recent!.id]);
    const left = new Set((await services.prisma.event.findMany({ select: { id: true } })).map((event) => event.id));
    // The two events whose deliveries went are gone, as is bob's; the recent delivery's event and the undispatched one stay.
    expect(left.has(old1!.eventId) || left.has(old2!.eventId)).toBe(false);
    expect(left.has(bobEvent.id)).toBe(false);
    expect(left.has(recent!.eventId)).toBe(true);
    expect(left.has(undispatched.id)).toBe(true);
    expect(first.events).toBeGreaterThanOrEqual(3);

    // Nothing more to do; a longer retention from the config keeps everything.
    expect(await purgeEventHistory(services, now)).toMatchObject({ webhookDeliveries: 0, events: 0 });
    const before = services.config.webhookDeliveryRetentionDays;
    services.config.webhookDeliveryRetentionDays = 60;
    try {
      await services.prisma.webhookDelivery.update({ where: { id: recent!.id }, data: { createdAt: daysAgo(45) } });
      expect((await purgeEventHistory(services, now)).webhookDeliveries).toBe(0);
    } finally {
      services.config.webhookDeliveryRetentionDays = before;
    }
    expect((await purgeEventHistory(services, now)).webhookDeliveries).toBe(1);
    await dispatchEvents(services);
  });

  it("keeps an event a notification still shows", async () => {
    const folder = await createFolder(services, alice, aliceRoot, "Shared with bob");
    await shareWithUser(services, alice, { kind: "folder", id: folder.id }, { email: "bob@example.com" }, SYSTEM_ACTOR);
    await dispatchEvents(services);
    const notice = await services.prisma.notification.findFirstOrThrow({ where: { userId: bob.id }, orderBy: { createdAt: "desc" } });
    await services.prisma.event.updateMany({ data: { createdAt: new Date(Date.now() - 90 * 24 * 3600 * 1000) } });
    await purgeEventHistory(services);
    expect(await services.prisma.event.count({ where: { id: notice.eventId } })).toBe(1);
    expect(await services.prisma.notification.count({ where: { id: notice.id } })).toBe(1);
  });

  it("defaults both retentions to 30 days and refuses a nonsense value", () => {
    const base = { DATABASE_URL: "postgresql://x/y", SESSION_SECRET: "x".repeat(32) };
    const config = loadConfig(base);
    expect(config).toMatchObject({ webhookDeliveryRetentionDays: 30, eventRetentionDays: 30 });
    expect(loadConfig({ ...base, WEBHOOK_DELIVERY_RETENTION_DAYS: "7", EVENT_RETENTION_DAYS: "90" })).toMatchObject({
      webhookDeliveryRetentionDays: 7,
      eventRetentionDays: 90,
    });
    expect(() => loadConfig({ ...base, EVENT_RETENTION_DAYS: "0" })).toThrow(/EVENT_RETENTION_DAYS/);
  });
});
