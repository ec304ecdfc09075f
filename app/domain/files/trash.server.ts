// The trash: putting an item in it, listing it, restoring from it, and what the pages say about
// a trashed item. Deleting for good (one item, the whole trash, expired items) is in
// `trash-purge.server`.
import { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { recordActivity } from "../audit/activity.server";
import { ConflictError, NotFoundError } from "../errors";
import { getRootFolder } from "./folders.server";
import { nameKey } from "./names";
import { freeName } from "./name-conflicts.server";
import { getWritableItem, nameOf, ownerOf, parentOf, type ItemKind } from "./operations.server";
import type { SessionUser } from "../accounts/sessions.server";
import { forgetIndexedContent, scheduleContentIndexing } from "../search/content-index.server";
import { fileSearchDocument, folderSearchDocument } from "../search/search-documents.server";
import { BULK_QUEUE, bulkQueueRunning } from "./bulk-queue.server";
import { assertNotHeld } from "./holds.server";
import { filesTrashedWith, restoreFilesInBatches, type SubtreeBatchOptions, trashFilesInBatches } from "./subtree-batches.server";

type Actor = Pick<SessionUser, "id" | "role">;
type Db = Prisma.TransactionClient;

/**
 * Moves a file or a folder with everything below it to the trash: every live item of the subtree
 * gets trashedAt and trashRootId = the item trashed, and stays where it is. Items below that
 * were trashed separately earlier keep their own trashRootId.
 */
export async function trashItem(
  services: Services,
  actor: Actor,
  kind: ItemKind,
  id: string,
  now = new Date(),
  tuning: SubtreeTuning = {},
): Promise<TrashedItem> {
  const item = await getWritableItem(services, actor, kind, id);
  const rootId = item.kind === "file" ? item.file.id : item.folder.id;
  await assertNotHeld(services.prisma, kind, rootId, nameOf(item));
  if (item.kind === "folder") {
    const files = await liveFilesBelow(services, rootId);
    if (files > (tuning.inlineLimit ?? INLINE_SUBTREE_LIMIT)) return trashLargeFolder(services, actor, item, files, now, tuning);
  }
  const { folderIds, fileIds } = await services.prisma.$transaction(
    async (tx) => {
      let folderIds: string[] = [];
      let fileIds: string[] = [];
      if (item.kind === "file") {
        const rows = await tx.$queryRaw<Array<{ id: string }>>`
        UPDATE files SET trashed_at = ${now}, trash_root_id = ${rootId} WHERE id = ${rootId} AND trashed_at IS NULL RETURNING id`;
        fileIds = rows.map((r) => r.id);
      } else {
        const folders = await trashFolderTree(tx, rootId, now);
        folderIds = folders.map((r) => r.id);
        const files = await tx.$queryRaw<Array<{ id: string }>>`
        WITH RECURSIVE sub AS (
          SELECT id FROM folders WHERE id = ${rootId}
          UNION ALL
          SELECT f.id FROM folders f JOIN sub ON f.parent_id = sub.id WHERE f.trash_root_id = ${rootId}
        )
        UPDATE files SET trashed_at = ${now}, trash_root_id = ${rootId}
        WHERE folder_id IN (SELECT id FROM sub) AND trashed_at IS NULL RETURNING id`;
        fileIds = files.map((r) => r.id);
      }
      if (folderIds.length + fileIds.length === 0) throw new NotFoundError(kind === "file" ? "That file" : "That folder");
      await recordActivity(tx, {
        userId: actor.id,
        action: kind === "file" ? "file.trashed" : "folder.trashed",
        subjectType: kind,
        subjectId: rootId,
        details: { name: nameOf(item), folderId: parentOf(item), folders: folderIds.length, files: fileIds.length },
      });
      return { folderIds, fileIds };
    },
    { timeout: 60_000 },
  );
  await removeFromSearch(services, [...folderIds, ...fileIds]);
  services.notifier.toUser(ownerOf(item), { type: "folder:changed", folderId: parentOf(item) });
  return {
    kind,
    id: rootId,
    name: nameOf(item),
    parentId: parentOf(item),
    folders: folderIds.length,
    files: fileIds.length,
    queued: null,
  };
}

export interface TrashedItem {
  kind: ItemKind;
  id: string;
  name: string;
  parentId: string;
  folders: number;
  files: number;
  /** The bulk operation that goes on trashing its files in the background (a large folder). */
  queued: string | null;
}

/** Trashing or restoring a folder with more files than this goes in batches, by a job where one runs. */
export const INLINE_SUBTREE_LIMIT = 2000;

export interface SubtreeTuning extends SubtreeBatchOptions {
  inlineLimit?: number;
}

/** Live files in the live subtree of a folder (what trashing it would trash). */
async function liveFilesBelow(services: Services, rootId: string): Promise<number> {
  const [row] = await services.prisma.$queryRaw<Array<{ n: bigint }>>`
    WITH RECURSIVE sub AS (
      SELECT id FROM folders WHERE id = ${rootId} AND trashed_at IS NULL
      UNION ALL
      SELECT f.id FROM folders f JOIN sub ON f.parent_id = sub.id WHERE f.trashed_at IS NULL
    )
    SELECT count(*) AS n FROM files WHERE folder_id IN (SELECT id FROM sub) AND trashed_at IS NULL`;
  return Number(row!.n);
}

/**
 * A large folder: its folders are trashed in one short transaction (with the activity entry and,
 * where the job runs, a bulk operation that shows progress on the trash page), then its files a
 * batch at a time, by the job or here.
 */
async function trashLargeFolder(
  services: Services,
  actor: Actor,
  item: Extract<Awaited<ReturnType<typeof getWritableItem>>, { kind: "folder" }>,
  files: number,
  now: Date,
  tuning: SubtreeTuning,
): Promise<TrashedItem> {
  const rootId = item.folder.id;
  const background = bulkQueueRunning(services);
  const started = await services.prisma.$transaction(async (tx) => {
    const folders = await trashFolderTree(tx, rootId, now);
    if (folders.length === 0) throw new NotFoundError("That folder");
    await recordActivity(tx, {
      userId: actor.id,
      action: "folder.trashed",
      subjectType: "folder",
      subjectId: rootId,
      details: { name: nameOf(item), folderId: parentOf(item), folders: folders.length, files },
    });
    const operation = background
      ? await tx.bulkOperation.create({
          data: {
            ownerId: ownerOf(item),
            kind: "trash-folder",
            targetKind: "folder",
            targetId: rootId,
            targetName: nameOf(item),
            cutoff: now,
            total: files,
            folders: folders.length,
            auditActor: {},
            actorId: actor.id,
          },
          select: { id: true },
        })
      : null;
    return { folderIds: folders.map((row) => row.id), operationId: operation?.id ?? null };
  });
  await removeFromSearch(services, started.folderIds);
  if (started.operationId) await services.jobs!.send(BULK_QUEUE, { operationId: started.operationId });
  else await trashFilesInBatches(services, rootId, now, tuning);
  services.notifier.toUser(ownerOf(item), { type: "folder:changed", folderId: parentOf(item) });
  return {
    kind: "folder",
    id: rootId,
    name: nameOf(item),
    parentId: parentOf(item),
    folders: started.folderIds.length,
    files,
    queued: started.operationId,
  };
}

export async function removeFromSearch(services: Services, ids: string[]) {
  for (let i = 0; i < ids.length; i += 1000) await services.search.remove(ids.slice(i, i + 1000));
}

export interface TrashEntry {
  kind: ItemKind;
  id: string;
  name: string;
  trashedAt: Date;
  /** Bytes of the file, or of every file trashed with the folder. */
  size: number;
  /** Where it was, and goes back to: null when that folder is gone or trashed too (then: My files). */
  originalFolder: { id: string; name: string; isRoot: boolean } | null;
}

export const TRASH_PAGE_LIMIT = 500;

/** The tops of trashed subtrees (id = trashRootId), newest first. */
export async function trashRoots(services: Services, where: { ownerId?: string; trashedBefore?: Date; limit?: number }) {
  const owner = where.ownerId ?? null;
  const before = where.trashedBefore ?? null;
  const limit = where.limit ?? 1_000_000;
  const rows = await services.prisma.$queryRaw<Array<{ kind: "file" | "folder"; id: string }>>`
    SELECT kind, id FROM (
      SELECT 'folder' AS kind, id, trashed_at FROM folders
      WHERE trashed_at IS NOT NULL AND id = trash_root_id AND parent_id IS NOT NULL
        AND (${owner}::text IS NULL OR owner_id = ${owner}) AND (${before}::timestamp IS NULL OR trashed_at < ${before}::timestamp)
      UNION ALL
      SELECT 'file' AS kind, id, trashed_at FROM files
      WHERE trashed_at IS NOT NULL AND id = trash_root_id
        AND (${owner}::text IS NULL OR owner_id = ${owner}) AND (${before}::timestamp IS NULL OR trashed_at < ${before}::timestamp)
    ) roots ORDER BY trashed_at DESC, id LIMIT ${limit}`;
  return rows.map((row) => ({ kind: row.kind, id: row.id }));
}

/** The items the user put in the trash (the top of each trashed subtree), newest first. */
export async function listTrash(services: Services, user: Pick<SessionUser, "id">): Promise<TrashEntry[]> {
  const roots = await trashRoots(services, { ownerId: user.id, limit: TRASH_PAGE_LIMIT });
  const [folders, files] = await Promise.all([
    services.prisma.folder.findMany({
      where: { id: { in: roots.filter((r) => r.kind === "folder").map((r) => r.id) } },
      include: { parent: { select: { id: true, name: true, parentId: true, trashedAt: true } } },
    }),
    services.prisma.file.findMany({
      where: { id: { in: roots.filter((r) => r.kind === "file").map((r) => r.id) } },
      include: { folder: { select: { id: true, name: true, parentId: true, trashedAt: true } } },
    }),
  ]);
  const rootFolders = folders;
  const sizes = rootFolders.length
    ? await services.prisma.file.groupBy({
        by: ["trashRootId"],
        where: { trashRootId: { in: rootFolders.map((f) => f.id) } },
        _sum: { size: true },
      })
    : [];
  const sizeOf = new Map(sizes.map((row) => [row.trashRootId, Number(row._sum.size ?? 0)]));
  const place = (parent: { id: string; name: string; parentId: string | null; trashedAt: Date | null } | null) =>
    parent && !parent.trashedAt
      ? { id: parent.id, name: parent.parentId === null ? "My files" : parent.name, isRoot: parent.parentId === null }
      : null;
  const entries: TrashEntry[] = [
    ...rootFolders.map((f) => ({
      kind: "folder" as const,
      id: f.id,
      name: f.name,
      trashedAt: f.trashedAt!,
      size: sizeOf.get(f.id) ?? 0,
      originalFolder: place(f.parent),
    })),
    ...files.map((f) => ({
      kind: "file" as const,
      id: f.id,
      name: f.name,
      trashedAt: f.trashedAt!,
      size: Number(f.size),
      originalFolder: place(f.folder),
    })),
  ];
  return entries.sort((a, b) => b.trashedAt.getTime() - a.trashedAt.getTime() || a.name.localeCompare(b.name)).slice(0, TRASH_PAGE_LIMIT);
}

/** A top-level trash item of the user (the one they trashed); NotFound for anything else. */
export async function trashRoot(db: Db | Services["prisma"], ownerId: string | null, kind: ItemKind, id: string) {
  if (kind === "file") {
    const file = await db.file.findUnique({ where: { id } });
    if (!file?.trashedAt || file.trashRootId !== file.id || (ownerId !== null && file.ownerId !== ownerId)) {
      throw new NotFoundError("That item in the trash");
    }
    return { kind, id, ownerId: file.ownerId, name: file.name, parentId: file.folderId };
  }
  const folder = await db.folder.findUnique({ where: { id } });
  if (
    !folder?.trashedAt ||
    folder.trashRootId !== folder.id ||
    folder.parentId === null ||
    (ownerId !== null && folder.ownerId !== ownerId)
  ) {
    throw new NotFoundError("That item in the trash");
  }
  return { kind, id, ownerId: folder.ownerId, name: folder.name, parentId: folder.parentId };
}

/**
 * Puts a trashed item (and everything trashed with it) back where it was. When that folder is
 * gone or in the trash itself, it goes to My files; when its name is taken, it is numbered.
 */
export async function restoreItem(services: Services, actor: Actor, kind: ItemKind, id: string, tuning: SubtreeTuning = {}) {
  await trashRoot(services.prisma, actor.id, kind, id);
  await assertNotBeingDeleted(services, actor.id, kind, id);
  const root = await getRootFolder(services, actor.id);
  if (kind === "folder") {
    const folder = await services.prisma.folder.findUniqueOrThrow({ where: { id }, select: { trashedAt: true } });
    const files = await filesTrashedWith(services, id, folder.trashedAt!);
    if (files > (tuning.inlineLimit ?? INLINE_SUBTREE_LIMIT)) {
      return restoreLargeFolder(services, actor, { id, trashedAt: folder.trashedAt!, files }, root.id, tuning);
    }
  }
  for (let attempt = 0; ; attempt++) {
    try {
      const outcome = await services.prisma.$transaction(
        async (tx) => {
          const item = await trashRoot(tx, actor.id, kind, id);
          const { parentId, name } = await placeRestored(tx, item, root.id);
          const data = { name, nameKey: nameKey(name), trashedAt: null, trashRootId: null };
          if (kind === "file") await tx.file.update({ where: { id }, data: { ...data, folderId: parentId } });
          else await tx.folder.update({ where: { id }, data: { ...data, parentId } });
          const folders = await tx.$queryRaw<Array<{ id: string }>>`
          UPDATE folders SET trashed_at = NULL, trash_root_id = NULL WHERE trash_root_id = ${id} RETURNING id`;
          const files = await tx.$queryRaw<Array<{ id: string }>>`
          UPDATE files SET trashed_at = NULL, trash_root_id = NULL WHERE trash_root_id = ${id} RETURNING id`;
          await recordActivity(tx, {
            userId: actor.id,
            action: kind === "file" ? "file.restored" : "folder.restored",
            subjectType: kind,
            subjectId: id,
            details: { name, originalName: item.name, folderId: parentId, toRoot: parentId !== item.parentId },
          });
          const folderIds = [...(kind === "folder" ? [id] : []), ...folders.map((r) => r.id)];
          const fileIds = [...(kind === "file" ? [id] : []), ...files.map((r) => r.id)];
          return { parentId, name, movedToRoot: parentId !== item.parentId, folderIds, fileIds };
        },
        { timeout: 60_000 },
      );
      await reindex(services, outcome.folderIds, outcome.fileIds);
      services.notifier.toUser(actor.id, { type: "folder:changed", folderId: outcome.parentId });
      return { kind, id, name: outcome.name, parentId: outcome.parentId, movedToRoot: outcome.movedToRoot, queued: null };
    } catch (error) {
      // Someone took the name between our check and our write: pick the next free one.
      if ((error as { code?: string }).code === "P2002" && attempt < 3) continue;
      throw error;
    }
  }
}

/** Where a restored item goes back to, and under which name (numbered when its own is taken). */
async function placeRestored(tx: Db, item: { parentId: string; name: string }, rootId: string) {
  const parent = await tx.folder.findUnique({ where: { id: item.parentId }, select: { id: true, trashedAt: true } });
  const parentId = parent && !parent.trashedAt ? parent.id : rootId;
  return { parentId, name: await freeName(tx, parentId, item.name) };
}

/**
 * A large folder: it and its folders come back in one short transaction (with the activity entry
 * and, where the job runs, a bulk operation that shows progress on the trash page), then its files
 * a batch at a time, by the job or here, each batch re-indexed for search as it goes.
 */
async function restoreLargeFolder(
  services: Services,
  actor: Actor,
  { id, trashedAt, files }: { id: string; trashedAt: Date; files: number },
  rootId: string,
  tuning: SubtreeTuning,
) {
  const background = bulkQueueRunning(services);
  for (let attempt = 0; ; attempt++) {
    try {
      const outcome = await services.prisma.$transaction(async (tx) => {
        const item = await trashRoot(tx, actor.id, "folder", id);
        const { parentId, name } = await placeRestored(tx, item, rootId);
        await tx.folder.update({ where: { id }, data: { name, nameKey: nameKey(name), trashedAt: null, trashRootId: null, parentId } });
        const folders = await tx.$queryRaw<Array<{ id: string }>>`
          UPDATE folders SET trashed_at = NULL, trash_root_id = NULL WHERE trash_root_id = ${id} RETURNING id`;
        await recordActivity(tx, {
          userId: actor.id,
          action: "folder.restored",
          subjectType: "folder",
          subjectId: id,
          details: { name, originalName: item.name, folderId: parentId, toRoot: parentId !== item.parentId },
        });
        const operation = background
          ? await tx.bulkOperation.create({
              data: {
                ownerId: actor.id,
                kind: "restore",
                targetKind: "folder",
                targetId: id,
                targetName: name,
                cutoff: trashedAt,
                total: files,
                folders: folders.length + 1,
                auditActor: {},
                actorId: actor.id,
              },
              select: { id: true },
            })
          : null;
        return { parentId, name, movedToRoot: parentId !== item.parentId, folderIds: [id, ...folders.map((r) => r.id)], operation };
      });
      await reindex(services, outcome.folderIds, []);
      if (outcome.operation) await services.jobs!.send(BULK_QUEUE, { operationId: outcome.operation.id });
      else await restoreFilesInBatches(services, id, trashedAt, tuning);
      services.notifier.toUser(actor.id, { type: "folder:changed", folderId: outcome.parentId });
      const queued = outcome.operation?.id ?? null;
      return { kind: "folder" as const, id, name: outcome.name, parentId: outcome.parentId, movedToRoot: outcome.movedToRoot, queued };
    } catch (error) {
      // Someone took the name between our check and our write: pick the next free one.
      if ((error as { code?: string }).code === "P2002" && attempt < 3) continue;
      throw error;
    }
  }
}

/** Refuses restoring an item that a background deletion (bulk-operations.server) is deleting. */
async function assertNotBeingDeleted(services: Services, ownerId: string, kind: ItemKind, id: string) {
  const trashedAt =
    kind === "file"
      ? Prisma.sql`(SELECT trashed_at FROM files WHERE id = ${id})`
      : Prisma.sql`(SELECT trashed_at FROM folders WHERE id = ${id})`;
  const rows = await services.prisma.$queryRaw<unknown[]>`
    SELECT 1 FROM bulk_operations
    WHERE owner_id = ${ownerId} AND finished_at IS NULL
      AND ((kind = 'delete-forever' AND target_id = ${id}) OR (kind = 'empty-trash' AND cutoff >= ${trashedAt}))
    LIMIT 1`;
  if (rows.length > 0) throw new ConflictError("That item is being deleted for good, so it cannot be restored any more.");
}

async function reindex(services: Services, folderIds: string[], fileIds: string[]) {
  for (let i = 0; i < folderIds.length; i += 500) {
    const folders = await services.prisma.folder.findMany({ where: { id: { in: folderIds.slice(i, i + 500) } } });
    await services.search.upsert(folders.map(folderSearchDocument));
  }
  for (let i = 0; i < fileIds.length; i += 500) {
    const files = await services.prisma.file.findMany({ where: { id: { in: fileIds.slice(i, i + 500) } } });
    await services.search.upsert(files.map(fileSearchDocument));
    // Their text left the index with them: extract it again (the backfill too, if this is lost).
    await forgetIndexedContent(
      services,
      files.map((file) => file.id),
    );
    scheduleContentIndexing(services, files);
  }
}

/** The folder a restored item went back into: its name, and whether it is the owner's root; null when gone. */
export function restoredInto(services: Services, folderId: string): Promise<{ name: string; parentId: string | null } | null> {
  return services.prisma.folder.findUnique({ where: { id: folderId }, select: { name: true, parentId: true } });
}

/** Whether an item is in a trash, and whose: for the note after trashing it (or uploading into a trashed folder). */
export function trashStateOf(
  services: Services,
  kind: ItemKind,
  id: string,
): Promise<{ name: string; ownerId: string; trashedAt: Date | null } | null> {
  const select = { name: true, ownerId: true, trashedAt: true } as const;
  return kind === "file"
    ? services.prisma.file.findUnique({ where: { id }, select })
    : services.prisma.folder.findUnique({ where: { id }, select });
}

/** An item at the top of the user's trash (what the delete-forever confirmation names); NotFound otherwise. */
export async function getTrashedItem(services: Services, actor: Pick<SessionUser, "id">, kind: ItemKind, id: string) {
  const item = await trashRoot(services.prisma, actor.id, kind, id);
  return { kind: item.kind, id: item.id, name: item.name };
}

/** Marks a folder and every folder below it not yet in the trash as trashed under `rootId`; their ids. */
function trashFolderTree(tx: Prisma.TransactionClient, rootId: string, now: Date): Promise<Array<{ id: string }>> {
  return tx.$queryRaw<Array<{ id: string }>>`
    WITH RECURSIVE sub AS (
      SELECT id FROM folders WHERE id = ${rootId} AND trashed_at IS NULL
      UNION ALL
      SELECT f.id FROM folders f JOIN sub ON f.parent_id = sub.id WHERE f.trashed_at IS NULL
    )
    UPDATE folders SET trashed_at = ${now}, trash_root_id = ${rootId}
    WHERE id IN (SELECT id FROM sub) RETURNING id`;
}
