import { isCacheUnavailable } from "~/services/cache/types";
import type { Services, UploadTerminator } from "~/services/index.server";
import { inSpan } from "~/services/tracing/spans.server";
import { maintainContentIndex } from "../search/content-index.server";
import { backfillThumbnails } from "../files/thumbnails.server";
import { reconcileStorageUsed } from "../files/quota.server";
import { purgeExpiredTrash } from "../files/trash-purge.server";
import { hashStoredFile } from "../uploads/upload-hash.server";
import { cleanupAbandonedUploads } from "../uploads/upload-cleanup.server";
import { flushUsage, snapshotStorage } from "../analytics/usage.server";
import { purgeExpiredAudit } from "../audit/audit-purge.server";

const HOUR_MS = 60 * 60 * 1000;
/** The first run waits a little, so starting the app stays quick. */
const FIRST_RUN_DELAY_MS = 60 * 1000;
/** Files whose background hash may still be running are left alone this long. */
const HASH_GRACE_MS = 10 * 60 * 1000;
const HASH_BATCH = 50;
/** Each instance adds its usage counts to the daily rollup this often. */
const USAGE_FLUSH_MS = 60 * 1000;

interface Job {
  /** Also the cache lock that lets only one instance run the job at a time. */
  lock: string;
  run(): Promise<Record<string, number>>;
}

/**
 * Periodic maintenance, every hour: purge trash and audit events older than their retention, remove
 * abandoned uploads, hash files whose in-stream hash was lost, make missing thumbnails, correct
 * storage counters that drifted, index file contents for search (or remove the indexed text
 * when content search is off), and snapshot stored bytes for the analytics; every minute, add
 * this instance's usage counts to the daily rollup. A cache lock (shared through
 * Redis when several instances run) lets only one instance do each run. Timers are unref'd so
 * they never keep the process alive. Returns a stop function, which starts no more runs and
 * resolves once those under way have ended.
 */
export function startJobs(
  services: Services,
  options: { intervalMs?: number; firstRunDelayMs?: number; uploads?: UploadTerminator } = {},
): () => Promise<void> {
  const intervalMs = options.intervalMs ?? HOUR_MS;
  const jobs: Job[] = [
    {
      lock: "jobs:purge-expired-trash",
      run: async () => {
        const result = await purgeExpiredTrash(services, new Date());
        return { items: result.items, objects: result.objectsDeleted };
      },
    },
    { lock: "jobs:hash-files", run: () => hashUnhashedFiles(services) },
    { lock: "jobs:backfill-thumbnails", run: () => backfillThumbnails(services) },
    { lock: "jobs:reconcile-storage-used", run: () => reconcileStorageUsed(services) },
    { lock: "jobs:content-index", run: () => maintainContentIndex(services) },
    { lock: "jobs:usage-snapshot", run: () => snapshotStorage(services) },
    { lock: "jobs:purge-audit-log", run: () => purgeExpiredAudit(services) },
  ];
  const uploads = options.uploads;
  if (uploads) jobs.push({ lock: "jobs:cleanup-abandoned-uploads", run: () => cleanupAbandonedUploads(services, uploads) });

  let stopped = false;
  const running = new Set<string>();
  const runs = new Set<Promise<void>>();
  const runJob = async (job: Job) => {
    if (stopped || running.has(job.lock)) return;
    running.add(job.lock);
    try {
      // Held (not released) for most of the interval: another instance's timer in the same
      // hour finds it taken and skips the run.
      // Strict on purpose: with Redis down another instance could not see a local lock, so the
      // run is skipped rather than risk two at once; the next interval tries again.
      const lock = await services.cache.tryLock(job.lock, Math.max(1000, Math.floor(intervalMs * 0.9))).catch((error: unknown) => {
        if (!isCacheUnavailable(error)) throw error;
        services.log.warn(`${job.lock} skipped: the cache is unavailable`);
        return null;
      });
      if (!lock) return;
      const started = Date.now();
      const result = await inSpan("job.run", { "job.name": job.lock.replace(/^jobs:/, "") }, job.run);
      if (Object.values(result).some((n) => n > 0)) services.log.info(`${job.lock} done`, { ...result, ms: Date.now() - started });
    } catch (error) {
      services.log.error(`${job.lock} failed`, { error });
    } finally {
      running.delete(job.lock);
    }
  };
  const runAll = () => {
    for (const job of jobs) {
      const run = runJob(job);
      runs.add(run);
      void run.finally(() => runs.delete(run));
    }
  };

  const first = setTimeout(runAll, options.firstRunDelayMs ?? FIRST_RUN_DELAY_MS);
  first.unref();
  const timer = setInterval(runAll, intervalMs);
  timer.unref();
  // Not a locked job: every instance flushes the counts it holds.
  const flush = () => flushUsage(services).catch((error: unknown) => services.log.warn("usage counts not saved yet", { error }));
  const usageTimer = setInterval(() => void flush(), USAGE_FLUSH_MS);
  usageTimer.unref();
  return async () => {
    stopped = true;
    clearTimeout(first);
    clearInterval(timer);
    clearInterval(usageTimer);
    await Promise.all(runs);
    // A graceful stop keeps this instance's last minute of counts.
    await flush();
  };
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
