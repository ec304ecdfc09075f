import { type ActionFunctionArgs, data, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import type { ReactNode } from "react";
import { AdminHeader } from "~/components/admin/admin-nav";
import { AnnouncementForm } from "~/components/admin/announcement-form";
import { BackupLine } from "~/components/admin/system/backups-section";
import { DailyChart } from "~/components/charts/daily-chart";
import { Badge } from "~/components/ui/badge";
import { Card } from "~/components/ui/card";
import { sendAnnouncement } from "~/domain/admin/announcements.server";
import { accountsOverview } from "~/domain/admin/overview.server";
import { auditActor } from "~/domain/audit/audit.server";
import { driverHealth } from "~/domain/admin/system.server";
import { usageReport } from "~/domain/analytics/usage-report.server";
import { flushUsage } from "~/domain/analytics/usage.server";
import { backupStatus } from "~/domain/backup/status.server";
import { jobQueueSummary } from "~/domain/jobs/job-summary.server";
import { contentSearchStatus } from "~/domain/search/content-index.server";
import { ValidationError } from "~/domain/errors";
import { counted, formatBytes, formatCount } from "~/lib/format";
import { formValues, readForm } from "~/route-helpers/forms.server";
import { requireAdmin } from "~/route-helpers/guards.server";
import { actionFailure, actionSuccess } from "~/route-helpers/http.server";

export const meta: MetaFunction = () => [{ title: "Admin · Coffer" }];

/** Days of uploads the overview's chart shows. */
const CHART_DAYS = 14;

const SERVICE_NAMES: Record<string, string> = { database: "Database", storage: "File storage", search: "Search", cache: "Cache" };

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  await requireAdmin(services, request);
  // This instance's latest counts, so "today" is current; other instances add theirs within a minute.
  await flushUsage(services);
  const [accounts, usage, drivers, jobQueues, backups, contentSearch] = await Promise.all([
    accountsOverview(services),
    usageReport(services, CHART_DAYS),
    driverHealth(services),
    jobQueueSummary(services),
    backupStatus(services),
    contentSearchStatus(services),
  ]);
  const today = usage.days.length - 1;
  const jobs = {
    failures24h: jobQueues.reduce((total, queue) => total + queue.failures24h, 0),
    backlog: jobQueues.reduce((total, queue) => total + queue.backlog, 0),
    failing: jobQueues.filter((queue) => queue.failures24h > 0).map((queue) => queue.label),
    running: jobQueues.length > 0,
  };
  return data(
    {
      accounts,
      today: {
        uploads: usage.uploads[today],
        uploadBytes: usage.uploadBytes[today],
        downloads: usage.downloads[today],
        activeUsers: usage.activeUsers[today],
      },
      chart: { days: usage.days, uploads: usage.uploads, uploadBytes: usage.uploadBytes },
      drivers: drivers.map(({ name, kind, up, error }) => ({ name, kind, up, error })),
      jobs,
      backups,
      contentSearch,
    },
    // A live measurement of the drivers: never from a cache.
    { headers: { "Cache-Control": "no-store" } },
  );
}

/** The one thing done from the overview: an announcement to every active account. */
export async function action({ request, context }: ActionFunctionArgs) {
  const { services } = context;
  const admin = await requireAdmin(services, request);
  const values = formValues(await readForm(request));
  const draft = { title: String(values.title ?? ""), body: String(values.body ?? "") };
  try {
    if (values.intent !== "announce") return actionFailure(new ValidationError("Choose what to do."), { announcement: true, ...draft });
    const sent = await sendAnnouncement(
      services,
      admin,
      { title: values.title, body: values.body },
      auditActor(request, context.clientIp, admin),
    );
    return actionSuccess(`Announcement “${sent.title}” sent to every active account.`, { announcement: true });
  } catch (error) {
    return actionFailure(error, { announcement: true, ...draft });
  }
}

