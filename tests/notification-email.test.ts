// Notification preferences, emails, the daily digest, one-click unsubscribe tokens and retention
// (decision 0036, docs/events.md) against a real database and a real SMTP server (the mailbox).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "~/config.server";
import { createSession, restartSessions } from "~/domain/accounts/sessions.server";
import { sendAnnouncement } from "~/domain/admin/announcements.server";
import { recordActivity } from "~/domain/audit/activity.server";
import { SYSTEM_ACTOR } from "~/domain/audit/audit.server";
import { NOTIFIABLE_KINDS } from "~/domain/events/catalogue";
import { dispatchEvents } from "~/domain/events/dispatcher.server";
import { composeEventMail, formatWhen, sendDailyDigests, sendNotificationEmails } from "~/domain/events/notification-email.server";
import { getNotificationPreferences, saveNotificationPreferences } from "~/domain/events/preferences.server";
import { purgeEventHistory } from "~/domain/events/retention.server";
import { readUnsubscribeToken, unsubscribe, unsubscribeToken } from "~/domain/events/unsubscribe.server";
import { closeServices, createServices, type Services } from "~/services/index.server";
import { createLogger } from "~/services/logger.server";
import { createTestDatabase } from "./support/database";
import { startMailbox } from "./support/mailbox";

const SECRET = "test-secret-that-is-at-least-32-characters-long";
let services: Services;
let mailbox: Awaited<ReturnType<typeof startMailbox>>;
let alice: { id: string; email: string };
let bob: { id: string; email: string };

async function createUser(email: string, name: string) {
  const user = await services.prisma.user.create({ data: { email, name, passwordHash: "argon2-hash-that-must-never-leak" } });
  return { id: user.id, email };
}

/** Bob uploads into Alice's shared folder: a file.created event Alice is notified of. */
async function bobUploads(name: string) {
  await recordActivity(services, {
    userId: bob.id,
    ownerId: alice.id,
    action: "file.uploaded",
    subjectType: "file",
    subjectId: `file${Math.random().toString(36).slice(2, 12)}`,
    details: { name, size: 11 },
  });
}

/** Bob creates a folder in Alice's shared folder: folder.created. */
async function bobCreatesFolder(name: string) {
  await recordActivity(services, {
    userId: bob.id,
    ownerId: alice.id,
    action: "folder.created",
    subjectType: "folder",
    subjectId: `fold${Math.random().toString(36).slice(2, 12)}`,
    details: { name },
  });
}

/** A header as sent (mailparser turns List-* headers into objects). */
function rawHeader(mail: { headerLines: ReadonlyArray<{ key: string; line: string }> }, key: string): string {
  const line = mail.headerLines.find((h) => h.key === key)?.line ?? "";
  return line.slice(line.indexOf(":") + 1).trim();
}

const mailsTo = (to: string) => mailbox.mails.filter((m) => m.to && !Array.isArray(m.to) && m.to.value.some((a) => a.address === to));

