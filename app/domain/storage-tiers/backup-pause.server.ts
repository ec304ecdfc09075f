import type { Services } from "~/services/index.server";
import { TIER_MOVE_LOCK } from "~/services/storage/move.server";

/** How long one move may hold TIER_MOVE_LOCK (a large object, or a batch, to a slow bucket). */
const MOVE_TX = { maxWait: 10_000, timeout: 60 * 60 * 1000 } as const;

export const BACKUP_RUNNING = Symbol("backup running");

/**
 * Runs a move (of one object, or a batch) while holding TIER_MOVE_LOCK shared, or not at all
 * (BACKUP_RUNNING) when a backup holds it: an object moving while a backup copies it could be
 * missing from both stores for a moment, or its read cut short, and fail the run. A backup waits
 * only for a move under way. Cold-tier moves and the online storage migration both go through here.
 */
export async function unlessBackupRuns<T>(services: Services, move: () => Promise<T>): Promise<T | typeof BACKUP_RUNNING> {
  return services.prisma.$transaction(async (tx) => {
    const [row] = await tx.$queryRaw<Array<{ free: boolean }>>`
      SELECT pg_try_advisory_xact_lock_shared(${TIER_MOVE_LOCK}::bigint) AS free`;
    return row?.free ? move() : BACKUP_RUNNING;
  }, MOVE_TX);
}
