// Online storage migration: every object of STORAGE_MIGRATE_FROM moved into the configured store.
import type { Services } from "~/services/index.server";
import { metrics } from "~/services/metrics.server";
import type { ObjectStore } from "~/services/storage/types";
import { recordAudit, SYSTEM_ACTOR, type AuditActor } from "../audit/audit.server";
import { BACKUP_RUNNING, unlessBackupRuns } from "./backup-pause.server";

/** Objects moved at once, and per audit event and progress write. */
const BATCH = 50;
const CONCURRENCY = 4;
/** Where the progress is kept (the settings table: one JSON row, which the admin settings ignore). */
const PROGRESS_KEY = "storage.migration";

export interface MigrationProgress {
  /** Where objects are moved from and to (no credentials). */
  from: string;
  to: string;
  startedAt: string;
  updatedAt: string;
  /** Set when a run found nothing left to move and no failure. */
  finishedAt: string | null;
  movedObjects: number;
  movedBytes: number;
  /** Objects whose move failed in the last run (kept in the old store; tried again next run). */
  failedObjects: number;
  /** Objects and bytes still in the old store, as last counted. */
  remainingObjects: number;
  remainingBytes: number;
}

export interface MigrationOptions {
  /** Stops starting moves once this is aborted (the job expiring, the CLI interrupted); progress so far is kept. */
  signal?: AbortSignal;
  /** Stops after this many objects (tests, and the CLI's --limit). */
  limit?: number;
  onProgress?: (progress: MigrationProgress) => void;
  actor?: AuditActor;
}

/**
 * Moves every object of the old store (STORAGE_MIGRATE_FROM) into the configured one: each copied
 * byte for byte, read back and compared by size and SHA-256, and only then deleted from the old
 * store (see TieredObjectStore.promote). Meanwhile the service reads from both, writes only to the
 * new one and deletes from both. Resumable by design: what is left in the old store is what
 * remains to do, so a run killed at any point (kill -9) is simply run again. Progress is kept in
 * the database for /admin/jobs and every batch is audited. Null when no migration is configured.
 */
export async function migrateStorage(services: Services, options: MigrationOptions = {}): Promise<MigrationProgress | null> {
  const migration = services.storageTiers?.migration;
  if (!migration) return null;
  const source = migration.secondary;
  const actor = options.actor ?? SYSTEM_ACTOR;
  const counted = await countObjects(source);
  const previous = await migrationProgress(services);
  const now = new Date().toISOString();
  const progress: MigrationProgress = {
    from: describeStore(services, "from"),
    to: describeStore(services, "to"),
    startedAt: previous?.startedAt ?? now,
    updatedAt: now,
    finishedAt: null,
    movedObjects: previous?.movedObjects ?? 0,
    movedBytes: previous?.movedBytes ?? 0,
    failedObjects: 0,
    remainingObjects: counted.objects,
    remainingBytes: counted.bytes,
  };
  await saveProgress(services, progress, options);
  const m = metrics();
  let attempted = 0;
  let batch: Array<{ key: string; size: number }> = [];
  let pausedForBackup = false;
  const runBatch = async () => {
    const moved: Array<{ key: string; bytes: number; sha256: string }> = [];
    const outcome = await unlessBackupRuns(services, () =>
      inParallel(batch, async (info) => {
        try {
          const done = await migration.promote(info.key);
          if (done) {
            moved.push({ key: info.key, bytes: done.size, sha256: done.sha256 });
            m.storageTierMovedObjects.inc({ move: "migration" });
            m.storageTierMovedBytes.inc({ move: "migration" }, done.size);
          }
        } catch (error) {
          progress.failedObjects++;
          m.storageTierMoveFailures.inc({ move: "migration" });
          services.log.warn("could not move an object; it stays in the old store", { error });
        }
        progress.remainingObjects = Math.max(0, progress.remainingObjects - 1);
        progress.remainingBytes = Math.max(0, progress.remainingBytes - info.size);
      }),
    );
    batch = [];
    if (outcome === BACKUP_RUNNING) {
      pausedForBackup = true;
      services.log.info("storage migration: a backup runs; moves resume with the next run");
      return;
    }
    progress.movedObjects += moved.length;
    progress.movedBytes += moved.reduce((sum, o) => sum + o.bytes, 0);
    progress.updatedAt = new Date().toISOString();
    await saveProgress(services, progress, options);
    if (moved.length > 0)
      await recordAudit(services.prisma, actor, {
        action: "storage.migration_progress",
        details: { from: progress.from, to: progress.to, objects: moved.length, moved },
      });
  };
  for await (const info of source.list()) {
    if (pausedForBackup || options.signal?.aborted || (options.limit !== undefined && attempted >= options.limit)) break;
    attempted++;
    batch.push({ key: info.key, size: info.size });
    if (batch.length >= BATCH || (options.limit !== undefined && attempted >= options.limit)) await runBatch();
  }
  if (batch.length > 0 && !pausedForBackup) await runBatch();

  const left = await countObjects(source);
  progress.remainingObjects = left.objects;
  progress.remainingBytes = left.bytes;
  progress.updatedAt = new Date().toISOString();
  if (left.objects === 0 && progress.failedObjects === 0) {
    progress.finishedAt = progress.updatedAt;
    if (!previous?.finishedAt)
      await recordAudit(services.prisma, actor, {
        action: "storage.migration_finished",
        details: { from: progress.from, to: progress.to, objects: progress.movedObjects, bytes: progress.movedBytes },
      });
  }
  await saveProgress(services, progress, options);
  return progress;
}

/** The last recorded progress; null before the first run. */
export async function migrationProgress(services: Services): Promise<MigrationProgress | null> {
  const row = await services.prisma.setting.findUnique({ where: { key: PROGRESS_KEY } });
  return row ? (row.value as unknown as MigrationProgress) : null;
}

async function saveProgress(services: Services, progress: MigrationProgress, options: MigrationOptions): Promise<void> {
  const value = { ...progress };
  await services.prisma.setting.upsert({ where: { key: PROGRESS_KEY }, create: { key: PROGRESS_KEY, value }, update: { value } });
  options.onProgress?.(progress);
}

async function countObjects(store: ObjectStore): Promise<{ objects: number; bytes: number }> {
  let objects = 0;
  let bytes = 0;
  for await (const info of store.list()) {
    objects++;
    bytes += info.size;
  }
  return { objects, bytes };
}

/** A store named without its credentials. */
function describeStore(services: Services, which: "from" | "to"): string {
  const location = which === "from" ? services.config.storageTiers.migrateFrom : services.config.storage;
  if (!location) return "none";
  return location.driver === "local" ? `directory ${location.directory}` : `S3 bucket ${location.bucket} at ${location.endpoint}`;
}

async function inParallel<T>(items: T[], run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
}
