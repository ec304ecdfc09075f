import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { pipeline as chain, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip, createGunzip } from "node:zlib";
import { decryptFromBackup, encryptForBackup } from "~/services/backup/backup-crypto.server";
import { WAL_FILE_NAME } from "~/services/backup/wal-archive.server";
import { DecryptionError } from "~/services/storage/encryption-format.server";
import { metrics } from "~/services/metrics.server";
import type { ObjectStore } from "~/services/storage/types";
import { targetKeys } from "../backup/manifest";

/** The target key of an archived WAL file: `wal-<system id>-<name as PostgreSQL names it>`. */
export const walKey = targetKeys.wal;

export interface WalShipOptions {
  stagingDir: string;
  target: ObjectStore;
  key: Buffer;
  /** The system identifier of the cluster whose WAL is staged (clusterSystemId). */
  systemId: string;
}

export class WalConflictError extends Error {
  constructor(readonly objectKey: string) {
    super(
      `${objectKey} is already in the backup target with other contents; the staged copy is kept. Is another instance archiving into the same target?`,
    );
    this.name = "WalConflictError";
  }
}

/** The staged WAL files, oldest first (PostgreSQL's names sort in the order it wrote them). */
export function stagedWalFiles(stagingDir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(stagingDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return names.filter((name) => WAL_FILE_NAME.test(name)).sort();
}

/**
 * Seals every staged WAL file into `wal-<name>` in the target (gzip first: a segment closed by
 * archive_timeout is mostly zeros), reads it back to check it landed, and only then deletes the
 * staged file. A run that dies midway leaves the staged file: the next run finds the object there,
 * checks it holds the same bytes, and deletes the staged file without uploading it again.
 * Stops at the first failure, so the target never has a gap before a later segment.
 */
export async function shipWal(options: WalShipOptions): Promise<{ shipped: number; waiting: number }> {
  const m = metrics();
  const staged = stagedWalFiles(options.stagingDir);
  let shipped = 0;
  try {
    for (const name of staged) {
      if (await shipOne(options, name)) shipped++;
      m.walLastShipped.set(Date.now() / 1000);
    }
  } catch (error) {
    m.walShipFailures.inc();
    throw error;
  } finally {
    refreshWalGauges(options.stagingDir);
  }
  return { shipped, waiting: stagedWalFiles(options.stagingDir).length };
}

/** True when this run uploaded it; false when an earlier, interrupted run already had. */
async function shipOne({ stagingDir, target, key, systemId }: WalShipOptions, name: string): Promise<boolean> {
  const file = path.join(stagingDir, name);
  const expected = await sha256OfFile(file).catch((error: unknown) => {
    // Shipped meanwhile by another shipper of this directory (`coffer backup` beside the server's job).
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  });
  if (expected === null) return false;
  const objectKey = walKey(systemId, name);
  if (await target.stat(objectKey)) {
    const archived = await sha256OfArchived(target, key, objectKey);
    if (archived === expected) {
      fs.rmSync(file, { force: true });
      return false;
    }
    if (archived !== null) throw new WalConflictError(objectKey);
    // Torn or damaged (a run killed mid-upload): sent again below.
  }
  await target.put(objectKey, chain(fs.createReadStream(file), createGzip({ level: 6 }), encryptForBackup(key), ignore));
  if ((await sha256OfArchived(target, key, objectKey)) !== expected) {
    throw new Error(`${objectKey}: what the backup target holds does not match the staged file; it will be sent again`);
  }
  fs.rmSync(file, { force: true });
  return true;
}

/** Streams an archived WAL file (its key in the target) out of the target, unsealed and uncompressed. */
export async function readArchivedWal(target: ObjectStore, key: Buffer, objectKey: string): Promise<Readable> {
  return chain(await readArchivedWalCompressed(target, key, objectKey), createGunzip(), ignore);
}

/** Streams an archived WAL file (its key in the target) out of the target, unsealed but still gzip-compressed. */
export async function readArchivedWalCompressed(target: ObjectStore, key: Buffer, objectKey: string): Promise<Readable> {
  return decryptFromBackup(key, await target.get(objectKey), objectKey);
}

/** pipeline() destroys every stream with the error, so whoever reads the last one sees it. */
function ignore(): void {}

/** Null when the archived copy is torn or damaged; the target failing to answer is an error of its own. */
async function sha256OfArchived(target: ObjectStore, key: Buffer, objectKey: string): Promise<string | null> {
  const hash = createHash("sha256");
  try {
    await pipeline(await readArchivedWal(target, key, objectKey), hash);
  } catch (error) {
    if (error instanceof DecryptionError || (error as NodeJS.ErrnoException).code?.startsWith("Z_")) return null;
    throw error;
  }
  return hash.digest("hex");
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest("hex");
}

/** How many WAL files wait in staging and how old the oldest is (0 when none). */
export function refreshWalGauges(stagingDir: string): void {
  const m = metrics();
  const staged = stagedWalFiles(stagingDir);
  m.walStaged.set(staged.length);
  let oldest = 0;
  for (const name of staged) {
    try {
      const age = (Date.now() - fs.statSync(path.join(stagingDir, name)).mtimeMs) / 1000;
      oldest = Math.max(oldest, age);
    } catch {
      // Shipped meanwhile.
    }
  }
  m.walOldestStagedAge.set(Math.max(0, oldest));
}
