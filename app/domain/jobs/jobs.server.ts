import type { Services, UploadTerminator } from "~/services/index.server";
import { maintainContentIndex } from "../search/content-index.server";
import { backfillThumbnails } from "../files/thumbnails.server";
import { reconcileStorageUsed } from "../files/quota.server";
import { purgeExpiredTrash } from "../files/trash-purge.server";
import { hashStoredFile } from "../uploads/upload-hash.server";
import { cleanupAbandonedUploads } from "../uploads/upload-cleanup.server";

const HOUR_MS = 60 * 60 * 1000;
/** The first run waits a little, so starting the app stays quick. */
const FIRST_RUN_DELAY_MS = 60 * 1000;
/** Files whose background hash may still be running are left alone this long. */
const HASH_GRACE_MS = 10 * 60 * 1000;
const HASH_BATCH = 50;

interface Job {
  /** Also the cache lock that lets only one instance run the job at a time. */
  lock: string;
  run(): Promise<Record<string, number>>;
}

/**
 * Periodic maintenance, every hour: purge trash older than the retention period, remove
 * abandoned uploads, hash files whose in-stream hash was lost, make missing thumbnails, correct
 * storage counters that drifted, and index file contents for search (or remove the indexed text
 * when content search is off). A cache lock (shared through
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
      const lock = await services.cache.tryLock(job.lock, Math.max(1000, Math.floor(intervalMs * 0.9)));
      if (!lock) return;
      const started = Date.now();
      const result = await job.run();
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
  return async () => {
    stopped = true;
    clearTimeout(first);
    clearInterval(timer);
    await Promise.all(runs);
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
