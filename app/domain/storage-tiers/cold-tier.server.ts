// The cold tier: contents nobody has read for a while move to COLD_STORAGE, and come back when read.
// Files' tier marks are written in SQL: Prisma's @updatedAt would otherwise move the modified
// time (and the API ETag) of a file nobody changed.
import type { Services } from "~/services/index.server";
import { metrics } from "~/services/metrics.server";
import type { ColdTier } from "~/services/storage/storage-class-tier.server";
import { getSettings } from "../admin/settings.server";
import { recordAudit, SYSTEM_ACTOR } from "../audit/audit.server";
import { currentRequestScope } from "../request-scope.server";
import { BACKUP_RUNNING, unlessBackupRuns } from "./backup-pause.server";

const DAY_MS = 24 * 60 * 60 * 1000;
/** Contents moved per database page; one audit event names each page's moves. */
const BATCH = 100;
/** One run stops starting moves after this long; the next hourly run continues. */
const RUN_BUDGET_MS = 45 * 60 * 1000;
/** A read of a cold object asks for its restore at most this often per key and process. */
const RESTORE_REQUEST_INTERVAL_MS = 10 * 60 * 1000;
/** Reads remembered per process so that a content's last read is written at most once a day. */
const MAX_REMEMBERED_READS = 100_000;

export const RESTORE_QUEUE = "restore-from-cold";

interface ProcessState {
  /** Storage keys whose read was recorded today (UTC day `day`). */
  reads: { day: string; keys: Set<string> };
  /** When a restore was last asked for, by key. */
  restores: Map<string, number>;
}

// On a global: copies of this module can coexist in one process (the tests load the sources beside the build).
const state = ((globalThis as Record<symbol, unknown>)[Symbol.for("coffer.coldTier")] ??= {
  reads: { day: "", keys: new Set() },
  restores: new Map(),
}) as ProcessState;

/**
 * Records that a content was read (downloaded, previewed, zipped): at most one write per content
 * and day, so a video played in a hundred Range requests costs one update a day, not a hundred.
 */
export async function noteContentRead(services: Services, storageKey: string, now = new Date()): Promise<void> {
  // Services built for a script or a test may have no tiers at all.
  if (!services.storageTiers?.cold) return;
  const day = now.toISOString().slice(0, 10);
  if (state.reads.day !== day || state.reads.keys.size >= MAX_REMEMBERED_READS) state.reads = { day, keys: new Set() };
  if (state.reads.keys.has(storageKey)) return;
  state.reads.keys.add(storageKey);
  const dayAgo = new Date(now.getTime() - DAY_MS);
  const stale = { OR: [{ lastReadAt: null }, { lastReadAt: { lt: dayAgo } }] };
  try {
    await services.prisma.$executeRaw`
      UPDATE files SET last_read_at = ${now}
      WHERE storage_key = ${storageKey} AND (last_read_at IS NULL OR last_read_at < ${dayAgo})`;
    await services.prisma.fileVersion.updateMany({ where: { storageKey, ...stale }, data: { lastReadAt: now } });
  } catch (error) {
    // The download goes on; the next day's read records it.
    services.log.warn("could not record a file's last read", { error });
  }
}

/**
 * Makes reads of cold objects bring them back: a read that comes from a request (a person asked
 * for the file) queues a restore; reads by background work (hashing, the storage check) do not.
 * The bytes stream from the cold tier meanwhile.
 */
export function restoreColdObjectsOnRead(services: Services): void {
  const cold = services.storageTiers?.cold;
  if (!cold) return;
  cold.onSecondaryRead = (key) => {
    if (!currentRequestScope()) return;
    const now = Date.now();
    if (now - (state.restores.get(key) ?? 0) < RESTORE_REQUEST_INTERVAL_MS) return;
    state.restores.set(key, now);
    for (const [known, at] of state.restores) if (now - at >= RESTORE_REQUEST_INTERVAL_MS) state.restores.delete(known);
    const queued = services.jobs ? services.jobs.send(RESTORE_QUEUE, { key }) : restoreFromCold(services, key);
    void Promise.resolve(queued).catch((error: unknown) => services.log.warn("could not restore a file from the cold tier", { error }));
  };
}

/** Moves one object back from the cold tier into the hot store and clears its rows' mark. */
export async function restoreFromCold(services: Services, key: string): Promise<boolean> {
  const cold = services.storageTiers?.cold;
  if (!cold) return false;
  const moved = await unlessBackupRuns(services, () => countedMove(cold, key, "from_cold", "promote"));
  // While a backup runs the object stays cold (and is served from there); a later read asks again.
  if (!moved || moved === BACKUP_RUNNING) return false;
  await services.prisma.$transaction(async (tx) => {
    await tx.$executeRaw`UPDATE files SET cold_at = NULL WHERE storage_key = ${key}`;
    await tx.fileVersion.updateMany({ where: { storageKey: key }, data: { coldAt: null } });
    await recordAudit(tx, SYSTEM_ACTOR, {
      action: "storage.restored_from_cold",
      details: { key, bytes: moved.size, sha256: moved.sha256 },
    });
  });
  return true;
}

