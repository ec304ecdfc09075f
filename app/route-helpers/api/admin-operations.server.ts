import { z } from "zod";
import { lifecycleOverview } from "~/domain/admin/lifecycle.server";
import { getSettings, type Settings } from "~/domain/admin/settings.server";
import { systemReport } from "~/domain/admin/system.server";
import { usageReport } from "~/domain/analytics/usage-report.server";
import { flushUsage, snapshotStorage } from "~/domain/analytics/usage.server";
import { auditActor } from "~/domain/audit/audit.server";
import { type BackupRunView, backupStatus } from "~/domain/backup/status.server";
import { jobQueueSummary, retryFailedJobs, runJobNow } from "~/domain/jobs/job-summary.server";
import { storageTiersStatus } from "~/domain/storage-tiers/status.server";
import type { Services } from "~/services/index.server";
import { saveSettingsPatch } from "./admin-settings.server";
import { defineOperation, json, type Operation } from "./operation.server";
import { assertEtagMatches } from "./preconditions.server";
import { IfMatchHeader } from "./schemas";
import {
  Analytics,
  AnalyticsQuery,
  JobRunQueued,
  JobsOverview,
  JobsRetried,
  LIFECYCLE_FIELDS,
  Lifecycle,
  QueueParams,
  RetryJobs,
  SystemStatus,
  UpdateLifecycle,
} from "./schemas-admin-ops";
import { entityTag } from "./entity-tag.server";

/**
 * The operations pages of administration (/admin/jobs, /admin/lifecycle, /admin/system,
 * /admin/analytics) as resources: the same domain functions the pages call, so what the API shows
 * and does is what the pages show and do, audited alike. Every operation needs the `admin` scope,
 * which only an administrator's token or session holds.
 */

const NoParams = z.strictObject({});
const NoQuery = z.strictObject({});
const ETAG_HEADER = { ETag: "The entity tag of the lifecycle settings." };

const iso = (date: Date | null) => date?.toISOString() ?? null;

async function jobsOverview(services: Services): Promise<z.infer<typeof JobsOverview>> {
  const [queues, tiers] = await Promise.all([jobQueueSummary(services), storageTiersStatus(services)]);
  const migration = tiers.migration;
  return {
    running: Boolean(services.jobs),
    queues: queues.map((queue) => ({
      name: queue.name,
      label: queue.label,
      schedule: queue.schedule,
      waiting: queue.backlog,
      oldestWaitingSeconds: Math.max(0, Math.round(queue.oldestWaitingSeconds)),
      lastRunAt: iso(queue.lastRunAt),
      failures24h: queue.failures24h,
      lastFailureAt: iso(queue.lastFailureAt),
      lastFailureMessage: queue.lastFailureMessage,
      failed: queue.failed.map((job) => ({ id: job.id, failedAt: job.failedAt.toISOString(), message: job.message })),
    })),
    storageTiers: {
      cold: tiers.cold,
      migration: migration && {
        started: migration.started,
        from: migration.from,
        to: migration.to,
        finishedAt: migration.finishedAt || null,
        movedObjects: migration.movedObjects,
        movedBytes: migration.movedBytes,
        failedObjects: migration.failedObjects,
        remainingObjects: migration.remainingObjects,
        remainingBytes: migration.remainingBytes,
      },
    },
  };
}

type LifecycleSettings = z.infer<typeof Lifecycle>["settings"];

function lifecycleSettings(settings: Settings): { settings: LifecycleSettings; etag: string } {
  const body: LifecycleSettings = {
    trashRetentionDays: settings.trashRetentionDays,
    auditRetentionDays: settings.auditRetentionDays,
    versionsKept: settings.keepAllVersions ? null : settings.versionsKept,
    versionRetentionDays: settings.versionRetentionDays,
    deletedAccountRetentionDays: settings.deletedAccountRetentionDays,
    coldTierAfterDays: settings.coldTierAfterDays,
  };
  return { settings: body, etag: entityTag(["lifecycle", body]) };
}

