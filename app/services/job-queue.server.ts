import { type JobResult, PgBoss } from "pg-boss";
import type { Logger } from "./logger.server";
import { metrics } from "./metrics.server";

/** A queue of durable jobs: each job is a row in PostgreSQL until it has run (or failed for good). */
export interface QueueDefinition {
  /** Also the `queue` label of the job metrics: a fixed name, never an id. */
  name: string;
  /** Five-field cron expression (UTC): one job per occurrence, created by one instance only. */
  cron?: string;
  /** Attempts after the first before the job is recorded as failed. */
  retryLimit?: number;
  /** Wait before the first retry; doubles (with jitter) for each further one. */
  retryDelaySeconds?: number;
  /** A run still going after this long is failed (and retried). */
  expireInSeconds?: number;
  /**
   * A running job's worker confirms it is alive this often (twice per period); a job whose worker
   * stopped confirming (the process was killed) is failed and retried by another instance.
   */
  heartbeatSeconds?: number;
  /**
   * "periodic": at most one job waiting and one running, so slow runs never pile up or overlap;
   * "per-item": every job sent is kept (one per file, say).
   */
  kind?: "periodic" | "per-item";
}

export interface JobContext {
  id: string;
  /** 0 for the first attempt, then 1, 2… */
  attempt: number;
  /** Aborted when the job expires or the queue stops without waiting. */
  signal: AbortSignal;
}

export type JobHandler = (data: Record<string, unknown>, job: JobContext) => Promise<void>;

/** A job that failed for good and can be retried from the admin page. */
export interface FailedJob {
  id: string;
  failedAt: Date;
  /** The error's message only: first line, shortened, credentials in URLs masked. */
  message: string;
}

export interface QueueState {
  name: string;
  /** Jobs waiting to run, retries included. */
  waiting: number;
  /** How long the oldest job due to run has waited, 0 when none is due. */
  oldestWaitingSeconds: number;
  /** When a job of this queue last started, from the jobs still kept (7 days). */
  lastRunAt: Date | null;
  /** Failures for good (retries exhausted) in the last 24 hours. */
  failures24h: number;
  /** The latest failures for good, newest first (at most 10). */
  failed: FailedJob[];
}

export interface JobQueue {
  /** Creates the queue (or updates its settings) and its schedule, and starts working on it here. */
  define(queue: QueueDefinition, handler: JobHandler): Promise<void>;
  /** The queues defined in this process, in definition order. */
  queues(): QueueDefinition[];
  /** Adds a job (with the given id, if any); null when a periodic queue already has one waiting. */
  send(queue: string, data?: Record<string, unknown>, options?: { id?: string }): Promise<string | null>;
  /** Queues many jobs in one statement; the ids of those queued (a queue's policy may refuse some). */
  sendMany(queue: string, jobs: Array<{ id: string; data: Record<string, unknown> }>): Promise<string[]>;
  /** Each queue's backlog and failures, read from the database (all instances). */
  states(names: string[]): Promise<QueueState[]>;
  /** Puts failed jobs back in the queue: one, or every failed job of the queue. How many. */
  retryFailed(queue: string, jobId?: string): Promise<number>;
  /** Starts no new jobs and waits (up to timeoutMs) for those running here to end. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface JobQueueOptions {
  log: Logger;
  /** How often idle workers look for jobs. */
  pollingIntervalSeconds?: number;
  /** How often expired or silent (heartbeat lost) jobs are failed and retried. */
  superviseIntervalSeconds?: number;
  /** Off where cron schedules must not be created (a worker that runs jobs sent to it only). */
  schedule?: boolean;
}

const DEFAULTS = { retryLimit: 3, retryDelaySeconds: 30, expireInSeconds: 60 * 60, heartbeatSeconds: 60 } as const;
const MESSAGE_LIMIT = 300;
const ERROR_LOG_INTERVAL_MS = 30_000;

/**
 * Jobs on pg-boss, in its own `pgboss` schema of Coffer's database (created and migrated by pg-boss
 * on start; docs/decisions/0009-durable-jobs-pg-boss.md). Runs, failures and durations are counted
 * in the coffer_job_* metrics.
 */
