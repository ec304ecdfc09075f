// Objects whose deletion waited for a backup (OBJECT_DELETION_LOCK in shared-objects.server.ts):
// once no backup runs, they are deleted here, each counted again under its key's lock, since a
// key may have been named again meanwhile (a thumbnail written anew).
import type { Services } from "~/services/index.server";
import { lockObjectKeys, OBJECT_LOCK_TX, objectDeletionAllowed, referencedKeys } from "./shared-objects.server";

const BATCH = 500;

export interface DeferredDeletionRun {
  /** Objects deleted by this run. */
  deleted: number;
  /** Keys dropped from the list because a row names them again. */
  kept: number;
  /** Keys still deferred afterwards (a backup started, or runs still). */
  waiting: number;
}

/** The delete-deferred-objects job: works through the list until it is empty or a backup holds the lock. */
export async function deleteDeferredObjects(services: Services): Promise<DeferredDeletionRun> {
  const run: DeferredDeletionRun = { deleted: 0, kept: 0, waiting: 0 };
  for (;;) {
    const batch = await services.prisma.$transaction(async (tx) => {
      if (!(await objectDeletionAllowed(tx))) return null;
      const rows = await tx.$queryRaw<Array<{ key: string }>>`
        SELECT key FROM deferred_object_deletions ORDER BY deferred_at, key LIMIT ${BATCH}`;
      const keys = rows.map((row) => row.key);
      if (keys.length === 0) return null;
      await lockObjectKeys(tx, keys);
      const named = await referencedKeys(tx, keys);
      const unnamed = keys.filter((key) => !named.has(key));
      if (unnamed.length > 0) await services.storage.deleteMany(unnamed);
      await tx.$executeRaw`DELETE FROM deferred_object_deletions WHERE key = ANY(${keys}::text[])`;
      return { deleted: unnamed.length, kept: named.size };
    }, OBJECT_LOCK_TX);
    if (!batch) break;
    run.deleted += batch.deleted;
    run.kept += batch.kept;
  }
  run.waiting = await countDeferredDeletions(services);
  return run;
}

/** How many object deletions wait for a backup to end (the coffer_object_deletions_deferred gauge). */
export async function countDeferredDeletions(services: Pick<Services, "prisma">): Promise<number> {
  return services.prisma.deferredObjectDeletion.count();
}
