import { z } from "zod";
import { SettingsFields } from "./schemas-admin";

/**
 * Schemas of the operations pages of administration: background jobs, lifecycle, system and
 * analytics. Responses say what the pages show; request objects are strict.
 */

const Timestamp = z.iso.datetime().meta({ description: "An RFC 3339 timestamp (UTC)." });
const Count = z.number().int().nonnegative();
const Bytes = z.number().int().nonnegative().meta({ description: "Bytes." });

// ---- jobs --------------------------------------------------------------------------------------

export const QueueName = z
  .string()
  .regex(/^[a-z0-9-]{1,64}$/)
  .meta({ description: "A job queue's name, such as `purge-expired-trash`." });

export const QueueParams = z.strictObject({ queue: QueueName });

const FailedJob = z
  .object({
    id: z.string(),
    failedAt: Timestamp,
    message: z.string().meta({ description: "The error's first line: no stack, credentials masked." }),
  })
  .meta({ id: "FailedJob", description: "A job that failed for good (after its retries); it can be retried." });

export const JobQueue = z
  .object({
    name: QueueName,
    label: z.string().meta({ description: "What the queue does, as the jobs page names it." }),
    schedule: z
      .string()
      .nullable()
      .meta({ description: "The cron expression (UTC) of a scheduled queue; null for work sent as it comes." }),
    waiting: Count.meta({ description: "Jobs waiting to run (all instances)." }),
    oldestWaitingSeconds: Count.meta({ description: "How long the oldest waiting job has waited, in seconds." }),
    lastRunAt: Timestamp.nullable(),
    failures24h: Count.meta({ description: "Jobs that failed in the last 24 hours." }),
    lastFailureAt: Timestamp.nullable(),
    lastFailureMessage: z.string().nullable(),
    failed: z.array(FailedJob).meta({ description: "The latest jobs that failed for good (at most 10), newest first." }),
  })
  .meta({ id: "JobQueue" });

const StorageMigration = z
  .object({
    started: z.boolean().meta({ description: "False until the migration's first run." }),
    from: z.string().meta({ description: "Where objects move from (no credentials)." }),
    to: z.string(),
    finishedAt: Timestamp.nullable(),
    movedObjects: Count,
    movedBytes: Bytes,
    failedObjects: Count.meta({ description: "Objects whose move failed in the last run; tried again next run." }),
    remainingObjects: Count,
    remainingBytes: Bytes,
  })
  .meta({ id: "StorageMigration" });

export const JobsOverview = z
  .object({
    running: z.boolean().meta({ description: "Whether background jobs run on the instance that answered." }),
    queues: z.array(JobQueue),
    storageTiers: z.object({
      cold: z
        .object({ files: Count, versions: Count })
        .nullable()
        .meta({ description: "Files and versions in the cold tier; null when no cold tier is set up." }),
      migration: StorageMigration.nullable().meta({ description: "The storage migration's progress; null when none is set up." }),
    }),
  })
  .meta({ id: "JobsOverview", description: "The job queues and storage tiers of /admin/jobs." });

export const RetryJobs = z
  .strictObject({
    jobId: z.uuid().optional().meta({ description: "One failed job to retry; without it, every failed job of the queue." }),
  })
  .meta({ id: "RetryJobs" });

export const JobsRetried = z
  .object({ queue: QueueName, retried: Count.meta({ description: "Failed jobs put back in the queue." }) })
  .meta({ id: "JobsRetried" });

export const JobRunQueued = z
  .object({ queue: QueueName })
  .meta({ id: "JobRunQueued", description: "A run of the scheduled job is queued." });

// ---- lifecycle ---------------------------------------------------------------------------------

export const LIFECYCLE_FIELDS = [
  "trashRetentionDays",
  "auditRetentionDays",
  "versionsKept",
  "versionRetentionDays",
  "deletedAccountRetentionDays",
  "coldTierAfterDays",
] as const;

const LifecycleFields = {
  trashRetentionDays: SettingsFields.trashRetentionDays,
  auditRetentionDays: SettingsFields.auditRetentionDays,
  versionsKept: SettingsFields.versionsKept,
  versionRetentionDays: SettingsFields.versionRetentionDays,
  deletedAccountRetentionDays: SettingsFields.deletedAccountRetentionDays,
  coldTierAfterDays: SettingsFields.coldTierAfterDays,
} satisfies Record<(typeof LIFECYCLE_FIELDS)[number], z.ZodType>;

const LifecycleRule = z
  .object({
    rule: z.enum(["trash", "versions", "audit", "accounts"]),
    title: z.string(),
    setting: z.string().meta({ description: "The rule in words, as the settings say it now." }),
    lastRun: z
      .object({
        finishedAt: Timestamp,
        removed: z
          .record(z.string(), z.number())
          .meta({ description: "What the purge removed, by kind (versions, files, bytes, items…)." }),
      })
      .nullable()
      .meta({ description: "The rule's last hourly purge; null before the first." }),
    waiting: Count.nullable().meta({ description: "Deleted accounts still restorable (the accounts rule only)." }),
  })
  .meta({ id: "LifecycleRule" });

export const Lifecycle = z
  .object({
    rules: z.array(LifecycleRule),
    settings: z.object(LifecycleFields).meta({ description: "The settings behind the rules; change them with PATCH." }),
    etag: z.string().meta({ description: "Covers `settings`; send it back in If-Match to change them." }),
  })
  .meta({ id: "Lifecycle", description: "What Coffer deletes or moves by itself (/admin/lifecycle)." });

