import type { Services } from "~/services/index.server";
import { safeMessage } from "~/services/job-queue.server";

export const BACKUP_RUN_KINDS = ["backup", "verify", "prune"] as const;
export type BackupRunKind = (typeof BACKUP_RUN_KINDS)[number];

/** What a finished run reports about itself; every field is optional. */
export interface RunFacts {
  /** Bytes written to the target (backup), read back (verify) or deleted (prune). */
  bytes?: number;
  objectsCopied?: number;
  backupId?: string;
  /** After a prune: how many backups the target keeps. */
  backupsRetained?: number;
  /** Set when the work returned but found the run failed (a verification with problems): what was wrong. */
  failure?: string;
}

/** A running row refreshes its heartbeat this often… */
const HEARTBEAT_MS = 30_000;
/** …so one silent for this long belongs to a process that died (kill -9, a lost machine). */
export const DEAD_AFTER_MS = 3 * 60_000;
export const INTERRUPTED = "Interrupted: the process running it stopped before it finished";

type Db = Pick<Services, "prisma" | "log">;

/**
 * Runs `work` as one recorded run of `kind` in backup_runs: a row 'running' (its heartbeat kept
 * fresh meanwhile), then 'succeeded' with the facts `describe` takes from the result, or 'failed'
 * with the error's first line (the error is rethrown) or with the `failure` the facts name. Every instance and the command line record
 * here, so /admin and the metrics see one history.
 */
export async function recordRun<T>(
  services: Db,
  kind: BackupRunKind,
  work: () => Promise<T>,
  describe: (result: T) => RunFacts = () => ({}),
): Promise<T> {
  const { prisma } = services;
  await markDeadRuns(services);
  const run = await prisma.backupRun.create({ data: { kind }, select: { id: true } });
  const heartbeat = setInterval(() => {
    prisma.backupRun
      .update({ where: { id: run.id }, data: { heartbeatAt: new Date() } })
      .catch((error: unknown) => services.log.warn("backup run heartbeat not saved", { error }));
  }, HEARTBEAT_MS);
  heartbeat.unref();
  try {
    const result = await work();
    clearInterval(heartbeat);
    const facts = describe(result);
    await prisma.backupRun.update({
      where: { id: run.id },
      data: {
        status: facts.failure === undefined ? "succeeded" : "failed",
        error: facts.failure === undefined ? null : safeMessage(facts.failure),
        finishedAt: new Date(),
        bytes: facts.bytes === undefined ? undefined : BigInt(facts.bytes),
        objectsCopied: facts.objectsCopied,
        backupId: facts.backupId,
        backupsRetained: facts.backupsRetained,
      },
    });
    return result;
  } catch (error) {
    clearInterval(heartbeat);
    await prisma.backupRun
      .update({
        where: { id: run.id },
        data: { status: "failed", finishedAt: new Date(), error: safeMessage(error instanceof Error ? error.message : String(error)) },
      })
      .catch((saveError: unknown) => services.log.error("backup run outcome not saved", { error: saveError }));
    throw error;
  }
}

/** Running rows whose heartbeat stopped: their process died. They are recorded as failed. */
export async function markDeadRuns(services: Pick<Services, "prisma">, now = new Date()): Promise<number> {
  const dead = await services.prisma.backupRun.findMany({
    where: { status: "running", heartbeatAt: { lt: new Date(now.getTime() - DEAD_AFTER_MS) } },
    select: { id: true, heartbeatAt: true },
  });
  for (const row of dead) {
    await services.prisma.backupRun.updateMany({
      where: { id: row.id, status: "running" },
      data: { status: "failed", finishedAt: row.heartbeatAt, error: INTERRUPTED },
    });
  }
  return dead.length;
}

/** A backup is being written now, by any instance or command (its heartbeat is fresh). */
export async function backupRunning(services: Pick<Services, "prisma">, now = new Date()): Promise<boolean> {
  const running = await services.prisma.backupRun.count({
    where: { kind: "backup", status: "running", heartbeatAt: { gte: new Date(now.getTime() - DEAD_AFTER_MS) } },
  });
  return running > 0;
}
