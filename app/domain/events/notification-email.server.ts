import { wakeSignal } from "./wake-signal";
import { randomUUID } from "node:crypto";
import type { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { ADMIN_AUDIENCE, type EventKind, NOTIFIABLE_KINDS, notificationText } from "./catalogue";
import { hrefOf, whoDid } from "./notifications.server";
import { channelKey, channelsFor } from "./preferences.server";
import { type EventSink, type OutboxEvent, recipientsOf } from "./sink";
import { DIGEST_KIND, unsubscribeToken } from "./unsubscribe.server";

/**
 * Notification emails (docs/events.md, decision 0036). The dispatcher's `email` sink writes one
 * `notification_emails` row per (recipient, event) whose kind the recipient gets by email, in its
 * transaction: mode `now` is sent by the `send-notification-emails` job after the commit, with
 * retries; mode `digest` waits for the daily `send-notification-digests` job, which sends each
 * person one message a day (a `notification_digests` row per user and day is the claim that
 * keeps it to one, whatever retries or instances do). Emails are plain text: names and links,
 * never file contents or secrets; dates in the person's language and time zone.
 */

export const NOTIFICATION_EMAILS_QUEUE = "send-notification-emails";
export const DIGEST_QUEUE = "send-notification-digests";
/** Attempts of one email: the first and 4 retries (1, 4, 16, 64 minutes later). */
export const EMAIL_MAX_ATTEMPTS = 5;
const RETRY_BASE_MS = 60_000;
/** A claimed email or digest whose instance died is taken again after this. */
const CLAIM_MS = 2 * 60_000;
const BATCH = 20;

type MailServices = Pick<Services, "prisma" | "config" | "mailer" | "sessionSecret" | "log">;

/** The sink: only where SMTP is configured (dispatcher.server.ts adds it then). */
export const emailSink: EventSink = {
  name: "email",
  async deliver(tx, events) {
    const rows = [...(await personalEmails(tx, events)), ...(await audienceEmails(tx, events))];
    if (rows.length === 0) return undefined;
    await tx.notificationEmail.createMany({ data: rows, skipDuplicates: true });
    if (rows.some((row) => row.mode === "now")) wakeEmailsSoon();
    return undefined;
  },
};

type EmailRow = { userId: string; eventId: string; kind: string; mode: "now" | "digest"; createdAt: Date };

/** Emails of the events told to one person (recipientsOf) who chose email or the digest for the kind. */
async function personalEmails(tx: Prisma.TransactionClient, events: OutboxEvent[]): Promise<EmailRow[]> {
  const wanted = events.flatMap((event) => recipientsOf(event).map((userId) => ({ userId, event })));
  if (wanted.length === 0) return [];
  const channels = await channelsFor(
    tx,
    wanted.map((w) => ({ userId: w.userId, kind: w.event.kind })),
  );
  const mailed = wanted.flatMap((w) => {
    const channel = channels.get(channelKey(w.userId, w.event.kind));
    return channel === "email" || channel === "digest"
      ? [{ ...w, mode: channel === "email" ? ("now" as const) : ("digest" as const) }]
      : [];
  });
  if (mailed.length === 0) return [];
  const live = await tx.user.findMany({
    where: { id: { in: [...new Set(mailed.map((m) => m.userId))] }, deletedAt: null, deactivatedAt: null },
    select: { id: true },
  });
  const ids = new Set(live.map((user) => user.id));
  return mailed
    .filter((m) => ids.has(m.userId))
    .map(({ userId, event, mode }) => ({ userId, eventId: event.id, kind: event.kind, mode, createdAt: event.createdAt }));
}

/**
 * Emails of an administrators' kind (an announcement, a job failure) to those of its audience who
 * chose email or the digest for it: their default is the app only, so only a stored choice mails.
 */
async function audienceEmails(tx: Prisma.TransactionClient, events: OutboxEvent[]): Promise<EmailRow[]> {
  const rows: EmailRow[] = [];
  for (const event of events) {
    const audience = ADMIN_AUDIENCE[event.kind as EventKind];
    if (!audience) continue;
    const chosen = await tx.notificationPreference.findMany({
      where: {
        kind: event.kind,
        channel: { in: ["email", "digest"] },
        user: { deletedAt: null, deactivatedAt: null, ...(audience === "admins" ? { role: "ADMIN" as const } : {}) },
      },
      select: { userId: true, channel: true },
    });
    for (const choice of chosen) {
      rows.push({
        userId: choice.userId,
        eventId: event.id,
        kind: event.kind,
        mode: choice.channel === "email" ? "now" : "digest",
        createdAt: event.createdAt,
      });
    }
  }
  return rows;
}

/**
 * The language of an email's dates: the one chosen in /settings/notifications, else the browser's
 * at the last sign-in, else the instance's (MAIL_LOCALE, English by default).
 */
export function emailLocale(
  services: Pick<Services, "config">,
  settings: { locale: string | null } | null,
  user: { signInLocale: string | null } | null,
): string {
  return settings?.locale ?? user?.signInLocale ?? services.config.mail?.locale ?? "en";
}

/** "Donnerstag, 24. Dezember 2026 um 16:30 (Europe/Berlin)": the person's language and zone, else English and UTC. */
export function formatWhen(date: Date, locale: string | null, timeZone: string | null): string {
  const zone = timeZone ?? "UTC";
  let text: string;
  try {
    text = new Intl.DateTimeFormat(locale ?? "en", { dateStyle: "full", timeStyle: "short", timeZone: zone }).format(date);
  } catch {
    text = new Intl.DateTimeFormat("en", { dateStyle: "full", timeStyle: "short", timeZone: "UTC" }).format(date);
  }
  return `${text} (${zone})`;
}

type EventRow = {
  id: string;
  kind: string;
  actorUserId: string | null;
  subjectType: string;
  subjectId: string;
  payload: Prisma.JsonValue;
  createdAt: Date;
};

function payloadOf(event: EventRow): Record<string, unknown> {
  const payload = event.payload;
  return payload && typeof payload === "object" && !Array.isArray(payload) ? payload : {};
}

/** One line of what happened: "Alice shared an item with you". Names only (no contents, no secrets). */
function sentence(event: EventRow, names: Map<string, string>): string {
  return `${whoDid(event.kind, event.actorUserId, names)} ${notificationText(event.kind, payloadOf(event))}`;
}

function labelOf(kind: string): string {
  return NOTIFIABLE_KINDS.find((entry) => entry.kind === kind)?.label ?? kind;
}

export interface ComposedMail {
  subject: string;
  text: string;
  headers: Record<string, string>;
}

function unsubscribeHeaders(url: string): Record<string, string> {
  return { "List-Unsubscribe": `<${url}>`, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" };
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/[\r\n\t]+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The email of one event, sent at once. */
export function composeEventMail(input: {
  appUrl: string;
  secret: string;
  user: { id: string; name: string };
  event: EventRow;
  names: Map<string, string>;
  locale: string | null;
  timeZone: string | null;
}): ComposedMail {
  const base = input.appUrl.replace(/\/+$/, "");
  const what = sentence(input.event, input.names);
  const href = hrefOf(input.event.kind, input.event.subjectType, input.event.subjectId);
  const unsubscribe = `${base}/unsubscribe/${unsubscribeToken(input.secret, input.user.id, input.event.kind)}`;
  const text = [
    `Hello ${input.user.name},`,
    "",
    `${what}.`,
    "",
    `When: ${formatWhen(input.event.createdAt, input.locale, input.timeZone)}`,
    ...(href ? [`Open: ${base}${href}`] : []),
    "",
    "--",
    `You get this email because “${labelOf(input.event.kind)}” is set to email in your notification settings:`,
    `${base}/settings/notifications`,
    `Stop these emails: ${unsubscribe}`,
    "",
  ].join("\n");
  return { subject: oneLine(`Coffer: ${what}`, 150), text, headers: unsubscribeHeaders(unsubscribe) };
}

/** The daily digest: every event of the day, oldest first. */
export function composeDigestMail(input: {
  appUrl: string;
  secret: string;
  user: { id: string; name: string };
  events: EventRow[];
  names: Map<string, string>;
  locale: string | null;
  timeZone: string | null;
}): ComposedMail {
  const base = input.appUrl.replace(/\/+$/, "");
  const unsubscribe = `${base}/unsubscribe/${unsubscribeToken(input.secret, input.user.id, DIGEST_KIND)}`;
  const count = input.events.length;
  const lines = input.events.flatMap((event) => {
    const href = hrefOf(event.kind, event.subjectType, event.subjectId);
    return [
      `- ${sentence(event, input.names)}`,
      `  ${formatWhen(event.createdAt, input.locale, input.timeZone)}`,
      ...(href ? [`  ${base}${href}`] : []),
    ];
  });
  const text = [
    `Hello ${input.user.name},`,
    "",
    count === 1 ? "Here is what happened since your last digest:" : `Here are the ${count} things that happened since your last digest:`,
    "",
    ...lines,
    "",
    `All notifications: ${base}/notifications`,
    "",
    "--",
    "You get this daily email for the kinds set to the daily digest in your notification settings:",
    `${base}/settings/notifications`,
    `Stop the daily digest: ${unsubscribe}`,
    "",
  ].join("\n");
  return {
    subject: `Coffer: your daily digest (${count} ${count === 1 ? "notification" : "notifications"})`,
    text,
    headers: unsubscribeHeaders(unsubscribe),
  };
}

async function actorNames(services: Pick<Services, "prisma">, events: EventRow[]): Promise<Map<string, string>> {
  const ids = [...new Set(events.flatMap((event) => (event.actorUserId ? [event.actorUserId] : [])))];
  if (ids.length === 0) return new Map();
  const users = await services.prisma.user.findMany({ where: { id: { in: ids } }, select: { id: true, name: true } });
  return new Map(users.map((user) => [user.id, user.name]));
}

const EVENT_SELECT = {
  id: true,
  kind: true,
  actorUserId: true,
  subjectType: true,
  subjectId: true,
  payload: true,
  createdAt: true,
} as const;

/** The pause before attempt `attempt + 1`. */
export function emailRetryDelayMs(attempt: number, baseMs = RETRY_BASE_MS): number {
  return baseMs * 4 ** (attempt - 1);
}

type Claimed = { id: string; userId: string; eventId: string; kind: string; attempts: number };

/**
 * Sends the immediate emails that are due: claims a batch (FOR UPDATE SKIP LOCKED; a claim whose
 * instance died is taken again after CLAIM_MS), sends each, records the outcome. An email whose
 * kind the person has since moved off "email" (or whose account is gone) is skipped.
 */
export async function sendNotificationEmails(
  services: MailServices,
  options: { retryBaseMs?: number; maxBatches?: number } = {},
): Promise<{ sent: number; retrying: number; failed: number; skipped: number }> {
  const totals = { sent: 0, retrying: 0, failed: 0, skipped: 0 };
  const mail = services.config.mail;
  if (!services.mailer || !mail) return totals;
  for (let batch = 0; batch < (options.maxBatches ?? 100); batch++) {
    const claimed = await services.prisma.$queryRaw<Claimed[]>`
      UPDATE notification_emails SET status = 'sending', attempts = attempts + 1,
             locked_until = now() + make_interval(secs => ${CLAIM_MS / 1000})
      WHERE id IN (
        SELECT id FROM notification_emails
        WHERE mode = 'now' AND status IN ('pending', 'sending')
          AND ((status = 'pending' AND next_attempt_at <= now()) OR (status = 'sending' AND locked_until < now()))
        ORDER BY next_attempt_at
        LIMIT ${BATCH}
        FOR UPDATE SKIP LOCKED)
      RETURNING id, user_id AS "userId", event_id AS "eventId", kind, attempts`;
    if (claimed.length === 0) break;
    for (const email of claimed) totals[await sendOne(services, mail.appUrl, email, options.retryBaseMs)]++;
  }
  return totals;
}

async function sendOne(
  services: MailServices,
  appUrl: string,
  email: Claimed,
  retryBaseMs?: number,
): Promise<"sent" | "retrying" | "failed" | "skipped"> {
  const { prisma } = services;
  const [user, event, settings, channels] = await Promise.all([
    prisma.user.findUnique({
      where: { id: email.userId },
      select: { id: true, name: true, email: true, deletedAt: true, deactivatedAt: true, signInLocale: true },
    }),
    prisma.event.findUnique({ where: { id: email.eventId }, select: EVENT_SELECT }),
    prisma.notificationSettings.findUnique({ where: { userId: email.userId } }),
    channelsFor(prisma, [{ userId: email.userId, kind: email.kind }]),
  ]);
  if (!user || !event || user.deletedAt || user.deactivatedAt || channels.get(channelKey(email.userId, email.kind)) !== "email") {
    await prisma.notificationEmail.update({ where: { id: email.id }, data: { status: "skipped", lockedUntil: null } });
    return "skipped";
  }
  const composed = composeEventMail({
    appUrl,
    secret: services.sessionSecret,
    user,
    event,
    names: await actorNames(services, [event]),
    locale: emailLocale(services, settings, user),
    timeZone: settings?.timeZone ?? null,
  });
  try {
    await services.mailer!.send({ to: user.email, ...composed });
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0].slice(0, 300) : "send failed";
    services.log.warn("notification email not sent", { emailId: email.id, attempt: email.attempts, error: message });
    if (email.attempts < EMAIL_MAX_ATTEMPTS) {
      await prisma.notificationEmail.update({
        where: { id: email.id },
        data: {
          status: "pending",
          lockedUntil: null,
          error: message,
          nextAttemptAt: new Date(Date.now() + emailRetryDelayMs(email.attempts, retryBaseMs)),
        },
      });
      return "retrying";
    }
    await prisma.notificationEmail.update({ where: { id: email.id }, data: { status: "failed", lockedUntil: null, error: message } });
    return "failed";
  }
  await prisma.notificationEmail.update({
    where: { id: email.id },
    data: { status: "sent", sentAt: new Date(), lockedUntil: null, error: null },
  });
  return "sent";
}

/**
 * The daily digest: for each person with waiting digest entries, claims the (person, UTC day)
 * digest row (a second run, or another instance, finds it taken and sends nothing; a claim whose
 * instance died is taken again after CLAIM_MS), attaches the entries, sends one mail, marks it
 * sent. A mail that fails leaves the claim free for the job's retry. Returns the counts; throws
 * after the loop when a mail failed, so the job is retried.
 */
export async function sendDailyDigests(
  services: MailServices,
  now: Date = new Date(),
): Promise<{ sent: number; skipped: number; failed: number }> {
  const totals = { sent: 0, skipped: 0, failed: 0 };
  const mail = services.config.mail;
  if (!services.mailer || !mail) return totals;
  const { prisma } = services;
  const day = new Date(`${now.toISOString().slice(0, 10)}T00:00:00Z`);
  const users = await prisma.$queryRaw<Array<{ userId: string }>>`
    SELECT DISTINCT user_id AS "userId" FROM notification_emails
    WHERE mode = 'digest' AND status = 'pending' AND created_at <= ${now}`;
  let lastError: unknown = null;
  for (const { userId } of users) {
    const digestId = await prisma.$transaction(async (tx) => {
      const [claim] = await tx.$queryRaw<Array<{ id: string }>>`
        INSERT INTO notification_digests (id, user_id, day, locked_until)
        VALUES (${randomUUID()}, ${userId}, ${day}::date, now() + make_interval(secs => ${CLAIM_MS / 1000}))
        ON CONFLICT (user_id, day) DO UPDATE SET attempts = notification_digests.attempts + 1, locked_until = EXCLUDED.locked_until
          WHERE notification_digests.status = 'sending' AND notification_digests.locked_until < now()
        RETURNING id`;
      if (!claim) return null;
      await tx.$executeRaw`
        UPDATE notification_emails SET digest_id = ${claim.id}
        WHERE user_id = ${userId} AND mode = 'digest' AND status = 'pending' AND created_at <= ${now}`;
      return claim.id;
    });
    if (!digestId) continue;
    try {
      totals[await sendDigest(services, mail.appUrl, userId, digestId)]++;
    } catch (error) {
      totals.failed++;
      lastError = error;
      services.log.warn("notification digest not sent", {
        digestId,
        error: error instanceof Error ? error.message.split("\n")[0] : "send failed",
      });
      await prisma.notificationDigest.update({ where: { id: digestId }, data: { lockedUntil: new Date() } });
    }
  }
  if (lastError) throw lastError;
  return totals;
}

async function sendDigest(services: MailServices, appUrl: string, userId: string, digestId: string): Promise<"sent" | "skipped"> {
  const { prisma } = services;
  const [user, entries, settings] = await Promise.all([
    prisma.user.findUnique({
      where: { id: userId },
      select: { id: true, name: true, email: true, deletedAt: true, deactivatedAt: true, signInLocale: true },
    }),
    prisma.notificationEmail.findMany({
      where: { digestId, status: "pending" },
      orderBy: { createdAt: "asc" },
      select: { id: true, kind: true, event: { select: EVENT_SELECT } },
    }),
    prisma.notificationSettings.findUnique({ where: { userId } }),
  ]);
  const channels = await channelsFor(
    prisma,
    entries.map((entry) => ({ userId, kind: entry.kind })),
  );
  // A kind moved off the digest since (unsubscribed, say) is left out.
  const kept =
    user && !user.deletedAt && !user.deactivatedAt
      ? entries.filter((entry) => channels.get(channelKey(userId, entry.kind)) === "digest")
      : [];
  const keptIds = new Set(kept.map((entry) => entry.id));
  const dropped = entries.filter((entry) => !keptIds.has(entry.id)).map((entry) => entry.id);
  if (kept.length > 0 && user) {
    const events = kept.map((entry) => entry.event);
    const composed = composeDigestMail({
      appUrl,
      secret: services.sessionSecret,
      user,
      events,
      names: await actorNames(services, events),
      locale: emailLocale(services, settings, user),
      timeZone: settings?.timeZone ?? null,
    });
    await services.mailer!.send({ to: user.email, ...composed });
  }
  const at = new Date();
  await prisma.$transaction([
    prisma.notificationEmail.updateMany({ where: { id: { in: [...keptIds] } }, data: { status: "sent", sentAt: at } }),
    prisma.notificationEmail.updateMany({ where: { id: { in: dropped } }, data: { status: "skipped" } }),
    prisma.notificationDigest.update({ where: { id: digestId }, data: { status: "sent", sentAt: at, lockedUntil: null } }),
  ]);
  return kept.length > 0 ? "sent" : "skipped";
}

const wake = wakeSignal("coffer.notification-emails.wake");

/** Installed by the jobs while they run (null to remove): how to wake the email job. */
export const setEmailsWake = wake.set;

/** After the dispatcher's transaction has (usually) committed, once per burst. */
const wakeEmailsSoon = wake.soon;
