// Deleting from the trash for good: one item, the whole trash, and items past the retention.
// Rows go in batches of short transactions (trash-batches.server); more than a request should
// carry becomes a background job that shows its progress (bulk-operations.server).
import type { Services } from "~/services/index.server";
import type { SessionUser } from "../accounts/sessions.server";
import { getSettings } from "../admin/settings.server";
import { type AuditActor, SYSTEM_ACTOR } from "../audit/audit.server";
import { NotFoundError } from "../errors";
import { bulkQueueRunning, finishTrashing, recordDeleted, recordEmptied, startBulkOperation } from "./bulk-operations.server";
import { getRootFolder } from "./folders.server";
import type { ItemKind } from "./operations.server";
import { countInScope, type PurgeOptions, type PurgeScope, purgeInBatches } from "./trash-batches.server";
import { removeFromSearch, trashRoot, trashRoots } from "./trash.server";
import { assertNotHeld, HeldError, isHeld, rethrowHeld } from "./holds.server";

type Actor = Pick<SessionUser, "id" | "role">;

/** Up to this many rows are deleted within the request; more go to a background job. */
export const INLINE_PURGE_LIMIT = 2000;

export interface PurgeTuning extends PurgeOptions {
  /** Rows deleted within the request at most (more: a background job, when its queue runs here). */
  inlineLimit?: number;
}

/**
 * Deletes a trashed item and everything trashed with it: rows first, then their objects
 * (content, versions, thumbnails), batch by batch, so a crash leaves orphan objects, never rows
 * without bytes. Items below it that were trashed separately are kept: they move to My files.
 * A large folder is deleted by a background job: then `queued` names the operation.
 */
export async function deleteForever(
  services: Services,
  actor: Actor,
  kind: ItemKind,
  id: string,
  audit: AuditActor,
  tuning: PurgeTuning = {},
): Promise<{ kind: ItemKind; id: string; objectsDeleted: number; rescued: number; queued: string | null }> {
  const item = await trashRoot(services.prisma, actor.id, kind, id);
  await assertNotHeld(services.prisma, kind, id, item.name);
  await finishTrashing(services, item.ownerId, kind === "folder" ? id : null);
  const scope: PurgeScope = { kind: "item", ownerId: item.ownerId, itemKind: kind, rootId: id };
  if (kind === "folder" && bulkQueueRunning(services)) {
    const total = await countInScope(services, scope);
    if (total > (tuning.inlineLimit ?? INLINE_PURGE_LIMIT)) {
      const queued = await startBulkOperation(services, {
        ownerId: item.ownerId,
        actorId: actor.id,
        audit,
        cutoff: new Date(),
        total,
        roots: 1,
        target: { kind, id, name: item.name },
      });
      return { kind, id, objectsDeleted: 0, rescued: 0, queued };
    }
  }
  const result = await purgeTrashRoot(services, scope, item, actor.id, audit, tuning);
  return { ...result, queued: null };
}

async function purgeTrashRoot(
  services: Services,
  scope: Extract<PurgeScope, { kind: "item" }>,
  item: { name: string; ownerId: string },
  actorId: string | null,
  audit: AuditActor,
  options: PurgeOptions = {},
) {
  const counts = await purgeInBatches(services, scope, options);
  if (counts.files + counts.folders === 0) throw new NotFoundError("That item in the trash");
  await services.prisma.$transaction((tx) =>
    recordDeleted(tx, audit, {
      kind: scope.itemKind,
      id: scope.rootId,
      name: item.name,
      ownerId: item.ownerId,
      actorId,
      folders: counts.folders,
      files: counts.files,
      rescued: counts.rescued,
    }),
  );
  return { kind: scope.itemKind, id: scope.rootId, objectsDeleted: counts.objects, rescued: counts.rescued };
}

/** Tops of trashed subtrees of the user, trashed at or before `cutoff`. */
async function countTrashRoots(services: Services, ownerId: string, cutoff: Date): Promise<number> {
  const [row] = await services.prisma.$queryRaw<Array<{ n: bigint }>>`
    SELECT (SELECT count(*) FROM folders WHERE owner_id = ${ownerId} AND trashed_at IS NOT NULL AND trashed_at <= ${cutoff}
              AND id = trash_root_id AND parent_id IS NOT NULL)
         + (SELECT count(*) FROM files WHERE owner_id = ${ownerId} AND trashed_at IS NOT NULL AND trashed_at <= ${cutoff}
              AND id = trash_root_id) AS n`;
  return Number(row!.n);
}

/**
 * Deletes everything in the user's trash (what is trashed meanwhile stays). A small trash goes
 * item by item, each with its own audit event, as always; a large one is emptied by a background
 * job (then `queued` names the operation) with one audit event for the whole trash.
 */
