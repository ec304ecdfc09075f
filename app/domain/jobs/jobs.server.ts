import type { Services, UploadTerminator } from "~/services/index.server";
import { startJobQueue, type JobQueue } from "~/services/job-queue.server";
import { metrics } from "~/services/metrics.server";
import { inSpan } from "~/services/tracing/spans.server";
import { contentIndexQueue, maintainContentIndex } from "../search/content-index.server";
import { resyncSearchIndex } from "../search/search-resync.server";
import { backfillThumbnails, thumbnailQueue } from "../files/thumbnails.server";
import { reconcileStorageUsed } from "../files/quota.server";
import { purgeExpiredTrash } from "../files/trash-purge.server";
import { deleteDeferredObjects } from "../files/deferred-deletions.server";
import { BULK_QUEUE, runBulkOperation } from "../files/bulk-operations.server";
import { hashQueue, hashStoredFile } from "../uploads/upload-hash.server";
import { RESCAN_QUEUE, rescanUnscannedFiles } from "../files/malware-scans.server";
import { cleanupAbandonedUploads } from "../uploads/upload-cleanup.server";
import { flushUsage, snapshotStorage } from "../analytics/usage.server";
import { purgeExpiredAudit } from "../audit/audit-purge.server";
import { checkStorage } from "../storage-check/storage-check.server";
import { purgeExpiredVersions } from "../files/version-purge.server";
import { finishErasing, purgeDeletedAccounts } from "../accounts/account-deletion.server";
import { type LifecycleRule, recordLifecycleRun } from "../admin/lifecycle.server";
import { runDeleteAfterRules } from "../files/retention-purge.server";
import { pitrJobs, shippedObjectKeys } from "../pitr/pitr-jobs.server";
import { physicalStep } from "../pitr/physical.server";
import { moveUnreadToCold, RESTORE_QUEUE, restoreColdObjectsOnRead, restoreFromCold } from "../storage-tiers/cold-tier.server";
import { migrateStorage } from "../storage-tiers/migration.server";
import { scheduledBackup, scheduledVerify } from "../backup/scheduled.server";
import { dispatchEvents, EVENTS_QUEUE } from "../events/dispatcher.server";
import { setDispatcherWake } from "../events/outbox.server";
import {
  DIGEST_QUEUE,
  NOTIFICATION_EMAILS_QUEUE,
  sendDailyDigests,
  sendNotificationEmails,
  setEmailsWake,
} from "../events/notification-email.server";
import { purgeEventHistory } from "../events/retention.server";
import { deliverWebhooks, setWebhooksWake, WEBHOOKS_QUEUE } from "../events/webhook-delivery.server";
import { FAILED_JOBS_QUEUE, noticeFailedJobs } from "./job-failures.server";
import { EXPIRING_SHARES_QUEUE, noticeExpiringShares } from "../sharing/share-expiry-notices.server";

/** Files whose background hash may still be running are left alone this long. */
const HASH_GRACE_MS = 10 * 60 * 1000;
const HASH_BATCH = 50;
/** Each instance adds its usage counts to the daily rollup this often. */
const USAGE_FLUSH_MS = 60 * 1000;

const FILE_QUEUES = [thumbnailQueue, contentIndexQueue, hashQueue];

interface PeriodicJob {
  /** The queue's name, also the `queue` label of the job metrics. */
  name: string;
  /** UTC; the jobs are spread over the hour so they do not all start at once. */
  cron: string;
  run(): Promise<Record<string, number>>;
  /** How long one run may take before it counts as failed (default: the queue's, one hour). */
  expireInSeconds?: number;
  /** A lifecycle purge: what each run removed is recorded for /admin/lifecycle. */
  lifecycle?: LifecycleRule;
  /** Runs after every change (the outbox): its work is routine, logged at debug, not info. */
  routine?: boolean;
}

export interface JobsOptions {
  uploads?: UploadTerminator;
  /** Sends one job to every periodic queue this long after the start (tests; otherwise only the schedule runs them). */
  firstRunDelayMs?: number;
  /** Passed to the queue (tests shorten them). */
  pollingIntervalSeconds?: number;
  superviseIntervalSeconds?: number;
}

/** Stops the jobs: starts no more runs and resolves once those under way here have ended. */
export interface StopJobs {
  (): Promise<void>;
  /** Resolves once the queues are defined and their workers run (never rejects: a failed start is logged). */
  ready: Promise<void>;
}

