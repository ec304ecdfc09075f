import type { Services } from "~/services/index.server";
import { purgeExpiredTrash } from "./trash.server";

const HOUR_MS = 60 * 60 * 1000;
/** The first run waits a little, so starting the app stays quick. */
const FIRST_RUN_DELAY_MS = 60 * 1000;
const PURGE_LOCK = "jobs:purge-expired-trash";

/**
 * Runs periodic maintenance: every hour, purges trash items older than the retention period.
 * A cache lock (shared through Redis when several instances run) lets only one instance do each
 * run. Timers are unref'd so they never keep the process alive. Returns a stop function.
 */
export function startJobs(services: Services, options: { intervalMs?: number; firstRunDelayMs?: number } = {}): () => void {
  const intervalMs = options.intervalMs ?? HOUR_MS;
  let stopped = false;
  let running = false;

  const run = async () => {
    if (stopped || running) return;
    running = true;
    try {
      // Held (not released) for most of the interval: another instance's timer in the same
      // hour finds it taken and skips the run.
      const lock = await services.cache.tryLock(PURGE_LOCK, Math.max(1000, Math.floor(intervalMs * 0.9)));
      if (!lock) return;
      const started = Date.now();
      const result = await purgeExpiredTrash(services, new Date());
      if (result.items > 0) {
        services.log.info("purged expired trash", { items: result.items, objects: result.objectsDeleted, ms: Date.now() - started });
      }
    } catch (error) {
      services.log.error("purging expired trash failed", { error });
    } finally {
      running = false;
    }
  };

  const first = setTimeout(() => void run(), options.firstRunDelayMs ?? FIRST_RUN_DELAY_MS);
  first.unref();
  const timer = setInterval(() => void run(), intervalMs);
  timer.unref();
  return () => {
    stopped = true;
    clearTimeout(first);
    clearInterval(timer);
  };
}
