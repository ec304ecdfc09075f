import type { Services } from "~/services/index.server";
import type { FailedJob } from "~/services/job-queue.server";
import { type AuditActor, recordAudit } from "../audit/audit.server";
import { ConflictError, NotFoundError, ServiceUnavailableError } from "../errors";

/** How the admin page names each queue. */
const QUEUE_LABELS: Readonly<Record<string, string>> = {
  "purge-expired-trash": "Purge expired trash",
  "hash-files": "Hash files missing a checksum",
  "rescan-files": "Scan files for malware that have no verdict yet",
  "backfill-thumbnails": "Make missing thumbnails",
  "reconcile-storage-used": "Correct storage counters",
  "content-index": "Index file contents for search",
  "usage-snapshot": "Snapshot stored bytes for analytics",
  "purge-audit-log": "Purge old audit events",
  "purge-old-versions": "Purge versions beyond the version rules",
  "purge-deleted-accounts": "Purge deleted accounts past their grace period",
  "retention-delete": "Delete files past their folder's delete-after retention rule",
  "purge-event-history": "Purge old webhook deliveries, notifications and events",
  "send-notification-emails": "Send notification emails",
  "send-notification-digests": "Send the daily notification digests",
  "notify-failed-jobs": "Notify administrators of jobs that failed",
  "notify-expiring-shares": "Remind owners of share links expiring within 3 days",
  "cleanup-abandoned-uploads": "Remove abandoned uploads",
  "storage-check": "Check stored objects against the database (weekly)",
  "delete-deferred-objects": "Delete objects kept while a backup ran",
  backup: "Back up the database and files, then prune old backups",
  "backup-verify": "Verify the latest backup by restoring it",
  "file-thumbnail": "Thumbnail of a new file",
  "file-content-index": "Index a new file's contents",
  "file-hash": "Checksum of a new upload",
  "move-to-cold-tier": "Move unread files to the cold tier",
  "restore-from-cold": "Bring a read file back from the cold tier",
  "storage-migration": "Move objects out of STORAGE_MIGRATE_FROM",
  "bulk-operation": "Empty a large trash or delete a large folder for good",
};

export interface JobQueueSummary {
  name: string;
  label: string;
  /** The cron expression (UTC) of a scheduled queue, null for work sent as it comes. */
  schedule: string | null;
  backlog: number;
  oldestWaitingSeconds: number;
  lastRunAt: Date | null;
  lastFailureAt: Date | null;
  /** The error's first line only: no stack, credentials masked. */
  lastFailureMessage: string | null;
  failures24h: number;
  /** The latest jobs that failed for good (at most 10), newest first: each can be retried. */
  failed: FailedJob[];
}

/**
 * Every background job queue of this instance with its backlog and failures, read from the
 * database (so the counts cover all instances). Empty when the jobs do not run in this process.
 */
export async function jobQueueSummary(services: Services): Promise<JobQueueSummary[]> {
  const jobs = services.jobs;
  if (!jobs) return [];
  const queues = jobs.queues();
  const states = await jobs.states(queues.map((queue) => queue.name));
  return queues.map((queue, index) => {
    const state = states[index];
    return {
      name: queue.name,
      label: QUEUE_LABELS[queue.name] ?? queue.name,
      schedule: queue.cron ?? null,
      backlog: state.waiting,
      oldestWaitingSeconds: state.oldestWaitingSeconds,
      lastRunAt: state.lastRunAt,
      lastFailureAt: state.failed[0]?.failedAt ?? null,
      lastFailureMessage: state.failed[0]?.message ?? null,
      failures24h: state.failures24h,
      failed: state.failed,
    };
  });
}

function runningQueue(services: Services, name: string) {
  const jobs = services.jobs;
  if (!jobs) throw new ServiceUnavailableError("Background jobs are not running on this instance yet. Try again shortly.");
  const queue = jobs.queues().find((queue) => queue.name === name);
  if (!queue) throw new NotFoundError("That job queue");
  return { jobs, queue };
}

/** Puts one failed job, or every failed job of the queue, back in the queue. Audited. */
export async function retryFailedJobs(services: Services, actor: AuditActor, queueName: string, jobId?: string): Promise<number> {
  const { jobs, queue } = runningQueue(services, queueName);
  const retried = await jobs.retryFailed(queue.name, jobId);
  if (retried === 0) throw new NotFoundError(jobId ? "That failed job" : "A failed job in that queue");
  await recordAudit(services, actor, {
    action: "admin.jobs_retried",
    details: { queue: queue.name, retried, ...(jobId ? { jobId } : {}) },
  });
  return retried;
}

/** Queues a run of a scheduled job now (the schedule stays). Audited. */
export async function runJobNow(services: Services, actor: AuditActor, queueName: string): Promise<void> {
  const { jobs, queue } = runningQueue(services, queueName);
  if (!queue.cron) throw new NotFoundError("That scheduled job");
  const id = await jobs.send(queue.name);
  if (!id) throw new ConflictError("A run of that job is already waiting.");
  await recordAudit(services, actor, { action: "admin.job_run", details: { queue: queue.name, jobId: id } });
}