async function lifecycleReply(services: Services) {
  const [rules, settings] = await Promise.all([lifecycleOverview(services), getSettings(services)]);
  const { settings: values, etag } = lifecycleSettings(settings);
  const body: z.infer<typeof Lifecycle> = {
    rules: rules.map((rule) => ({
      rule: rule.rule,
      title: rule.title,
      setting: rule.setting,
      lastRun: rule.lastRun && { finishedAt: rule.lastRun.finishedAt.toISOString(), removed: rule.lastRun.removed },
      waiting: rule.waiting,
    })),
    settings: values,
    etag,
  };
  return json(body, 200, { ETag: etag });
}

function backupRun(run: BackupRunView | null) {
  return run && { ...run, startedAt: run.startedAt.toISOString(), finishedAt: iso(run.finishedAt) };
}

async function systemStatus(services: Services): Promise<z.infer<typeof SystemStatus>> {
  const [report, backups] = await Promise.all([systemReport(services), backupStatus(services)]);
  return {
    checkedAt: report.checkedAt,
    drivers: report.drivers.map(({ ms, ...driver }) => ({ ...driver, checkMs: ms })),
    versions: report.versions,
    process: report.process,
    serverErrors: report.serverErrors,
    instances: {
      shared: report.instances.shared,
      error: report.instances.error,
      list: report.instances.list.map(({ errors: _errors, ...instance }) => instance),
    },
    backups: backups.configured
      ? {
          ...backups,
          nextBackupAt: iso(backups.nextBackupAt),
          nextVerifyAt: iso(backups.nextVerifyAt),
          lastBackup: backupRun(backups.lastBackup),
          lastVerify: backupRun(backups.lastVerify),
          lastGoodBackup: backupRun(backups.lastGoodBackup),
        }
      : { configured: false },
  };
}

async function analytics(services: Services, days: number): Promise<z.infer<typeof Analytics>> {
  // As the page: this instance's latest counts and today's storage first, so the figures are current.
  await flushUsage(services);
  await snapshotStorage(services);
  const report = await usageReport(services, days);
  const count = (values: Array<number | null>) => ({ unit: "count" as const, values });
  const bytes = (values: Array<number | null>) => ({ unit: "bytes" as const, values });
  return {
    period: { days, from: report.days[0]!, to: report.days[report.days.length - 1]!, interval: "day", timeZone: "UTC" },
    days: report.days,
    uploads: count(report.uploads),
    uploadBytes: bytes(report.uploadBytes),
    downloads: count(report.downloads),
    downloadBytes: bytes(report.downloadBytes),
    activeUsers: { unit: "people", values: report.activeUsers },
    storedBytes: bytes(report.storedBytes),
    storedByType: report.storedByType.map((entry) => ({ group: entry.group, series: bytes(entry.values) })),
    topAccounts: report.topAccounts.map((account) => ({ name: account.name, series: bytes(account.values) })),
  };
}