beforeAll(async () => {
  mailbox = await startMailbox();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-notify-"));
  const env = {
    NODE_ENV: "production",
    DATA_DIR: dataDir,
    DATABASE_URL: (await createTestDatabase()).url,
    LOG_LEVEL: "error",
    SESSION_SECRET: SECRET,
    SMTP_URL: mailbox.url,
    APP_URL: "https://files.example.com",
    MAIL_FROM: "Coffer <coffer@example.com>",
  };
  services = await createServices(loadConfig(env), createLogger("error"));
  afterAll(async () => {
    await closeServices(services);
    await mailbox.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  alice = await createUser("alice@example.com", "Alice");
  bob = await createUser("bob@example.com", "Bob");
});

beforeEach(async () => {
  await services.prisma.notificationPreference.deleteMany({});
  await services.prisma.notificationSettings.deleteMany({});
});

describe("preferences", () => {
  it("lists every notifiable kind with its default, and saves a choice per kind", async () => {
    const before = await getNotificationPreferences(services, alice.id);
    // Alice is no administrator: job.failed, which only administrators are told of, is not offered.
    expect(before.kinds.map((k) => k.kind)).toEqual(NOTIFIABLE_KINDS.map((k) => k.kind).filter((kind) => kind !== "job.failed"));
    expect(before.kinds.find((k) => k.kind === "file.created")?.channel).toBe("in-app");
    expect(before.kinds.find((k) => k.kind === "webhook.disabled")?.channel).toBe("email");
    await saveNotificationPreferences(services, alice.id, {
      channels: { "file.created": "digest" },
      locale: "de-DE",
      timeZone: "Europe/Berlin",
    });
    const after = await getNotificationPreferences(services, alice.id);
    expect(after.kinds.find((k) => k.kind === "file.created")?.channel).toBe("digest");
    expect(after.kinds.find((k) => k.kind === "share.granted")?.channel).toBe("in-app");
    expect(after).toMatchObject({ locale: "de-DE", timeZone: "Europe/Berlin" });
  });

  it("refuses an unknown kind, channel, language or time zone, and saves nothing", async () => {
    await expect(saveNotificationPreferences(services, alice.id, { channels: { "made.up": "off" } })).rejects.toMatchObject({
      status: 400,
      fieldErrors: { "made.up": expect.any(String) },
    });
    await expect(saveNotificationPreferences(services, alice.id, { channels: { "file.created": "loud" as never } })).rejects.toMatchObject({
      status: 400,
    });
    await expect(
      saveNotificationPreferences(services, alice.id, {
        channels: { "file.created": "off" },
        locale: "xx-<script>",
        timeZone: "Mars/Olympus",
      }),
    ).rejects.toMatchObject({ status: 400, fieldErrors: { locale: expect.any(String), timeZone: expect.any(String) } });
    expect(await services.prisma.notificationPreference.count({ where: { userId: alice.id } })).toBe(0);
  });
});

describe("delivery by preference", () => {
  it("in-app: a notification and no email; off: neither", async () => {
    const sent = mailbox.mails.length;
    await bobUploads("in-app.txt");
    await dispatchEvents(services);
    expect(await services.prisma.notification.count({ where: { userId: alice.id, kind: "file.created" } })).toBeGreaterThan(0);
    expect(await services.prisma.notificationEmail.count({ where: { userId: alice.id } })).toBe(0);

    await saveNotificationPreferences(services, alice.id, { channels: { "file.created": "off" } });
    const notifications = await services.prisma.notification.count({ where: { userId: alice.id } });
    await bobUploads("silenced.txt");
    await dispatchEvents(services);
    expect(await services.prisma.notification.count({ where: { userId: alice.id } })).toBe(notifications);
    expect(await services.prisma.notificationEmail.count({ where: { userId: alice.id } })).toBe(0);
    expect((await sendNotificationEmails(services)).sent).toBe(0);
    expect(mailbox.mails.length).toBe(sent);
  });

  it("email now: in the app and one plain mail with the RFC 8058 headers, names and links only, no secrets", async () => {
    await saveNotificationPreferences(services, alice.id, { channels: { "file.created": "email" } });
    const before = mailsTo(alice.email).length;
    const after = mailbox.mails.length;
    const notifications = await services.prisma.notification.count({ where: { userId: alice.id } });
    await bobUploads("Quarterly report.pdf");
    await dispatchEvents(services);
    expect(await services.prisma.notification.count({ where: { userId: alice.id } })).toBe(notifications + 1);
    expect(await sendNotificationEmails(services)).toMatchObject({ sent: 1, failed: 0 });
    const mail = await mailbox.next(alice.email, after);
    expect(mailsTo(alice.email).length).toBe(before + 1);
    expect(mail.subject).toBe("Coffer: Bob uploaded “Quarterly report.pdf” into your shared folder");
    const unsubscribeHeader = rawHeader(mail, "list-unsubscribe");
    expect(unsubscribeHeader).toMatch(
      /^<https:\/\/files\.example\.com\/unsubscribe\/[a-z0-9]+-66696c652e63726561746564-[A-Za-z0-9_-]{43}>$/,
    );
    expect(rawHeader(mail, "list-unsubscribe-post")).toBe("List-Unsubscribe=One-Click");
    const token = unsubscribeHeader.slice(unsubscribeHeader.lastIndexOf("/") + 1, -1);
    expect(readUnsubscribeToken(SECRET, token)).toEqual({ userId: alice.id, kind: "file.created" });
    const text = mail.text ?? "";
    expect(text).toContain("Bob uploaded “Quarterly report.pdf” into your shared folder.");
    expect(text).toMatch(/When: \w+day, \w+ \d+, \d{4} at \d+:\d\d [AP]M \(UTC\)/);
    expect(text).toContain("https://files.example.com/details/file/");
    expect(text).toContain("https://files.example.com/settings/notifications");
    expect(mail.html).toBe(false);
    for (const secret of [SECRET, "argon2-hash-that-must-never-leak", "bob@example.com"]) expect(text).not.toContain(secret);
    // Sent once: another run finds nothing due.
    expect((await sendNotificationEmails(services)).sent).toBe(0);
  });

  it("an announcement: mailed to who chose email, not shown to who turned it off, in the app for the rest", async () => {
    const admin = await services.prisma.user.create({
      data: { email: `admin-${Date.now()}@example.com`, name: "Ada Admin", passwordHash: "x", role: "ADMIN" },
    });
    await saveNotificationPreferences(services, alice.id, { channels: { "admin.announcement": "email" } });
    await saveNotificationPreferences(services, bob.id, { channels: { "admin.announcement": "off" } });
    const after = mailbox.mails.length;
    await sendAnnouncement(services, admin, { title: "Maintenance tonight", body: "From 22:00 UTC." }, SYSTEM_ACTOR);
    await dispatchEvents(services);
    const told = await services.prisma.notification.findMany({ where: { kind: "admin.announcement" }, select: { userId: true } });
    expect(told.map((n) => n.userId).sort()).toEqual([admin.id, alice.id].sort());
    expect(
      await services.prisma.notificationEmail.findMany({ where: { kind: "admin.announcement" }, select: { userId: true, mode: true } }),
    ).toEqual([{ userId: alice.id, mode: "now" }]);
    expect(await sendNotificationEmails(services)).toMatchObject({ sent: 1, failed: 0 });
    const mail = await mailbox.next(alice.email, after);
    expect(mail.text).toContain("Maintenance tonight");
    expect(mailsTo(bob.email).some((m) => m.text?.includes("Maintenance tonight"))).toBe(false);
  });

  it("dates in the person's language and time zone (de-DE, Europe/Berlin)", async () => {
    await saveNotificationPreferences(services, alice.id, {
      channels: { "folder.created": "email" },
      locale: "de-DE",
      timeZone: "Europe/Berlin",
    });
    const after = mailbox.mails.length;
    await bobCreatesFolder("Belege");
    await dispatchEvents(services);
    await sendNotificationEmails(services);
    const mail = await mailbox.next(alice.email, after);
    const event = await services.prisma.event.findFirstOrThrow({ where: { kind: "folder.created" }, orderBy: { seq: "desc" } });
    const expected = new Intl.DateTimeFormat("de-DE", { dateStyle: "full", timeStyle: "short", timeZone: "Europe/Berlin" }).format(
      event.createdAt,
    );
    expect(mail.text).toContain(`When: ${expected} (Europe/Berlin)`);
    // German weekday and month names, 24-hour clock.
    expect(formatWhen(new Date("2026-12-24T15:30:00Z"), "de-DE", "Europe/Berlin")).toBe(
      "Donnerstag, 24. Dezember 2026 um 16:30 (Europe/Berlin)",
    );
    expect(formatWhen(new Date("2026-12-24T15:30:00Z"), null, null)).toBe("Thursday, December 24, 2026 at 3:30 PM (UTC)");
  });

  it("without a chosen language: the browser's at the last sign-in, else the instance's (MAIL_LOCALE)", async () => {
    const dateIn = async (locale: string) => {
      const after = mailbox.mails.length;
      await bobCreatesFolder(`Ordner ${locale}`);
      await dispatchEvents(services);
      await sendNotificationEmails(services);
      const mail = await mailbox.next(alice.email, after);
      const event = await services.prisma.event.findFirstOrThrow({ where: { kind: "folder.created" }, orderBy: { seq: "desc" } });
      const expected = new Intl.DateTimeFormat(locale, { dateStyle: "full", timeStyle: "short", timeZone: "UTC" }).format(event.createdAt);
      return { text: mail.text ?? "", expected: `When: ${expected} (UTC)` };
    };
    await saveNotificationPreferences(services, alice.id, { channels: { "folder.created": "email" } });
    services.config.mail!.locale = "fr-FR";
    try {
      // Never signed in with a language: the instance's.
      const instance = await dateIn("fr-FR");
      expect(instance.text).toContain(instance.expected);
      // A sign-in from a browser asking for German (an unknown tag first is skipped); a restarted session is no sign-in.
      const request = (language: string) => new Request("https://files.example.com/login", { headers: { "accept-language": language } });
      await createSession(services, alice.id, request("xx-!!, de-DE;q=0.9, en;q=0.5"), null);
      await restartSessions(services, alice.id, request("ja-JP"), null);
      expect((await services.prisma.user.findUniqueOrThrow({ where: { id: alice.id } })).signInLocale).toBe("de-DE");
      const browser = await dateIn("de-DE");
      expect(browser.text).toContain(browser.expected);
      // A language chosen on the settings page wins.
      await saveNotificationPreferences(services, alice.id, { channels: {}, locale: "es-ES" });
      const chosen = await dateIn("es-ES");
      expect(chosen.text).toContain(chosen.expected);
    } finally {
      services.config.mail!.locale = "en";
      await services.prisma.user.update({ where: { id: alice.id }, data: { signInLocale: null } });
    }
  });

  it("retries a mail the SMTP server refused, then gives up after the last attempt", async () => {
    await saveNotificationPreferences(services, alice.id, { channels: { "file.created": "email" } });
    await bobUploads("retry.txt");
    await dispatchEvents(services);
    const failing = { ...services, mailer: { send: async () => Promise.reject(new Error("450 mailbox busy")), close() {} } };
    expect(await sendNotificationEmails(failing, { retryBaseMs: 0, maxBatches: 1 })).toMatchObject({ retrying: 1, sent: 0 });
    for (let attempt = 2; attempt < 5; attempt++)
      expect((await sendNotificationEmails(failing, { retryBaseMs: 0, maxBatches: 1 })).retrying).toBe(1);
    expect(await sendNotificationEmails(failing, { retryBaseMs: 0, maxBatches: 1 })).toMatchObject({ failed: 1 });
    const row = await services.prisma.notificationEmail.findFirstOrThrow({ where: { userId: alice.id }, orderBy: { createdAt: "desc" } });
    expect(row).toMatchObject({ status: "failed", attempts: 5, error: "450 mailbox busy" });
  });

  it("skips a queued mail when its kind was turned off before it went out", async () => {
    await saveNotificationPreferences(services, alice.id, { channels: { "file.created": "email" } });
    await bobUploads("changed-my-mind.txt");
    await dispatchEvents(services);
    await unsubscribe(services, unsubscribeToken(SECRET, alice.id, "file.created"));
    expect(await sendNotificationEmails(services)).toMatchObject({ sent: 0, skipped: 1 });
  });
});

describe("the daily digest", () => {
  it("collects the day's events of digest kinds into one mail, once, under two concurrent runs", async () => {
    await saveNotificationPreferences(services, alice.id, { channels: { "file.created": "digest", "folder.created": "digest" } });
    await bobUploads("one.txt");
    await bobUploads("two.txt");
    await bobCreatesFolder("Three");
    await dispatchEvents(services);
    // Not mailed at once.
    expect((await sendNotificationEmails(services)).sent).toBe(0);
    const before = mailsTo(alice.email).length;
    const now = new Date();
    const runs = await Promise.all([sendDailyDigests(services, now), sendDailyDigests(services, now)]);
    expect(runs.map((r) => r.sent).sort()).toEqual([0, 1]);
    const mail = await mailbox.next(alice.email, mailbox.mails.length - 1);
    expect(mailsTo(alice.email).length).toBe(before + 1);
    expect(mail.subject).toBe("Coffer: your daily digest (3 notifications)");
    expect(mail.text).toContain("Bob uploaded “one.txt” into your shared folder");
    expect(mail.text).toContain("Bob uploaded “two.txt” into your shared folder");
    expect(mail.text).toContain("Bob created the folder “Three” in your shared folder");
    expect(rawHeader(mail, "list-unsubscribe")).toMatch(/-646967657374-/);
    expect(rawHeader(mail, "list-unsubscribe-post")).toBe("List-Unsubscribe=One-Click");
    // A retry the same day, or a later run, sends nothing more.
    await bobUploads("four.txt");
    await dispatchEvents(services);
    expect((await sendDailyDigests(services, new Date())).sent).toBe(0);
    expect(mailsTo(alice.email).length).toBe(before + 1);
    // The next day's digest carries what came after.
    const tomorrow = new Date(Date.now() + 24 * 3600 * 1000);
    expect((await sendDailyDigests(services, tomorrow)).sent).toBe(1);
    const next = await mailbox.next(alice.email, mailbox.mails.length - 1);
    expect(next.subject).toBe("Coffer: your daily digest (1 notification)");
    expect(next.text).toContain("four.txt");
    expect(next.text).not.toContain("one.txt");
  });

  it("a digest whose mail failed is sent by the job's retry, still once", async () => {
    await saveNotificationPreferences(services, alice.id, { channels: { "file.created": "digest" } });
    await bobUploads("retried-digest.txt");
    await dispatchEvents(services);
    const day = new Date(Date.now() + 2 * 24 * 3600 * 1000);
    const failing = { ...services, mailer: { send: async () => Promise.reject(new Error("421 try later")), close() {} } };
    await expect(sendDailyDigests(failing, day)).rejects.toThrow("421 try later");
    const before = mailsTo(alice.email).length;
    expect((await sendDailyDigests(services, day)).sent).toBe(1);
    expect((await sendDailyDigests(services, day)).sent).toBe(0);
    expect(mailsTo(alice.email).length).toBe(before + 1);
  });
});

describe("one-click unsubscribe tokens", () => {
  it("turn off only the kind they name; the digest's turns off every digest kind", async () => {
    await saveNotificationPreferences(services, alice.id, {
      channels: { "file.created": "email", "folder.created": "digest", "share.granted": "digest", "share.dropped": "email" },
    });
    await unsubscribe(services, unsubscribeToken(SECRET, alice.id, "file.created"));
    let kinds = Object.fromEntries((await getNotificationPreferences(services, alice.id)).kinds.map((k) => [k.kind, k.channel]));
    expect(kinds).toMatchObject({ "file.created": "off", "folder.created": "digest", "share.granted": "digest", "share.dropped": "email" });
    await unsubscribe(services, unsubscribeToken(SECRET, alice.id, "digest"));
    kinds = Object.fromEntries((await getNotificationPreferences(services, alice.id)).kinds.map((k) => [k.kind, k.channel]));
    expect(kinds).toMatchObject({ "file.created": "off", "folder.created": "off", "share.granted": "off", "share.dropped": "email" });
    // Bob's choices are his own.
    expect(await services.prisma.notificationPreference.count({ where: { userId: bob.id } })).toBe(0);
  });

  it("refuse forged, altered and garbled tokens", async () => {
    const good = unsubscribeToken(SECRET, alice.id, "file.created");
    const hostile = [
      unsubscribeToken("another-secret-that-is-at-least-32-chars", alice.id, "file.created"),
      good.replace(alice.id, bob.id),
      good.replace(Buffer.from("file.created").toString("hex"), Buffer.from("folder.created").toString("hex")),
      `${good.slice(0, -1)}${good.endsWith("A") ? "B" : "A"}`,
      unsubscribeToken(SECRET, alice.id, "settings.updated"),
      "",
      "--",
      `${good}-extra`,
      "../../etc/passwd",
      "x".repeat(5000),
    ];
    for (const token of hostile) {
      expect(readUnsubscribeToken(SECRET, token)).toBeNull();
      await expect(unsubscribe(services, token)).rejects.toMatchObject({ status: 400 });
    }
    expect(await services.prisma.notificationPreference.count({ where: { userId: alice.id } })).toBe(0);
  });

  it("the mail's text holds the same link as the header", () => {
    const composed = composeEventMail({
      appUrl: "https://files.example.com/",
      secret: SECRET,
      user: { id: alice.id, name: "Alice" },
      event: {
        id: "e1",
        kind: "share.granted",
        actorUserId: bob.id,
        subjectType: "folder",
        subjectId: "f1",
        payload: { granteeId: alice.id, permission: "READ", shareId: "s1" },
        createdAt: new Date("2026-01-02T03:04:05Z"),
      },
      names: new Map([[bob.id, "Bob"]]),
      locale: null,
      timeZone: null,
    });
    const link = composed.headers["List-Unsubscribe"].slice(1, -1);
    expect(composed.text).toContain(`Stop these emails: ${link}`);
    expect(composed.text).toContain("Open: https://files.example.com/details/folder/f1");
    expect(composed.subject).toBe("Coffer: Bob shared an item with you");
  });
});

describe("retention", () => {
  it("purges notifications and finished email records older than NOTIFICATION_RETENTION_DAYS, keeps newer and waiting ones", async () => {
    await saveNotificationPreferences(services, alice.id, { channels: { "file.created": "digest" } });
    await bobUploads("old.txt");
    await dispatchEvents(services);
    const old = await services.prisma.notification.findFirstOrThrow({ where: { userId: alice.id }, orderBy: { createdAt: "desc" } });
    const waiting = await services.prisma.notificationEmail.findFirstOrThrow({ where: { eventId: old.eventId } });
    const longAgo = new Date(Date.now() - 91 * 24 * 3600 * 1000);
    await services.prisma.notification.update({ where: { id: old.id }, data: { createdAt: longAgo } });
    await services.prisma.notificationEmail.update({ where: { id: waiting.id }, data: { createdAt: longAgo } });
    await services.prisma.event.update({ where: { id: old.eventId }, data: { createdAt: longAgo } });
    const sentLongAgo = await services.prisma.notificationEmail.updateManyAndReturn({
      where: { userId: alice.id, status: "sent" },
      data: { createdAt: longAgo },
    });
    expect(sentLongAgo.length).toBeGreaterThan(0);
    await bobUploads("new.txt");
    await dispatchEvents(services);
    const total = await services.prisma.notification.count();
    const purged = await purgeEventHistory(services);
    expect(purged.notifications).toBe(1);
    expect(purged.notificationEmails).toBe(sentLongAgo.length);
    expect(await services.prisma.notification.count()).toBe(total - 1);
    expect(await services.prisma.notification.count({ where: { id: old.id } })).toBe(0);
    // The digest entry still waiting is kept, and with it its event.
    expect(await services.prisma.notificationEmail.count({ where: { id: waiting.id } })).toBe(1);
    expect(await services.prisma.event.count({ where: { id: old.eventId } })).toBe(1);
  });

  it("defaults to 90 days and refuses nonsense", () => {
    const base = { DATABASE_URL: "postgresql://x/y", SESSION_SECRET: "x".repeat(32) };
    expect(loadConfig(base).notificationRetentionDays).toBe(90);
    expect(loadConfig({ ...base, NOTIFICATION_RETENTION_DAYS: "7" }).notificationRetentionDays).toBe(7);
    expect(() => loadConfig({ ...base, NOTIFICATION_RETENTION_DAYS: "0" })).toThrow(/NOTIFICATION_RETENTION_DAYS/);
  });
});
