// Objects whose deletion waited (OBJECT_DELETION_LOCK and deletionsWaitForShipping in
// shared-objects.server.ts): deleted here once no backup runs and, with WAL archiving on, once
// the backup target holds them; each counted again under its key's lock, since a key may have
// been named again meanwhile (a thumbnail written anew).
import type { Services } from "~/services/index.server";
import { deletionsWaitForShipping, lockObjectKeys, OBJECT_LOCK_TX, objectDeletionAllowed, referencedKeys } from "./shared-objects.server";

const BATCH = 500;

export interface DeferredDeletionRun {
  /** Objects deleted by this run. */
  deleted: number;
  /** Keys dropped from the list because a row names them again. */
  kept: number;
  /** Keys still deferred afterwards (a backup started or runs still, or the target does not hold them yet). */
  waiting: number;
}

export interface DeferredDeletionOptions {
  /**
   * The storage keys the backup target holds (pitr's shippedObjectKeys). With WAL archiving on,
   * only those objects are deleted; without this, none is (only keys whose object is gone leave).
   */
  shippedKeys?: () => Promise<ReadonlySet<string>>;
}

/** The delete-deferred-objects job: works through the list once, unless a backup holds the lock. */
export async function deleteDeferredObjects(services: Services, options: DeferredDeletionOptions = {}): Promise<DeferredDeletionRun> {
  const run: DeferredDeletionRun = { deleted: 0, kept: 0, waiting: 0 };
  // Listed before any key is looked at: a key shipped later waits for the next run.
  const shipped = deletionsWaitForShipping(services.config) ? ((await options.shippedKeys?.()) ?? new Set<string>()) : null;
  let cursor = "";
  for (;;) {
    const batch = await services.prisma.$transaction(async (tx) => {
      if (!(await objectDeletionAllowed(tx))) return null;
      const rows = await tx.$queryRaw<Array<{ key: string }>>`
        SELECT key FROM deferred_object_deletions WHERE key > ${cursor} ORDER BY key LIMIT ${BATCH}`;
      const keys = rows.map((row) => row.key);
      if (keys.length === 0) return null;
      await lockObjectKeys(tx, keys);
      const named = await referencedKeys(tx, keys);
      const unnamed = keys.filter((key) => !named.has(key));
      const deletable = shipped ? unnamed.filter((key) => shipped.has(key)) : unnamed;
      const gone = shipped
        ? await objectsGone(
            services,
            unnamed.filter((key) => !shipped.has(key)),
          )
        : [];
      if (deletable.length > 0) await services.storage.deleteMany(deletable);
      const done = [...named, ...deletable, ...gone];
      await tx.$executeRaw`DELETE FROM deferred_object_deletions WHERE key = ANY(${done}::text[])`;
      return { last: keys.at(-1)!, deleted: deletable.length, kept: named.size };
    }, OBJECT_LOCK_TX);
    if (!batch) break;
    cursor = batch.last;
    run.deleted += batch.deleted;
    run.kept += batch.kept;
  }
  run.waiting = await countDeferredDeletions(services);
  return run;
}

/** Which of `keys` the store no longer holds: nothing is left to ship or delete. */
async function objectsGone(services: Services, keys: string[]): Promise<string[]> {
  const gone: string[] = [];
  for (const key of keys) if ((await services.storage.stat(key)) === null) gone.push(key);
  return gone;
}

/** How many object deletions wait for a backup to end or for shipping (the coffer_object_deletions_deferred gauge). */
export async function countDeferredDeletions(services: Pick<Services, "prisma">): Promise<number> {
  return services.prisma.deferredObjectDeletion.count();
}