export default function AdminOverview() {
  const { accounts, today, chart, drivers, jobs, backups, contentSearch } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const down = drivers.filter((driver) => !driver.up);
  const uploadsInChart = chart.uploads.reduce((total, n) => total + n, 0);
  const bytesInChart = chart.uploadBytes.reduce((total, n) => total + n, 0);
  return (
    <div className="space-y-6">
      <AdminHeader title="Administration" current="/admin">
        <p className="mt-1 text-sm text-text-muted">The instance at a glance. Each card links to its page.</p>
      </AdminHeader>
      {down.length > 0 ? (
        <p role="alert" className="rounded-md border border-danger-border bg-danger-soft px-3 py-2 text-sm text-danger">
          <strong>{down.map((driver) => SERVICE_NAMES[driver.name]).join(" and ")} not answering.</strong> See{" "}
          <Link to="/admin/system" className="underline">
            System
          </Link>{" "}
          for what stops working and what to check.
        </p>
      ) : null}
      <div className="grid gap-4 sm:grid-cols-2 xl:grid-cols-3">
        <OverviewCard title="Storage" testId="overview-storage" to="/admin/analytics" linkText="Analytics">
          <Figure>{formatBytes(accounts.storedBytes)}</Figure>
          <p>stored, earlier versions and trash included.</p>
          <p className="text-text-muted">
            Default quota {accounts.defaultQuotaBytes === null ? "unlimited" : formatBytes(accounts.defaultQuotaBytes)}.
          </p>
        </OverviewCard>
        <OverviewCard title="Accounts" testId="overview-accounts" to="/admin/users" linkText="Users">
          <Figure>{counted(accounts.active, "active account")}</Figure>
          <p>
            {counted(accounts.admins, "administrator")}
            {accounts.deactivated > 0 ? `, ${counted(accounts.deactivated, "deactivated account")}` : ""}
            {accounts.awaitingPurge > 0 ? `, ${counted(accounts.awaitingPurge, "deleted account")} awaiting purge` : ""}.
          </p>
          {accounts.nearlyFull > 0 ? (
            <p>
              <Badge tone="warning">{counted(accounts.nearlyFull, "account")} at 90 % of quota or more</Badge>
            </p>
          ) : (
            <p className="text-text-muted">No account is near its quota.</p>
          )}
        </OverviewCard>
        <OverviewCard title="Today (UTC)" testId="overview-today" to="/admin/analytics" linkText="Analytics">
          <Figure>{counted(today.uploads, "upload")}</Figure>
          <p>{formatBytes(today.uploadBytes)} uploaded.</p>
          <p className="text-text-muted">
            {counted(today.downloads, "download")}, {counted(today.activeUsers, "person", "people")} active.
          </p>
        </OverviewCard>
        <OverviewCard title="Services" testId="overview-services" to="/admin/system" linkText="System">
          <Figure>{down.length === 0 ? "All answering" : `${formatCount(down.length)} of ${formatCount(drivers.length)} down`}</Figure>
          <ul className="space-y-1">
            {drivers.map((driver) => (
              <li key={driver.name} className="flex flex-wrap items-center gap-2">
                <Badge tone={driver.up ? "success" : "danger"}>{driver.up ? "Up" : "Down"}</Badge>
                <span>{`${SERVICE_NAMES[driver.name]}: ${driver.kind}`}</span>
              </li>
            ))}
          </ul>
          <p className="text-text-muted" data-testid="content-search-status">
            {!contentSearch.enabled
              ? "Search inside files is off (SEARCH_CONTENT=false): files are found by name only."
              : contentSearch.pdfText
                ? "Search inside files is on, PDFs included."
                : "Search inside files is on, but PDFs are found by name only: install pdftotext (Debian package poppler-utils) on the server."}
          </p>
        </OverviewCard>
        <OverviewCard title="Backups" testId="overview-backups" to="/admin/system#backups-heading" linkText="Backups on the System page">
          <Figure>{!backups.configured ? "Off" : backups.lastBackup ? RESULT_WORD[backups.lastBackup.status] : "None yet"}</Figure>
          <BackupLine status={backups} />
        </OverviewCard>
        <OverviewCard title="Background jobs" testId="overview-jobs" to="/admin/jobs" linkText="Jobs">
          {jobs.running ? (
            <>
              <Figure>{counted(jobs.failures24h, "failure")} in 24 h</Figure>
              <p>{counted(jobs.backlog, "job")} waiting.</p>
              {jobs.failing.length > 0 ? (
                <p>
                  <Badge tone="danger">Failing</Badge> {jobs.failing.join(", ")}
                </p>
              ) : (
                <p className="text-text-muted">No job failed in the last 24 hours.</p>
              )}
            </>
          ) : (
            <p>Background jobs are not running on this instance yet: they start a few seconds after the server does.</p>
          )}
        </OverviewCard>
      </div>
      <DailyChart
        id="uploads"
        title={`Uploads, last ${CHART_DAYS} days`}
        days={chart.days}
        series={[{ label: "Uploads", values: chart.uploads }]}
        kind="bars"
        format={formatCount}
        summary={`${counted(uploadsInChart, "upload")} (${formatBytes(bytesInChart)}) in the last ${CHART_DAYS} days.`}
      />
      <AnnouncementForm result={result ?? null} busy={busy} />
    </div>
  );
}

const RESULT_WORD: Record<string, string> = { running: "Running", succeeded: "Succeeded", failed: "Failed", interrupted: "Interrupted" };

function Figure({ children }: { children: ReactNode }) {
  return <p className="text-2xl font-semibold">{children}</p>;
}

function OverviewCard({
  title,
  testId,
  to,
  linkText,
  children,
}: {
  title: string;
  testId: string;
  to: string;
  linkText: string;
  children: ReactNode;
}) {
  return (
    <Card title={title} data-testid={testId} className="flex flex-col">
      <div className="flex-1 space-y-1 text-sm">{children}</div>
      <p className="mt-3 text-sm">
        <Link to={to} className="text-accent-text underline">
          {linkText} →
        </Link>
      </p>
    </Card>
  );
}
