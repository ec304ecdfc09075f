import type { SerializeFrom } from "@remix-run/node";
import type { JobQueueSummary } from "~/domain/jobs/job-summary.server";
import { formatAge, formatDate } from "~/lib/format";
import { ScrollRegion } from "./scroll-region";

/** The job queues in one line each: what waits, and the last failure's first line. */
export function JobQueuesTable({ queues }: { queues: SerializeFrom<JobQueueSummary>[] }) {
  if (queues.length === 0)
    return (
      <p className="px-4 pt-3 text-sm" data-testid="jobs-not-running">
        Background jobs are not running on this instance yet: they start a few seconds after the server does. Reload the page to check
        again.
      </p>
    );
  return (
    <ScrollRegion labelledBy="jobs-heading">
      <table className="w-full text-left text-sm" data-testid="job-queues">
        <thead className="bg-surface text-text-muted">
          <tr>
            <th scope="col" className="px-4 py-2 font-medium">
              Queue
            </th>
            <th scope="col" className="px-4 py-2 text-right font-medium">
              Waiting
            </th>
            <th scope="col" className="px-4 py-2 text-right font-medium">
              Failed (24 h)
            </th>
            <th scope="col" className="px-4 py-2 font-medium">
              Last failure
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-border">
          {queues.map((queue) => (
            <tr key={queue.name} data-queue={queue.name}>
              <th scope="row" className="px-4 py-2 font-medium">
                {queue.label}
              </th>
              <td className="px-4 py-2 text-right">
                {queue.backlog}
                {queue.backlog > 0 ? <span className="text-text-muted"> (oldest {formatAge(queue.oldestWaitingSeconds)})</span> : null}
              </td>
              <td className="px-4 py-2 text-right">{queue.failures24h}</td>
              <td className="px-4 py-2">
                {queue.lastFailureAt ? `${formatDate(queue.lastFailureAt)}: ${queue.lastFailureMessage ?? "no message"}` : "None"}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollRegion>
  );
}