export interface ColdMoveReport {
  moved: number;
  bytes: number;
  failed: number;
}

/**
 * The hourly move: every file and kept version whose content nobody has read for the set number
 * of days (or, never read since, that old) is copied to the cold tier, verified by size and
 * SHA-256 of the stored bytes, deleted from the hot store and marked cold. A failed move keeps
 * the hot object and is tried again next run. Each page of moves is one audit event.
 */
export async function moveUnreadToCold(services: Services, now = new Date()): Promise<ColdMoveReport> {
  const report: ColdMoveReport = { moved: 0, bytes: 0, failed: 0 };
  const cold = services.storageTiers?.cold;
  if (!cold) return report;
  const { coldTierAfterDays } = await getSettings(services);
  if (coldTierAfterDays === null) return report;
  const cutoff = new Date(now.getTime() - coldTierAfterDays * DAY_MS);
  const deadline = Date.now() + RUN_BUDGET_MS;
  for (const table of ["file", "fileVersion"] as const) {
    let cursor: string | undefined;
    while (Date.now() < deadline) {
      const rows = await unreadContents(services, table, cutoff, cursor);
      if (rows.length === 0) break;
      cursor = rows.at(-1)!.id;
      const moved: Array<{ key: string; bytes: number }> = [];
      for (const row of rows) {
        try {
          const done = await unlessBackupRuns(services, () => countedMove(cold, row.storageKey, "to_cold", "demote"));
          if (done === BACKUP_RUNNING) {
            services.log.info("cold tier: a backup runs; moves resume with the next run");
            return report;
          }
          if (!done) continue;
          const marked =
            table === "file"
              ? await services.prisma.$executeRaw`
                  UPDATE files SET cold_at = ${now} WHERE storage_key = ${row.storageKey} AND cold_at IS NULL`
              : (
                  await services.prisma.fileVersion.updateMany({
                    where: { storageKey: row.storageKey, coldAt: null },
                    data: { coldAt: now },
                  })
                ).count;
          // Its row went while the bytes moved (deleted for good): nothing may keep them.
          if (marked === 0) await cold.delete(row.storageKey);
          moved.push({ key: row.storageKey, bytes: done.size });
        } catch (error) {
          report.failed++;
          services.log.warn("could not move an object to the cold tier; it stays hot", { error });
        }
      }
      if (moved.length === 0) continue;
      const bytes = moved.reduce((sum, m) => sum + m.bytes, 0);
      report.moved += moved.length;
      report.bytes += bytes;
      await recordAudit(services.prisma, SYSTEM_ACTOR, {
        action: "storage.moved_to_cold",
        details: { objects: moved.length, bytes, unreadDays: coldTierAfterDays, keys: moved.map((m) => m.key) },
      });
    }
  }
  return report;
}

async function unreadContents(
  services: Services,
  table: "file" | "fileVersion",
  cutoff: Date,
  cursor: string | undefined,
): Promise<Array<{ id: string; storageKey: string }>> {
  // After the last id seen (not a Prisma cursor: the rows just moved no longer match the filter).
  const page = { select: { id: true, storageKey: true }, orderBy: { id: "asc" as const }, take: BATCH };
  const after = cursor ? { id: { gt: cursor } } : {};
  // Never read since tiering began: the content's own date stands for its last read.
  if (table === "file")
    return services.prisma.file.findMany({
      ...page,
      where: { ...after, coldAt: null, OR: [{ lastReadAt: { lt: cutoff } }, { lastReadAt: null, updatedAt: { lt: cutoff } }] },
    });
  return services.prisma.fileVersion.findMany({
    ...page,
    where: { ...after, coldAt: null, OR: [{ lastReadAt: { lt: cutoff } }, { lastReadAt: null, replacedAt: { lt: cutoff } }] },
  });
}

async function countedMove(tiered: ColdTier, key: string, move: "to_cold" | "from_cold", how: "promote" | "demote") {
  const m = metrics();
  try {
    const moved = await tiered[how](key);
    if (moved) {
      m.storageTierMovedObjects.inc({ move });
      m.storageTierMovedBytes.inc({ move }, moved.size);
    }
    return moved;
  } catch (error) {
    m.storageTierMoveFailures.inc({ move });
    throw error;
  }
}

/** Contents in the cold tier now, from the database: for /admin/jobs. */
export async function coldTierCounts(services: Services): Promise<{ files: number; versions: number }> {
  const [files, versions] = await Promise.all([
    services.prisma.file.count({ where: { coldAt: { not: null } } }),
    services.prisma.fileVersion.count({ where: { coldAt: { not: null } } }),
  ]);
  return { files, versions };
}
