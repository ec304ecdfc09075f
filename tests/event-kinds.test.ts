// The event kinds no activity records (issue 19, decision 0038, docs/events.md) against a real
// database and a real webhook receiver on 127.0.0.1: each is produced once by its trigger, reaches
// the notification centre of the right people, and a registered webhook with ids and metadata,
// never a secret.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "~/config.server";
import { removePasskey } from "~/domain/accounts/passkeys.server";
import { createSession, restartSessions } from "~/domain/accounts/sessions.server";
import { disableTotp } from "~/domain/accounts/mfa.server";
import { saveSettingsForm, setUserQuota, settingsFormValues } from "~/domain/admin/admin.server";
import { sendAnnouncement } from "~/domain/admin/announcements.server";
import { SYSTEM_ACTOR } from "~/domain/audit/audit.server";
import { dispatchEvents } from "~/domain/events/dispatcher.server";
import { listNotifications } from "~/domain/events/notifications.server";
import { deliverWebhooks } from "~/domain/events/webhook-delivery.server";
import { createWebhook } from "~/domain/events/webhooks.server";
import { createFolder, getRootFolder } from "~/domain/files/folders.server";
import { createShareLink } from "~/domain/sharing/share-links.server";
import { noticeExpiringShares } from "~/domain/sharing/share-expiry-notices.server";
import { landFormUpload } from "~/domain/uploads/upload-landing.server";
import { uploadActivity } from "~/domain/uploads/uploads.server";
import { noticeFailedJobs } from "~/domain/jobs/job-failures.server";
import { closeServices, createServices, type Services } from "~/services/index.server";
import { startJobQueue } from "~/services/job-queue.server";
import { createLogger } from "~/services/logger.server";
import { createTestDatabase } from "./support/database";
import { expectPayloadsMatchSchemas } from "./support/event-payloads";

const SILENT = { debug() {}, info() {}, warn() {}, error() {} };
type Actor = { id: string; role: "USER" | "ADMIN"; email: string };
type Received = { type: string; data: Record<string, unknown> };

let services: Services;
let databaseUrl = "";
let alice: Actor;
let bob: Actor;
let admin: Actor;
const got: Received[] = [];
let hookUrl = "";
/** Alice's user endpoint, the administrator's instance endpoint: both hear of every kind they may. */
const hooks: Record<string, string> = {};

async function createUser(email: string, role: "USER" | "ADMIN" = "USER"): Promise<Actor> {
  const user = await services.prisma.user.create({ data: { email, name: email.split("@")[0]!, passwordHash: "x", role } });
  await getRootFolder(services, user.id);
  return { id: user.id, role, email };
}

/** Everything in the outbox through the dispatcher and the webhook delivery job. */
async function flush(): Promise<void> {
  await dispatchEvents(services);
  await deliverWebhooks(services);
}

const eventsOf = (kind: string) => services.prisma.event.findMany({ where: { kind }, orderBy: { seq: "asc" } });
const notifiedOf = async (kind: string) =>
  (await services.prisma.notification.findMany({ where: { kind }, select: { userId: true } })).map((row) => row.userId).sort();
/** What each endpoint received of a kind: [endpoint's owner, data]. */
const received = (kind: string) => got.filter((entry) => entry.type === kind);

async function sessionOf(user: Actor): Promise<{ id: string; sessionId: string }> {
  const sessionId = `s-${user.id}-${Math.random().toString(36).slice(2)}`;
  // Confirmed just now: sensitive actions need no password (reauth).
  await services.prisma.session.create({
    data: { id: sessionId, userId: user.id, expiresAt: new Date(Date.now() + 3600_000), reauthenticatedAt: new Date() },
  });
  return { id: user.id, sessionId };
}

const auditOf = (user: Actor) => ({ actorId: user.id, actorLabel: user.email, ip: "203.0.113.7", userAgent: null });