export const UpdateLifecycle = z
  .strictObject(LifecycleFields)
  .partial()
  .meta({ id: "UpdateLifecycle", description: "The lifecycle settings to change; the others keep their values." });

// ---- system ------------------------------------------------------------------------------------

const Driver = z
  .object({
    name: z.enum(["database", "storage", "search", "cache"]),
    driver: z.string().meta({ description: "The configured driver, as /readyz names it." }),
    kind: z.string(),
    location: z.string().meta({ description: "A host and port or a directory; never a URL or a credential." }),
    up: z.boolean(),
    checkMs: z.number().nonnegative().meta({ description: "How long the live check took, in milliseconds." }),
    error: z.string().nullable(),
    circuit: z.enum(["closed", "open", "half-open"]).nullable().meta({ description: "The circuit breaker's state; null without one." }),
  })
  .meta({ id: "DriverHealth" });

const BackupRun = z
  .object({
    id: z.string(),
    startedAt: Timestamp,
    finishedAt: Timestamp.nullable(),
    status: z.enum(["running", "succeeded", "failed", "interrupted"]),
    durationSeconds: z.number().nonnegative().nullable(),
    bytes: Count.nullable(),
    objectsCopied: Count.nullable(),
    backupId: z.string().nullable(),
    error: z.string().nullable(),
  })
  .meta({ id: "BackupRun" });

const Backups = z
  .object({
    configured: z.boolean(),
    target: z.string().optional().meta({ description: "Where backups go, for people: never a URL or a credential." }),
    keep: z
      .object({ daily: Count, weekly: Count, monthly: Count })
      .optional()
      .meta({ description: "How many daily, weekly and monthly backups are kept." }),
    schedule: z.string().optional(),
    verifySchedule: z.string().nullable().optional(),
    nextBackupAt: Timestamp.nullable().optional(),
    nextVerifyAt: Timestamp.nullable().optional(),
    lastBackup: BackupRun.nullable().optional(),
    lastVerify: BackupRun.nullable().optional(),
    lastGoodBackup: BackupRun.nullable().optional(),
    backupsRetained: Count.nullable().optional(),
  })
  .meta({ id: "BackupsStatus", description: "Only `configured` when backups are not set up." });

const ErrorsByRoute = z.array(z.object({ route: z.string(), lastHour: Count, lastDay: Count }));

export const SystemStatus = z
  .object({
    checkedAt: Timestamp,
    drivers: z.array(Driver),
    versions: z.object({
      coffer: z.string(),
      commit: z.string().nullable(),
      node: z.string(),
      postgres: z.string().nullable().meta({ description: "null when the database did not say in time." }),
      redis: z.string().nullable().optional().meta({ description: "Only with Redis; null when it did not say in time." }),
      meilisearch: z.string().nullable().optional().meta({ description: "Only with Meilisearch; null when it did not say in time." }),
    }),
    process: z.object({ hostname: z.string(), startedAt: Timestamp, uptimeSeconds: Count }),
    serverErrors: z.object({
      scope: z.enum(["this-instance", "all-instances"]),
      instanceCount: Count,
      byRoute: ErrorsByRoute,
    }),
    instances: z.object({
      shared: z.boolean().meta({ description: "False with the memory cache: only the answering instance is known." }),
      error: z.string().nullable(),
      list: z.array(
        z.object({
          id: z.string(),
          hostname: z.string(),
          pid: Count,
          startedAt: Timestamp,
          lastSeen: Timestamp,
          version: z.string(),
          commit: z.string().nullable(),
        }),
      ),
    }),
    backups: Backups,
  })
  .meta({ id: "SystemStatus", description: "What /admin/system shows, measured live by the instance that answered." });

// ---- analytics ---------------------------------------------------------------------------------

export const ANALYTICS_PERIODS = ["7", "30", "90", "365"] as const;

export const AnalyticsQuery = z.strictObject({
  days: z.enum(ANALYTICS_PERIODS).optional().meta({ description: "The period in days, ending today (UTC); 30 by default." }),
});

const Series = z
  .object({
    unit: z.enum(["count", "bytes", "people"]),
    values: z
      .array(z.number().nonnegative().nullable())
      .meta({ description: "One value per entry of `days`; null where nothing was measured that day." }),
  })
  .meta({ id: "AnalyticsSeries" });

export const Analytics = z
  .object({
    period: z.object({
      days: z.number().int().positive(),
      from: z.iso.date().meta({ description: "The first UTC day, inclusive." }),
      to: z.iso.date().meta({ description: "The last UTC day (today), inclusive." }),
      interval: z.literal("day"),
      timeZone: z.literal("UTC"),
    }),
    days: z.array(z.iso.date()).meta({ description: "The UTC days of every series, oldest first." }),
    uploads: Series.meta({ description: "Uploads per day." }),
    uploadBytes: Series.meta({ description: "Bytes uploaded per day." }),
    downloads: Series.meta({ description: "Downloads per day." }),
    downloadBytes: Series.meta({ description: "Bytes of single files downloaded per day." }),
    activeUsers: Series.meta({ description: "People signed in and seen per day." }),
    storedBytes: Series.meta({ description: "Bytes stored (files, earlier versions and trash), as snapshotted each day." }),
    storedByType: z
      .array(z.object({ group: z.enum(["images", "video", "audio", "documents", "archives", "other"]), series: Series }))
      .meta({ description: "Bytes of current files (trash included) by file type." }),
    topAccounts: z
      .array(z.object({ name: z.string(), series: Series }))
      .meta({ description: "The five accounts storing the most on the latest snapshot, with their history." }),
  })
  .meta({ id: "Analytics", description: "The figures behind the charts of /admin/analytics." });
