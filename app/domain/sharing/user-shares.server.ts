import { z } from "zod";
import type { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { isId } from "../ids";
import { LIVE_USER_SHARE } from "./access.server";
import { recordActivity } from "../audit/activity.server";
import { recordAudit, type AuditActor } from "../audit/audit.server";
import { NotFoundError, ValidationError } from "../errors";
import { getOwnItem, type ItemRef } from "./share-links.server";
import type { SessionUser } from "../accounts/sessions.server";
import { fieldErrors } from "../accounts/users.server";

type Actor = Pick<SessionUser, "id" | "role">;

export const shareWithUserSchema = z.object({
  email: z.string().trim().toLowerCase().min(1, "Enter the email address of the person to share with.").max(254, "Email is too long."),
  permission: z.enum(["READ", "WRITE"], { message: "Choose whether they can only view or also add files." }).default("READ"),
});

/**
 * Shares one of the actor's files or folders with another account (by email). Sharing again
 * with the same person changes their permission.
 */
export async function shareWithUser(services: Services, actor: Actor, item: ItemRef, input: unknown, audit: AuditActor) {
  const target = await getOwnItem(services, actor, item);
  const parsed = shareWithUserSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError("Please correct the highlighted fields.", fieldErrors(parsed.error));
  const { email, permission } = parsed.data;
  const found = await services.prisma.user.findUnique({ where: { email }, select: { id: true, name: true, email: true, deletedAt: true } });
  // A deleted account waiting for its purge is gone for everyone but the administrators.
  const grantee = found && !found.deletedAt ? { id: found.id, name: found.name, email: found.email } : null;
  if (!grantee) {
    throw new ValidationError("There is no Coffer account with that email address.", { email: "No account uses this email address." });
  }
  if (grantee.id === actor.id) throw new ValidationError("This is already yours.", { email: "You cannot share with yourself." });
  const where =
    target.kind === "file"
      ? { granteeId_fileId: { granteeId: grantee.id, fileId: target.file.id } }
      : { granteeId_folderId: { granteeId: grantee.id, folderId: target.folder.id } };
  // The grant and its event (which notifies the grantee) commit together.
  const share = await services.prisma.$transaction(async (tx) => {
    const granted = await tx.userShare.upsert({
      where,
      update: { permission },
      create: {
        ownerId: actor.id,
        granteeId: grantee.id,
        fileId: target.kind === "file" ? target.file.id : null,
        folderId: target.kind === "folder" ? target.folder.id : null,
        permission,
      },
    });
    await recordActivity(tx, {
      userId: actor.id,
      ownerId: actor.id,
      action: "share.granted",
      subjectType: item.kind,
      subjectId: item.id,
      details: { shareId: granted.id, granteeId: grantee.id, permission },
    });
    return granted;
  });
  await recordAudit(services.prisma, audit, {
    action: "share.granted",
    targetType: item.kind,
    targetId: item.id,
    details: { shareId: share.id, granteeId: grantee.id, granteeEmail: grantee.email, permission },
  });
  return { share, grantee };
}

/** Who has access to one of the actor's items. */
export async function listAccess(services: Services, actor: Actor, item: ItemRef) {
  await getOwnItem(services, actor, item);
  const shares = await services.prisma.userShare.findMany({
    where: { ownerId: actor.id, ...(item.kind === "file" ? { fileId: item.id } : { folderId: item.id }) },
    orderBy: { createdAt: "asc" },
    include: { grantee: { select: { id: true, name: true, email: true } } },
  });
  return shares.map((share) => ({ id: share.id, permission: share.permission, createdAt: share.createdAt, grantee: share.grantee }));
}

export interface MyUserShare {
  id: string;
  item: { kind: "file" | "folder"; id: string; name: string };
  grantee: { id: string; name: string; email: string };
  permission: "READ" | "WRITE";
  createdAt: Date;
  /** The row's version stamp: a change sent with If-Match claims it. */
  updatedAt: Date;
}

const MY_SHARE_INCLUDE = {
  grantee: { select: { id: true, name: true, email: true } },
  file: { select: { id: true, name: true } },
  folder: { select: { id: true, name: true } },
} as const;

function myUserShare(share: Prisma.UserShareGetPayload<{ include: typeof MY_SHARE_INCLUDE }>): MyUserShare {
  const item = share.file ?? share.folder;
  return {
    id: share.id,
    item: { kind: share.file ? "file" : "folder", id: item?.id ?? "", name: item?.name ?? "" },
    grantee: share.grantee,
    permission: share.permission,
    createdAt: share.createdAt,
    updatedAt: share.updatedAt,
  };
}

/** Everything the actor shared with other accounts, newest first. */
export async function listMyUserShares(services: Services, actor: Actor): Promise<MyUserShare[]> {
  const shares = await services.prisma.userShare.findMany({
    where: { ownerId: actor.id },
    orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    include: MY_SHARE_INCLUDE,
  });
  return shares.map(myUserShare);
}

/** One share the actor made; NotFound for anyone else's or a malformed id. */
export async function getMyUserShare(services: Services, actor: Actor, shareId: string): Promise<MyUserShare> {
  const share = isId(shareId) ? await services.prisma.userShare.findUnique({ where: { id: shareId }, include: MY_SHARE_INCLUDE }) : null;
  if (!share || share.ownerId !== actor.id) throw new NotFoundError("That share");
  return myUserShare(share);
}

export async function removeUserShare(services: Services, actor: Actor, shareId: string, audit: AuditActor): Promise<void> {
  const share =
    typeof shareId === "string" && shareId.length <= 64 ? await services.prisma.userShare.findUnique({ where: { id: shareId } }) : null;
  if (!share || share.ownerId !== actor.id) throw new NotFoundError("That share");
  await services.prisma.$transaction(async (tx) => {
    await tx.userShare.deleteMany({ where: { id: share.id } });
    await recordActivity(tx, {
      userId: actor.id,
      ownerId: actor.id,
      action: "share.removed",
      subjectType: share.fileId ? "file" : "folder",
      subjectId: share.fileId ?? share.folderId ?? "",
      details: { shareId: share.id, granteeId: share.granteeId },
    });
  });
  await recordAudit(services.prisma, audit, {
    action: "share.removed",
    targetType: share.fileId ? "file" : "folder",
    targetId: share.fileId ?? share.folderId ?? "",
    details: { shareId: share.id, granteeId: share.granteeId, permission: share.permission },
  });
}

export interface SharedWithMe {
  id: string;
  kind: "file" | "folder";
  itemId: string;
  name: string;
  size: number | null;
  mimeType: string | null;
  permission: "READ" | "WRITE";
  owner: { name: string };
  sharedAt: Date;
}

/** Items other people shared with the user (items in the trash, and deactivated owners' shares, left out). */
export async function listSharedWithMe(services: Services, user: Pick<SessionUser, "id">): Promise<SharedWithMe[]> {
  const shares = await services.prisma.userShare.findMany({
    where: {
      granteeId: user.id,
      ...LIVE_USER_SHARE,
      OR: [{ file: { trashedAt: null } }, { folder: { trashedAt: null } }],
    },
    orderBy: { createdAt: "desc" },
    include: {
      owner: { select: { name: true } },
      file: { select: { id: true, name: true, size: true, mimeType: true } },
      folder: { select: { id: true, name: true } },
    },
  });
  return shares.flatMap((share): SharedWithMe[] => {
    const item = share.file ?? share.folder;
    if (!item) return [];
    return [
      {
        id: share.id,
        kind: share.file ? "file" : "folder",
        itemId: item.id,
        name: item.name,
        size: share.file ? Number(share.file.size) : null,
        mimeType: share.file?.mimeType ?? null,
        permission: share.permission,
        owner: { name: share.owner.name },
        sharedAt: share.createdAt,
      },
    ];
  });
}

/**
 * Breadcrumbs as a grantee may see them: from the highest folder shared with them down, so the
 * owner's folders above the share (and their names) stay hidden. Owners and admins see all.
 */
export async function visibleCrumbs<T extends { id: string; isRoot: boolean }>(
  services: Services,
  user: Pick<SessionUser, "id" | "role">,
  ownerId: string,
  crumbs: T[],
  /** With no granted folder in the chain (an item shared on its own): show only the last crumb, or none. */
  whenUngranted: "last" | "none" = "last",
): Promise<T[]> {
  if (user.id === ownerId || user.role === "ADMIN" || crumbs.length === 0) return crumbs;
  const grants = await services.prisma.userShare.findMany({
    where: { granteeId: user.id, folderId: { in: crumbs.map((crumb) => crumb.id) }, ...LIVE_USER_SHARE },
    select: { folderId: true },
  });
  const granted = new Set(grants.map((grant) => grant.folderId));
  const start = crumbs.findIndex((crumb) => granted.has(crumb.id));
  if (start < 0) return whenUngranted === "last" ? crumbs.slice(-1) : [];
  return crumbs.slice(start);
}
