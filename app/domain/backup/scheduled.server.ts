import { createBackupTarget } from "~/services/backup/target.server";
import type { Services } from "~/services/index.server";
import { FinalJobError } from "~/services/job-queue.server";
import { runBackup } from "./backup.server";
import { BackupRunningError, pruneBackups } from "./prune.server";
import { recordRun } from "./runs.server";
import { type VerifyOptions, type VerifyReport, verifyBackup } from "./verify.server";

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
export async function scheduledBackup(services: Services, options: Parameters<typeof runBackup>[1] = {}): Promise<Record<string, number>> {
  const result = await recordedBackup(services, options);
  let pruned = 0;
  try {
    pruned = (await pruneBackups(services)).pruned.length;
  } catch (error) {
    if (error instanceof BackupRunningError) services.log.info("backup: prune skipped, another backup is running");
    else services.log.error("backup: prune failed; the next backup prunes again", { error });
  }
  return { objectsCopied: result.objectsCopied, bytesWritten: result.bytesWritten, pruned };
}

/** What a failed verification says first: the first problem, and how many more there are. */
export function verifyFailure(report: VerifyReport): string | undefined {
  if (report.ok) return undefined;
  const first = report.problems[0];
  const more = report.problemCount > 1 ? ` (and ${report.problemCount - 1} more problem(s))` : "";
  return first ? `${first.what}: ${first.detail}${more}` : `backup ${report.id} failed verification`;
}

/** Verifies a backup, recorded in backup_runs: failed, naming the first problem, when it does not match. */
export function recordedVerify(services: Services, options: VerifyOptions): Promise<VerifyReport> {
  return recordRun(
    services,
    "verify",
    () => verifyBackup(options),
    (report) => ({ backupId: report.id, bytes: report.bytesChecked, failure: verifyFailure(report) }),
  );
}

/**
 * The scheduled verification (BACKUP_VERIFY_SCHEDULE): restores the newest backup into a scratch
 * instance. A backup that does not verify fails the job at once (trying again reads the same
 * bytes), so it shows on /admin/jobs as well as on /admin/system.
 */
export async function scheduledVerify(services: Services): Promise<Record<string, number>> {
  const config = services.config.backup!;
  const target = await createBackupTarget(config.target, services.log);
  await target.init();
  const report = await recordedVerify(services, { target, key: config.key, log: services.log });
  if (!report.ok) throw new FinalJobError(`backup ${report.id} failed verification: ${verifyFailure(report)}`);
  return { tables: report.tables, objects: report.objects, bytesChecked: report.bytesChecked };
}
