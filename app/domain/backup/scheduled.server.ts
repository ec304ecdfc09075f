import type { Services } from "~/services/index.server";
import { runBackup } from "./backup.server";
import { BackupRunningError, pruneBackups } from "./prune.server";
import { recordRun } from "./runs.server";

/** Runs a backup, recorded in backup_runs (the command line's `coffer backup` records the same way). */
export function recordedBackup(services: Services, options: Parameters<typeof runBackup>[1] = {}) {
  return recordRun(
    services,
    "backup",
    () => runBackup(services, options),
    (result) => ({ bytes: result.bytesWritten, objectsCopied: result.objectsCopied, backupId: result.manifest.id }),
  );
}

/**
 * The scheduled backup job (BACKUP_SCHEDULE): a backup, then retention. A prune that fails is
 * recorded and logged but does not fail the job: the backup is made, and a retry would only
 * make another one; the next run prunes again.
 */
export async function scheduledBackup(services: Services): Promise<Record<string, number>> {
  const result = await recordedBackup(services);
  let pruned = 0;
  try {
    pruned = (await pruneBackups(services)).pruned.length;
  } catch (error) {
    if (error instanceof BackupRunningError) services.log.info("backup: prune skipped, another backup is running");
    else services.log.error("backup: prune failed; the next backup prunes again", { error });
  }
  return { objectsCopied: result.objectsCopied, bytesWritten: result.bytesWritten, pruned };
}
