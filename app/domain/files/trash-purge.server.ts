// Deleting from the trash for good: one item, the whole trash, and items past the retention.
import type { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import type { SessionUser } from "../accounts/sessions.server";
import { getSettings } from "../admin/settings.server";
import { recordActivity } from "../audit/activity.server";
import { type AuditActor, recordAudit, SYSTEM_ACTOR } from "../audit/audit.server";
import { NotFoundError } from "../errors";
import { getRootFolder } from "./folders.server";
import { freeName } from "./name-conflicts.server";
import { nameKey } from "./names";
import type { ItemKind } from "./operations.server";
import { removeFromSearch, trashRoot, trashRoots } from "./trash.server";
import { deleteObjectsQuietly } from "./versions.server";

type Actor = Pick<SessionUser, "id" | "role">;
type Db = Prisma.TransactionClient;

/**
 * Deletes a trashed item and everything trashed with it: rows first (in one transaction), then
 * their objects (content, versions, thumbnails), so a crash leaves orphan objects, never rows
 * without bytes. Items below it that were trashed separately are kept: they move to My files.
 */
export async function deleteForever(services: Services, actor: Actor, kind: ItemKind, id: string, audit: AuditActor) {
  await trashRoot(services.prisma, actor.id, kind, id);
  return purgeTrashRoot(services, actor.id, kind, id, actor.id, audit);
}

async function purgeTrashRoot(
  services: Services,
  ownerId: string | null,
  kind: ItemKind,
  id: string,
  actorId: string | null,
  audit: AuditActor,
) {
  const outcome = await services.prisma.$transaction(
    async (tx) => {
      const item = await trashRoot(tx, ownerId, kind, id);
      let fileRows: Array<{ id: string; storage_key: string; thumbnail_key: string | null }>;
      let folderIds: string[] = [];
      let rescued = 0;
      if (kind === "file") {
        fileRows = await tx.$queryRaw`SELECT id, storage_key, thumbnail_key FROM files WHERE id = ${id}`;
      } else {
        // The folders trashed with this one; anything else directly inside them is rescued.
        const folders = await tx.$queryRaw<Array<{ id: string }>>`
          WITH RECURSIVE sub AS (
            SELECT id FROM folders WHERE id = ${id}
            UNION ALL
            SELECT f.id FROM folders f JOIN sub ON f.parent_id = sub.id WHERE f.trash_root_id = ${id}
          )
          SELECT id FROM sub`;
        folderIds = folders.map((f) => f.id);
        rescued = await rescueSeparatelyTrashed(tx, item.ownerId, id, folderIds);
        fileRows = await tx.$queryRaw`
          SELECT id, storage_key, thumbnail_key FROM files WHERE folder_id = ANY(${folderIds}::text[])`;
      }
      const fileIds = fileRows.map((f) => f.id);
      const versions = fileIds.length
        ? await tx.fileVersion.findMany({ where: { fileId: { in: fileIds } }, select: { storageKey: true } })
        : [];
      const keys = [
        ...fileRows.map((f) => f.storage_key),
        ...fileRows.flatMap((f) => (f.thumbnail_key ? [f.thumbnail_key] : [])),
        ...versions.map((v) => v.storageKey),
      ];
      // Cascades remove subfolders, files, versions and shares of the subtree.
      if (kind === "file") await tx.file.delete({ where: { id } });
      else await tx.folder.delete({ where: { id } });
      await recordActivity(tx, {
        userId: actorId,
        action: kind === "file" ? "file.deleted" : "folder.deleted",
        subjectType: kind,
        subjectId: id,
        details: { name: item.name, folders: folderIds.length, files: fileIds.length, rescued, automatic: actorId === null },
      });
      await recordAudit(tx, audit, {
        action: "data.deleted",
        targetType: kind,
        targetId: id,
        details: { name: item.name, ownerId: item.ownerId, folders: folderIds.length, files: fileIds.length, automatic: actorId === null },
      });
      return { keys, ids: [...folderIds, ...fileIds], ownerId: item.ownerId, rescued };
    },
    { timeout: 60_000 },
  );
  for (let i = 0; i < outcome.keys.length; i += 1000) await deleteObjectsQuietly(services, outcome.keys.slice(i, i + 1000));
  await removeFromSearch(services, outcome.ids);
  return { kind, id, objectsDeleted: outcome.keys.length, rescued: outcome.rescued };
}

/**
 * Items inside the doomed folders that are not part of this trash group (trashed separately
 * earlier, or live by accident) are moved to the owner's root first, so the cascade spares them.
 */
async function rescueSeparatelyTrashed(tx: Db, ownerId: string, rootId: string, folderIds: string[]): Promise<number> {
  const root = await tx.folder.findFirst({ where: { ownerId, parentId: null }, select: { id: true } });
  if (!root) throw new Error(`owner ${ownerId} has no root folder`);
  const strayFolders = await tx.folder.findMany({
    where: { parentId: { in: folderIds }, OR: [{ trashRootId: null }, { trashRootId: { not: rootId } }] },
  });
  const strayFiles = await tx.file.findMany({
    where: { folderId: { in: folderIds }, OR: [{ trashRootId: null }, { trashRootId: { not: rootId } }] },
  });
  for (const folder of strayFolders) {
    // Trashed names never clash; a live stray takes the next free name.
    const name = folder.trashedAt ? folder.name : await freeName(tx, root.id, folder.name);
    await tx.folder.update({ where: { id: folder.id }, data: { parentId: root.id, name, nameKey: nameKey(name) } });
  }
  for (const file of strayFiles) {
    const name = file.trashedAt ? file.name : await freeName(tx, root.id, file.name);
    await tx.file.update({ where: { id: file.id }, data: { folderId: root.id, name, nameKey: nameKey(name) } });
  }
  return strayFolders.length + strayFiles.length;
}

/** Deletes everything in the user's trash. */
export async function emptyTrash(services: Services, actor: Actor, audit: AuditActor) {
  const roots = await trashRoots(services, { ownerId: actor.id });
  let objectsDeleted = 0;
  for (const root of roots) {
    const result = await purgeTrashRoot(services, actor.id, root.kind, root.id, actor.id, audit).catch((error) => {
      if (error instanceof NotFoundError) return null;
      throw error;
    });
    objectsDeleted += result?.objectsDeleted ?? 0;
  }
  await recordActivity(services.prisma, {
    userId: actor.id,
    action: "trash.emptied",
    subjectType: "trash",
    subjectId: actor.id,
    details: { items: roots.length },
  });
  await recordAudit(services.prisma, audit, {
    action: "data.trash_emptied",
    targetType: "trash",
    targetId: actor.id,
    details: { items: roots.length },
  });
  services.notifier.toUser(actor.id, { type: "folder:changed", folderId: (await getRootFolder(services, actor.id)).id });
  return { items: roots.length, objectsDeleted };
}

/** Deletes, for every user, trash items older than settings.trashRetentionDays. */
export async function purgeExpiredTrash(services: Services, now = new Date()): Promise<{ items: number; objectsDeleted: number }> {
  const { trashRetentionDays } = await getSettings(services);
  const cutoff = new Date(now.getTime() - trashRetentionDays * 24 * 60 * 60 * 1000);
  const roots = await trashRoots(services, { trashedBefore: cutoff });
  let items = 0;
  let objectsDeleted = 0;
  for (const root of roots) {
    try {
      const result = await purgeTrashRoot(services, null, root.kind, root.id, null, SYSTEM_ACTOR);
      items++;
      objectsDeleted += result.objectsDeleted;
    } catch (error) {
      if (error instanceof NotFoundError) continue;
      services.log.error("could not purge an expired trash item", { kind: root.kind, id: root.id, error });
    }
  }
  return { items, objectsDeleted };
}
