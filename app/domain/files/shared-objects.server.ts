// Objects shared by several rows (deduplication): files, versions and thumbnails with the same
// contents name one object. An object's reference count is the number of rows naming its key,
// counted under the key's lock just before the object would be deleted, so it cannot drift.
//
// The one rule that keeps bytes safe: a row may start naming an existing object only in a
// transaction holding that key's lock, after seeing that another row still names it (or after
// writing the object itself under the lock). Deletion counts the references and deletes under
// the same lock, so a key nobody names stays unnamed, and a named key is never deleted.
import type { File as FileRecord, Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { isEncryptedStore } from "~/services/storage/encrypted.server";
import { thumbnailKeyFor } from "./thumbnail-key";

type Db = Prisma.TransactionClient;

/** The first key of the two-key advisory locks on object keys (apart from storage and single-key locks). */
const OBJECT_LOCK_SPACE = 72707372;
/**
 * A backup holds this lock exclusively from before its snapshot until its last object copy, so
 * that no object its rows name is deleted meanwhile; deletions take it shared, never waiting: when
 * a backup holds it, the keys are recorded in deferred_object_deletions instead, and the
 * delete-deferred-objects job deletes them after the backup (deferred-deletions.server.ts).
 */
export const OBJECT_DELETION_LOCK = 72707374;
/** Keys counted, locked and deleted in one transaction. */
const DELETE_BATCH = 500;
/** Deleting a batch of objects (or a thumbnail's put) happens while the locks are held. */
export const OBJECT_LOCK_TX = { maxWait: 10_000, timeout: 60_000 } as const;

/**
 * Takes the locks of `keys` until the transaction ends, in one order for everyone (by lock id),
 * so two transactions locking overlapping sets cannot deadlock.
 */
export async function lockObjectKeys(tx: Db, keys: string[]): Promise<void> {
  const unique = [...new Set(keys)];
  if (unique.length === 0) return;
  // Volatile functions in the select list run after ORDER BY, so the locks are taken in order.
  await tx.$queryRaw`
    SELECT pg_advisory_xact_lock(${OBJECT_LOCK_SPACE}::int, id)::text
    FROM (SELECT DISTINCT hashtext(key) AS id FROM unnest(${unique}::text[]) AS key) AS ids
    ORDER BY id`;
}

/** Which of `keys` a file's content or thumbnail, or a kept version, names. */
export async function referencedKeys(db: Db | Services["prisma"], keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await db.$queryRaw<Array<{ key: string }>>`
    SELECT storage_key AS key FROM files WHERE storage_key = ANY(${keys}::text[])
    UNION SELECT thumbnail_key FROM files WHERE thumbnail_key = ANY(${keys}::text[])
    UNION SELECT storage_key FROM file_versions WHERE storage_key = ANY(${keys}::text[])`;
  return new Set(rows.map((row) => row.key));
}

/**
 * Deletes the objects of `keys` that no row names any more, each under its key's lock (see the
 * top of this file); objects still named by another row (a duplicate, a copy) are kept. While a
 * backup runs, the unnamed ones are deferred instead (OBJECT_DELETION_LOCK): nobody waits for a
 * backup. With WAL archiving on, they are always deferred (deletionsWaitForShipping). Callers pass the keys of rows they removed, after that removal has committed. Failures
 * only leave orphans (the storage check finds them), so they are logged.
 */
export async function deleteUnreferencedObjects(services: Services, keys: string[]): Promise<void> {
  const unique = [...new Set(keys)];
  for (let i = 0; i < unique.length; i += DELETE_BATCH) {
    const batch = unique.slice(i, i + DELETE_BATCH);
    try {
      await services.prisma.$transaction(async (tx) => {
        await lockObjectKeys(tx, batch);
        const named = await referencedKeys(tx, batch);
        const unnamed = batch.filter((key) => !named.has(key));
        if (unnamed.length === 0) return;
        if (!deletionsWaitForShipping(services.config) && (await objectDeletionAllowed(tx))) await services.storage.deleteMany(unnamed);
        else await deferObjectDeletion(tx, unnamed);
      }, OBJECT_LOCK_TX);
    } catch (error) {
      services.log.warn("could not delete some objects; they are orphans now", { count: batch.length, error });
    }
  }
}

/**
 * With WAL archiving on (pitr's walArchiving), a restore to any moment since the oldest base backup
 * needs the objects its rows named then. Objects reach the backup target only once a minute
 * (ship-objects), so one deleted before its ship would be lost to every restore inside that
 * minute: every deletion is deferred instead, and delete-deferred-objects deletes an object only
 * once the target holds it.
 */
export function deletionsWaitForShipping(config: Services["config"]): boolean {
  return Boolean(config.backup?.walArchive && config.database.embedded);
}

/**
 * Takes OBJECT_DELETION_LOCK shared until the transaction ends, without waiting: false when a
 * backup holds it (or waits for it), and objects must then stay.
 */
export async function objectDeletionAllowed(tx: Db): Promise<boolean> {
  const [row] = await tx.$queryRaw<Array<{ allowed: boolean }>>`
    SELECT pg_try_advisory_xact_lock_shared(${OBJECT_DELETION_LOCK}::bigint) AS allowed`;
  return row?.allowed === true;
}

async function deferObjectDeletion(tx: Db, keys: string[]): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO deferred_object_deletions (key) SELECT unnest(${keys}::text[]) ON CONFLICT (key) DO NOTHING`;
}

/**
 * In a transaction that is about to make new rows name `keys` (a copy): locks them and checks
 * that each is still named by a row, so its object cannot be deleted before this transaction
 * commits. False when one is not (its file was deleted meanwhile).
 */
export async function claimSharedKeys(tx: Db, keys: string[]): Promise<boolean> {
  const unique = [...new Set(keys)];
  await lockObjectKeys(tx, unique);
  return (await referencedKeys(tx, unique)).size === unique.length;
}

/**
 * Under the lock of `key` (which no row may name yet, or only rows that wrote it): writes the
 * object with `write`, then records it with `record`. Used for thumbnails, which files sharing
 * a source object share too: the object is written while no deletion can look at the key.
 */
export async function writeSharedObject<T>(
  services: Services,
  key: string,
  write: () => Promise<void>,
  record: (tx: Db) => Promise<T>,
): Promise<T> {
  return services.prisma.$transaction(async (tx) => {
    await lockObjectKeys(tx, [key]);
    await write();
    return record(tx);
  }, OBJECT_LOCK_TX);
}

/**
 * Once a file's SHA-256 is known: when another file or version already has the same contents
 * (same SHA-256 and size) in an object that exists, the file names that object instead and its
 * own copy is deleted. Returns the file as it is then. Nothing happens with deduplication off
 * (STORAGE_DEDUP=false), for empty files, or when the contents are new.
 */
export async function deduplicateFile(services: Services, file: FileRecord): Promise<FileRecord> {
  if (!services.config.storageDedup || !file.sha256 || file.size === 0n) return file;
  try {
    return await shareEarlierCopy(services, file, file.sha256);
  } catch (error) {
    // Only space is lost: the file keeps its own object.
    services.log.warn("could not deduplicate a file", { fileId: file.id, error });
    return file;
  }
}

async function shareEarlierCopy(services: Services, file: FileRecord, sha256: string): Promise<FileRecord> {
  const own = file.storageKey;
  const candidate = await earlierCopy(services.prisma, sha256, file.size, own);
  if (!candidate) return file;
  const sharedThumbnail = thumbnailKeyFor(candidate);
  const linked = await services.prisma.$transaction(async (tx) => {
    await lockObjectKeys(tx, [own, candidate, sharedThumbnail]);
    // Looked at again under the locks: the file may have new contents, the copy may be gone.
    const [current] = await tx.$queryRaw<Array<{ thumbnail_key: string | null }>>`
      SELECT thumbnail_key FROM files WHERE id = ${file.id} AND storage_key = ${own} AND sha256 = ${sha256} FOR UPDATE`;
    if (!current) return null;
    const named = await referencedKeys(tx, [candidate, sharedThumbnail]);
    if (!named.has(candidate) || !(await fitsAsCopy(services, candidate, file.size))) return null;
    // The copy's thumbnail, when it has one, serves this file too.
    const thumbnailKey = named.has(sharedThumbnail) ? sharedThumbnail : current.thumbnail_key;
    // Raw SQL: bookkeeping leaves the file's modified time (@updatedAt) as it is. What was done
    // for the old key (text extracted, found undecodable) holds for the same contents.
    await tx.$executeRaw`
      UPDATE files SET storage_key = ${candidate}, thumbnail_key = ${thumbnailKey},
        content_indexed_key = CASE WHEN content_indexed_key = ${own} THEN ${candidate} ELSE content_indexed_key END,
        thumbnail_failed_key = CASE WHEN thumbnail_failed_key = ${own} THEN ${candidate} ELSE thumbnail_failed_key END
      WHERE id = ${file.id}`;
    return { key: candidate, thumbnailKey, previousThumbnail: current.thumbnail_key };
  }, OBJECT_LOCK_TX);
  if (!linked) return file;
  const unnamed = [
    own,
    ...(linked.previousThumbnail && linked.previousThumbnail !== linked.thumbnailKey ? [linked.previousThumbnail] : []),
  ];
  await deleteUnreferencedObjects(services, unnamed);
  const moved = (key: string | null) => (key === own ? linked.key : key);
  return {
    ...file,
    storageKey: linked.key,
    thumbnailKey: linked.thumbnailKey,
    contentIndexedKey: moved(file.contentIndexedKey),
    thumbnailFailedKey: moved(file.thumbnailFailedKey),
  };
}

/** The object of another file or version with these contents; the smallest key, so all duplicates converge on one. */
async function earlierCopy(db: Services["prisma"], sha256: string, size: bigint, except: string): Promise<string | null> {
  const rows = await db.$queryRaw<Array<{ key: string }>>`
    SELECT storage_key AS key FROM files WHERE sha256 = ${sha256} AND size = ${size} AND storage_key <> ${except}
    UNION SELECT storage_key FROM file_versions WHERE sha256 = ${sha256} AND size = ${size} AND storage_key <> ${except}
    ORDER BY key LIMIT 1`;
  return rows[0]?.key ?? null;
}

/**
 * The object exists with the plaintext size of the contents; with encryption at rest it must be
 * encrypted too (an object stored before encryption was on is plaintext): new contents are never
 * left in plaintext for the sake of space.
 */
async function fitsAsCopy(services: Services, key: string, size: bigint): Promise<boolean> {
  const info = await services.storage.stat(key);
  if (!info || info.size !== Number(size)) return false;
  if (!isEncryptedStore(services.storage)) return true;
  // A header makes the stored object larger than its plaintext; a plaintext object is as large.
  const stored = await services.storage.inner.stat(key);
  return stored !== null && stored.size !== info.size;
}

/** Files looked at per query of the sweep. */
const SWEEP_BATCH = 500;

/**
 * Deduplicates contents stored before deduplication (or while it was off): every file whose
 * SHA-256 and size an object with a smaller key also has is pointed at that object, and its own
 * is deleted when no row names it any more. Kept versions are left as they are. Resumable: it
 * only looks at files not yet on their contents' smallest key.
 */
export async function deduplicateStoredFiles(services: Services): Promise<{ examined: number; linked: number }> {
  let examined = 0;
  let linked = 0;
  let cursor = "";
  for (;;) {
    const batch = await services.prisma.$queryRaw<Array<{ id: string }>>`
      SELECT f.id FROM files f
      WHERE f.id > ${cursor} AND f.sha256 IS NOT NULL AND f.size > 0 AND (
        EXISTS (SELECT 1 FROM files g WHERE g.sha256 = f.sha256 AND g.size = f.size AND g.storage_key < f.storage_key)
        OR EXISTS (SELECT 1 FROM file_versions v WHERE v.sha256 = f.sha256 AND v.size = f.size AND v.storage_key < f.storage_key))
      ORDER BY f.id LIMIT ${SWEEP_BATCH}`;
    if (batch.length === 0) return { examined, linked };
    cursor = batch.at(-1)!.id;
    for (const { id } of batch) {
      const file = await services.prisma.file.findUnique({ where: { id } });
      if (!file) continue;
      examined++;
      if ((await deduplicateFile(services, file)).storageKey !== file.storageKey) linked++;
    }
  }
}