export const adminOperationsOperations: Operation[] = [
  defineOperation({
    operationId: "listJobQueues",
    method: "get",
    path: "/admin/jobs",
    tag: "Operations",
    summary: "List the background job queues",
    description:
      "Every job queue with what waits, its last run, its failures (the last failed jobs, which can be retried) and the storage tiers' progress, as /admin/jobs shows them. Counts cover all instances.",
    scope: "admin",
    params: NoParams,
    query: NoQuery,
    responses: { 200: { description: "The queues.", schema: JobsOverview } },
    async handler({ services }) {
      return json(await jobsOverview(services));
    },
  }),
  defineOperation({
    operationId: "runJobNow",
    method: "post",
    path: "/admin/jobs/{queue}/run",
    tag: "Operations",
    summary: "Run a scheduled job now",
    description:
      "Queues a run of a scheduled job now, as the Run now button does; its schedule stays. 404 for an unknown or unscheduled queue, 409 when a run already waits. Audited.",
    scope: "admin",
    params: QueueParams,
    problems: [409],
    responses: { 202: { description: "A run is queued.", schema: JobRunQueued } },
    async handler({ services, principal, request, clientIp, params }) {
      await runJobNow(services, auditActor(request, clientIp, principal.user), params.queue);
      return json({ queue: params.queue }, 202);
    },
  }),
  defineOperation({
    operationId: "retryFailedJobs",
    method: "post",
    path: "/admin/jobs/{queue}/retry",
    tag: "Operations",
    summary: "Retry failed jobs",
    description:
      "Puts one failed job (`jobId`) or every failed job of the queue back in the queue, as the Retry buttons do. 404 when there is no such failed job. Audited.",
    scope: "admin",
    params: QueueParams,
    body: RetryJobs,
    responses: { 200: { description: "How many jobs are queued again.", schema: JobsRetried } },
    async handler({ services, principal, request, clientIp, params, body }) {
      const retried = await retryFailedJobs(services, auditActor(request, clientIp, principal.user), params.queue, body.jobId);
      return json({ queue: params.queue, retried });
    },
  }),
  defineOperation({
    operationId: "getLifecycle",
    method: "get",
    path: "/admin/lifecycle",
    tag: "Operations",
    summary: "Get the lifecycle rules",
    description:
      "What Coffer deletes or moves by itself, in words and as settings, and what each hourly purge last removed (/admin/lifecycle). The ETag covers the settings.",
    scope: "admin",
    params: NoParams,
    query: NoQuery,
    responses: { 200: { description: "The rules.", schema: Lifecycle, headers: ETAG_HEADER } },
    async handler({ services }) {
      return lifecycleReply(services);
    },
  }),
  defineOperation({
    operationId: "updateLifecycle",
    method: "patch",
    path: "/admin/lifecycle",
    tag: "Operations",
    summary: "Change the lifecycle rules",
    description:
      "Changes the given lifecycle settings (retention of trash, audit events, versions and deleted accounts; the cold tier), checked by the settings page's own rules and saved under its lock (422 points at a refused field; nothing is saved then). Send If-Match to refuse a lost update (412).",
    scope: "admin",
    params: NoParams,
    headers: IfMatchHeader,
    body: UpdateLifecycle,
    problems: [412],
    responses: { 200: { description: "The rules after the change.", schema: Lifecycle, headers: ETAG_HEADER } },
    async handler(context) {
      const { services, request, body } = context;
      const patch = Object.fromEntries(LIFECYCLE_FIELDS.filter((name) => body[name] !== undefined).map((name) => [name, body[name]]));
      await saveSettingsPatch(context, patch, (current) => assertEtagMatches(request, lifecycleSettings(current)));
      return lifecycleReply(services);
    },
  }),
  defineOperation({
    operationId: "getSystemStatus",
    method: "get",
    path: "/admin/system",
    tag: "Operations",
    summary: "Check the system's health",
    description:
      "Each dependency checked live (up, how long the check took, its circuit breaker), the versions, uptime, server errors by route, the instances and the backups, as /admin/system shows them.",
    scope: "admin",
    params: NoParams,
    query: NoQuery,
    responses: { 200: { description: "The system as checked now.", schema: SystemStatus } },
    async handler({ services }) {
      return json(await systemStatus(services));
    },
  }),
  defineOperation({
    operationId: "getAnalytics",
    method: "get",
    path: "/admin/analytics",
    tag: "Operations",
    summary: "Get the usage figures",
    description:
      "The daily series behind the charts of /admin/analytics over the last `days` UTC days, today included: uploads, downloads, active people, stored bytes (in total, by file type, and of the five largest accounts). Each series names its unit.",
    scope: "admin",
    params: NoParams,
    query: AnalyticsQuery,
    responses: { 200: { description: "The figures.", schema: Analytics } },
    async handler({ services, query }) {
      return json(await analytics(services, Number(query.days ?? "30")));
    },
  }),
];