beforeAll(async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-event-kinds-"));
  const url = (await createTestDatabase()).url;
  databaseUrl = url;
  const env = {
    NODE_ENV: "production",
    DATA_DIR: dataDir,
    DATABASE_URL: url,
    LOG_LEVEL: "error",
    SESSION_SECRET: "test-secret-that-is-at-least-32-characters-long",
  };
  services = await createServices(loadConfig(env), createLogger("error"));
  services.config.webhookAllowNetworks = ["127.0.0.1/32"];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Received;
      got.push({ type: body.type, data: { ...body.data, hook: request.url } });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  afterAll(async () => {
    server.closeAllConnections();
    server.close();
    await closeServices(services);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  alice = await createUser("alice@example.com");
  bob = await createUser("bob@example.com");
  admin = await createUser("admin@example.com", "ADMIN");
  const kinds = [
    "user.quota_threshold",
    "share.expiring",
    "security.new_device_login",
    "security.mfa_disabled",
    "admin.announcement",
    "job.failed",
  ];
  const adminKinds = ["admin.announcement", "job.failed"];
  const userKinds = kinds.filter((kind) => !adminKinds.includes(kind));
  await expect(createWebhook(services, alice, { url: `${hookUrl}/alice`, eventTypes: kinds }, SYSTEM_ACTOR)).rejects.toMatchObject({
    status: 400,
    fieldErrors: { eventTypes: expect.stringContaining("admin.announcement") },
  });
  hooks.alice = (await createWebhook(services, alice, { url: `${hookUrl}/alice`, eventTypes: userKinds }, SYSTEM_ACTOR)).webhook.id;
  // As if subscribed while an administrator: delivery still keeps the administrators' kinds from a user endpoint.
  await services.prisma.webhook.update({ where: { id: hooks.alice }, data: { eventTypes: kinds } });
  hooks.admin = (
    await createWebhook(services, admin, { url: `${hookUrl}/instance`, eventTypes: kinds, scope: "instance" }, SYSTEM_ACTOR)
  ).webhook.id;
});

/** The JSON of every delivery must hold none of these. */
function expectNoSecrets(entries: Received[], secrets: string[]): void {
  const text = JSON.stringify(entries);
  for (const secret of secrets) expect(text).not.toContain(secret);
}

describe("security.mfa_disabled", () => {
  it("tells the owner when the authenticator app is turned off, once", async () => {
    await services.prisma.totpCredential.create({
      data: { userId: alice.id, secretEncrypted: "not-a-real-secret", confirmedAt: new Date() },
    });
    await disableTotp(services, auditOf(alice), await sessionOf(alice), "");
    await flush();
    const [event, ...more] = await eventsOf("security.mfa_disabled");
    expect(more).toEqual([]);
    expect(event).toMatchObject({ actorUserId: alice.id, ownerUserId: alice.id, subjectType: "user", subjectId: alice.id });
    expect(event!.payload).toEqual({ method: "totp", passkeysLeft: 0 });
    expect(await notifiedOf("security.mfa_disabled")).toEqual([alice.id]);
    const { days } = await listNotifications(services, alice.id, null);
    expect(days[0]!.entries[0]).toMatchObject({ who: "alice", href: "/settings/security" });
    expect(days[0]!.entries[0]!.what).toContain("turned off two-step verification");
    // Alice's endpoint and the instance endpoint, each once; no secret of the credential.
    expect(
      received("security.mfa_disabled")
        .map((entry) => entry.data.hook)
        .sort(),
    ).toEqual(["/alice", "/instance"]);
    expect(received("security.mfa_disabled")[0]!.data).toMatchObject({ subjectId: alice.id, method: "totp" });
    expectNoSecrets(received("security.mfa_disabled"), ["not-a-real-secret"]);
  });

  it("tells the owner when the last passkey goes, and not before", async () => {
    const passkey = (n: number) => ({
      userId: bob.id,
      credentialId: `cred-${n}`,
      publicKey: Buffer.from([n]),
      deviceType: "singleDevice",
      backedUp: false,
      name: `key ${n}`,
    });
    const first = await services.prisma.passkey.create({ data: passkey(1) });
    const second = await services.prisma.passkey.create({ data: passkey(2) });
    const session = await sessionOf(bob);
    await removePasskey(services, auditOf(bob), session, first.id, "");
    await flush();
    expect(await eventsOf("security.mfa_disabled")).toHaveLength(1);
    await removePasskey(services, auditOf(bob), session, second.id, "");
    await flush();
    const events = await eventsOf("security.mfa_disabled");
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({ ownerUserId: bob.id, payload: { method: "passkeys", passkeysLeft: 0 } });
    expect(await notifiedOf("security.mfa_disabled")).toEqual([alice.id, bob.id].sort());
    // Bob has no endpoint: only the instance one hears of it.
    expect(
      received("security.mfa_disabled")
        .filter((entry) => entry.data.subjectId === bob.id)
        .map((entry) => entry.data.hook),
    ).toEqual(["/instance"]);
  });
});

describe("job.failed", () => {
  it("tells every active administrator, and nobody else, once per failure for good", async () => {
    const deactivated = await createUser("old-admin@example.com", "ADMIN");
    await services.prisma.user.update({ where: { id: deactivated.id }, data: { deactivatedAt: new Date() } });
    const queue = await startJobQueue(databaseUrl, {
      log: SILENT,
      pollingIntervalSeconds: 0.5,
      superviseIntervalSeconds: 1,
      schedule: false,
    });
    try {
      expect(await noticeFailedJobs(services)).toEqual({ failures: 0 });
      let attempts = 0;
      await queue.define({ name: "test-broken", kind: "per-item", retryLimit: 1, retryDelaySeconds: 1 }, async () => {
        attempts++;
        throw new Error("refused postgres://coffer:hunter2@db.internal/coffer");
      });
      const jobId = await queue.send("test-broken", {});
      await vi.waitFor(async () => expect((await queue.states(["test-broken"]))[0]!.failed).toHaveLength(1), {
        timeout: 30_000,
        interval: 250,
      });
      expect(attempts).toBe(2);
      // Retries apart, one failure: told once, however often the minute job runs.
      expect(await noticeFailedJobs(services)).toEqual({ failures: 1 });
      expect(await noticeFailedJobs(services)).toEqual({ failures: 0 });
      await flush();
      const [event, ...more] = await eventsOf("job.failed");
      expect(more).toEqual([]);
      expect(event).toMatchObject({ actorUserId: null, ownerUserId: null, subjectType: "job", subjectId: jobId });
      expect(event!.payload).toMatchObject({ queue: "test-broken", jobId });
      expect(await notifiedOf("job.failed")).toEqual([admin.id]);
      const { days } = await listNotifications(services, admin.id, null);
      expect(days[0]!.entries[0]).toMatchObject({ who: "Coffer", href: "/admin/jobs" });
      expect(days[0]!.entries[0]!.what).toContain("“test-broken”");
      // Only the administrator's instance endpoint; no error message, so no credential.
      expect(received("job.failed").map((entry) => entry.data.hook)).toEqual(["/instance"]);
      expectNoSecrets(received("job.failed"), ["hunter2", "refused"]);
    } finally {
      await queue.stop(1_000);
    }
  });
});

describe("user.quota_threshold", () => {
  /** Lands a file of `size` bytes in the user's root folder, as a form upload does. */
  async function upload(user: Actor, size: number) {
    const storageKey = randomBytes(16).toString("hex");
    await services.storage.put(storageKey, Readable.from([Buffer.alloc(size, 1)]), { size });
    const root = await getRootFolder(services, user.id);
    const into = { folderId: root.id, ownerId: user.id, uploaderId: user.id };
    const file = { name: `${storageKey}.bin`, size, sha256: null, storageKey, mimeType: "application/octet-stream" };
    return (await landFormUpload(services, into, file, "keep-both", uploadActivity(user.id, size))).file;
  }
  const levels = async (user: Actor) =>
    (await eventsOf("user.quota_threshold"))
      .filter((event) => event.ownerUserId === user.id)
      .map((event) => (event.payload as { level: number }).level);

  it("tells the account once per crossing of 80, 95 and 100 % upwards, from the uploads' usage", async () => {
    await services.prisma.user.update({ where: { id: alice.id }, data: { quotaBytes: 1000n } });
    const big = await upload(alice, 500);
    expect(await levels(alice)).toEqual([]);
    await upload(alice, 300); // 80 %
    expect(await levels(alice)).toEqual([80]);
    await upload(alice, 50); // 85 %: the same level, nothing new
    expect(await levels(alice)).toEqual([80]);
    await upload(alice, 110); // 96 %
    expect(await levels(alice)).toEqual([80, 95]);
    // Down to 46 %, then up to 96 % again in one step: one crossing, told at the level reached.
    await services.prisma.file.delete({ where: { id: big.id } });
    expect((await services.prisma.user.findUniqueOrThrow({ where: { id: alice.id } })).quotaNotifiedLevel).toBe(0);
    expect(await levels(alice)).toEqual([80, 95]);
    await upload(alice, 500);
    expect(await levels(alice)).toEqual([80, 95, 95]);
    await upload(alice, 40); // 100 %
    expect(await levels(alice)).toEqual([80, 95, 95, 100]);

    await flush();
    const [event] = (await eventsOf("user.quota_threshold")).slice(-1);
    expect(event).toMatchObject({ actorUserId: null, ownerUserId: alice.id, subjectType: "user", subjectId: alice.id });
    expect(event!.payload).toEqual({ level: 100, usedBytes: 1000, quotaBytes: 1000 });
    expect(await services.prisma.notification.count({ where: { kind: "user.quota_threshold", userId: alice.id } })).toBe(4);
    expect(await notifiedOf("user.quota_threshold")).toEqual(Array(4).fill(alice.id));
    const { days } = await listNotifications(services, alice.id, null);
    const told = days.flatMap((day) => day.entries).filter((entry) => entry.what.includes("storage"));
    expect(told[0]).toMatchObject({ who: "Coffer", href: "/trash" });
    expect(told.map((entry) => entry.what)).toContain("reports your storage is 95 % full");
    expect(received("user.quota_threshold").filter((entry) => entry.data.hook === "/alice")).toHaveLength(4);
    expect(received("user.quota_threshold")[0]!.data).toMatchObject({ subjectId: alice.id, level: 80, quotaBytes: 1000 });
  });

  it("counts against the default quota of the settings, and is silent without a quota", async () => {
    await services.prisma.user.update({ where: { id: bob.id }, data: { storageUsed: 900n } });
    expect(await levels(bob)).toEqual([]);
    await services.prisma.user.update({ where: { id: bob.id }, data: { storageUsed: 0n } });
    await services.prisma.setting.upsert({
      where: { key: "defaultQuotaBytes" },
      update: { value: 1000 },
      create: { key: "defaultQuotaBytes", value: 1000 },
    });
    try {
      await services.prisma.user.update({ where: { id: bob.id }, data: { storageUsed: 950n } });
      expect(await levels(bob)).toEqual([95]);
      // A change that rolls back takes its event with it.
      await expect(
        services.prisma.$transaction(async (tx) => {
          await tx.user.update({ where: { id: bob.id }, data: { storageUsed: 1200n } });
          throw new Error("the change failed");
        }),
      ).rejects.toThrow("the change failed");
      expect(await levels(bob)).toEqual([95]);
    } finally {
      await services.prisma.setting.delete({ where: { key: "defaultQuotaBytes" } });
    }
  });
  it("checks the accounts again when an administrator changes the default quota or an account's own", async () => {
    const carol = await createUser("quota-carol@example.com");
    const dave = await createUser("quota-dave@example.com");
    await services.prisma.user.update({ where: { id: carol.id }, data: { storageUsed: 850n } });
    await services.prisma.user.update({ where: { id: dave.id }, data: { storageUsed: 850n, quotaBytes: 10_000n } });
    const by = { id: admin.id, email: admin.email, name: "admin", role: admin.role, sessionId: "s" };
    const setDefault = (defaultQuota: string) =>
      saveSettingsForm(services, by, (current) => ({ ...settingsFormValues(current), defaultQuota }), auditOf(admin));
    const toldLevel = async (user: Actor) => (await services.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).quotaNotifiedLevel;
    try {
      await setDefault("1000"); // Carol at 85 %; Dave has his own quota.
      expect(await levels(carol)).toEqual([80]);
      expect(await levels(dave)).toEqual([]);
      await setDefault("1000"); // Saved unchanged: nothing new.
      await setDefault("880"); // 96 %
      expect(await levels(carol)).toEqual([80, 95]);
      await setDefault("10000"); // 8.5 %: the level falls, nobody is told
      expect(await levels(carol)).toEqual([80, 95]);
      expect(await toldLevel(carol)).toBe(0);
      await setDefault("850"); // full
      expect(await levels(carol)).toEqual([80, 95, 100]);
      // An account's own quota, through the administrators' form: 94 %, then back to the default (full).
      await setUserQuota(services, by, dave.id, "900", auditOf(admin));
      expect(await levels(dave)).toEqual([80]);
      await setUserQuota(services, by, dave.id, "", auditOf(admin));
      expect(await levels(dave)).toEqual([80, 100]);
      const [last] = (await eventsOf("user.quota_threshold")).slice(-1);
      expect(last).toMatchObject({ actorUserId: null, ownerUserId: dave.id, subjectType: "user", subjectId: dave.id });
      expect(last!.payload).toEqual({ level: 100, usedBytes: 850, quotaBytes: 850 });
    } finally {
      await services.prisma.setting.deleteMany({ where: { key: "defaultQuotaBytes" } });
    }
    expect(await toldLevel(carol)).toBe(0);
  });
});

describe("share.expiring", () => {
  it("tells the owner once of each link expiring within 3 days, however often the job runs", async () => {
    const root = await getRootFolder(services, alice.id);
    const folder = await createFolder(services, alice, root.id, "Expiring soon");
    const link = async () => createShareLink(services, alice, { kind: "folder", id: folder.id }, {}, SYSTEM_ACTOR);
    const [soon, later, gone, never] = [await link(), await link(), await link(), await link()];
    const now = new Date("2030-01-10T06:12:00.000Z");
    const at = (hours: number) => new Date(now.getTime() + hours * 3600_000);
    await services.prisma.shareLink.update({ where: { id: soon.id }, data: { expiresAt: at(48) } });
    await services.prisma.shareLink.update({ where: { id: later.id }, data: { expiresAt: at(4 * 24) } });
    await services.prisma.shareLink.update({ where: { id: gone.id }, data: { expiresAt: at(-1) } });
    const stamp = (await services.prisma.shareLink.findUniqueOrThrow({ where: { id: soon.id } })).updatedAt;

    expect(await noticeExpiringShares(services, now)).toEqual({ links: 1 });
    expect(await noticeExpiringShares(services, now)).toEqual({ links: 0 });
    expect(await noticeExpiringShares(services, at(1))).toEqual({ links: 0 });
    // The mark leaves the link's version (its ETag) alone.
    expect((await services.prisma.shareLink.findUniqueOrThrow({ where: { id: soon.id } })).updatedAt).toEqual(stamp);
    await flush();
    const [event, ...more] = await eventsOf("share.expiring");
    expect(more).toEqual([]);
    expect(event).toMatchObject({ actorUserId: null, ownerUserId: alice.id, subjectType: "share", subjectId: soon.id });
    expect(event!.payload).toEqual({
      itemKind: "folder",
      itemId: folder.id,
      name: "Expiring soon",
      mode: "READ",
      expiresAt: at(48).toISOString(),
    });
    expect(await notifiedOf("share.expiring")).toEqual([alice.id]);
    const { days } = await listNotifications(services, alice.id, null);
    const told = days.flatMap((day) => day.entries).find((entry) => entry.what.includes("expires"));
    expect(told).toMatchObject({ who: "Coffer", href: "/shares" });
    expect(told!.what).toBe("reminds you that your share link to “Expiring soon” expires on 2030-01-12 (UTC)");
    expect(
      received("share.expiring")
        .map((entry) => entry.data.hook)
        .sort(),
    ).toEqual(["/alice", "/instance"]);
    expectNoSecrets(received("share.expiring"), [soon.token, later.token]);

    // A day later the other link is within 3 days; a link given a new expiry is told again.
    expect(await noticeExpiringShares(services, at(25))).toEqual({ links: 1 });
    await services.prisma.shareLink.update({ where: { id: soon.id }, data: { expiresAt: at(60) } });
    expect(await noticeExpiringShares(services, at(25))).toEqual({ links: 1 });
    expect((await eventsOf("share.expiring")).map((e) => e.subjectId)).toEqual([soon.id, later.id, soon.id]);
    expect((await eventsOf("share.expiring")).map((e) => e.subjectId)).not.toContain(never.id);
  });
});

describe("security.new_device_login", () => {
  const FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
  const SAFARI_IPHONE =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
  const signIn = (user: Actor, userAgent: string, ip: string) =>
    createSession(services, user.id, new Request("http://coffer.test/login", { headers: { "user-agent": userAgent } }), ip);

  it("tells the account of a sign-in from a device it has not used, and only then", async () => {
    const carol = await createUser("carol@example.com");
    await signIn(carol, FIREFOX_LINUX, "198.51.100.1"); // the first device: recorded silently
    await signIn(carol, FIREFOX_LINUX.replace("133.0", "134.0"), "198.51.100.2"); // the same browser and system, updated
    const mine = async () => (await eventsOf("security.new_device_login")).filter((event) => event.ownerUserId === carol.id);
    expect(await mine()).toEqual([]);
    const cookie = await signIn(carol, SAFARI_IPHONE, "203.0.113.50");
    await signIn(carol, SAFARI_IPHONE, "203.0.113.51");
    const [event, ...more] = await mine();
    expect(more).toEqual([]);
    expect(event).toMatchObject({ actorUserId: carol.id, ownerUserId: carol.id, subjectType: "user", subjectId: carol.id });
    expect(event!.payload).toEqual({ device: "Safari on iPhone", ip: "203.0.113.50" });
    // A session restarted after a password change is not a sign-in.
    await restartSessions(services, carol.id, new Request("http://coffer.test/", { headers: { "user-agent": "curl/8.0" } }), "192.0.2.1");
    expect(await mine()).toHaveLength(1);

    await flush();
    expect((await notifiedOf("security.new_device_login")).filter((id) => id === carol.id)).toHaveLength(1);
    const { days } = await listNotifications(services, carol.id, null);
    expect(days[0]!.entries[0]).toMatchObject({ who: "carol", href: "/settings/security" });
    expect(days[0]!.entries[0]!.what).toContain("Safari on iPhone, IP 203.0.113.50");
    // Carol has no endpoint; the instance one hears of it, without the session.
    const sent = received("security.new_device_login").filter((entry) => entry.data.subjectId === carol.id);
    expect(sent.map((entry) => entry.data.hook)).toEqual(["/instance"]);
    const sessionId = cookie.split(";")[0]!.split("=")[1]!;
    expectNoSecrets(sent, [sessionId, decodeURIComponent(sessionId).split(".")[0]!]);
  });
});

describe("admin.announcement", () => {
  it("fans out to every active account, audited, and to administrators' instance webhooks only", async () => {
    const gone = await createUser("gone@example.com");
    await services.prisma.user.update({ where: { id: gone.id }, data: { deletedAt: new Date(), deactivatedAt: new Date() } });
    await expect(sendAnnouncement(services, admin, { title: "  ", body: "x" }, auditOf(admin))).rejects.toMatchObject({
      status: 400,
      fieldErrors: { title: "Give the announcement a title." },
    });
    await expect(sendAnnouncement(services, alice, { title: "Hi" }, auditOf(alice))).rejects.toMatchObject({ status: 400 });
    const sent = await sendAnnouncement(services, admin, { title: "Maintenance", body: "Sunday 02:00 UTC, for an hour." }, auditOf(admin));
    await flush();
    const [event, ...more] = await eventsOf("admin.announcement");
    expect(more).toEqual([]);
    expect(event).toMatchObject({ actorUserId: admin.id, ownerUserId: null, subjectType: "announcement", subjectId: sent.id });
    expect(event!.payload).toEqual({ title: "Maintenance", body: "Sunday 02:00 UTC, for an hour.", audience: "all" });
    const active = await services.prisma.user.findMany({ where: { deletedAt: null, deactivatedAt: null }, select: { id: true } });
    expect(active.map((user) => user.id)).toContain(admin.id);
    expect(await notifiedOf("admin.announcement")).toEqual(active.map((user) => user.id).sort());
    expect(await notifiedOf("admin.announcement")).not.toContain(gone.id);
    const { days } = await listNotifications(services, bob.id, null);
    expect(days[0]!.entries[0]).toMatchObject({
      who: "admin",
      what: "announced “Maintenance”: Sunday 02:00 UTC, for an hour.",
      href: null,
    });
    const audited = await services.prisma.auditEvent.findFirstOrThrow({ where: { action: "admin.announcement", targetId: sent.id } });
    expect(audited).toMatchObject({ actorId: admin.id, targetType: "announcement" });
    // Alice's user endpoint hears nothing of it.
    expect(received("admin.announcement").map((entry) => entry.data.hook)).toEqual(["/instance"]);
    expect(received("admin.announcement")[0]!.data).toMatchObject({ subjectId: sent.id, title: "Maintenance" });
  });
});

describe("payload schemas", () => {
  it("hold every event these tests wrote (docs/events.md#payload-schemas)", async () => {
    const kinds = await expectPayloadsMatchSchemas(services.prisma);
    expect(kinds).toEqual(
      expect.arrayContaining([
        "user.quota_threshold",
        "share.expiring",
        "security.new_device_login",
        "security.mfa_disabled",
        "admin.announcement",
        "job.failed",
        "settings.updated",
        "user.quota_changed",
      ]),
    );
  });
});
