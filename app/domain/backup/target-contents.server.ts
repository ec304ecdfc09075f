import { z } from "zod";
import type { BackupConfig } from "~/config.server";
import { decryptFromBackup } from "~/services/backup/backup-crypto.server";
import type { ObjectInfo, ObjectStore } from "~/services/storage/types";
import { isBackupId } from "./retention";

/**
 * What a backup target holds, sorted by the flat key layout of docs/backups.md:
 * `backup-<id>-<part>` (a backup's files; it exists once `backup-<id>-manifest` does),
 * `object-<storage key>` (each stored object, written once), `wal-<segment>` (archived WAL).
 * Anything else (temporary keys of a run under way) is left alone by everyone but its writer.
 */
export interface TargetContents {
  /** Backup id → its files (the manifest included). */
  backupFiles: Map<string, ObjectInfo[]>;
  /** Ids that have a manifest: complete backups. */
  complete: Set<string>;
  objects: ObjectInfo[];
  wal: ObjectInfo[];
}

const BACKUP_FILE = /^backup-(\d{8}T\d{6}Z-[0-9a-f]{6})-(.+)$/;

export async function listTarget(target: ObjectStore): Promise<TargetContents> {
  const contents: TargetContents = { backupFiles: new Map(), complete: new Set(), objects: [], wal: [] };
  for await (const info of target.list()) {
    const backup = BACKUP_FILE.exec(info.key);
    if (backup && isBackupId(backup[1]!)) {
      const [, id, part] = backup;
      const files = contents.backupFiles.get(id!) ?? [];
      files.push(info);
      contents.backupFiles.set(id!, files);
      if (part === "manifest") contents.complete.add(id!);
    } else if (info.key.startsWith("object-")) contents.objects.push(info);
    else if (info.key.startsWith("wal-")) contents.wal.push(info);
  }
  return contents;
}

export const manifestKey = (id: string) => `backup-${id}-manifest`;

/**
 * The part of a manifest (docs/backups.md) that retention needs: when the backup started, the
 * objects it lists (storage keys) and, with point-in-time recovery, where its base backup starts.
 */
const retentionView = z.object({
  id: z.string(),
  startedAt: z.coerce.date(),
  objects: z.array(z.object({ key: z.string() })),
  physical: z.object({ startLsn: z.string() }).partial().nullish(),
});
export type ManifestView = z.infer<typeof retentionView>;

/** Reads and opens one manifest; a corrupt or foreign one fails, naming it. */
export async function readManifestView(target: ObjectStore, config: Pick<BackupConfig, "key">, id: string): Promise<ManifestView> {
  const key = manifestKey(id);
  const chunks: Buffer[] = [];
  for await (const chunk of decryptFromBackup(config.key, await target.get(key), key)) chunks.push(chunk as Buffer);
  const parsed = retentionView.safeParse(JSON.parse(Buffer.concat(chunks).toString("utf8")));
  if (!parsed.success || parsed.data.id !== id) throw new Error(`${key}: not a manifest of backup ${id}`);
  return parsed.data;
}
