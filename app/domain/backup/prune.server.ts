import type { BackupConfig } from "~/config.server";
import { createBackupTarget } from "~/services/backup/target.server";
import type { Services } from "~/services/index.server";
import type { ObjectInfo, ObjectStore } from "~/services/storage/types";
import { type AuditActor, recordAudit, SYSTEM_ACTOR } from "../audit/audit.server";
import { chooseRetained } from "./retention";
import { backupRunning, recordRun } from "./runs.server";
import { readManifest } from "./catalog.server";
import { type Manifest, walOf } from "./manifest";
import { listTarget, manifestKey, type TargetContents } from "./target-contents.server";

/** What retention reads of a manifest. */
type ManifestView = Pick<Manifest, "id" | "objects" | "physical"> & { startedAt: Date };

/**
 * Objects and WAL are deleted only when written this long before the oldest retained backup
 * started: the target's clock (S3's Last-Modified) and this server's may disagree.
 */
export const CLOCK_MARGIN_MS = 60 * 60 * 1000;
/** A WAL segment's name, 24 hex digits; history and backup-label files are kept. */
const WAL_SEGMENT = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;
const DELETE_BATCH = 500;

export interface PruneReport {
  dryRun: boolean;
  /** Complete backups kept, newest first. */
  kept: string[];
  /** Complete backups removed (or, dry, to remove), newest first. */
  pruned: string[];
  backupFiles: number;
  objects: number;
  wal: number;
  /** Bytes of everything above, as stored in the target. */
  bytes: number;
}

export class BackupRunningError extends Error {
  constructor() {
    super("A backup is running: nothing was pruned. Prune after it finishes.");
    this.name = "BackupRunningError";
  }
}

export interface PruneOptions {
  dryRun?: boolean;
  actor?: AuditActor;
}

/**
 * Retention (docs/backups.md): keeps the backups `config.backup.keep` chooses and deletes the
 * rest, in an order that leaves a usable target at every step if it stops midway: each pruned
 * backup's manifest first (so it stops being a backup), then its other files; then the objects no
 * retained manifest lists that were written before the oldest retained backup started (younger
 * ones may belong to a point-in-time restore inside the window, or to a backup being written);
 * then WAL segments older than the oldest retained base backup. Never while a backup runs.
 * A real prune is recorded in backup_runs and audited; a dry run changes nothing.
 */
export async function pruneBackups(services: Services, options: PruneOptions = {}): Promise<PruneReport> {
  const config = services.config.backup;
  if (!config) throw new Error("Backups are not configured (set BACKUP_DIR or BACKUP_S3_BUCKET and BACKUP_KEY).");
  if (await backupRunning(services)) throw new BackupRunningError();
  const target = await createBackupTarget(config.target, services.log);
  await target.init();
  if (options.dryRun) return (await planPrune(target, config, true)).report;
  const report = await recordRun(
    services,
    "prune",
    async () => {
      const plan = await planPrune(target, config, false);
      await executePlan(target, plan);
      return plan.report;
    },
    (report) => ({ bytes: report.bytes, backupsRetained: report.kept.length }),
  );
  if (report.pruned.length + report.objects + report.wal > 0)
    await recordAudit(services, options.actor ?? SYSTEM_ACTOR, {
      action: "backup.pruned",
      details: { backups: report.pruned, backupFiles: report.backupFiles, objects: report.objects, wal: report.wal, bytes: report.bytes },
    });
  return report;
}

interface Plan {
  report: PruneReport;
  /** In deletion order: manifests, other backup files, objects, WAL. */
  batches: string[][];
}

