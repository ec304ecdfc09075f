import { buttonClass } from "~/components/ui/button";
import { data, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { AdminHeader } from "~/components/admin/admin-nav";
import { Link, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { DailyChart } from "~/components/charts/daily-chart";
import { shortDay } from "~/components/charts/scale";
import { usageReport } from "~/domain/analytics/usage-report.server";
import { flushUsage, snapshotStorage } from "~/domain/analytics/usage.server";
import { requireAdmin } from "~/route-helpers/guards.server";
import { parseQuery } from "~/route-helpers/forms.server";
import { counted, formatBytes, formatCount } from "~/lib/format";

export const meta: MetaFunction = () => [{ title: "Analytics · Admin · Coffer" }];

const PERIODS = ["7", "30", "90", "365"] as const;
const analyticsQuery = z.object({ days: z.enum(PERIODS).optional() });

const TYPE_LABELS: Record<string, string> = {
  images: "Images",
  video: "Video",
  audio: "Audio",
  documents: "Documents",
  archives: "Archives",
  other: "Other",
};

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  await requireAdmin(services, request);
  const days = Number(parseQuery(request, analyticsQuery).days ?? "30");
  // This instance's latest counts and today's storage, so the page is current; other instances
  // add theirs within a minute.
  await flushUsage(services);
  await snapshotStorage(services);
  const report = await usageReport(services, days);
  return data({ period: days, report }, { headers: { "Cache-Control": "no-store" } });
}

const count = formatCount;

/** The day with the highest value, for the summaries. */
function busiest(days: string[], values: Array<number | null>): { day: string; value: number } | null {
  let best: { day: string; value: number } | null = null;
  values.forEach((value, i) => {
    if (value !== null && value > 0 && (!best || value > best.value)) best = { day: days[i], value };
  });
  return best;
}

function sum(values: Array<number | null>): number {
  return values.reduce<number>((total, value) => total + (value ?? 0), 0);
}

function lastMeasured(values: Array<number | null>): number | null {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
  return null;
}

export default function AdminAnalytics() {
  const { period, report } = useLoaderData<typeof loader>();
  const { days } = report;
  const peak = (values: Array<number | null>, one: string, many?: string) => {
    const top = busiest(days, values);
    return top ? ` The busiest day was ${shortDay(top.day)}, with ${counted(top.value, one, many)}.` : "";
  };
  const stored = lastMeasured(report.storedBytes);
  const largestType = report.storedByType
    .map((entry) => ({ label: TYPE_LABELS[entry.group], bytes: lastMeasured(entry.values) ?? 0 }))
    .sort((a, b) => b.bytes - a.bytes)[0];
  const activeDays = report.activeUsers.filter((n) => n > 0).length;
  return (
    <div className="space-y-6">
      <AdminHeader title="Analytics" current="/admin/analytics">
        <p className="mt-1 text-sm text-text-muted">
          Days are UTC days. Figures start on the day this version of Coffer was installed; instances add their counts every minute.
        </p>
      </AdminHeader>
      <nav aria-label="Period" className="flex flex-wrap gap-2 text-sm">
        {PERIODS.map((option) => (
          <Link
            key={option}
            to={`?days=${option}`}
            aria-current={Number(option) === period ? "page" : undefined}
            className={buttonClass(Number(option) === period ? "primary" : "secondary")}
          >
            Last {option} days
          </Link>
        ))}
      </nav>
      <div className="grid gap-4 lg:grid-cols-2">
        <DailyChart
          id="uploads"
          title="Uploads per day"
          days={days}
          series={[{ label: "Uploads", values: report.uploads }]}
          kind="bars"
          format={count}
          summary={`${counted(sum(report.uploads), "upload")} (${formatBytes(sum(report.uploadBytes))}) in the last ${period} days.${peak(report.uploads, "upload")}`}
        />
        <DailyChart
          id="downloads"
          title="Downloads per day"
          days={days}
          series={[{ label: "Downloads", values: report.downloads }]}
          kind="bars"
          format={count}
          summary={`${counted(sum(report.downloads), "download")} (${formatBytes(sum(report.downloadBytes))} of single files) in the last ${period} days.${peak(report.downloads, "download")}`}
        />
        <DailyChart
          id="active-users"
          title="Active people per day"
          days={days}
          series={[{ label: "Active people", values: report.activeUsers }]}
          kind="bars"
          format={count}
          summary={
            activeDays === 0
              ? "Nobody signed in was seen in this period yet."
              : `On the ${counted(activeDays, "day")} with activity, ${counted(Math.round(sum(report.activeUsers) / activeDays), "person", "people")} a day on average.${peak(report.activeUsers, "person", "people")}`
          }
        />
        <DailyChart
          id="stored"
          title="Stored bytes"
          days={days}
          series={[{ label: "Stored (files, earlier versions and trash)", values: report.storedBytes }]}
          kind="lines"
          bytes
          format={formatBytes}
          summary={stored === null ? "Not measured yet." : `${formatBytes(stored)} stored now, files, earlier versions and trash included.`}
        />
        <DailyChart
          id="by-type"
          title="Storage by file type"
          days={days}
          series={report.storedByType.map((entry) => ({ label: TYPE_LABELS[entry.group], values: entry.values }))}
          kind="lines"
          bytes
          format={formatBytes}
          summary={
            largestType && largestType.bytes > 0
              ? `Current files, trash included. ${largestType.label} take the most room: ${formatBytes(largestType.bytes)}.`
              : "No files stored yet."
          }
        />
        <DailyChart
          id="by-account"
          title="Storage by account (the five largest)"
          days={days}
          series={report.topAccounts.map((account) => ({ label: account.name, values: account.values }))}
          kind="lines"
          bytes
          format={formatBytes}
          summary={
            report.topAccounts.length === 0
              ? "No account stores anything yet."
              : `${report.topAccounts[0].name} stores the most: ${formatBytes(lastMeasured(report.topAccounts[0].values) ?? 0)}.`
          }
        />
      </div>
    </div>
  );
}
