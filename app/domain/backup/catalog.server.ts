// The backups a target holds: their manifests, read and written sealed.
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { decryptFromBackup, encryptForBackup } from "~/services/backup/backup-crypto.server";
import { ObjectNotFoundError, type ObjectStore } from "~/services/storage/types";
import { compareBackupIds, type Manifest, manifestIdOf, manifestSchema, targetKeys } from "./manifest";

/** The backup named is not in the target (no manifest: never finished, or pruned). */
export class BackupNotFoundError extends Error {
  constructor(readonly id: string | null) {
    super(id ? `no backup ${id} in the target (list them with: coffer list)` : "the target holds no backup yet (run: coffer backup)");
    this.name = "BackupNotFoundError";
  }
}

/** A manifest that decrypts but does not describe a backup this version understands. */
export class InvalidManifestError extends Error {
  constructor(id: string, detail: string) {
    super(`${targetKeys.manifest(id)}: ${detail}`);
    this.name = "InvalidManifestError";
  }
}

/** The ids of the finished backups (those with a manifest), oldest first. */
export async function listBackupIds(target: ObjectStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const info of target.list("backup-")) {
    const id = manifestIdOf(info.key);
    if (id) ids.push(id);
  }
  return ids.sort(compareBackupIds);
}

export async function readManifest(target: ObjectStore, key: Buffer, id: string): Promise<Manifest> {
  const name = targetKeys.manifest(id);
  let sealed: Readable;
  try {
    sealed = await target.get(name);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) throw new BackupNotFoundError(id);
    throw error;
  }
  const text = (await buffer(decryptFromBackup(key, sealed, name))).toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InvalidManifestError(id, "not JSON");
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) throw new InvalidManifestError(id, `not a manifest this version reads (${parsed.error.issues[0]?.message})`);
  if (parsed.data.id !== id) throw new InvalidManifestError(id, `describes backup ${parsed.data.id}`);
  return parsed.data;
}

/** The manifest of `id`, or of the newest backup when `id` is undefined. */
export async function findManifest(target: ObjectStore, key: Buffer, id?: string): Promise<Manifest> {
  const chosen = id ?? (await listBackupIds(target)).at(-1);
  if (!chosen) throw new BackupNotFoundError(null);
  return readManifest(target, key, chosen);
}

/** Written last: from this moment the backup exists. */
export async function writeManifest(target: ObjectStore, key: Buffer, manifest: Manifest): Promise<number> {
  const checked = manifestSchema.parse(manifest);
  const sealed = Readable.from([Buffer.from(JSON.stringify(checked))]).pipe(encryptForBackup(key));
  const { size } = await target.put(targetKeys.manifest(checked.id), sealed);
  return size;
}