export async function startJobQueue(url: string, options: JobQueueOptions): Promise<JobQueue> {
  const { log } = options;
  const boss = new PgBoss({
    connectionString: url,
    application_name: "coffer-jobs",
    // Per-file jobs start at once instead of at the next poll (one more connection, for LISTEN).
    useListenNotify: true,
    max: 3,
    schedule: options.schedule ?? true,
    // Both passes are needed to fail an expired or silent job, so they share one interval.
    superviseIntervalSeconds: options.superviseIntervalSeconds ?? 15,
    monitorIntervalSeconds: options.superviseIntervalSeconds ?? 15,
  });
  // Each worker reports each failed poll: while the database is down that is a dozen errors every
  // 2 s. One line per 30 s says it (the database breaker and /readyz say the rest).
  let lastReported = 0;
  let unreported = 0;
  boss.on("error", (error: unknown) => {
    if (Date.now() - lastReported < ERROR_LOG_INTERVAL_MS) {
      unreported++;
      return;
    }
    lastReported = Date.now();
    log.error("job queue error", { reason: safeMessage(error instanceof Error ? error.message : String(error)), unreported });
    unreported = 0;
  });
  await boss.start();
  const defined: QueueDefinition[] = [];
  const polling = options.pollingIntervalSeconds ?? 2;

  return {
    async define(queue, handler) {
      const settings = {
        retryLimit: queue.retryLimit ?? DEFAULTS.retryLimit,
        retryDelay: queue.retryDelaySeconds ?? DEFAULTS.retryDelaySeconds,
        retryBackoff: true,
        expireInSeconds: queue.expireInSeconds ?? DEFAULTS.expireInSeconds,
        heartbeatSeconds: queue.heartbeatSeconds ?? DEFAULTS.heartbeatSeconds,
      };
      const existing = await boss.getQueue(queue.name);
      if (existing) await boss.updateQueue(queue.name, settings);
      else
        await boss.createQueue(queue.name, {
          ...settings,
          ...(queue.kind === "per-item" ? { policy: "standard", notify: true } : { policy: "stately" }),
        });
      if (queue.cron) await boss.schedule(queue.name, queue.cron, null, { tz: "UTC" });
      defined.push(queue);
      zeroJobMetrics(queue.name);
      await boss.work<Record<string, unknown>>(
        queue.name,
        { pollingIntervalSeconds: polling, notifyPollingIntervalSeconds: polling, perJobResults: true },
        async ([job]): Promise<JobResult[]> => {
          const timer = metrics().jobDuration.startTimer({ queue: queue.name });
          try {
            await handler(job.data ?? {}, { id: job.id, attempt: job.retryCount, signal: job.signal });
            metrics().jobRuns.inc({ queue: queue.name, outcome: "success" });
            return [{ id: job.id, status: "completed" }];
          } catch (error) {
            metrics().jobRuns.inc({ queue: queue.name, outcome: "failure" });
            if (isFinalJobError(error)) return [{ id: job.id, status: "deadletter", output: { name: "Error", message: error.message } }];
            log.error(`${queue.name} failed`, { error, attempt: job.retryCount });
            throw error;
          } finally {
            timer();
          }
        },
      );
    },
    queues: () => [...defined],
    send: (queue, data = {}, options = {}) => boss.send(queue, data, options.id ? { id: options.id } : {}),
    sendMany: async (queue, jobs) => (jobs.length === 0 ? [] : ((await boss.insert(queue, jobs, { returnId: true })) ?? [])),
    async states(names) {
      if (names.length === 0) return [];
      const db = boss.getDb();
      // The failed jobs first, the counts after: a job failing between the two reads is then
      // counted whenever it is listed, never listed and left out of the count.
      const { rows: failedRows } = await db.executeSql(
        `SELECT name, id, completed_on, output->>'message' AS message FROM (
           SELECT name, id, completed_on, output, row_number() OVER (PARTITION BY name ORDER BY completed_on DESC) AS n
           FROM pgboss.job WHERE name = ANY($1::text[]) AND state = 'failed') latest
         WHERE n <= 10 ORDER BY completed_on DESC`,
        [names],
      );
      const { rows } = await db.executeSql(
        `SELECT name,
           count(*) FILTER (WHERE state IN ('created', 'retry'))::int AS waiting,
           COALESCE(EXTRACT(EPOCH FROM now() - min(start_after) FILTER (WHERE state IN ('created', 'retry') AND start_after <= now())), 0)::float AS oldest,
           max(started_on) AS last_run,
           count(*) FILTER (WHERE state = 'failed' AND completed_on > now() - interval '24 hours')::int AS failures
         FROM pgboss.job WHERE name = ANY($1::text[]) GROUP BY name`,
        [names],
      );
      const byName = new Map(rows.map((row: { name: string }) => [row.name, row]));
      return names.map((name) => {
        const row = byName.get(name) as { waiting: number; oldest: number; last_run: Date | null; failures: number } | undefined;
        return {
          name,
          waiting: row?.waiting ?? 0,
          oldestWaitingSeconds: Math.max(0, row?.oldest ?? 0),
          lastRunAt: row?.last_run ?? null,
          failures24h: row?.failures ?? 0,
          failed: failedRows
            .filter((failed: { name: string }) => failed.name === name)
            .map((failed: { id: string; completed_on: Date; message: string | null }) => ({
              id: failed.id,
              failedAt: failed.completed_on,
              message: safeMessage(failed.message),
            })),
        };
      });
    },
    async retryFailed(queue, jobId) {
      const { rows } = await boss
        .getDb()
        .executeSql(`SELECT id FROM pgboss.job WHERE name = $1 AND state = 'failed' AND ($2::uuid IS NULL OR id = $2::uuid)`, [
          queue,
          jobId ?? null,
        ]);
      const ids = rows.map((row: { id: string }) => row.id);
      if (ids.length === 0) return 0;
      await boss.retry(queue, ids);
      return ids.length;
    },
    stop: (timeoutMs = 30_000) => boss.stop({ graceful: true, timeout: timeoutMs, close: true }),
  };
}

