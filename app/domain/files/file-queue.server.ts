import type { Services } from "~/services/index.server";

interface QueueState {
  pending: Map<string, Services>;
  running: Promise<void> | null;
}

/**
 * A background queue of work per file, off the request path, one file at a time (so it never
 * competes with requests for more than one core). A file queued twice runs once. Failures are
 * logged as `failureMessage` and never reach the caller.
 *
 * Its state is process-wide on a `Symbol.for(name)` global: copies of the module can coexist
 * (Vite's re-evaluation in development, the tests' sources beside the build).
 */
export function createFileQueue(name: string, work: (services: Services, fileId: string) => Promise<unknown>, failureMessage: string) {
  const key = Symbol.for(name);
  const globals = globalThis as Record<symbol, unknown>;
  const state = (globals[key] as QueueState | undefined) ?? (globals[key] = { pending: new Map(), running: null } as QueueState);

  async function drain(): Promise<void> {
    // Let the request that scheduled the work finish first.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      for (;;) {
        const next = state.pending.entries().next();
        if (next.done) return;
        const [fileId, services] = next.value;
        state.pending.delete(fileId);
        await work(services, fileId).catch((error: unknown) => services.log.warn(failureMessage, { fileId, error }));
      }
    } finally {
      state.running = null;
      if (state.pending.size > 0) state.running = drain();
    }
  }

  return {
    schedule(services: Services, fileIds: Iterable<string>): void {
      for (const fileId of fileIds) state.pending.set(fileId, services);
      if (!state.running && state.pending.size > 0) state.running = drain();
    },
    /** Resolves once the queue is empty (tests, graceful shutdown). */
    async settled(): Promise<void> {
      while (state.running) await state.running;
    },
  };
}
