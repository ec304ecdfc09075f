import type { ObjectInfo, ObjectStore } from "~/services/storage/types";
import { backupIdOf, targetKeys } from "./manifest";

/**
 * What a backup target holds, sorted by the flat key layout of docs/backups.md:
 * `backup-<id>-<part>` (a backup's files; it exists once `backup-<id>-manifest` does),
 * `object-<storage key>` (each stored object, written once), `wal-<system id>-<name>` (archived WAL of one cluster;
 * `wal-<name>` from earlier releases).
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

export async function listTarget(target: ObjectStore): Promise<TargetContents> {
  const contents: TargetContents = { backupFiles: new Map(), complete: new Set(), objects: [], wal: [] };
  for await (const info of target.list()) {
    const id = backupIdOf(info.key);
    if (id) {
      const files = contents.backupFiles.get(id) ?? [];
      files.push(info);
      contents.backupFiles.set(id, files);
      if (info.key === targetKeys.manifest(id)) contents.complete.add(id);
    } else if (info.key.startsWith("object-")) contents.objects.push(info);
    else if (info.key.startsWith("wal-")) contents.wal.push(info);
  }
  return contents;
}

export const manifestKey = targetKeys.manifest;
