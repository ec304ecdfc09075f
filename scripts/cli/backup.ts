/**
 * `coffer backup | restore | verify | list`: backups into the target of BACKUP_DIR or
 * BACKUP_S3_BUCKET, sealed with BACKUP_KEY (docs/backups.md). Logs go to stderr; stdout holds the
 * result (JSON with --json).
 */
import { parseArgs } from "node:util";
import { type BackupConfig, type Config, loadConfig } from "../../app/config.server";
import { listBackupIds, readManifest } from "../../app/domain/backup/catalog.server";
import { BACKUP_ID } from "../../app/domain/backup/manifest";
import { RestoreRefusedError, restoreBackup } from "../../app/domain/backup/restore.server";
import { recordedBackup, recordedVerify } from "../../app/domain/backup/scheduled.server";
import { physicalStep } from "../../app/domain/pitr/physical.server";
import { PointInTimeError, restoreInstanceToTime } from "../../app/domain/pitr/restore-to-time.server";
import { createBackupTarget } from "../../app/services/backup/target.server";
import { freePort } from "../../app/services/free-port.server";
import { startEmbeddedPostgres } from "../../app/services/embedded-postgres.server";
import { closeServices, createServices } from "../../app/services/index.server";
import { createLogger, type Logger } from "../../app/services/logger.server";
import { createObjectStore } from "../../app/services/storage/index.server";
import type { ObjectStore } from "../../app/services/storage/types";
import { type Command, EXIT, UsageError } from "./command";
import { queueSearchRebuild } from "../../app/domain/search/search-resync.server";

export const backup: Command = {
  summary: "Write a backup (database and new objects) into the backup target.",
  usage: "backup [--json]",
  async run(args) {
    const flags = parse(args, { json: { type: "boolean" } });
    const { config, log } = setup();
    // With the embedded database, the running server's (if Coffer runs) is the one backed up.
    const services = await createServices(config, log, { attachToRunning: true });
    try {
      const result = await recordedBackup(services, { physical: physicalStep(services, config) });
      const { manifest } = result;
      if (flags.json) console.log(JSON.stringify({ ...result, manifest: undefined, id: manifest.id, counts: manifest.counts }, null, 2));
      else {
        console.log(
          `Backup ${manifest.id} written: ${manifest.database.tables.length} tables, ${manifest.counts.objects} objects ` +
            `(${result.objectsCopied} copied now), ${formatBytes(result.bytesWritten)} written in ${(result.durationMs / 1000).toFixed(1)} s.`,
        );
        if (result.missingObjects.length > 0)
          console.log(
            `${result.missingObjects.length} object(s) the database references are missing from the store and are not in this backup ` +
              `(e.g. ${result.missingObjects[0]}): run coffer fsck.`,
          );
      }
      return result.missingObjects.length > 0 ? EXIT.problems : EXIT.ok;
    } finally {
      await closeServices(services);
    }
  },
};

export const restore: Command = {
  summary: "Restore a backup (default: the newest) into an empty DATA_DIR, database and object store.",
  usage: "restore [--backup <id>|latest] [--to <time>]",
  async run(args) {
    const flags = parse(args, { backup: { type: "string" }, to: { type: "string" } });
    const backupId = backupIdFlag(flags.backup);
    if (flags.to !== undefined) {
      if (Number.isNaN(Date.parse(String(flags.to))))
        throw new UsageError(`--to: ${JSON.stringify(flags.to)} is not a time (e.g. 2026-12-05T10:00:00Z)`);
      if (flags.backup !== undefined) throw new UsageError("--to picks its base backup itself: give --backup or --to, not both");
      return restoreTo(new Date(String(flags.to)));
    }
    const { config, log } = setup();
    const { backup: backupConfig } = config;
    const target = await openTarget(backupConfig, log);
    const storage: ObjectStore = await createObjectStore(config.storage, log);
    await storage.init();
    const embedded = config.database.embedded
      ? await startEmbeddedPostgres({ dataDir: config.database.dataDir, port: await freePort() })
      : null;
    const databaseUrl = embedded ? embedded.url : (config.database as { url: string }).url;
    try {
      const result = await restoreBackup({ databaseUrl, storage }, { target, key: backupConfig.key, backupId, log });
      // Meilisearch holds nothing of the restored data: the jobs rebuild it from the database.
      if (config.search.driver === "meilisearch") await queueSearchRebuild(databaseUrl);
      const { manifest } = result;
      console.log(
        `Restored backup ${manifest.id} (taken ${manifest.database.snapshotAt}): ${manifest.counts.users} users, ${manifest.counts.files} files, ` +
          `${manifest.counts.objects} objects (${formatBytes(manifest.counts.objectBytes)}).` +
          (result.migrationsApplied.length > 0 ? ` Then applied ${result.migrationsApplied.length} newer migration(s).` : ""),
      );
      return EXIT.ok;
    } catch (error) {
      if (error instanceof RestoreRefusedError) {
        console.error(`coffer restore: ${error.message}`);
        return EXIT.failed;
      }
      throw error;
    } finally {
      await embedded?.stop();
    }
  },
};

