import type { Services } from "~/services/index.server";
import { appendEvent } from "../events/outbox.server";

/** The minute job that tells administrators of jobs that failed for good (job.failed, decision 0038). */
export const FAILED_JOBS_QUEUE = "notify-failed-jobs";
/** Failures older than this when first seen are left to /admin/jobs (a first run after an upgrade tells of a day at most). */
const LOOKBACK = "1 day";
const BATCH = 100;
/** Notices are kept a little longer than the lookback, so a failure is never seen as new twice. */
const KEEP = "2 days";

type Failure = { job_id: string; failed_at: Date; queue: string };

/**
 * Finds jobs of the queue (pg-boss, its `pgboss` schema of this database) that failed for good
 * since the last run, retries exhausted or final, and appends one `job.failed` event each, in the
 * transaction that records the notice: a rerun, or two instances at once, tell of each failure
 * once. A job retried from /admin/jobs that fails again is a new failure. The payload names the
 * queue and job, never the error message (it may quote a URL or a query).
 */
export async function noticeFailedJobs(services: Pick<Services, "prisma">): Promise<{ failures: number }> {
  const [{ present }] = await services.prisma.$queryRaw<Array<{ present: boolean }>>`
    SELECT to_regclass('pgboss.job') IS NOT NULL AS present`;
  if (!present) return { failures: 0 };
  const noticed = await services.prisma.$transaction(async (tx) => {
    const rows = await tx.$queryRawUnsafe<Failure[]>(`
      WITH failed AS (
        SELECT j.id::text AS job_id, j.name AS queue,
               date_trunc('milliseconds', j.completed_on AT TIME ZONE 'UTC')::timestamp(3) AS failed_at
        FROM pgboss.job j
        WHERE j.state = 'failed' AND j.completed_on > now() - interval '${LOOKBACK}'
          AND NOT EXISTS (
            SELECT 1 FROM job_failure_notices n
            WHERE n.job_id = j.id::text AND n.failed_at = date_trunc('milliseconds', j.completed_on AT TIME ZONE 'UTC')::timestamp(3))
        ORDER BY j.completed_on
        LIMIT ${BATCH}
      )
      INSERT INTO job_failure_notices (job_id, failed_at, queue)
      SELECT job_id, failed_at, queue FROM failed
      ON CONFLICT DO NOTHING
      RETURNING job_id, failed_at, queue`);
    for (const row of rows) {
      await appendEvent(tx, {
        actorId: null,
        action: "job.failed",
        subjectType: "job",
        subjectId: row.job_id,
        details: { queue: row.queue, jobId: row.job_id, failedAt: row.failed_at.toISOString() },
      });
    }
    await tx.$executeRawUnsafe(`DELETE FROM job_failure_notices WHERE created_at < now() - interval '${KEEP}'`);
    return rows.length;
  });
  return { failures: noticed };
}
