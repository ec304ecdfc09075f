import type { Logger } from "~/services/logger.server";
import { decryptFromBackup } from "~/services/backup/backup-crypto.server";
import { connect } from "~/services/backup/postgres-copy.server";
import { isEncryptedStore } from "~/services/storage/encrypted.server";
import { ObjectNotFoundError, type ObjectStore } from "~/services/storage/types";
import { referencedObjectKeys } from "../storage-check/storage-check.server";
import { targetKeys } from "../backup/manifest";
import { copyObjects, listTargetObjects } from "../backup/objects.server";
import { inParallel } from "../backup/streams.server";

/** The target's object list is read again at least this often (it only grows between prunes). */
const TARGET_LIST_MAX_AGE_MS = 60 * 60 * 1000;
const RESTORE_CONCURRENCY = 4;

interface KnownTarget {
  present: Map<string, number>;
  listedAt: number;
}
// Per target and per process: copies of this module can coexist in one process.
const knownTargets: WeakMap<ObjectStore, KnownTarget> = ((globalThis as Record<symbol, unknown>)[Symbol.for("coffer.pitrKnownObjects")] ??=
  new WeakMap()) as WeakMap<ObjectStore, KnownTarget>;

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
 * Copies the objects the database references that the target does not hold yet, so that a
 * point-in-time restore between two backups finds the files written since the last one. Uses the
 * backup's own copy (`object-<key>`, sealed, written once); the target's list is kept between runs
 * and read again hourly, so a run costs one query and the copies, not a listing of the target.
 */
export async function shipNewObjects(params: {
  databaseUrl: string;
  store: ObjectStore;
  target: ObjectStore;
  key: Buffer;
  log?: Logger;
}): Promise<{ copied: number; missing: number }> {
  const { target } = params;
  let known = knownTargets.get(target);
  if (!known || Date.now() - known.listedAt > TARGET_LIST_MAX_AGE_MS) {
    known = { present: await listTargetObjects(target), listedAt: Date.now() };
    knownTargets.set(target, known);
  }
  const present = known.present;
  const keys = (await referencedKeysAt(params.databaseUrl)).filter((key) => !present.has(key));
  if (keys.length === 0) return { copied: 0, missing: 0 };
  const source = isEncryptedStore(params.store) ? params.store.inner : params.store;
  const result = await copyObjects({ source, target, key: params.key, keys, present, log: params.log });
  return { copied: result.copied, missing: result.missing.length };
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
