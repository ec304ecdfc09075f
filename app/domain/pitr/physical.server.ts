import { Readable } from "node:stream";
import type { Config } from "~/config.server";
import type { Services } from "~/services/index.server";
import { encryptForBackup } from "~/services/backup/backup-crypto.server";
import { takeBaseBackup, type PhysicalBackup } from "~/services/backup/base-backup.server";
import { walStagingDir } from "~/services/backup/wal-archive.server";
import type { ObjectStore } from "~/services/storage/types";
import { listBackupIds, readManifest } from "../backup/catalog.server";
import { type Manifest, targetKeys } from "../backup/manifest";
import { shipWal } from "./wal-shipper.server";

/** What the physical step of a backup run is given (backup-core's runBackup). */
export interface PhysicalStepContext {
  id: string;
  target: ObjectStore;
  key: Buffer;
}

/** Whether this configuration archives the embedded database's WAL (point-in-time recovery). */
export function walArchiving(config: Config): boolean {
  return Boolean(config.backup?.walArchive && config.database.embedded);
}

/**
 * The `physical` step of a backup: a base backup of the embedded cluster into `backup-<id>-base`
 * and its label into `backup-<id>-base-label`, then the WAL up to its end shipped, so the base is
 * restorable the moment the manifest names it. Undefined (no physical part) when the database is
 * external or WAL archiving is off: a base backup without the WAL after it cannot be restored.
 * `config` is the instance's own (the command line reaches a running server's cluster by URL, so
 * its services look external).
 */
export function physicalStep(services: Pick<Services, "config" | "db">, config: Config = services.config) {
  return async (context: PhysicalStepContext): Promise<PhysicalBackup | undefined> => {
    if (!walArchiving(config) || !config.database.embedded) return undefined;
    const { physical, labelFile } = await takeBaseBackup({
      url: services.db.url,
      clusterDir: config.database.dataDir,
      target: context.target,
      key: context.key,
      baseKey: targetKeys.base(context.id),
      label: `coffer ${context.id}`,
    });
    await context.target.put(targetKeys.baseLabel(context.id), Readable.from([Buffer.from(labelFile)]).pipe(encryptForBackup(context.key)));
    // The staged WAL is this cluster's: the one the base backup was just taken of.
    await shipWal({
      stagingDir: walStagingDir(config.dataDir),
      target: context.target,
      key: context.key,
      systemId: physical.systemId,
    });
    return physical;
  };
}

export interface BaseBackup {
  id: string;
  /** As its manifest records it: without systemId when an earlier release took it. */
  physical: NonNullable<Manifest["physical"]>;
}

/** The backups in the target that have a physical part, oldest first (only those with a manifest exist). */
export async function listBaseBackups(target: ObjectStore, key: Buffer): Promise<BaseBackup[]> {
  const found: BaseBackup[] = [];
  for (const id of await listBackupIds(target)) {
    const { physical } = await readManifest(target, key, id);
    if (physical) found.push({ id, physical });
  }
  return found.sort((a, b) => a.physical.finishedAt.localeCompare(b.physical.finishedAt));
}
