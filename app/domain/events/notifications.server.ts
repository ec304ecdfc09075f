import type { Services } from "~/services/index.server";
import { NotFoundError, ValidationError } from "../errors";
import { isId } from "../ids";
import { decodeTimeCursor, encodeTimeCursor } from "../time-cursor";
import { type EventKind, NOTICE_KINDS, notificationText } from "./catalogue";

export const NOTIFICATIONS_PAGE_SIZE = 50;

/** One notification, ready to render: no ids of other people, no raw payload. */
export interface NotificationView {
  id: string;
  at: string;
  /** The UTC day it happened on (YYYY-MM-DD): the list is grouped by it. */
  day: string;
  read: boolean;
  /** Who did it: a name, or who it was when nobody was signed in. */
  who: string;
  what: string;
  /** Where the item is, when there is a page for it. */
  href: string | null;
}

export interface NotificationDay {
  day: string;
  entries: NotificationView[];
}

/** Where a notice is dealt with, by its kind. */
const PAGES: Readonly<Record<string, string>> = {
  "webhook.disabled": "/settings/webhooks",
  "user.quota_threshold": "/trash",
  "share.expiring": "/shares",
  "security.new_device_login": "/settings/security",
  "security.mfa_disabled": "/settings/security",
  "job.failed": "/admin/jobs",
};

/** The page of a notification: where its kind is dealt with, else its item's (a path on this server). */
export function hrefOf(kind: string, subjectType: string, subjectId: string): string | null {
  const page = PAGES[kind];
  if (page) return page;
  if (subjectType === "webhook") return "/settings/webhooks";
  return subjectType === "file" || subjectType === "folder" ? `/details/${subjectType}/${encodeURIComponent(subjectId)}` : null;
}

/** Who did it, as a notification says: a name, or who it was when nobody was signed in. */
export function whoDid(kind: string, actorId: string | null, names: Map<string, string>): string {
  if (actorId) return names.get(actorId) ?? "A former user";
  return kind.startsWith("webhook.") || NOTICE_KINDS.includes(kind as EventKind) ? "Coffer" : "Someone with a share link";
}

/** Groups a newest-first list by day, keeping the order. */
export function groupByDay(entries: NotificationView[]): NotificationDay[] {
  const days: NotificationDay[] = [];
  for (const entry of entries) {
    const last = days.at(-1);
    if (last?.day === entry.day) last.entries.push(entry);
    else days.push({ day: entry.day, entries: [entry] });
  }
  return days;
}

/** The user's notifications, newest first, a page at a time (keyset on createdAt, id). */
export async function listNotifications(services: Services, userId: string, cursor: string | null) {
  const after = cursor ? decodeTimeCursor(cursor) : null;
  if (cursor && !after) throw new ValidationError("That page of notifications does not exist. Start again from the newest.");
  const rows = await services.prisma.notification.findMany({
    where: {
      userId,
      ...(after ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] } : {}),
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: NOTIFICATIONS_PAGE_SIZE + 1,
    include: { event: { select: { actorUserId: true, subjectType: true, subjectId: true, payload: true } } },
  });
  const page = rows.slice(0, NOTIFICATIONS_PAGE_SIZE);
  const actorIds = [...new Set(page.flatMap((row) => (row.event.actorUserId ? [row.event.actorUserId] : [])))];
  const actors = actorIds.length
    ? await services.prisma.user.findMany({ where: { id: { in: actorIds } }, select: { id: true, name: true } })
    : [];
  const names = new Map(actors.map((actor) => [actor.id, actor.name]));
  const entries = page.map((row): NotificationView => {
    const payload =
      row.event.payload && typeof row.event.payload === "object" && !Array.isArray(row.event.payload) ? row.event.payload : {};
    const actorId = row.event.actorUserId;
    return {
      id: row.id,
      at: row.createdAt.toISOString(),
      day: row.createdAt.toISOString().slice(0, 10),
      read: row.readAt !== null,
      who: whoDid(row.kind, actorId, names),
      what: notificationText(row.kind, payload),
      href: hrefOf(row.kind, row.event.subjectType, row.event.subjectId),
    };
  });
  return { days: groupByDay(entries), nextCursor: rows.length > NOTIFICATIONS_PAGE_SIZE ? encodeTimeCursor(page.at(-1)!) : null };
}

/** How many of the user's notifications are unread (the header bell), counting at most `upTo`. */
export function unreadNotifications(services: Services, userId: string, upTo?: number): Promise<number> {
  return services.prisma.notification.count({ where: { userId, readAt: null }, ...(upTo === undefined ? {} : { take: upTo }) });
}

/** Marks one of the user's own notifications read; anyone else's is not found. Idempotent. */
export async function markNotificationRead(services: Services, userId: string, notificationId: string): Promise<void> {
  const found = isId(notificationId)
    ? await services.prisma.notification.findUnique({ where: { id: notificationId }, select: { userId: true, readAt: true } })
    : null;
  if (!found || found.userId !== userId) throw new NotFoundError("That notification");
  if (found.readAt) return;
  await services.prisma.notification.updateMany({ where: { id: notificationId, userId, readAt: null }, data: { readAt: new Date() } });
}

/** Marks every unread notification of the user read; how many. */
export async function markAllNotificationsRead(services: Services, userId: string): Promise<number> {
  const { count } = await services.prisma.notification.updateMany({ where: { userId, readAt: null }, data: { readAt: new Date() } });
  return count;
}
