/**
 * `coffer migrate-storage [--limit N] [--json]`: moves every object of STORAGE_MIGRATE_FROM into
 * the configured store (docs/storage-tiers.md), printing progress; the server may keep running
 * meanwhile, and the job of the running server does the same work. Interrupted, it is run again
 * and goes on where it stopped.
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../../app/config.server";
import type { AuditActor } from "../../app/domain/audit/audit.server";
import { type MigrationProgress, migrateStorage } from "../../app/domain/storage-tiers/migration.server";
import { type Command, EXIT, UsageError, withInterruptibleServices } from "./command";

const OPERATOR: AuditActor = { actorId: null, actorLabel: "operator (coffer migrate-storage)", ip: null, userAgent: null };

export const migrateStorageCommand: Command = {
  summary: "Move every object from STORAGE_MIGRATE_FROM into the configured store, verified by SHA-256.",
  usage: "migrate-storage [--limit N] [--json]",
  async run(args) {
    const flags = parseFlags(args);
    const config = loadConfig();
    if (!config.storageTiers.migrateFrom) {
      console.error("coffer migrate-storage: STORAGE_MIGRATE_FROM is not set; set it to the store to move objects from.");
      return EXIT.usage;
    }
    return withInterruptibleServices(config, async (services, signal) => {
      const progress = await migrateStorage(services, {
        limit: flags.limit,
        signal,
        actor: OPERATOR,
        onProgress: flags.json ? undefined : (p) => console.log(line(p)),
      });
      if (!progress) return EXIT.failed;
      if (flags.json) console.log(JSON.stringify(progress, null, 2));
      else console.log(progress.finishedAt ? "Done: every object has moved. Remove STORAGE_MIGRATE_FROM and restart." : summary(progress));
      return progress.finishedAt ? EXIT.ok : EXIT.problems;
    });
  },
};

function parseFlags(args: string[]): { limit?: number; json: boolean } {
  try {
    const { values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: { limit: { type: "string" }, json: { type: "boolean" } },
    });
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) throw new Error("--limit takes a whole number above 0");
    return { limit, json: values.json === true };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function line(p: MigrationProgress): string {
  const total = p.movedObjects + p.remainingObjects;
  return `moved ${p.movedObjects}/${total} object(s), ${p.movedBytes} byte(s); ${p.remainingObjects} left${p.failedObjects ? `, ${p.failedObjects} failed` : ""}`;
}

function summary(p: MigrationProgress): string {
  return [
    `${p.remainingObjects} object(s) (${p.remainingBytes} bytes) are still in ${p.from}.`,
    p.failedObjects > 0
      ? `${p.failedObjects} move(s) failed (the objects stay in the old store); see the log, then run again.`
      : "Run again to go on.",
  ].join("\n");
}
