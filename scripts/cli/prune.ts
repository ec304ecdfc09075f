/**
 * `coffer prune [--dry-run] [--json]`: applies backup retention (docs/backups.md, "Retention")
 * now, as the scheduled backup does after each run. With --dry-run it only says what it would
 * delete. Refuses while a backup is running.
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../../app/config.server";
import type { AuditActor } from "../../app/domain/audit/audit.server";
import { BackupRunningError, type PruneReport, pruneBackups } from "../../app/domain/backup/prune.server";
import { closeServices, createServices } from "../../app/services/index.server";
import { createLogger } from "../../app/services/logger.server";
import { type Command, EXIT, UsageError } from "./command";

const OPERATOR: AuditActor = { actorId: null, actorLabel: "operator (coffer prune)", ip: null, userAgent: null };

export const prune: Command = {
  summary: "Delete the backups retention no longer keeps, and the objects and WAL only they needed (--dry-run: list only).",
  usage: "prune [--dry-run] [--json]",
  async run(args) {
    const flags = parseFlags(args);
    const config = loadConfig();
    if (!config.backup) {
      console.error("coffer prune: backups are not configured: set BACKUP_DIR or BACKUP_S3_BUCKET and BACKUP_KEY (docs/backups.md).");
      return EXIT.failed;
    }
    const log = createLogger(config.logLevel, (line) => process.stderr.write(`${line}\n`));
    const services = await createServices(config, log);
    try {
      const report = await pruneBackups(services, { dryRun: flags.dryRun, actor: OPERATOR });
      console.log(flags.json ? JSON.stringify(report, null, 2) : summary(report));
      return EXIT.ok;
    } catch (error) {
      if (!(error instanceof BackupRunningError)) throw error;
      console.error(`coffer prune: ${error.message}`);
      return EXIT.problems;
    } finally {
      await closeServices(services);
    }
  },
};

function parseFlags(args: string[]): { dryRun: boolean; json: boolean } {
  try {
    const { values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: { "dry-run": { type: "boolean" }, json: { type: "boolean" } },
    });
    return { dryRun: values["dry-run"] === true, json: values.json === true };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function summary(report: PruneReport): string {
  const verb = report.dryRun ? "Would delete" : "Deleted";
  const lines = [
    `Keeping ${report.kept.length} backup(s)${report.kept.length > 0 ? `: ${report.kept.join(", ")}` : ""}.`,
    report.pruned.length === 0 ? "No backup to prune." : `${verb} ${report.pruned.length} backup(s): ${report.pruned.join(", ")}.`,
    `${verb} ${report.backupFiles} backup file(s), ${report.objects} object(s) and ${report.wal} WAL segment(s): ${report.bytes} bytes.`,
  ];
  if (report.dryRun) lines.push("Dry run: nothing was deleted.");
  return lines.join("\n");
}
