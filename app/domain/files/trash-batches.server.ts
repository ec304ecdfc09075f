// Deleting trashed rows in batches: each batch is one short transaction (rows first), then the
// objects those rows named go (deleteUnreferencedObjects) and the rows leave the search index. A
// crash between batches leaves a smaller trash and, at worst, orphan objects; never rows without
// bytes. Running it again carries on with what is left, so a job can simply be retried.
import { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { freeName } from "./name-conflicts.server";
import { nameKey } from "./names";
import type { ItemKind } from "./operations.server";
import { deleteUnreferencedObjects } from "./shared-objects.server";
import { removeFromSearch } from "./trash.server";
import { removeDeadProperties } from "../webdav/properties.server";
import { fileNotHeld, folderNotHeld } from "./holds.server";

type Db = Prisma.TransactionClient;

/** What a purge deletes: one trashed item with everything trashed with it, or a whole trash. */
export type PurgeScope =
  | { kind: "item"; ownerId: string; itemKind: ItemKind; rootId: string }
  /** Everything `ownerId` trashed at or before `cutoff` (what was trashed later stays). */
  | { kind: "trash"; ownerId: string; cutoff: Date }
  /** Every file and folder `ownerId` owns, My files included (erasing the account). */
  | { kind: "account"; ownerId: string };

export interface PurgeCounts {
  files: number;
  folders: number;
  rescued: number;
  objects: number;
  /** Earlier versions deleted with the files (an erased account's audit event names them). */
  versions: number;
}

export interface PurgeOptions {
  /** Rows per transaction. */
  batchSize?: number;
  /** Runs in each batch's transaction with what it deleted (progress that commits with the rows). */
  onBatch?: (tx: Db, deleted: PurgeCounts) => Promise<void>;
  /** Runs after each batch has committed and its objects are gone (tests interrupt here). */
  afterBatch?: () => Promise<void>;
}

export const PURGE_BATCH = 1000;
const NOTHING: PurgeCounts = { files: 0, folders: 0, rescued: 0, objects: 0, versions: 0 };
const BATCH_TX = { maxWait: 10_000, timeout: 60_000 } as const;

function folderScope(scope: PurgeScope, alias: string): Prisma.Sql {
  const a = Prisma.raw(alias);
  if (scope.kind === "account") return Prisma.sql`${a}.owner_id = ${scope.ownerId}`;
  if (scope.kind === "item") {
    return scope.itemKind === "folder" ? Prisma.sql`${a}.trash_root_id = ${scope.rootId}` : Prisma.sql`FALSE`;
  }
  // Emptying the trash keeps what a legal hold covers (the other scopes are refused whole first).
  return Prisma.sql`${a}.owner_id = ${scope.ownerId} AND ${a}.trashed_at IS NOT NULL AND ${a}.trashed_at <= ${scope.cutoff}
    AND ${a}.parent_id IS NOT NULL AND ${folderNotHeld(alias)}`;
}

function fileScope(scope: PurgeScope): Prisma.Sql {
  if (scope.kind === "account") return Prisma.sql`owner_id = ${scope.ownerId}`;
  if (scope.kind === "item") {
    return scope.itemKind === "file"
      ? Prisma.sql`id = ${scope.rootId} AND trash_root_id = ${scope.rootId}`
      : Prisma.sql`trash_root_id = ${scope.rootId}`;
  }
  return Prisma.sql`owner_id = ${scope.ownerId} AND trashed_at IS NOT NULL AND trashed_at <= ${scope.cutoff}
    AND ${fileNotHeld("files")}`;
}

/** Deletes everything in `scope`, batch by batch; what it deleted. */
export async function purgeInBatches(services: Services, scope: PurgeScope, options: PurgeOptions = {}): Promise<PurgeCounts> {
  const total: PurgeCounts = { ...NOTHING };
  const add = (counts: PurgeCounts) => {
    total.files += counts.files;
    total.folders += counts.folders;
    total.rescued += counts.rescued;
    total.objects += counts.objects;
    total.versions += counts.versions;
  };
  // A folder that cannot go yet (something was put into it meanwhile) sends us round once more.
  for (let round = 0; round < 3; round++) {
    let progressed = false;
    for (;;) {
      const rescued = await rescueBatch(services, scope, options);
      if (rescued === 0) break;
      add({ ...NOTHING, rescued });
    }
    for (;;) {
      const counts = await deleteFileBatch(services, scope, options);
      if (counts.files === 0) break;
      progressed = true;
      add(counts);
      await options.afterBatch?.();
    }
    for (;;) {
      const counts = await deleteFolderBatch(services, scope, options);
      if (counts.folders === 0) break;
      progressed = true;
      add(counts);
      await options.afterBatch?.();
    }
    if (!progressed || !(await anyFolderLeft(services, scope))) break;
  }
  return total;
}

async function anyFolderLeft(services: Services, scope: PurgeScope): Promise<boolean> {
  const rows = await services.prisma.$queryRaw<unknown[]>`SELECT 1 FROM folders f WHERE ${folderScope(scope, "f")} LIMIT 1`;
  return rows.length > 0;
}

/**
 * Items directly inside a doomed folder that are not doomed themselves (trashed separately into
 * another trash item, trashed after the cutoff, or live by accident) move to the owner's My
 * files first, so nothing deletes them with their folder. A live one takes the next free name.
 */
async function rescueBatch(services: Services, scope: PurgeScope, options: PurgeOptions): Promise<number> {
  // An account's folders all go; anything of someone else's inside goes with them, as ever.
  if (scope.kind === "account" || (scope.kind === "item" && scope.itemKind === "file")) return 0;
  const limit = options.batchSize ?? PURGE_BATCH;
  return services.prisma.$transaction(async (tx) => {
    const folders = await tx.$queryRaw<Array<{ id: string; name: string; trashed_at: Date | null }>>`
      SELECT c.id, c.name, c.trashed_at FROM folders c JOIN folders p ON p.id = c.parent_id
      WHERE ${folderScope(scope, "p")} AND ${notDoomed(scope, "c")} ORDER BY c.id LIMIT ${limit} FOR UPDATE OF c`;
    const files = await tx.$queryRaw<Array<{ id: string; name: string; trashed_at: Date | null }>>`
      SELECT c.id, c.name, c.trashed_at FROM files c JOIN folders p ON p.id = c.folder_id
      WHERE ${folderScope(scope, "p")} AND ${notDoomed(scope, "c")} ORDER BY c.id LIMIT ${limit} FOR UPDATE OF c`;
    if (folders.length + files.length === 0) return 0;
    const root = await tx.folder.findFirst({ where: { ownerId: scope.ownerId, parentId: null }, select: { id: true } });
    if (!root) throw new Error(`owner ${scope.ownerId} has no root folder`);
    for (const folder of folders) {
      // Trashed names never clash; a live stray takes the next free name.
      const name = folder.trashed_at ? folder.name : await freeName(tx, root.id, folder.name);
      await tx.folder.update({ where: { id: folder.id }, data: { parentId: root.id, name, nameKey: nameKey(name) } });
    }
    for (const file of files) {
      const name = file.trashed_at ? file.name : await freeName(tx, root.id, file.name);
      await tx.file.update({ where: { id: file.id }, data: { folderId: root.id, name, nameKey: nameKey(name) } });
    }
    const rescued = folders.length + files.length;
    await options.onBatch?.(tx, { ...NOTHING, rescued });
    return rescued;
  }, BATCH_TX);
}

/** A file or folder inside a doomed folder that the purge must not delete. */
function notDoomed(scope: Exclude<PurgeScope, { kind: "account" }>, alias: string): Prisma.Sql {
  const a = Prisma.raw(alias);
  if (scope.kind === "item") return Prisma.sql`(${a}.trash_root_id IS NULL OR ${a}.trash_root_id <> ${scope.rootId})`;
  return Prisma.sql`(${a}.trashed_at IS NULL OR ${a}.trashed_at > ${scope.cutoff})`;
}

async function deleteFileBatch(services: Services, scope: PurgeScope, options: PurgeOptions): Promise<PurgeCounts> {
  const limit = options.batchSize ?? PURGE_BATCH;
  const outcome = await services.prisma.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<Array<{ id: string; storage_key: string; thumbnail_key: string | null }>>`
      SELECT id, storage_key, thumbnail_key FROM files WHERE ${fileScope(scope)} LIMIT ${limit} FOR UPDATE`;
    if (rows.length === 0) return null;
    const ids = rows.map((row) => row.id);
    const versions = await tx.$queryRaw<Array<{ storage_key: string }>>`
      SELECT storage_key FROM file_versions WHERE file_id = ANY(${ids}::text[])`;
    // Cascades remove the files' versions and shares.
    await tx.$executeRaw`DELETE FROM files WHERE id = ANY(${ids}::text[])`;
    await removeDeadProperties(tx, ids);
    const keys = [
      ...rows.map((row) => row.storage_key),
      ...rows.flatMap((row) => (row.thumbnail_key ? [row.thumbnail_key] : [])),
      ...versions.map((version) => version.storage_key),
    ];
    const counts = { ...NOTHING, files: rows.length, objects: keys.length, versions: versions.length };
    await options.onBatch?.(tx, counts);
    return { ids, keys, counts };
  }, BATCH_TX);
  if (!outcome) return { ...NOTHING };
  await deleteUnreferencedObjects(services, outcome.keys);
  await removeFromSearch(services, outcome.ids);
  return outcome.counts;
}

