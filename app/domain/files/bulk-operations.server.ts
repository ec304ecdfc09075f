// Long deletions as durable jobs: emptying a large trash, deleting a large trashed folder for
// good. The request records a bulk_operations row and queues a job; the job deletes in batches
// (trash-batches.server), counting progress in the row with each batch, and a retried job (its
// process died) carries on with what is left. One activity entry and one audit event are
// written when it finishes, for the whole operation.
import type { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { recordActivity } from "../audit/activity.server";
import { type AuditActor, recordAudit } from "../audit/audit.server";
import type { ItemKind } from "./operations.server";
import { restoreFilesInBatches, type SubtreeBatchOptions, trashFilesInBatches } from "./subtree-batches.server";
import { type PurgeOptions, type PurgeScope, purgeInBatches } from "./trash-batches.server";

import { BULK_QUEUE } from "./bulk-queue.server";

export { BULK_QUEUE, bulkQueueRunning } from "./bulk-queue.server";

type BulkOperationRow = Prisma.BulkOperationGetPayload<object>;

export interface BulkOperationStart {
  ownerId: string;
  actorId: string | null;
  audit: AuditActor;
  cutoff: Date;
  total: number;
  roots: number;
  target?: { kind: ItemKind; id: string; name: string };
}

/** Records the operation and queues its job; its id. */
export async function startBulkOperation(services: Services, start: BulkOperationStart): Promise<string> {
  const operation = await services.prisma.bulkOperation.create({
    data: {
      ownerId: start.ownerId,
      kind: start.target ? "delete-forever" : "empty-trash",
      targetKind: start.target?.kind ?? null,
      targetId: start.target?.id ?? null,
      targetName: start.target?.name ?? null,
      cutoff: start.cutoff,
      total: start.total,
      roots: start.roots,
      auditActor: { ...start.audit },
      actorId: start.actorId,
    },
  });
  await services.jobs!.send(BULK_QUEUE, { operationId: operation.id });
  return operation.id;
}

function scopeOf(operation: BulkOperationRow): PurgeScope {
  if (operation.kind === "delete-forever" && operation.targetId && operation.targetKind) {
    return { kind: "item", ownerId: operation.ownerId, itemKind: operation.targetKind as ItemKind, rootId: operation.targetId };
  }
  return { kind: "trash", ownerId: operation.ownerId, cutoff: operation.cutoff };
}

/** The job: does what is left of the operation, then records it once. */
export async function runBulkOperation(services: Services, operationId: string, options: PurgeOptions = {}): Promise<void> {
  const operation = await services.prisma.bulkOperation.findUnique({ where: { id: operationId } });
  if (!operation || operation.finishedAt) return;
  if (operation.kind === "trash-folder" || operation.kind === "restore") {
    await runSubtreeOperation(services, operation, { batchSize: options.batchSize, afterBatch: options.afterBatch });
    return;
  }
  await purgeInBatches(services, scopeOf(operation), {
    ...options,
    onBatch: async (tx, deleted) => {
      await tx.bulkOperation.update({
        where: { id: operationId },
        data: {
          done: { increment: deleted.files + deleted.folders },
          files: { increment: deleted.files },
          folders: { increment: deleted.folders },
          rescued: { increment: deleted.rescued },
          objects: { increment: deleted.objects },
        },
      });
      await options.onBatch?.(tx, deleted);
    },
  });
  const finished = await services.prisma.$transaction(async (tx) => {
    const claimed = await tx.bulkOperation.updateMany({ where: { id: operationId, finishedAt: null }, data: { finishedAt: new Date() } });
    if (claimed.count === 0) return null;
    const row = await tx.bulkOperation.findUniqueOrThrow({ where: { id: operationId } });
    await recordOutcome(tx, row);
    return row;
  });
  if (!finished) return;
  const root = await services.prisma.folder.findFirst({ where: { ownerId: finished.ownerId, parentId: null }, select: { id: true } });
  if (root) services.notifier.toUser(finished.ownerId, { type: "folder:changed", folderId: root.id });
}

/**
 * Trashing or restoring a large folder: its files, a batch at a time (its folders changed when
 * it started, with the activity entry). A retried job carries on with the files left; the row
 * goes when it is done.
 */
async function runSubtreeOperation(services: Services, operation: BulkOperationRow, options: SubtreeBatchOptions) {
  const batches: SubtreeBatchOptions = {
    ...options,
    onBatch: async (tx, files) => {
      // updateMany: a purge may have finished this operation and removed its row meanwhile.
      await tx.bulkOperation.updateMany({ where: { id: operation.id }, data: { done: { increment: files }, files: { increment: files } } });
    },
  };
  const rootId = operation.targetId!;
  if (operation.kind === "trash-folder") await trashFilesInBatches(services, rootId, operation.cutoff, batches);
  else await restoreFilesInBatches(services, rootId, operation.cutoff, batches);
  // Its activity entry was written when it started: done, it leaves nothing behind.
  await services.prisma.bulkOperation.deleteMany({ where: { id: operation.id } });
  const folder = await services.prisma.folder.findUnique({ where: { id: rootId }, select: { parentId: true } });
  if (folder?.parentId) services.notifier.toUser(operation.ownerId, { type: "folder:changed", folderId: folder.parentId });
}

/**
 * Trashes now the files a large folder's trashing has not reached yet (of `folderId`, or of every
 * such folder of the owner), before a purge: the purge would take them for strays that landed in a
 * trashed folder and move them to My files. Its job, still running or not, then finds nothing left.
 */
export async function finishTrashing(services: Services, ownerId: string, folderId: string | null): Promise<void> {
  const operations = await services.prisma.bulkOperation.findMany({
    where: { ownerId, kind: "trash-folder", finishedAt: null, ...(folderId ? { targetId: folderId } : {}) },
    select: { id: true, targetId: true, cutoff: true },
  });
  for (const operation of operations) {
    await trashFilesInBatches(services, operation.targetId!, operation.cutoff);
    await services.prisma.bulkOperation.deleteMany({ where: { id: operation.id } });
  }
}

async function recordOutcome(tx: Prisma.TransactionClient, row: BulkOperationRow) {
  const audit = row.auditActor as unknown as AuditActor;
  if (row.kind === "empty-trash") {
    await recordEmptied(tx, audit, row.ownerId, row.actorId, row.roots);
    return;
  }
  const kind = row.targetKind as ItemKind;
  await recordDeleted(tx, audit, {
    kind,
    id: row.targetId!,
    name: row.targetName ?? "",
    ownerId: row.ownerId,
    actorId: row.actorId,
    folders: row.folders,
    files: row.files,
    rescued: row.rescued,
  });
}

/** The one activity entry and audit event of emptying a trash. */
export async function recordEmptied(
  db: Prisma.TransactionClient,
  audit: AuditActor,
  ownerId: string,
  actorId: string | null,
  items: number,
) {
  await recordActivity(db, { userId: actorId, action: "trash.emptied", subjectType: "trash", subjectId: ownerId, details: { items } });
  await recordAudit(db, audit, { action: "data.trash_emptied", targetType: "trash", targetId: ownerId, details: { items } });
}

export interface DeletedItem {
  kind: ItemKind;
  id: string;
  name: string;
  ownerId: string;
  /** Null when the retention purge deleted it. */
  actorId: string | null;
  folders: number;
  files: number;
  rescued: number;
}

/** The activity entry and audit event of deleting one trash item for good. */
export async function recordDeleted(db: Prisma.TransactionClient, audit: AuditActor, item: DeletedItem) {
  const automatic = item.actorId === null;
  await recordActivity(db, {
    userId: item.actorId,
    action: item.kind === "file" ? "file.deleted" : "folder.deleted",
    subjectType: item.kind,
    subjectId: item.id,
    details: { name: item.name, folders: item.folders, files: item.files, rescued: item.rescued, automatic },
  });
  await recordAudit(db, audit, {
    action: "data.deleted",
    targetType: item.kind,
    targetId: item.id,
    details: { name: item.name, ownerId: item.ownerId, folders: item.folders, files: item.files, automatic },
  });
}

export type BulkProgressKind = "empty-trash" | "delete-forever" | "trash-folder" | "restore";

export interface BulkProgress {
  id: string;
  kind: BulkProgressKind;
  targetName: string | null;
  total: number;
  done: number;
}

/** The user's operations still under way, oldest first (what the trash page shows). */
export async function activeBulkOperations(services: Services, ownerId: string): Promise<BulkProgress[]> {
  const rows = await services.prisma.bulkOperation.findMany({
    where: { ownerId, finishedAt: null },
    orderBy: { createdAt: "asc" },
    select: { id: true, kind: true, targetName: true, total: true, done: true },
  });
  return rows.map((row) => ({ ...row, kind: progressKind(row.kind) }));
}

function progressKind(kind: string): BulkProgressKind {
  return kind === "delete-forever" || kind === "trash-folder" || kind === "restore" ? kind : "empty-trash";
}
