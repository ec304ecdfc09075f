import { randomUUID } from "node:crypto";
import type { Services } from "~/services/index.server";
import { FinalJobError, type JobQueue } from "~/services/job-queue.server";

interface QueueState {
  pending: Map<string, Services>;
  running: Promise<void> | null;
  /** Durable jobs sent from this process and not yet ended here (tests and shutdown wait for them). */
  outstanding: Set<string>;
  /** Sends under way (the job id is not known yet). */
  sending: Set<Promise<unknown>>;
}

/** settled() waits for at most this many durable jobs sent from this process. */
const MAX_OUTSTANDING = 10_000;

export interface FileQueue {
  /** The durable queue's name, also the `queue` label of the job metrics. */
  readonly name: string;
  schedule(services: Services, fileIds: Iterable<string>): void;
  /**
   * Schedules like `schedule`, and resolves once the durable jobs are in the database: callers
   * that schedule many files batch by batch keep one batch of sends in flight, not all of them.
   */
  scheduleBatch(services: Services, fileIds: Iterable<string>): Promise<void>;
  /** Runs one file's work; a failure is logged, and for a durable job (jobId) thrown as final (no retries). */
  runJob(services: Services, fileId: string, jobId?: string): Promise<void>;
  /** Forgets the durable jobs this process still waited for (the job queue stopped: another instance takes them). */
  forgetOutstanding(): void;
  /** Resolves once the queue is empty (tests, graceful shutdown). */
  settled(): Promise<void>;
}

/**
 * Background work per file, off the request path, one file at a time per instance (so it never
 * competes with requests for more than one core). When the durable job queue runs in this process
 * (`services.jobs`, started by the jobs feature, which works on the queue `name`), each file is a
 * job in the database, so a crash loses none; otherwise (scripts, tests without the jobs) it is an
 * in-memory queue where a file queued twice runs once. Failures are logged as `failureMessage` and
 * never reach the caller.
 *
 * Its state is process-wide on a `Symbol.for(name)` global: copies of the module can coexist
 * (Vite's re-evaluation in development, the tests' sources beside the build).
 */
export function createFileQueue(
  name: string,
  work: (services: Services, fileId: string) => Promise<unknown>,
  failureMessage: string,
): FileQueue {
  const key = Symbol.for(`coffer.fileQueue.${name}`);
  const globals = globalThis as Record<symbol, unknown>;
  const state =
    (globals[key] as QueueState | undefined) ??
    (globals[key] = { pending: new Map(), running: null, outstanding: new Set(), sending: new Set() } as QueueState);

  const runJob = async (services: Services, fileId: string, jobId?: string) => {
    try {
      await work(services, fileId);
    } catch (error) {
      services.log.warn(failureMessage, { fileId, error });
      // A durable job is recorded as failed (admin page, metrics), without retries: the periodic
      // back-fill tries such files again later.
      if (jobId) throw new FinalJobError(`${failureMessage}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      if (jobId) state.outstanding.delete(jobId);
    }
  };

  async function drain(): Promise<void> {
    // Let the request that scheduled the work finish first.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      for (;;) {
        const next = state.pending.entries().next();
        if (next.done) return;
        const [fileId, services] = next.value;
        state.pending.delete(fileId);
        await runJob(services, fileId);
      }
    } finally {
      state.running = null;
      if (state.pending.size > 0) state.running = drain();
    }
  }

  const inMemory = (services: Services, fileId: string) => {
    state.pending.set(fileId, services);
    if (!state.running) state.running = drain();
  };

  const durable = (services: Services, jobs: JobQueue, fileId: string) => {
    // Known before the job exists: a worker may end it before send() has even resolved.
    const id = randomUUID();
    state.outstanding.add(id);
    // Another instance may run the job, so this one never hears of its end: keep only the latest.
    if (state.outstanding.size > MAX_OUTSTANDING) state.outstanding.delete(state.outstanding.values().next().value!);
    const sent = jobs.send(name, { fileId }, { id }).then(
      (queued) => {
        if (!queued) state.outstanding.delete(id);
      },
      (error: unknown) => {
        state.outstanding.delete(id);
        // The database refused the job: do the work here, as without the job queue.
        services.log.warn(`${name}: job not queued, running it in memory`, { fileId, error });
        inMemory(services, fileId);
      },
    );
    state.sending.add(sent);
    void sent.finally(() => state.sending.delete(sent));
  };

  const schedule = (services: Services, fileIds: Iterable<string>) => {
    const jobs = services.jobs?.queues().some((queue) => queue.name === name) ? services.jobs : undefined;
    for (const fileId of fileIds) {
      if (jobs) durable(services, jobs, fileId);
      else inMemory(services, fileId);
    }
  };

  return {
    name,
    schedule,
    async scheduleBatch(services, fileIds) {
      const jobs = services.jobs?.queues().some((queue) => queue.name === name) ? services.jobs : undefined;
      if (!jobs) {
        schedule(services, fileIds);
        return;
      }
      // One statement for the batch (one send per file took about a millisecond each).
      const batch = [...fileIds].map((fileId) => ({ id: randomUUID(), data: { fileId } }));
      for (const job of batch) state.outstanding.add(job.id);
      const sent = jobs.sendMany(name, batch).then(
        (queued) => {
          const ids = new Set(queued);
          for (const job of batch) if (!ids.has(job.id)) state.outstanding.delete(job.id);
        },
        (error: unknown) => {
          for (const job of batch) state.outstanding.delete(job.id);
          services.log.warn(`${name}: jobs not queued, running them in memory`, { files: batch.length, error });
          for (const job of batch) inMemory(services, job.data.fileId);
        },
      );
      state.sending.add(sent);
      try {
        await sent;
      } finally {
        state.sending.delete(sent);
      }
      while (state.outstanding.size > MAX_OUTSTANDING) state.outstanding.delete(state.outstanding.values().next().value!);
    },
    runJob,
    forgetOutstanding() {
      state.outstanding.clear();
    },
    async settled() {
      for (;;) {
        if (state.sending.size > 0) await Promise.all(state.sending);
        else if (state.running) await state.running;
        else if (state.outstanding.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
        else return;
      }
    },
  };
}
