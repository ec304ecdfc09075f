// The durable queue of long bulk work (bulk-operations.server runs its jobs). Apart, so that
// modules the job runs (trash.server, through trash-batches.server) can queue work without a cycle.
import type { Services } from "~/services/index.server";

export const BULK_QUEUE = "bulk-operation";

/** Whether this process works on the bulk-operation queue (otherwise the caller works inline). */
export function bulkQueueRunning(services: Services): boolean {
  return services.jobs?.queues().some((queue) => queue.name === BULK_QUEUE) ?? false;
}
