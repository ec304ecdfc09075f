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

type Actor = Pick<SessionUser, "id" | "role">;
type Db = Prisma.TransactionClient;

/**
 * Moves a file or a folder with everything below it to the trash: every live item of the subtree
 * gets trashedAt and trashRootId = the item trashed, and stays where it is. Items below that
 * were trashed separately earlier keep their own trashRootId.
 */
export async function trashItem(services: Services, actor: Actor, kind: ItemKind, id: string, now = new Date()) {
  const item = await getWritableItem(services, actor, kind, id);
  const rootId = item.kind === "file" ? item.file.id : item.folder.id;
  const { folderIds, fileIds } = await services.prisma.$transaction(
    async (tx) => {
      let folderIds: string[] = [];
      let fileIds: string[] = [];
      if (item.kind === "file") {
        const rows = await tx.$queryRaw<Array<{ id: string }>>`
        UPDATE files SET trashed_at = ${now}, trash_root_id = ${rootId} WHERE id = ${rootId} AND trashed_at IS NULL RETURNING id`;
        fileIds = rows.map((r) => r.id);
      } else {
        const folders = await tx.$queryRaw<Array<{ id: string }>>`
        WITH RECURSIVE sub AS (
          SELECT id FROM folders WHERE id = ${rootId} AND trashed_at IS NULL
          UNION ALL
          SELECT f.id FROM folders f JOIN sub ON f.parent_id = sub.id WHERE f.trashed_at IS NULL
        )
        UPDATE folders SET trashed_at = ${now}, trash_root_id = ${rootId}
        WHERE id IN (SELECT id FROM sub) RETURNING id`;
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
  return { kind, id: rootId, name: nameOf(item), parentId: parentOf(item), folders: folderIds.length, files: fileIds.length };
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
export async function restoreItem(services: Services, actor: Actor, kind: ItemKind, id: string) {
  await trashRoot(services.prisma, actor.id, kind, id);
  await assertNotBeingDeleted(services, actor.id, kind, id);
  const root = await getRootFolder(services, actor.id);
  for (let attempt = 0; ; attempt++) {
    try {
      const outcome = await services.prisma.$transaction(
        async (tx) => {
          const item = await trashRoot(tx, actor.id, kind, id);
          const parent = await tx.folder.findUnique({ where: { id: item.parentId }, select: { id: true, trashedAt: true } });
          const parentId = parent && !parent.trashedAt ? parent.id : root.id;
          const name = await freeName(tx, parentId, item.name);
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
      return { kind, id, name: outcome.name, parentId: outcome.parentId, movedToRoot: outcome.movedToRoot };
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
