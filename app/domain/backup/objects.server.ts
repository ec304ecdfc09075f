// Stored objects into the target and back: incremental, streamed, every byte sealed.
import type { Readable } from "node:stream";
import type { Logger } from "~/services/logger.server";
import { decryptFromBackup, encryptForBackup } from "~/services/backup/backup-crypto.server";
import { DecryptionError, cipherSize } from "~/services/storage/encryption-format.server";
import { ObjectNotFoundError, type ObjectInfo, type ObjectStore } from "~/services/storage/types";
import { type ManifestObject, OBJECT_PREFIX, storageKeyOf, targetKeys } from "./manifest";
import { chain, Digest, drain, inParallel } from "./streams.server";

const COPY_CONCURRENCY = 4;

export interface ObjectCopyResult {
  /** Every object asked for that the source holds, described as stored (sorted by key). */
  objects: ManifestObject[];
  /** Objects copied by this run, and the sealed bytes written for them. */
  copied: number;
  bytesWritten: number;
  /** Keys asked for that the source does not hold (the database names a lost object). */
  missing: string[];
}

/** The `object-*` keys of the target with their sealed sizes: listed once per run. */
export async function listTargetObjects(target: ObjectStore): Promise<Map<string, number>> {
  const present = new Map<string, number>();
  for await (const info of target.list(OBJECT_PREFIX)) {
    const key = storageKeyOf(info.key);
    if (key !== null) present.set(key, info.size);
  }
  return present;
}

/**
 * Copies each of `keys` from `source` (the primary store, raw: bytes exactly as stored) into the
 * target as `object-<key>`, unless the target already holds it. An object already there is
 * described from `known` (an earlier manifest) when its sealed size agrees; otherwise it is read
 * back and hashed, and one that fails to decrypt (torn or damaged) is copied again. Objects are
 * never rewritten once sound, which is what makes backups incremental.
 */
export async function copyObjects(params: {
  source: ObjectStore;
  target: ObjectStore;
  key: Buffer;
  keys: Iterable<string>;
  /** What the target holds (listTargetObjects), updated as objects are copied. */
  present: Map<string, number>;
  known?: Map<string, ManifestObject>;
  log?: Logger;
}): Promise<ObjectCopyResult> {
  const { source, target, key, present, known } = params;
  const result: ObjectCopyResult = { objects: [], copied: 0, bytesWritten: 0, missing: [] };
  await inParallel(new Set(params.keys), COPY_CONCURRENCY, async (storageKey) => {
    const sealedSize = present.get(storageKey);
    if (sealedSize !== undefined) {
      const entry = known?.get(storageKey);
      if (entry && cipherSize(entry.bytes) === sealedSize) {
        result.objects.push(entry);
        return;
      }
      const checked = await describeSealed(target, key, storageKey).catch((error: unknown) => {
        if (error instanceof DecryptionError || error instanceof ObjectNotFoundError) return null;
        throw error;
      });
      if (checked) {
        result.objects.push(checked);
        return;
      }
      params.log?.warn("backup: an object in the target is damaged or torn; copying it again", { key: storageKey });
    }
    let stream;
    try {
      stream = await source.get(storageKey);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) {
        result.missing.push(storageKey);
        return;
      }
      throw error;
    }
    const digest = new Digest();
    const { size } = await target.put(targetKeys.object(storageKey), chain(stream, digest, encryptForBackup(key)));
    present.set(storageKey, size);
    result.copied++;
    result.bytesWritten += size;
    result.objects.push({ key: storageKey, bytes: digest.bytes, sha256: digest.sha256() });
  });
  result.objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  result.missing.sort();
  return result;
}

/** The size and SHA-256 of an object as stored in the primary, read back from its sealed copy. */
export async function describeSealed(target: ObjectStore, key: Buffer, storageKey: string): Promise<ManifestObject> {
  const name = targetKeys.object(storageKey);
  const digest = new Digest();
  await drain(chain(decryptFromBackup(key, await target.get(name), name), digest));
  return { key: storageKey, bytes: digest.bytes, sha256: digest.sha256() };
}

/** The primary store holds nothing (restore refuses otherwise): the first few keys it does hold. */
export async function firstObjects(store: ObjectStore, limit = 5): Promise<ObjectInfo[]> {
  const found: ObjectInfo[] = [];
  for await (const info of store.list()) {
    found.push(info);
    if (found.length >= limit) break;
  }
  return found;
}

/**
 * Copies each manifest object from the target back into `store`, checking size and SHA-256 on
 * the way; an object that does not match is removed again and the restore fails, naming it.
 */
export async function restoreObjects(params: {
  target: ObjectStore;
  key: Buffer;
  objects: ManifestObject[];
  store: ObjectStore;
  onRestored?: (object: ManifestObject) => void;
}): Promise<void> {
  const { target, key, store } = params;
  await inParallel(params.objects, COPY_CONCURRENCY, async (object) => {
    const name = targetKeys.object(object.key);
    const digest = new Digest();
    await store.put(object.key, chain(await openSealed(target, key, name), digest), { size: object.bytes });
    if (digest.sha256() !== object.sha256) {
      await store.delete(object.key);
      throw new Error(`${name}: its SHA-256 is ${digest.sha256()}, the manifest says ${object.sha256}`);
    }
    params.onRestored?.(object);
  });
}

/** The plaintext of one sealed file of the target; a missing one is named as such. */
export async function openSealed(target: ObjectStore, key: Buffer, name: string): Promise<Readable> {
  let sealed: Readable;
  try {
    sealed = await target.get(name);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) throw new Error(`${name}: missing from the backup target`);
    throw error;
  }
  return decryptFromBackup(key, sealed, name);
}
