import { Card } from "~/components/ui/card";
import type { SystemReport } from "~/domain/admin/system.server";
import { formatDate } from "~/lib/format";
import { ScrollRegion } from "./scroll-region";

export function InstancesTable({ instances }: { instances: SystemReport["instances"] }) {
  return (
    <Card as="section" padding="none" aria-labelledby="instances-heading">
      <h2 id="instances-heading" className="border-b border-border px-4 py-3 font-semibold">
        Instances
      </h2>
      <p className="px-4 py-3 text-sm text-text-muted">
        {instances.error
          ? `Redis could not be asked for the other instances (${instances.error}): only this one is shown. Check the cache above.`
          : instances.shared
            ? "Every instance that reported to Redis within the last 45 seconds."
            : "Only this instance: without Redis (REDIS_URL) instances do not know each other. Run several instances only with Redis."}
      </p>
      <ScrollRegion labelledBy="instances-heading">
        <table className="w-full text-left text-sm" data-testid="instances">
          <thead className="bg-surface text-text-muted">
            <tr>
              <th scope="col" className="px-4 py-2 font-medium">
                Host
              </th>
              <th scope="col" className="px-4 py-2 font-medium">
                Version
              </th>
              <th scope="col" className="px-4 py-2 font-medium">
                Started
              </th>
              <th scope="col" className="px-4 py-2 font-medium">
                Last seen
              </th>
              <th scope="col" className="hidden px-4 py-2 font-medium md:table-cell">
                Instance id
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-border">
            {instances.list.map((instance, index) => (
              <tr key={instance.id} data-instance={instance.id}>
                <th scope="row" className="px-4 py-2 font-medium">
                  {instance.hostname} <span className="font-normal text-text-muted">(process {instance.pid})</span>
                  {index === 0 ? <span className="block font-normal text-text-muted">This instance</span> : null}
                </th>
                <td className="px-4 py-2">
                  {instance.version}
                  {instance.commit ? ` (${instance.commit})` : ""}
                </td>
                <td className="px-4 py-2 whitespace-nowrap">{formatDate(instance.startedAt)}</td>
                <td className="px-4 py-2 whitespace-nowrap">{index === 0 ? "Now" : formatDate(instance.lastSeen)}</td>
                <td className="hidden px-4 py-2 font-mono text-xs md:table-cell">{instance.id}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
    </Card>
  );
}
