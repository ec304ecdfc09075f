import { decryptFromBackup } from "~/services/backup/backup-crypto.server";
import { connect } from "~/services/backup/postgres-copy.server";
import { ObjectNotFoundError, type ObjectStore } from "~/services/storage/types";
import { referencedObjectKeys } from "../storage-check/storage-check.server";
import { targetKeys } from "../backup/manifest";
import { inParallel } from "../backup/streams.server";

const RESTORE_CONCURRENCY = 4;

/** Every object key the database at `url` references, read in one snapshot. */
export async function referencedKeysAt(url: string): Promise<string[]> {
  const client = await connect(url);
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const keys: string[] = [];
    for await (const key of referencedObjectKeys(client)) keys.push(key);
    await client.query("COMMIT");
    return keys;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Copies each of `keys` from the target (`object-<key>`) into `store`, the new instance's store
 * as it holds objects (still encrypted at rest when that is on). Sealing authenticates every byte,
 * so a damaged copy fails here. Resolves with the keys the target does not hold.
 */
export async function restoreObjectsByKey(params: {
  target: ObjectStore;
  key: Buffer;
  keys: string[];
  store: ObjectStore;
}): Promise<string[]> {
  const missing: string[] = [];
  await inParallel(params.keys, RESTORE_CONCURRENCY, async (storageKey) => {
    const name = targetKeys.object(storageKey);
    let sealed;
    try {
      sealed = await params.target.get(name);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) {
        missing.push(storageKey);
        return;
      }
      throw error;
    }
    await params.store.put(storageKey, decryptFromBackup(params.key, sealed, name));
  });
  return missing.sort();
}
