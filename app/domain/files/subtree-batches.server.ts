// Trashing and restoring the files of a large folder in batches: each batch is one short
// transaction over at most `batchSize` files, and its search documents follow it (removed, or
// re-indexed from the rows just restored), so neither a transaction nor the memory grows with the
// folder. The folders themselves change in one statement before the batches (there are few).
//
// A batch touches only files of the subtree trashed at `trashedAt` (the folder's own time): if the
// folder is restored while its files are still being trashed (or trashed again while they are
// being restored), the older operation finds nothing more to do and stops.
import type { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { forgetIndexedContent, scheduleContentIndexingBatch } from "../search/content-index.server";
import { fileSearchDocument } from "../search/search-documents.server";

type Db = Prisma.TransactionClient;

export interface SubtreeBatchOptions {
  /** Files per transaction. */
  batchSize?: number;
  /** Runs in each batch's transaction with how many files it changed (progress that commits with them). */
  onBatch?: (tx: Db, files: number) => Promise<void>;
  /** Runs after each batch has committed and its search documents are updated (tests interrupt here). */
  afterBatch?: () => Promise<void>;
}

export const SUBTREE_BATCH = 1000;
const FOLDER_PAGE = 500;
const BATCH_TX = { maxWait: 10_000, timeout: 60_000 } as const;

/** Files trashed with `rootId` at `trashedAt` (what restoring it brings back). */
export async function filesTrashedWith(services: Services, rootId: string, trashedAt: Date): Promise<number> {
  const [row] = await services.prisma.$queryRaw<Array<{ n: bigint }>>`
    SELECT count(*) AS n FROM files WHERE trash_root_id = ${rootId} AND trashed_at = ${trashedAt}`;
  return Number(row!.n);
}

/**
 * Trashes the live files of every folder trashed with `rootId` at `trashedAt`, folder by folder,
 * a batch at a time; how many it trashed. Files trashed separately before keep their own trash item.
 */
export async function trashFilesInBatches(
  services: Services,
  rootId: string,
  trashedAt: Date,
  options: SubtreeBatchOptions = {},
): Promise<number> {
  let trashed = 0;
  let afterFolder = "";
  for (;;) {
    const folders = await services.prisma.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM folders WHERE trash_root_id = ${rootId} AND trashed_at = ${trashedAt} AND id > ${afterFolder}
      ORDER BY id LIMIT ${FOLDER_PAGE}`;
    if (folders.length === 0) return trashed;
    for (const { id } of folders) trashed += await trashFolderFiles(services, rootId, trashedAt, id, options);
    afterFolder = folders.at(-1)!.id;
  }
}

/** One folder's live files, in name order from a cursor (already trashed rows are not read again). */
async function trashFolderFiles(
  services: Services,
  rootId: string,
  trashedAt: Date,
  folderId: string,
  options: SubtreeBatchOptions,
): Promise<number> {
  const limit = options.batchSize ?? SUBTREE_BATCH;
  let after = { nameKey: "", id: "" };
  let trashed = 0;
  for (;;) {
    const batch = await services.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<Array<{ id: string; name_key: string; live: boolean }>>`
        SELECT x.id, x.name_key, x.trashed_at IS NULL AS live FROM files x
        WHERE x.folder_id = ${folderId} AND (x.name_key, x.id) > (${after.nameKey}, ${after.id})
          AND EXISTS (SELECT 1 FROM folders f WHERE f.id = ${folderId} AND f.trash_root_id = ${rootId} AND f.trashed_at = ${trashedAt})
        ORDER BY x.name_key, x.id LIMIT ${limit} FOR UPDATE OF x`;
      const ids = rows.filter((row) => row.live).map((row) => row.id);
      if (ids.length > 0) {
        await tx.$executeRaw`UPDATE files SET trashed_at = ${trashedAt}, trash_root_id = ${rootId} WHERE id = ANY(${ids}::text[])`;
        await options.onBatch?.(tx, ids.length);
      }
      return { ids, last: rows.at(-1) };
    }, BATCH_TX);
    if (!batch.last) return trashed;
    after = { nameKey: batch.last.name_key, id: batch.last.id };
    if (batch.ids.length > 0) {
      await services.search.remove(batch.ids);
      trashed += batch.ids.length;
      await options.afterBatch?.();
    }
  }
}

/**
 * Restores the files trashed with `rootId` at `trashedAt` (its folders are restored already), a
 * batch at a time, re-indexing each batch for search and queueing its text extraction; how many.
 */
export async function restoreFilesInBatches(
  services: Services,
  rootId: string,
  trashedAt: Date,
  options: SubtreeBatchOptions = {},
): Promise<number> {
  const limit = options.batchSize ?? SUBTREE_BATCH;
  let restored = 0;
  for (;;) {
    const files = await services.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<Array<{ id: string }>>`
        SELECT id FROM files WHERE trash_root_id = ${rootId} AND trashed_at = ${trashedAt} LIMIT ${limit} FOR UPDATE`;
      if (rows.length === 0) return [];
      const ids = rows.map((row) => row.id);
      await tx.$executeRaw`UPDATE files SET trashed_at = NULL, trash_root_id = NULL WHERE id = ANY(${ids}::text[])`;
      await options.onBatch?.(tx, ids.length);
      return tx.file.findMany({ where: { id: { in: ids } } });
    }, BATCH_TX);
    if (files.length === 0) return restored;
    await services.search.upsert(files.map(fileSearchDocument));
    // Their text left the index with them: extract it again (the backfill too, if this is lost).
    await forgetIndexedContent(
      services,
      files.map((file) => file.id),
    );
    await scheduleContentIndexingBatch(services, files);
    restored += files.length;
    await options.afterBatch?.();
  }
}
