import type { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";

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
}

/** Appends to the activity trail. Accepts a transaction client so the entry commits with the change. */
export async function recordActivity(
  db: Pick<Services["prisma"], "activity">,
  entry: ActivityEntry,
): Promise<void> {
  await db.activity.create({
    data: {
      userId: entry.userId,
      action: entry.action,
      subjectType: entry.subjectType,
      subjectId: entry.subjectId,
      details: entry.details ?? {},
    },
  });
}

export async function recentActivity(services: Services, userId: string, limit = 50) {
  return services.prisma.activity.findMany({
    where: { userId },
    orderBy: { createdAt: "desc" },
    take: limit,
  });
}