/**
 * Periodic maintenance, every hour, as durable jobs on the database (pg-boss): purge trash,
 * audit events, earlier versions and deleted accounts past the rules of the settings, remove abandoned uploads, hash files whose in-stream
 * hash was lost, make missing thumbnails, correct storage counters that drifted, index file
 * contents for search (or remove the indexed text when content search is off), and snapshot stored
 * bytes for the analytics; every week, check the store against the database (storage-check). One instance creates each scheduled job and one runs it; a failed run is
 * retried with backoff, and a run whose process died is retried by another instance. Every minute,
 * each instance adds its own usage counts to the daily rollup (in-memory counts: not a queued job).
 */
export function startJobs(services: Services, options: JobsOptions = {}): StopJobs {
  const jobs: PeriodicJob[] = [
    {
      name: "purge-expired-trash",
      cron: "5 * * * *",
      lifecycle: "trash",
      run: async () => {
        const result = await purgeExpiredTrash(services, new Date());
        return { items: result.items, objects: result.objectsDeleted };
      },
    },
    { name: "hash-files", cron: "10 * * * *", run: () => hashUnhashedFiles(services) },
    { name: "backfill-thumbnails", cron: "15 * * * *", run: () => backfillThumbnails(services) },
    { name: "reconcile-storage-used", cron: "20 * * * *", run: () => reconcileStorageUsed(services) },
    { name: "content-index", cron: "25 * * * *", run: () => maintainContentIndex(services) },
    { name: "usage-snapshot", cron: "30 * * * *", run: () => snapshotStorage(services) },
    { name: "purge-audit-log", cron: "35 * * * *", lifecycle: "audit", run: () => purgeExpiredAudit(services) },
    { name: "purge-old-versions", cron: "50 * * * *", lifecycle: "versions", run: () => purgeExpiredVersions(services, new Date()) },
    { name: "purge-deleted-accounts", cron: "55 * * * *", lifecycle: "accounts", run: () => purgeDeletedAccounts(services, new Date()) },
    // Retention rules "delete after N days" (decision 0045): covered files past their age go for good.
    { name: "retention-delete", cron: "58 * * * *", run: async () => ({ ...(await runDeleteAfterRules(services, new Date())) }) },
    // Objects whose deletion waited for a backup (or, with WAL archiving, for shipping): deleted
    // once it has ended and the target holds them, whichever instance ran it.
    {
      name: "delete-deferred-objects",
      cron: "* * * * *",
      run: async () => {
        const { deleted, kept, waiting } = await deleteDeferredObjects(services, { shippedKeys: shippedObjectKeys(services) });
        metrics().objectDeletionsDeferred.set(waiting);
        return { deleted, kept };
      },
    },
    // The outbox's safety net: each change also wakes it right after (decision 0032).
    {
      name: EVENTS_QUEUE,
      cron: "* * * * *",
      expireInSeconds: 10 * 60,
      routine: true,
      run: async () => ({ delivered: (await dispatchEvents(services)).delivered }),
    },
    // Webhook deliveries and their retries (decision 0035): woken when the dispatcher adds some.
    {
      name: WEBHOOKS_QUEUE,
      cron: "* * * * *",
      expireInSeconds: 10 * 60,
      routine: true,
      run: async () => ({ ...(await deliverWebhooks(services)) }),
    },
    // Jobs that failed for good: every administrator is notified, once per failure (decision 0038).
    { name: FAILED_JOBS_QUEUE, cron: "* * * * *", routine: true, run: () => noticeFailedJobs(services) },
    // Daily, 06:12 UTC: owners of links expiring within 3 days are told, once per link and expiry.
    { name: EXPIRING_SHARES_QUEUE, cron: "12 6 * * *", run: () => noticeExpiringShares(services) },
    // Hourly: old webhook deliveries, and old dispatched events nothing points at (decision 0037).
    { name: "purge-event-history", cron: "48 * * * *", run: async () => ({ ...(await purgeEventHistory(services)) }) },
    // Weekly, Sunday 03:45 UTC: reports everything and repairs only orphans (into quarantine);
    // expired uploads are the hourly cleanup's. A store of many objects takes a while to list.
    {
      name: "storage-check",
      cron: "45 3 * * 0",
      expireInSeconds: 6 * 60 * 60,
      run: async () => {
        const report = await checkStorage(services, { repairOrphans: true });
        return { ...report.problems, quarantined: report.repaired.quarantined, purged: report.repaired.purged };
      },
    },
  ];
  // Only a search server apart from the database can miss writes (services/search/resilient.server.ts).
  if (services.config.search.driver === "meilisearch") {
    jobs.push({
      name: "search-resync",
      cron: "* * * * *",
      run: async () => {
        const { upserted, removed } = await resyncSearchIndex(services);
        return { upserted, removed };
      },
    });
  }
  jobs.push(...pitrJobs(services));
  // Malware scanning (decision 0040): files with no verdict yet (stored before CLAMD_URL was set,
  // or while clamd was down) are scanned from storage, a batch a minute; nothing while clamd is down.
  if (services.config.malwareScan) {
    jobs.push({ name: RESCAN_QUEUE, cron: "* * * * *", expireInSeconds: 30 * 60, run: () => rescanUnscannedFiles(services) });
  }
  if (services.storageTiers?.cold) {
    jobs.push({ name: "move-to-cold-tier", cron: "52 * * * *", run: async () => ({ ...(await moveUnreadToCold(services)) }) });
  }
  // Every minute while STORAGE_MIGRATE_FROM is set; a run goes on until the old store is empty
  // (a periodic queue never overlaps runs), and one killed midway is retried where it stopped.
  if (services.storageTiers?.migration) {
    jobs.push({
      name: "storage-migration",
      cron: "* * * * *",
      expireInSeconds: 24 * 60 * 60,
      run: async () => {
        const progress = await migrateStorage(services);
        return { remaining: progress?.remainingObjects ?? 0, failed: progress?.failedObjects ?? 0 };
      },
    });
  }
  // Notification emails (decision 0036), where SMTP is configured: immediate ones (woken when the
  // dispatcher queues some, and every minute for retries), and the daily digest at 07:00 UTC.
  if (services.config.mail) {
    jobs.push(
      {
        name: NOTIFICATION_EMAILS_QUEUE,
        cron: "* * * * *",
        expireInSeconds: 10 * 60,
        routine: true,
        run: async () => ({ ...(await sendNotificationEmails(services)) }),
      },
      { name: DIGEST_QUEUE, cron: "0 7 * * *", expireInSeconds: 60 * 60, run: async () => ({ ...(await sendDailyDigests(services)) }) },
    );
  }
  if (services.config.backup) jobs.push(...backupJobs(services));
  const uploads = options.uploads;
  if (uploads) jobs.push({ name: "cleanup-abandoned-uploads", cron: "40 * * * *", run: () => cleanupAbandonedUploads(services, uploads) });

  let stopped = false;
  let queue: JobQueue | null = null;
  let firstRun: NodeJS.Timeout | undefined;
  const ready = (async () => {
    const started = await startJobQueue(services.db.url, {
      log: services.log,
      pollingIntervalSeconds: options.pollingIntervalSeconds,
      superviseIntervalSeconds: options.superviseIntervalSeconds,
    });
    queue = started;
    for (const job of jobs) {
      await started.define(
        // A routine job whose instance died (kill -9) holds its queue's one running slot until its
        // heartbeat is missed: 20 s rather than the default minute lets events flow again sooner.
        {
          name: job.name,
          cron: job.cron,
          kind: "periodic",
          expireInSeconds: job.expireInSeconds,
          heartbeatSeconds: job.routine ? 20 : undefined,
        },
        async () => {
          const began = Date.now();
          const result = await inSpan("job.run", { "job.name": job.name }, job.run);
          if (job.lifecycle) await recordLifecycleRun(services, job.lifecycle, result);
          if (Object.values(result).some((n) => n > 0)) {
            services.log[job.routine ? "debug" : "info"](`${job.name} done`, { ...result, ms: Date.now() - began });
          }
        },
      );
    }
    // Work per file, sent as each file arrives (upload, copy, new version, restore).
    for (const fileQueue of FILE_QUEUES) {
      await started.define({ name: fileQueue.name, kind: "per-item", retryLimit: 2, expireInSeconds: 15 * 60 }, (data, job) =>
        inSpan("job.run", { "job.name": fileQueue.name }, () => fileQueue.runJob(services, String(data.fileId), job.id)),
      );
    }
    // Emptying a large trash, deleting a large folder: batches; a retry carries on where it stopped.
    await started.define({ name: BULK_QUEUE, kind: "per-item", retryLimit: 5, expireInSeconds: 6 * 60 * 60 }, (data) =>
      inSpan("job.run", { "job.name": BULK_QUEUE }, async () => {
        if (typeof data.eraseUserId === "string") await finishErasing(services, data.eraseUserId);
        else await runBulkOperation(services, String(data.operationId));
      }),
    );
    if (services.storageTiers?.cold) {
      await started.define({ name: RESTORE_QUEUE, kind: "per-item", retryLimit: 3, expireInSeconds: 60 * 60 }, async (data) => {
        await inSpan("job.run", { "job.name": RESTORE_QUEUE }, () => restoreFromCold(services, String(data.key)));
      });
    }
    if (stopped) return;
    services.jobs = started;
    setDispatcherWake(() => void started.send(EVENTS_QUEUE).catch((error: unknown) => services.log.warn("events not woken", { error })));
    setWebhooksWake(() => void started.send(WEBHOOKS_QUEUE).catch((error: unknown) => services.log.warn("webhooks not woken", { error })));
    if (services.config.mail)
      setEmailsWake(
        () => void started.send(NOTIFICATION_EMAILS_QUEUE).catch((error: unknown) => services.log.warn("emails not woken", { error })),
      );
    if (options.firstRunDelayMs !== undefined) {
      firstRun = setTimeout(() => {
        for (const job of jobs)
          void started.send(job.name).catch((error: unknown) => services.log.warn(`${job.name} not queued`, { error }));
      }, options.firstRunDelayMs);
      firstRun.unref();
    }
  })().catch((error: unknown) => services.log.error("background jobs did not start", { error }));

  restoreColdObjectsOnRead(services);
  // Not a queued job: every instance flushes the counts it holds in memory.
  const flush = () => flushUsage(services).catch((error: unknown) => services.log.warn("usage counts not saved yet", { error }));
  const usageTimer = setInterval(() => void flush(), USAGE_FLUSH_MS);
  usageTimer.unref();
  const stop = async () => {
    stopped = true;
    setDispatcherWake(null);
    setWebhooksWake(null);
    setEmailsWake(null);
    clearTimeout(firstRun);
    clearInterval(usageTimer);
    await ready;
    if (queue && services.jobs === queue) delete services.jobs;
    await (queue as JobQueue | null)?.stop();
    // What is still queued stays in the database for the next instance: nothing here waits for it.
    for (const fileQueue of FILE_QUEUES) fileQueue.forgetOutstanding();
    // A graceful stop keeps this instance's last minute of counts.
    await flush();
  };
  return Object.assign(stop, { ready });
}