export const verify: Command = {
  summary: "Restore a backup (default: the newest) into a scratch instance and compare it with its manifest.",
  usage: "verify [--backup <id>|latest] [--json]",
  async run(args) {
    const flags = parse(args, { backup: { type: "string" }, json: { type: "boolean" } });
    const backupId = backupIdFlag(flags.backup);
    const { config, log } = setup();
    const target = await openTarget(config.backup, log);
    // The run is recorded in the instance's database, where /admin and the metrics read it.
    const services = await createServices(config, log, { attachToRunning: true });
    let report: Awaited<ReturnType<typeof recordedVerify>>;
    try {
      report = await recordedVerify(services, { target, key: config.backup.key, backupId, log });
    } finally {
      await closeServices(services);
    }
    if (flags.json) console.log(JSON.stringify(report, null, 2));
    else {
      for (const problem of report.problems) console.log(`${problem.what}: ${problem.detail}`);
      console.log(
        report.ok
          ? `Backup ${report.id} verified: ${report.tables} tables and ${report.objects} objects restore as recorded (${formatBytes(report.bytesChecked)} checked in ${(report.durationMs / 1000).toFixed(1)} s).`
          : `Backup ${report.id} FAILED verification: ${report.problemCount} problem(s).`,
      );
    }
    return report.ok ? EXIT.ok : EXIT.problems;
  },
};

export const list: Command = {
  summary: "List the backups in the backup target, oldest first.",
  usage: "list [--json]",
  async run(args) {
    const flags = parse(args, { json: { type: "boolean" } });
    const { config, log } = setup();
    const target = await openTarget(config.backup, log);
    const rows: Array<Record<string, unknown>> = [];
    let unreadable = 0;
    for (const id of await listBackupIds(target)) {
      try {
        const m = await readManifest(target, config.backup.key, id);
        rows.push({
          id,
          startedAt: m.startedAt,
          finishedAt: m.finishedAt,
          appVersion: m.appVersion,
          counts: m.counts,
          physical: Boolean(m.physical),
        });
      } catch (error) {
        unreadable++;
        rows.push({ id, error: (error as Error).message });
      }
    }
    if (flags.json) console.log(JSON.stringify(rows, null, 2));
    else if (rows.length === 0) console.log("No backups in the target yet.");
    else
      for (const row of rows) {
        const counts = row.counts as { users: number; files: number; objects: number; objectBytes: number } | undefined;
        console.log(
          counts
            ? `${row.id}  ${row.finishedAt}  ${counts.users} users, ${counts.files} files, ${counts.objects} objects (${formatBytes(counts.objectBytes)})${row.physical ? ", base backup" : ""}`
            : `${row.id}  unreadable: ${row.error}`,
        );
      }
    return unreadable > 0 ? EXIT.problems : EXIT.ok;
  },
};

type Options = NonNullable<Parameters<typeof parseArgs>[0]>["options"];

function parse(args: string[], options: Options): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args, strict: true, allowPositionals: false, options }).values as Record<string, string | boolean | undefined>;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** `restore --to`: the embedded database recovered to that moment, with the objects it references. */
async function restoreTo(to: Date): Promise<number> {
  const { config, log } = setup();
  try {
    const result = await restoreInstanceToTime(config, to, log);
    console.log(
      `Restored the database to ${to.toISOString()} from base backup ${result.backupId} and ${result.walFiles} archived WAL file(s), ` +
        `with ${result.objects} object(s).`,
    );
    if (result.missingObjects.length > 0) {
      console.log(
        `${result.missingObjects.length} object(s) the restored database references are not in the backup target ` +
          `(e.g. ${result.missingObjects[0]}): they were written too shortly before ${to.toISOString()} to be shipped. Run coffer fsck.`,
      );
      return EXIT.problems;
    }
    return EXIT.ok;
  } catch (error) {
    if (error instanceof PointInTimeError) {
      console.error(`coffer restore: ${error.message}`);
      return EXIT.failed;
    }
    throw error;
  }
}

/** The --backup flag: an id as `coffer list` prints it, or `latest` (the newest, as without the flag). */
function backupIdFlag(value: string | boolean | undefined): string | undefined {
  if (value === undefined || value === "latest") return undefined;
  if (typeof value !== "string" || !BACKUP_ID.test(value))
    throw new UsageError(
      `--backup: ${JSON.stringify(value)} is not a backup id (e.g. 20261206T021500123Z-3fa2c1, or latest; see coffer list)`,
    );
  return value;
}

function setup(): { config: Config & { backup: BackupConfig }; log: Logger } {
  const config = loadConfig();
  if (!config.backup)
    throw new Error("no backup target is configured: set BACKUP_DIR or BACKUP_S3_BUCKET, and BACKUP_KEY (docs/backups.md)");
  const log = createLogger(config.logLevel, (line) => process.stderr.write(`${line}\n`));
  return { config: config as Config & { backup: BackupConfig }, log };
}

async function openTarget(backupConfig: BackupConfig, log: Logger): Promise<ObjectStore> {
  const target = await createBackupTarget(backupConfig.target, log);
  await target.init();
  return target;
}

function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
