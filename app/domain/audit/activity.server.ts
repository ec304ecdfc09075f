import type { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { ValidationError } from "../errors";
import type { SessionUser } from "../accounts/sessions.server";
import { decodeTimeCursor, encodeTimeCursor, type TimePosition } from "../time-cursor";
import { appendEvent } from "../events/outbox.server";

export type ActivityAction =
  | "file.uploaded"
  | "file.renamed"
  | "file.moved"
  | "file.copied"
  | "file.replaced"
  | "file.trashed"
  | "file.restored"
  | "file.deleted"
  | "file.version_restored"
  | "folder.created"
  | "folder.renamed"
  | "folder.moved"
  | "folder.copied"
  | "folder.trashed"
  | "folder.restored"
  | "folder.deleted"
  | "trash.emptied"
  | "share.created"
  | "share.updated"
  | "share.revoked"
  | "share.used"
  | "share.granted"
  | "share.removed"
  | "settings.updated"
  | "user.quota_changed";

export interface ActivityEntry {
  /** Who did it; null for anonymous visitors of a share link. */
  userId: string | null;
  action: ActivityAction;
  subjectType: "file" | "folder" | "share" | "trash" | "settings" | "user";
  subjectId: string;
  details?: Prisma.InputJsonObject;
  /** Whose item it is, when the caller has it at hand: the event notifies them of others' changes. */
  ownerId?: string | null;
}

/**
 * Appends to the activity trail and the change's event to the outbox (decision 0032). Pass the
 * change's transaction client so both commit with the change, and neither after a rollback.
 */
export async function recordActivity(
  /** The services, or inside a transaction its client. */
  db: Pick<Services["prisma"], "activity" | "event"> | Pick<Services, "prisma">,
  entry: ActivityEntry,
): Promise<void> {
  const client = "prisma" in db ? db.prisma : db;
  const details = entry.details ?? {};
  await client.activity.create({
    data: { userId: entry.userId, action: entry.action, subjectType: entry.subjectType, subjectId: entry.subjectId, details },
  });
  await appendEvent(client, {
    actorId: entry.userId,
    ownerId: entry.ownerId,
    action: entry.action,
    subjectType: entry.subjectType,
    subjectId: entry.subjectId,
    details,
  });
}

export async function recentActivity(services: Services, userId: string, limit = 50) {
  return services.prisma.activity.findMany({
    where: { userId },
    orderBy: { createdAt: "desc" },
    take: limit,
  });
}

/** One line of an activity list, ready to render (no ids of other people, no raw details). */
export interface ActivityView {
  id: string;
  at: string;
  /** "You", the actor's name, or who else it was when nobody was signed in. */
  who: string;
  action: string;
  subjectType: string;
  subjectId: string;
  /** The item's name as recorded (it may have changed since). */
  name: string | null;
  /** A short description of what happened, without the actor. */
  what: string;
}

export const ACTIVITY_PAGE_SIZE = 50;
const ITEM_ACTIVITY_LIMIT = 20;

type ActivityRow = {
  id: string;
  userId: string | null;
  action: string;
  subjectType: string;
  subjectId: string;
  details: Prisma.JsonValue;
  createdAt: Date;
  user: { name: string } | null;
};

function text(details: Record<string, unknown>, key: string): string | null {
  const value = details[key];
  return typeof value === "string" ? value : null;
}

/** What an activity row says happened, in words. */
export function describe(action: string, raw: Prisma.JsonValue): { name: string | null; what: string } {
  const details = raw && typeof raw === "object" && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const name = text(details, "name") ?? text(details, "to");
  const quoted = name ? `“${name}”` : "an item";
  const what: Record<string, () => string> = {
    "file.uploaded": () => (details.via === "share" ? `uploaded ${quoted} through a file-drop link` : `uploaded ${quoted}`),
    "file.renamed": () => `renamed “${text(details, "from") ?? "?"}” to “${text(details, "to") ?? "?"}”`,
    "folder.renamed": () => `renamed “${text(details, "from") ?? "?"}” to “${text(details, "to") ?? "?"}”`,
    "file.moved": () => `moved ${quoted} to another folder`,
    "folder.moved": () => `moved ${quoted} to another folder`,
    "file.copied": () =>
      `copied ${quoted}${text(details, "copyName") && text(details, "copyName") !== name ? ` as “${text(details, "copyName")}”` : ""}`,
    "folder.copied": () =>
      `copied ${quoted}${text(details, "copyName") && text(details, "copyName") !== name ? ` as “${text(details, "copyName")}”` : ""}`,
    "file.replaced": () => `replaced the content of ${quoted} (the old content is kept as a version)`,
    "file.trashed": () => `moved ${quoted} to the trash`,
    "folder.trashed": () => `moved ${quoted} to the trash`,
    "file.restored": () => `restored ${quoted} from the trash`,
    "folder.restored": () => `restored ${quoted} from the trash`,
    "file.deleted": () => `deleted ${quoted} forever`,
    "folder.deleted": () => `deleted ${quoted} forever`,
    "file.version_restored": () => `restored an earlier version of ${quoted}`,
    "folder.created": () => `created the folder ${quoted}`,
    "trash.emptied": () => `emptied the trash (${typeof details.items === "number" ? details.items : "some"} items)`,
    "share.created": () => `created a share link${details.mode === "UPLOAD" ? " (file drop)" : ""}`,
    "share.updated": () => "changed a share link",
    "share.revoked": () => "revoked a share link",
    "share.used": () => (details.download === "zip" ? "downloaded a ZIP through a share link" : "downloaded through a share link"),
    "share.granted": () => `shared it with another user (${details.permission === "WRITE" ? "can add and change files" : "view only"})`,
    "share.removed": () => "stopped sharing it with another user",
    "settings.updated": () => "changed the settings",
    "user.quota_changed": () => "changed a storage quota",
  };
  return { name, what: (what[action] ?? (() => action.replace(/[._]/g, " ")))() };
}

function toView(row: ActivityRow, viewerId: string): ActivityView {
  const { name, what } = describe(row.action, row.details);
  let who: string;
  if (row.userId === viewerId) who = "You";
  else if (row.user) who = row.user.name;
  else if (row.action === "file.deleted" || row.action === "folder.deleted") who = "Automatic clean-up";
  else who = "Someone with a share link";
  return {
    id: row.id,
    at: row.createdAt.toISOString(),
    who,
    action: row.action,
    subjectType: row.subjectType,
    subjectId: row.subjectId,
    name,
    what,
  };
}

function decodeCursor(raw: string): TimePosition {
  const position = decodeTimeCursor(raw);
  if (!position) throw new ValidationError("That page of activity does not exist. Start again from the newest.");
  return position;
}

/**
 * What the user did, newest first, a page at a time (keyset: the page after `cursor` starts
 * below its last row, so paging stays fast and stable while new rows arrive).
 */
export async function myActivity(services: Services, user: Pick<SessionUser, "id" | "name">, cursor: string | null) {
  const after = cursor ? decodeCursor(cursor) : null;
  const rows = await services.prisma.activity.findMany({
    where: {
      userId: user.id,
      ...(after ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] } : {}),
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: ACTIVITY_PAGE_SIZE + 1,
    include: { user: { select: { name: true } } },
  });
  const page = rows.slice(0, ACTIVITY_PAGE_SIZE);
  return {
    entries: page.map((row) => toView(row, user.id)),
    nextCursor: rows.length > ACTIVITY_PAGE_SIZE ? encodeTimeCursor(page.at(-1)!) : null,
  };
}

/**
 * Who did what to one item, newest first. The caller has checked that the viewer may read the
 * item. Share-link and user-share events are the owner's business and shown to the owner only.
 */
export async function itemActivity(
  services: Services,
  viewer: Pick<SessionUser, "id">,
  item: { kind: "file" | "folder"; id: string; ownerId: string },
) {
  const isOwner = viewer.id === item.ownerId;
  const rows = await services.prisma.activity.findMany({
    where: {
      OR: [
        { subjectType: item.kind, subjectId: item.id, ...(isOwner ? {} : { action: { notIn: ["share.granted", "share.removed"] } }) },
        ...(isOwner ? [{ subjectType: "share", details: { path: ["itemId"], equals: item.id } }] : []),
      ],
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: ITEM_ACTIVITY_LIMIT,
    include: { user: { select: { name: true } } },
  });
  return rows.map((row) => toView(row, viewer.id));
}