/**
 * Backups, when a target is configured (docs/backups.md): the backup (then retention) on
 * BACKUP_SCHEDULE, and its verification on BACKUP_VERIFY_SCHEDULE unless that is off. A backup of a large instance takes hours: it may run up to 20 hours (pg-boss
 * allows 24) before it counts as failed; a process that dies mid-run stops its heartbeat, so
 * another instance retries well before that.
 */
function backupJobs(services: Services): PeriodicJob[] {
  const config = services.config.backup!;
  const jobs: PeriodicJob[] = [
    {
      name: "backup",
      cron: config.schedule,
      expireInSeconds: 20 * 60 * 60,
      run: () => scheduledBackup(services, { physical: physicalStep(services) }),
    },
  ];
  // A verification restores the newest backup into a scratch instance: as long as a backup, or longer.
  if (config.verifySchedule)
    jobs.push({ name: "backup-verify", cron: config.verifySchedule, expireInSeconds: 20 * 60 * 60, run: () => scheduledVerify(services) });
  return jobs;
}

/** Safety net for uploads whose background hash never ran (e.g. the process stopped first). */
export async function hashUnhashedFiles(services: Services, now = new Date()): Promise<{ hashed: number }> {
  const files = await services.prisma.file.findMany({
    where: { sha256: null, updatedAt: { lt: new Date(now.getTime() - HASH_GRACE_MS) } },
    select: { id: true },
    take: HASH_BATCH,
  });
  let hashed = 0;
  for (const file of files) {
    if (await hashStoredFile(services, file.id)) hashed++;
  }
  return { hashed };
}