export async function emptyTrash(
  services: Services,
  actor: Actor,
  audit: AuditActor,
  tuning: PurgeTuning = {},
): Promise<{ items: number; objectsDeleted: number; queued: string | null; held: number }> {
  await finishTrashing(services, actor.id, null);
  const cutoff = new Date();
  const scope: PurgeScope = { kind: "trash", ownerId: actor.id, cutoff };
  const inlineLimit = tuning.inlineLimit ?? INLINE_PURGE_LIMIT;
  const total = await countInScope(services, scope);
  const roots = await countTrashRoots(services, actor.id, cutoff);
  let objectsDeleted = 0;
  let held = 0;
  if (total <= inlineLimit) {
    // At most `inlineLimit` items, so at most as many roots.
    for (const root of await trashRoots(services, {
      ownerId: actor.id,
      trashedBefore: new Date(cutoff.getTime() + 1),
      limit: inlineLimit,
    })) {
      const item = await trashRoot(services.prisma, actor.id, root.kind, root.id).catch(() => null);
      if (!item) continue;
      // Held items stay in the trash; the rest goes (the count of kept ones is returned).
      if (await isHeld(services.prisma, root.kind, root.id)) {
        held++;
        continue;
      }
      const scopeOfRoot = { kind: "item", ownerId: actor.id, itemKind: root.kind, rootId: root.id } as const;
      const result = await purgeTrashRoot(services, scopeOfRoot, item, actor.id, audit, tuning).catch((error) => {
        if (error instanceof NotFoundError) return null;
        throw error;
      });
      objectsDeleted += result?.objectsDeleted ?? 0;
    }
  } else if (bulkQueueRunning(services)) {
    const queued = await startBulkOperation(services, { ownerId: actor.id, actorId: actor.id, audit, cutoff, total, roots });
    return { items: roots, objectsDeleted: 0, queued, held: 0 };
  } else {
    objectsDeleted = (await purgeInBatches(services, scope, tuning)).objects;
  }
  await services.prisma.$transaction((tx) => recordEmptied(tx, audit, actor.id, actor.id, roots));
  services.notifier.toUser(actor.id, { type: "folder:changed", folderId: (await getRootFolder(services, actor.id)).id });
  return { items: roots - held, objectsDeleted, queued: null, held };
}

/** Trash roots past the retention, a page at a time (oldest first), so memory stays bounded. */
const EXPIRED_PAGE = 1000;

/** Deletes, for every user, trash items older than settings.trashRetentionDays. */
export async function purgeExpiredTrash(
  services: Services,
  now = new Date(),
  options: PurgeOptions = {},
): Promise<{ items: number; objectsDeleted: number }> {
  const { trashRetentionDays } = await getSettings(services);
  const cutoff = new Date(now.getTime() - trashRetentionDays * 24 * 60 * 60 * 1000);
  let items = 0;
  let objectsDeleted = 0;
  // Failed roots stay behind (they are logged); the cursor steps past them.
  let after: { trashedAt: Date; id: string } | null = null;
  for (;;) {
    const page = await expiredRoots(services, cutoff, after);
    if (page.length === 0) break;
    after = { trashedAt: page.at(-1)!.trashed_at, id: page.at(-1)!.id };
    for (const root of page) {
      try {
        const item = await trashRoot(services.prisma, null, root.kind, root.id);
        // A held item outstays the retention; it is purged on a later run once released.
        await assertNotHeld(services.prisma, root.kind, root.id);
        const scope = { kind: "item", ownerId: item.ownerId, itemKind: root.kind, rootId: root.id } as const;
        const result = await purgeTrashRoot(services, scope, item, null, SYSTEM_ACTOR, options);
        items++;
        objectsDeleted += result.objectsDeleted;
      } catch (error) {
        if (error instanceof NotFoundError || error instanceof HeldError) continue;
        services.log.error("could not purge an expired trash item", { kind: root.kind, id: root.id, error });
      }
    }
  }
  return { items, objectsDeleted };
}

async function expiredRoots(services: Services, cutoff: Date, after: { trashedAt: Date; id: string } | null) {
  const afterAt = after?.trashedAt ?? new Date(0);
  const afterId = after?.id ?? "";
  return services.prisma.$queryRaw<Array<{ kind: ItemKind; id: string; trashed_at: Date }>>`
    SELECT kind, id, trashed_at FROM (
      SELECT 'folder' AS kind, id, trashed_at FROM folders
      WHERE trashed_at IS NOT NULL AND trashed_at < ${cutoff} AND id = trash_root_id AND parent_id IS NOT NULL
      UNION ALL
      SELECT 'file' AS kind, id, trashed_at FROM files
      WHERE trashed_at IS NOT NULL AND trashed_at < ${cutoff} AND id = trash_root_id
    ) roots WHERE (trashed_at, id) > (${afterAt}, ${afterId}) ORDER BY trashed_at, id LIMIT ${EXPIRED_PAGE}`;
}

/**
 * Deletes a live file for good on the system's behalf (a delete-after retention rule): it goes to
 * the trash and is purged at once, as the trash expiry purges, so its objects, versions, quota
 * usage and events are handled alike and the audit event names no person. Held or kept: HeldError.
 */
export async function purgeLiveFile(
  services: Services,
  fileId: string,
  audit: AuditActor = SYSTEM_ACTOR,
  now = new Date(),
): Promise<{ objectsDeleted: number; size: bigint }> {
  const file = await services.prisma.file.findUnique({
    where: { id: fileId },
    select: { name: true, ownerId: true, folderId: true, size: true, trashedAt: true },
  });
  if (!file || file.trashedAt) throw new NotFoundError("That file");
  await assertNotHeld(services.prisma, "file", fileId, file.name);
  const rows = await services.prisma.$queryRaw<Array<{ id: string }>>`
    UPDATE files SET trashed_at = ${now}, trash_root_id = id WHERE id = ${fileId} AND trashed_at IS NULL RETURNING id`.catch(rethrowHeld);
  if (rows.length === 0) throw new NotFoundError("That file");
  await removeFromSearch(services, [fileId]);
  const scope = { kind: "item", ownerId: file.ownerId, itemKind: "file", rootId: fileId } as const;
  const result = await purgeTrashRoot(services, scope, { name: file.name, ownerId: file.ownerId }, null, audit);
  services.notifier.toUser(file.ownerId, { type: "folder:changed", folderId: file.folderId });
  return { objectsDeleted: result.objectsDeleted, size: file.size };
}
