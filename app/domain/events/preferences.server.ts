import { z } from "zod";
import type { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { ValidationError } from "../errors";
import { ADMIN_AUDIENCE, type EventKind, NOTIFIABLE_KINDS, NOTIFICATION_CHANNELS, type NotificationChannel } from "./catalogue";

/**
 * Per-user notification preferences (docs/events.md): for each notifiable kind, in-app, email at
 * once, email in the daily digest, or off. Every choice but "off" also shows it in the app. A
 * kind without a stored row has its default (NOTIFIABLE_KINDS); a kind outside that list (one
 * nobody is notified of by name) goes to the app only.
 */

const DEFAULTS = new Map(NOTIFIABLE_KINDS.map((entry) => [entry.kind, entry.defaultChannel]));

export function defaultChannel(kind: string): NotificationChannel {
  return DEFAULTS.get(kind) ?? "in-app";
}

export function isNotifiableKind(kind: string): boolean {
  return DEFAULTS.has(kind);
}

/**
 * The notifiable kinds an account of this role is offered: kinds only administrators are told of
 * (job.failed) are not offered to anyone else, who would never hear of them.
 */
export function notifiableKindsFor(role: string): typeof NOTIFIABLE_KINDS {
  return role === "ADMIN" ? NOTIFIABLE_KINDS : NOTIFIABLE_KINDS.filter((entry) => ADMIN_AUDIENCE[entry.kind as EventKind] !== "admins");
}

async function roleOf(services: Pick<Services, "prisma">, userId: string): Promise<string> {
  return (await services.prisma.user.findUnique({ where: { id: userId }, select: { role: true } }))?.role ?? "USER";
}

type Db = Pick<Prisma.TransactionClient, "notificationPreference">;

/** The channel of each (user, kind) asked for, keyed `<userId> <kind>`: stored choices, else defaults. */
export async function channelsFor(db: Db, wanted: Array<{ userId: string; kind: string }>): Promise<Map<string, NotificationChannel>> {
  const channels = new Map<string, NotificationChannel>();
  if (wanted.length === 0) return channels;
  const rows = await db.notificationPreference.findMany({
    where: {
      userId: { in: [...new Set(wanted.map((w) => w.userId))] },
      kind: { in: [...new Set(wanted.map((w) => w.kind))] },
    },
    select: { userId: true, kind: true, channel: true },
  });
  const stored = new Map(rows.map((row) => [`${row.userId} ${row.kind}`, row.channel]));
  for (const { userId, kind } of wanted) {
    const key = `${userId} ${kind}`;
    const channel = stored.get(key);
    // A kind no longer notifiable by name keeps only its "off"; anything else stored is honoured.
    channels.set(
      key,
      channel && (NOTIFICATION_CHANNELS as readonly string[]).includes(channel) ? (channel as NotificationChannel) : defaultChannel(kind),
    );
  }
  return channels;
}

export const channelKey = (userId: string, kind: string) => `${userId} ${kind}`;

/** A BCP 47 language tag Intl knows, e.g. "de-DE"; null when it is not one. */
export function cleanLocale(value: string | null | undefined): string | null {
  if (!value) return null;
  const tag = value.trim();
  if (tag.length > 35 || !/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/.test(tag)) return null;
  try {
    return Intl.DateTimeFormat.supportedLocalesOf([tag])[0] ?? null;
  } catch {
    return null;
  }
}

/** An IANA time zone Intl knows, e.g. "Europe/Berlin"; null when it is not one. */
export function cleanTimeZone(value: string | null | undefined): string | null {
  if (!value) return null;
  const zone = value.trim();
  if (zone.length > 64 || !/^[A-Za-z0-9_+\-/]+$/.test(zone)) return null;
  try {
    return new Intl.DateTimeFormat("en", { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** The first language of an Accept-Language header that Intl knows, if any. */
export function localeFromAcceptLanguage(header: string | null): string | null {
  if (!header) return null;
  for (const part of header.slice(0, 500).split(",")) {
    const locale = cleanLocale(part.split(";")[0]);
    if (locale) return locale;
  }
  return null;
}

export interface NotificationPreferencesView {
  kinds: Array<{ kind: string; label: string; channel: NotificationChannel; defaultChannel: NotificationChannel }>;
  locale: string | null;
  timeZone: string | null;
}

export async function getNotificationPreferences(services: Pick<Services, "prisma">, userId: string): Promise<NotificationPreferencesView> {
  const offered = notifiableKindsFor(await roleOf(services, userId));
  const [channels, settings] = await Promise.all([
    channelsFor(
      services.prisma,
      offered.map((entry) => ({ userId, kind: entry.kind })),
    ),
    services.prisma.notificationSettings.findUnique({ where: { userId } }),
  ]);
  return {
    kinds: offered.map((entry) => ({
      kind: entry.kind,
      label: entry.label,
      channel: channels.get(channelKey(userId, entry.kind)) ?? entry.defaultChannel,
      defaultChannel: entry.defaultChannel,
    })),
    locale: settings?.locale ?? null,
    timeZone: settings?.timeZone ?? null,
  };
}

export const preferencesInput = z.object({
  channels: z.record(z.string().max(100), z.enum(NOTIFICATION_CHANNELS)),
  /** Empty or absent: English. */
  locale: z.string().max(100).nullable().optional(),
  /** Empty or absent: UTC. */
  timeZone: z.string().max(100).nullable().optional(),
});
export type PreferencesInput = z.infer<typeof preferencesInput>;

/**
 * Saves the kinds given (others keep what they had) and, when given, the language and time zone
 * of the emails' dates. An unknown kind, language or zone is refused, naming the field.
 */
export async function saveNotificationPreferences(
  services: Pick<Services, "prisma">,
  userId: string,
  input: PreferencesInput,
): Promise<void> {
  const parsed = preferencesInput.safeParse(input);
  if (!parsed.success) throw new ValidationError("Choose one of the offered options for each kind.");
  const { channels, locale, timeZone } = parsed.data;
  const fieldErrors: Record<string, string> = {};
  const offered = new Set(notifiableKindsFor(await roleOf(services, userId)).map((entry) => entry.kind));
  for (const kind of Object.keys(channels)) {
    if (!isNotifiableKind(kind)) fieldErrors[kind] = "Not a kind of notification.";
    else if (!offered.has(kind)) fieldErrors[kind] = "Only administrators are told of this kind.";
  }
  const cleanedLocale = locale ? cleanLocale(locale) : null;
  if (locale && !cleanedLocale) fieldErrors.locale = "Not a language this server knows, e.g. en-GB or de-DE.";
  const cleanedZone = timeZone ? cleanTimeZone(timeZone) : null;
  if (timeZone && !cleanedZone) fieldErrors.timeZone = "Not a time zone this server knows, e.g. Europe/Berlin or UTC.";
  if (Object.keys(fieldErrors).length > 0)
    throw new ValidationError("Some choices could not be saved. Correct the fields marked below.", fieldErrors);
  await services.prisma.$transaction(async (tx) => {
    for (const [kind, channel] of Object.entries(channels)) {
      await tx.notificationPreference.upsert({
        where: { userId_kind: { userId, kind } },
        create: { userId, kind, channel },
        update: { channel },
      });
    }
    if (locale !== undefined || timeZone !== undefined) {
      const data = {
        ...(locale !== undefined ? { locale: cleanedLocale } : {}),
        ...(timeZone !== undefined ? { timeZone: cleanedZone } : {}),
      };
      await tx.notificationSettings.upsert({ where: { userId }, create: { userId, ...data }, update: data });
    }
  });
}

/** Sets one kind's channel (the one-click unsubscribe). */
export async function setNotificationChannel(db: Db, userId: string, kind: string, channel: NotificationChannel): Promise<void> {
  await db.notificationPreference.upsert({
    where: { userId_kind: { userId, kind } },
    create: { userId, kind, channel },
    update: { channel },
  });
}