const FINAL = Symbol.for("coffer.FinalJobError");

/**
 * Thrown by a handler whose job must fail now, without the retries (its work reported its own
 * failure, and trying again would fail the same way).
 */
export class FinalJobError extends Error {
  readonly [FINAL] = true;
}

function isFinalJobError(error: unknown): error is FinalJobError {
  return typeof error === "object" && error !== null && FINAL in error;
}

/** Sets the backlog gauges of this process's queues from the database (the /metrics scrape). */
export async function refreshJobGauges(services: { jobs?: JobQueue; log: Logger }): Promise<void> {
  const queues = services.jobs?.queues() ?? [];
  if (queues.length === 0) return;
  try {
    const { jobBacklog, jobOldestWaitingAge } = metrics();
    for (const state of await services.jobs!.states(queues.map((queue) => queue.name))) {
      jobBacklog.set({ queue: state.name }, state.waiting);
      jobOldestWaitingAge.set({ queue: state.name }, state.oldestWaitingSeconds);
    }
  } catch (error) {
    // The database being down shows in coffer_driver_up; the gauges keep their last values.
    services.log.warn("metrics: could not read the job queues", { error });
  }
}

/** Every queue's series exist from the start, so rates and alerts see a 0 rather than nothing. */
function zeroJobMetrics(queue: string): void {
  const m = metrics();
  m.jobRuns.inc({ queue, outcome: "success" }, 0);
  m.jobRuns.inc({ queue, outcome: "failure" }, 0);
  m.jobDuration.zero({ queue });
  m.jobBacklog.set({ queue }, 0);
  m.jobOldestWaitingAge.set({ queue }, 0);
}

/** What the admin page may show of an error: its first line, no stack, no credentials. */
export function safeMessage(message: string | null | undefined): string {
  const line = (message ?? "").split("\n")[0].trim() || "Failed without a message";
  const masked = line.replace(/\/\/[^\s/@]+@/g, "//***@");
  return masked.length > MESSAGE_LIMIT ? `${masked.slice(0, MESSAGE_LIMIT - 1)}…` : masked;
}