/** Folders with nothing left inside, deepest first: deleting them cascades to nothing else. */
async function deleteFolderBatch(services: Services, scope: PurgeScope, options: PurgeOptions): Promise<PurgeCounts> {
  const limit = options.batchSize ?? PURGE_BATCH;
  const outcome = await services.prisma.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<Array<{ id: string }>>`
      SELECT f.id FROM folders f
      WHERE ${folderScope(scope, "f")}
        AND NOT EXISTS (SELECT 1 FROM folders c WHERE c.parent_id = f.id)
        AND NOT EXISTS (SELECT 1 FROM files x WHERE x.folder_id = f.id)
      LIMIT ${limit} FOR UPDATE OF f`;
    if (rows.length === 0) return null;
    const ids = rows.map((row) => row.id);
    await tx.$executeRaw`DELETE FROM folders WHERE id = ANY(${ids}::text[])`;
    await removeDeadProperties(tx, ids);
    const counts = { ...NOTHING, folders: rows.length };
    await options.onBatch?.(tx, counts);
    return { ids, counts };
  }, BATCH_TX);
  if (!outcome) return { ...NOTHING };
  await removeFromSearch(services, outcome.ids);
  return outcome.counts;
}

/** Files and folders in `scope` now (what a purge of it will delete). */
export async function countInScope(services: Services, scope: PurgeScope): Promise<number> {
  const [files] = await services.prisma.$queryRaw<Array<{ n: bigint }>>`SELECT count(*) AS n FROM files WHERE ${fileScope(scope)}`;
  const [folders] = await services.prisma.$queryRaw<
    Array<{ n: bigint }>
  >`SELECT count(*) AS n FROM folders f WHERE ${folderScope(scope, "f")}`;
  return Number(files!.n) + Number(folders!.n);
}