async function planPrune(target: ObjectStore, config: BackupConfig, dryRun: boolean): Promise<Plan> {
  const contents = await listTarget(target);
  const manifests = new Map<string, ManifestView>();
  for (const id of contents.complete) {
    const manifest = await readManifest(target, config.key, id);
    manifests.set(id, { ...manifest, startedAt: new Date(manifest.startedAt) });
  }
  const points = [...manifests.values()].map((m) => ({ id: m.id, startedAt: m.startedAt }));
  const { keep, prune } = chooseRetained(points, config.keep);
  const kept = keep.map((id) => manifests.get(id)!);

  const filesOf = (id: string) => contents.backupFiles.get(id) ?? [];
  const manifestsToDelete = prune.flatMap((id) => filesOf(id).filter((f) => f.key === manifestKey(id)));
  const filesToDelete = prune.flatMap((id) => filesOf(id).filter((f) => f.key !== manifestKey(id)));
  const objectsToDelete = unlistedOldObjects(contents, kept);
  const walToDelete = walBeforeOldestBase(contents, kept);
  const batches = [manifestsToDelete, filesToDelete, objectsToDelete, walToDelete];
  const report: PruneReport = {
    dryRun,
    kept: keep,
    pruned: prune,
    backupFiles: manifestsToDelete.length + filesToDelete.length,
    objects: objectsToDelete.length,
    wal: walToDelete.length,
    bytes: batches.reduce((total, batch) => total + sum(batch), 0),
  };
  return { report, batches: batches.map((batch) => batch.map((info) => info.key)) };
}

async function executePlan(target: ObjectStore, plan: Plan): Promise<void> {
  for (const keys of plan.batches) {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) await target.deleteMany(keys.slice(i, i + DELETE_BATCH));
  }
}

/** Objects no retained manifest lists, written well before the oldest retained backup started. */
function unlistedOldObjects(contents: TargetContents, kept: ManifestView[]): ObjectInfo[] {
  if (kept.length === 0) return [];
  const listed = new Set(kept.flatMap((m) => m.objects.map((o) => `object-${o.key}`)));
  const cutoff = Math.min(...kept.map((m) => m.startedAt.getTime())) - CLOCK_MARGIN_MS;
  return contents.objects.filter((o) => !listed.has(o.key) && o.modifiedAt.getTime() < cutoff);
}

/**
 * WAL segments written before the oldest retained base backup that can replay them started and,
 * when its start LSN is known, wholly before it. Segments are their cluster's (`wal-<system id>-…`):
 * a retained base of that cluster can replay them, and so can one of an earlier release (which
 * does not record its cluster); the flat `wal-<segment>` files of earlier releases, any of them.
 * A cluster no retained base can replay (the one before a logical restore, once its backups are
 * pruned) loses its segments written before the oldest retained base started. Without a retained
 * base backup, WAL is left alone.
 */
function walBeforeOldestBase(contents: TargetContents, kept: ManifestView[]): ObjectInfo[] {
  const bases = kept.filter((m) => m.physical || contents.backupFiles.get(m.id)?.some((f) => f.key === `backup-${m.id}-base`));
  if (bases.length === 0) return [];
  const oldestOf = (views: ManifestView[]) => views.reduce((a, b) => (a.startedAt <= b.startedAt ? a : b));
  const oldestBase = oldestOf(bases);
  return contents.wal.filter((w) => {
    const wal = walOf(w.key);
    const segment = wal ? WAL_SEGMENT.exec(wal.name) : null;
    if (!wal || !segment) return false;
    const replaying = bases.filter((m) => wal.systemId === null || !m.physical?.systemId || m.physical.systemId === wal.systemId);
    if (replaying.length === 0) return w.modifiedAt.getTime() < oldestBase.startedAt.getTime() - CLOCK_MARGIN_MS;
    const oldest = oldestOf(replaying);
    if (w.modifiedAt.getTime() >= oldest.startedAt.getTime() - CLOCK_MARGIN_MS) return false;
    const start = segmentOfLsn(oldest.physical?.startLsn);
    if (!start) return true;
    const position = BigInt(`0x${segment[2]}`) * 256n + BigInt(`0x${segment[3]}`);
    return position < start;
  });
}

/** The 16 MiB segment number an LSN such as `16/B374D848` falls in. */
function segmentOfLsn(lsn: string | undefined): bigint | null {
  const match = lsn ? /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn) : null;
  if (!match) return null;
  return (BigInt(`0x${match[1]}`) * 2n ** 32n + BigInt(`0x${match[2]}`)) / 2n ** 24n;
}

function sum(infos: ObjectInfo[]): number {
  return infos.reduce((total, info) => total + info.size, 0);
}
