import { Card } from "~/components/ui/card";
import { data, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { AdminHeader } from "~/components/admin/admin-nav";
import { useLoaderData } from "@remix-run/react";
import { BackgroundJobsSection } from "~/components/admin/system/background-jobs";
import { BackupsSection } from "~/components/admin/system/backups-section";
import { backupStatus } from "~/domain/backup/status.server";
import { DriverTable } from "~/components/admin/system/driver-table";
import { InstancesTable } from "~/components/admin/system/instances-table";
import { ServerErrorsTable } from "~/components/admin/system/server-errors-table";
import { systemReport } from "~/domain/admin/system.server";
import { jobQueueSummary } from "~/domain/jobs/job-summary.server";
import { JobQueuesTable } from "~/components/admin/system/job-queues-table";
import { formatDate } from "~/lib/format";
import { requireAdmin } from "~/route-helpers/guards.server";

export const meta: MetaFunction = () => [{ title: "System · Admin · Coffer" }];
// A live measurement: never from a cache, also when the page is loaded as a document.
export const headers: HeadersFunction = () => ({ "Cache-Control": "no-store" });

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  await requireAdmin(services, request);
  const [report, jobQueues, backups] = await Promise.all([systemReport(services), jobQueueSummary(services), backupStatus(services)]);
  return data({ report, jobQueues, backups }, { headers: { "Cache-Control": "no-store" } });
}

/** "3 days 4 hours", "12 minutes", "40 seconds": the two largest units. */
function formatUptime(seconds: number): string {
  const units: Array<[string, number]> = [
    ["day", 86_400],
    ["hour", 3_600],
    ["minute", 60],
    ["second", 1],
  ];
  const parts: string[] = [];
  let rest = seconds;
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || (parts.length === 0 && size === 1)) parts.push(`${n} ${name}${n === 1 ? "" : "s"}`);
    if (parts.length === 2) break;
    if (parts.length === 1 && n === 0) break;
  }
  return parts.join(" ");
}

export default function AdminSystem() {
  const { report, jobQueues, backups } = useLoaderData<typeof loader>();
  const { versions } = report;
  const versionRows: Array<[string, string]> = [
    ["Coffer", versions.commit ? `${versions.coffer} (commit ${versions.commit})` : versions.coffer],
    ["Node.js", versions.node],
    ["PostgreSQL", versions.postgres ?? "Unknown: the database did not answer in time"],
  ];
  if (versions.redis !== undefined) versionRows.push(["Redis", versions.redis ?? "Unknown: Redis did not answer in time"]);
  if (versions.meilisearch !== undefined)
    versionRows.push(["Meilisearch", versions.meilisearch ?? "Unknown: Meilisearch did not answer in time"]);
  return (
    <div className="space-y-6">
      <AdminHeader title="System" current="/admin/system">
        <p className="mt-1 text-sm text-text-muted">
          Checked live at {formatDate(report.checkedAt)} by the instance on {report.process.hostname}. Reload the page to check again.
        </p>
      </AdminHeader>
      <DriverTable drivers={report.drivers} />
      <div className="grid gap-6 lg:grid-cols-2">
        <Card as="section" padding="none" aria-labelledby="versions-heading">
          <h2 id="versions-heading" className="border-b border-border px-4 py-3 font-semibold">
            Versions
          </h2>
          <dl className="grid grid-cols-[max-content_1fr] gap-x-6 gap-y-2 px-4 py-3 text-sm" data-testid="versions">
            {versionRows.map(([name, value]) => (
              <div key={name} className="contents">
                <dt className="font-medium">{name}</dt>
                <dd className="break-words">{value}</dd>
              </div>
            ))}
          </dl>
        </Card>
        <Card as="section" padding="none" aria-labelledby="uptime-heading">
          <h2 id="uptime-heading" className="border-b border-border px-4 py-3 font-semibold">
            Uptime
          </h2>
          <dl className="grid grid-cols-[max-content_1fr] gap-x-6 gap-y-2 px-4 py-3 text-sm" data-testid="uptime">
            <div className="contents">
              <dt className="font-medium">Running for</dt>
              <dd>{formatUptime(report.process.uptimeSeconds)}</dd>
            </div>
            <div className="contents">
              <dt className="font-medium">Started</dt>
              <dd>{formatDate(report.process.startedAt)}</dd>
            </div>
          </dl>
        </Card>
      </div>
      <BackupsSection status={backups} />
      <ServerErrorsTable errors={report.serverErrors} />
      <InstancesTable instances={report.instances} />
      <BackgroundJobsSection>
        <JobQueuesTable queues={jobQueues} />
      </BackgroundJobsSection>
    </div>
  );
}
