import { CronExpressionParser } from "cron-parser";
import type { BackupConfig } from "~/config.server";
import type { Services } from "~/services/index.server";
import { BACKUP_RUN_KINDS, type BackupRunKind, DEAD_AFTER_MS } from "./runs.server";

export interface BackupRunView {
  id: string;
  startedAt: Date;
  finishedAt: Date | null;
  /** "interrupted": still 'running' in the table, but its process stopped beating. */
  status: "running" | "succeeded" | "failed" | "interrupted";
  durationSeconds: number | null;
  bytes: number | null;
  objectsCopied: number | null;
  backupId: string | null;
  error: string | null;
}

export type BackupStatus =
  | { configured: false }
  | {
      configured: true;
      /** Where backups go, for people: never a URL or a credential. */
      target: string;
      keep: BackupConfig["keep"];
      schedule: string;
      verifySchedule: string | null;
      nextBackupAt: Date | null;
      nextVerifyAt: Date | null;
      /** The latest run of each kind, whatever its outcome. */
      lastBackup: BackupRunView | null;
      lastVerify: BackupRunView | null;
      /** The latest backup that succeeded, when the latest did not. */
      lastGoodBackup: BackupRunView | null;
      /** After the latest prune that succeeded. */
      backupsRetained: number | null;
    };

/** What /admin shows of backups: configuration, the latest runs, the next scheduled ones. */
export async function backupStatus(services: Pick<Services, "prisma" | "config">, now = new Date()): Promise<BackupStatus> {
  const config = services.config.backup;
  if (!config) return { configured: false };
  const { prisma } = services;
  const latest = (kind: BackupRunKind, status?: string) =>
    prisma.backupRun.findFirst({ where: { kind, ...(status ? { status } : {}) }, orderBy: { startedAt: "desc" } });
  const [lastBackup, lastVerify, lastGoodBackup, lastPrune] = await Promise.all([
    latest("backup"),
    latest("verify"),
    latest("backup", "succeeded"),
    latest("prune", "succeeded"),
  ]);
  const view = (row: typeof lastBackup) => (row ? toView(row, now) : null);
  return {
    configured: true,
    target: describeTarget(config.target),
    keep: config.keep,
    schedule: config.schedule,
    verifySchedule: config.verifySchedule,
    nextBackupAt: nextRun(config.schedule, now),
    nextVerifyAt: config.verifySchedule ? nextRun(config.verifySchedule, now) : null,
    lastBackup: view(lastBackup),
    lastVerify: view(lastVerify),
    lastGoodBackup: lastGoodBackup && lastGoodBackup.id !== lastBackup?.id ? view(lastGoodBackup) : null,
    backupsRetained: lastPrune?.backupsRetained ?? null,
  };
}

/** The next time a five-field UTC cron expression fires after `now`; null if it never does. */
export function nextRun(cron: string, now: Date): Date | null {
  try {
    return CronExpressionParser.parse(cron, { tz: "UTC", currentDate: now }).next().toDate();
  } catch {
    return null;
  }
}

export function describeTarget(target: BackupConfig["target"]): string {
  if (target.driver === "local") return `Directory ${target.directory}`;
  let host: string;
  try {
    host = new URL(target.endpoint).host;
  } catch {
    host = "(unknown host)";
  }
  return `S3 bucket ${target.bucket} at ${host}`;
}

function toView(
  row: {
    id: string;
    startedAt: Date;
    finishedAt: Date | null;
    heartbeatAt: Date;
    status: string;
    bytes: bigint | null;
    objectsCopied: number | null;
    backupId: string | null;
    error: string | null;
  },
  now: Date,
): BackupRunView {
  const dead = row.status === "running" && now.getTime() - row.heartbeatAt.getTime() > DEAD_AFTER_MS;
  const status = dead ? "interrupted" : (row.status as BackupRunView["status"]);
  return {
    id: row.id,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    status,
    durationSeconds: row.finishedAt ? Math.max(0, (row.finishedAt.getTime() - row.startedAt.getTime()) / 1000) : null,
    bytes: row.bytes === null ? null : Number(row.bytes),
    objectsCopied: row.objectsCopied,
    backupId: row.backupId,
    error: row.error,
  };
}

export interface BackupMetricFacts {
  configured: boolean;
  /** The latest successful backup. */
  lastSuccess: { finishedAt: Date; durationSeconds: number; bytes: number } | null;
  lastVerifySuccessAt: Date | null;
  /** Whether the latest finished run of each kind succeeded; absent before the first. */
  lastOutcome: Partial<Record<BackupRunKind, boolean>>;
  /** Finished runs by kind and outcome. */
  runs: Array<{ kind: BackupRunKind; outcome: "success" | "failure"; count: number }>;
  backupsRetained: number | null;
}

/** The backup metrics, read from backup_runs: every instance reports the same values. */
export async function backupMetricFacts(services: Pick<Services, "prisma" | "config">): Promise<BackupMetricFacts> {
  const { prisma } = services;
  const finished = { status: { in: ["succeeded", "failed"] } };
  const [lastSuccess, lastVerify, lastPrune, counts, lastByKind] = await Promise.all([
    prisma.backupRun.findFirst({ where: { kind: "backup", status: "succeeded" }, orderBy: { finishedAt: "desc" } }),
    prisma.backupRun.findFirst({ where: { kind: "verify", status: "succeeded" }, orderBy: { finishedAt: "desc" } }),
    prisma.backupRun.findFirst({ where: { kind: "prune", status: "succeeded" }, orderBy: { finishedAt: "desc" } }),
    prisma.backupRun.groupBy({ by: ["kind", "status"], where: finished, _count: { _all: true } }),
    Promise.all(
      BACKUP_RUN_KINDS.map((kind) =>
        prisma.backupRun.findFirst({ where: { kind, ...finished }, orderBy: { finishedAt: "desc" }, select: { status: true } }),
      ),
    ),
  ]);
  const runs: BackupMetricFacts["runs"] = [];
  for (const kind of BACKUP_RUN_KINDS)
    for (const [outcome, status] of [
      ["success", "succeeded"],
      ["failure", "failed"],
    ] as const)
      runs.push({ kind, outcome, count: counts.find((c) => c.kind === kind && c.status === status)?._count._all ?? 0 });
  const lastOutcome: BackupMetricFacts["lastOutcome"] = {};
  BACKUP_RUN_KINDS.forEach((kind, index) => {
    const row = lastByKind[index];
    if (row) lastOutcome[kind] = row.status === "succeeded";
  });
  return {
    configured: Boolean(services.config.backup),
    lastSuccess:
      lastSuccess?.finishedAt != null
        ? {
            finishedAt: lastSuccess.finishedAt,
            durationSeconds: (lastSuccess.finishedAt.getTime() - lastSuccess.startedAt.getTime()) / 1000,
            bytes: Number(lastSuccess.bytes ?? 0),
          }
        : null,
    lastVerifySuccessAt: lastVerify?.finishedAt ?? null,
    lastOutcome,
    runs,
    backupsRetained: lastPrune?.backupsRetained ?? null,
  };
}
