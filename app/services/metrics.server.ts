import { Counter, Gauge, Histogram, type LabelValues, Registry, collectDefaultMetrics } from "prom-client";

/**
 * Prometheus metrics of this process. Labels are low-cardinality by construction: fixed sets
 * (route groups, outcomes, kinds, limiter names), never ids, names, emails or raw URLs.
 */
function createMetrics() {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    httpRequests: new Counter({
      name: "coffer_http_requests_total",
      help: "HTTP requests answered, by method, route group and status class.",
      labelNames: ["method", "route", "status"] as const,
      registers,
    }),
    httpRequestDuration: new Histogram({
      name: "coffer_http_request_duration_seconds",
      help: "Time from the request's arrival to the end of its response, by method, route group and status class.",
      labelNames: ["method", "route", "status"] as const,
      // 0.3: the folder-page latency SLO's threshold. Uploads and downloads of large files take minutes.
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.3, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    tusReceivedBytes: new Counter({
      name: "coffer_tus_received_bytes_total",
      help: "Upload bytes received by the tus endpoint and passed to the store.",
      registers,
    }),
    uploadsCreated: new Counter({ name: "coffer_uploads_created_total", help: "tus uploads created.", registers }),
    uploadsCompleted: new Counter({ name: "coffer_uploads_completed_total", help: "tus uploads completed (now files).", registers }),
    uploadsFailed: new Counter({
      name: "coffer_uploads_failed_total",
      help: "tus upload failures: stage receive (writing a body to the store failed or the body was too large) or complete (turning the upload into a file failed).",
      labelNames: ["stage"] as const,
      registers,
    }),
    malwareScanned: new Counter({
      name: "coffer_malware_scanned_total",
      help: "Uploads and stored objects clamd scanned, by verdict: clean or infected.",
      labelNames: ["verdict"] as const,
      registers,
    }),
    malwareScanFailures: new Counter({
      name: "coffer_malware_scan_failures_total",
      help: "Scans without a verdict, by reason: unavailable (an upload refused, clamd down), stream (an in-stream scan lost; the rescan job scans it) or rescan (a scan from storage failed).",
      labelNames: ["reason"] as const,
      registers,
    }),
    uploadsReceiving: new Gauge({ name: "coffer_uploads_receiving", help: "tus requests receiving upload bytes right now.", registers }),
    formUploadReceivedBytes: new Counter({
      name: "coffer_form_upload_received_bytes_total",
      help: "File bytes received through plain multipart upload forms (no JavaScript, drop links).",
      registers,
    }),
    downloadsStarted: new Counter({
      name: "coffer_downloads_started_total",
      help: "Downloads started (GET answered 200 or 206), by kind: file, zip (selection as zip) or share (any download through a share link).",
      labelNames: ["kind"] as const,
      registers,
    }),
    downloadSentBytes: new Counter({
      name: "coffer_download_sent_bytes_total",
      help: "Body bytes of downloads written to clients, by kind.",
      labelNames: ["kind"] as const,
      registers,
    }),
    storedBytes: new Gauge({
      name: "coffer_storage_stored_bytes",
      help: "Bytes of all stored files and their kept versions, trash included, by storage driver (from the database, refreshed at most every 30 s).",
      labelNames: ["driver"] as const,
      registers,
    }),
    storedFiles: new Gauge({
      name: "coffer_storage_files",
      help: "Stored files, trash included, by storage driver (from the database, refreshed at most every 30 s).",
      labelNames: ["driver"] as const,
      registers,
    }),
    activeUsers: new Gauge({
      name: "coffer_active_users",
      help: "Accounts that used Coffer within the window (1d or 7d): a session seen, or a day of activity, within it (from the database, refreshed at most every 30 s).",
      labelNames: ["window"] as const,
      registers,
    }),
    dbQueryDuration: new Histogram({
      name: "coffer_db_query_duration_seconds",
      help: "Database queries by Prisma model (raw for SQL) and operation: time until the result or the error.",
      labelNames: ["model", "operation"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    }),
    dbQueryErrors: new Counter({
      name: "coffer_db_query_errors_total",
      help: "Database queries that failed, by Prisma model (raw for SQL) and operation; a unique-constraint conflict or a missing record, which the app answers itself, is not counted.",
      labelNames: ["model", "operation"] as const,
      registers,
    }),
    storageDuration: new Histogram({
      name: "coffer_storage_operation_duration_seconds",
      help: "Object store operations by driver and operation: time until the driver answered (for get, the start of the stream; for put and tus_write, the whole transfer).",
      labelNames: ["driver", "operation"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    storageErrors: new Counter({
      name: "coffer_storage_operation_errors_total",
      help: "Object store operations that failed, by driver and operation; a missing object, an invalid key or range, or a body of the wrong size is the caller's answer, not counted.",
      labelNames: ["driver", "operation"] as const,
      registers,
    }),
    searchDuration: new Histogram({
      name: "coffer_search_operation_duration_seconds",
      help: "Search index operations by driver and operation (search, upsert, remove).",
      labelNames: ["driver", "operation"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    }),
    searchErrors: new Counter({
      name: "coffer_search_operation_errors_total",
      help: "Search index operations that failed, by driver and operation.",
      labelNames: ["driver", "operation"] as const,
      registers,
    }),
    socketEvents: new Counter({
      name: "coffer_socketio_events_total",
      help: "Socket.IO events by direction (emitted, received) and event name.",
      labelNames: ["direction", "event"] as const,
      registers,
    }),
    quotaRefusals: new Counter({
      name: "coffer_quota_refusals_total",
      help: "Uploads, copies and hand-overs of files refused because the storage quota has no room, by operation.",
      labelNames: ["operation"] as const,
      registers,
    }),
    shareAccesses: new Counter({
      name: "coffer_share_link_accesses_total",
      help: "Requests to share links (pages, downloads, previews, password posts, drops) by outcome.",
      labelNames: ["outcome"] as const,
      registers,
    }),
    shareLinksCreated: new Counter({
      name: "coffer_share_links_created_total",
      help: "Share links created, by mode (read, drop).",
      labelNames: ["mode"] as const,
      registers,
    }),
    tlsCertificateExpiry: new Gauge({
      name: "coffer_tls_certificate_expiry_timestamp_seconds",
      help: "When the certificate Coffer serves over TLS expires (Unix time); absent when Coffer serves plain HTTP.",
      registers,
    }),
    loginAttempts: new Counter({
      name: "coffer_login_attempts_total",
      help: "Login attempts (password, passkey, single sign-on) by outcome: success, failure or locked (refused because the account is locked).",
      labelNames: ["outcome"] as const,
      registers,
    }),
    rateLimitRefusals: new Counter({
      name: "coffer_rate_limit_refusals_total",
      help: "Requests refused by a rate limit, by limiter name.",
      labelNames: ["limiter"] as const,
      registers,
    }),
    mfaChallenges: new Counter({
      name: "coffer_mfa_challenges_total",
      help: "Two-step verification answers at login (code, recovery code or passkey) by outcome: success or failure.",
      labelNames: ["outcome"] as const,
      registers,
    }),
    socketsConnected: new Gauge({
      name: "coffer_socketio_connected_sockets",
      help: "Socket.IO sockets connected to this process.",
      registers,
    }),
    driverUp: new Gauge({
      name: "coffer_driver_up",
      help: "1 when the driver passed the /readyz check, else 0 (refreshed at most every 30 s).",
      labelNames: ["driver"] as const,
      registers,
    }),
    // Background jobs (app/services/job-queue.server.ts); the label is the queue's fixed name.
    jobRuns: new Counter({
      name: "coffer_job_runs_total",
      help: "Background job attempts that ended, by queue and outcome: success or failure (a failed attempt that will be retried counts too).",
      labelNames: ["queue", "outcome"] as const,
      registers,
    }),
    jobDuration: new Histogram({
      name: "coffer_job_duration_seconds",
      help: "How long background job attempts ran, by queue, whatever their outcome.",
      labelNames: ["queue"] as const,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers,
    }),
    jobBacklog: new Gauge({
      name: "coffer_job_backlog",
      help: "Background jobs waiting to run (retries included), by queue, from the database: all instances (refreshed at most every 30 s).",
      labelNames: ["queue"] as const,
      registers,
    }),
    jobOldestWaitingAge: new Gauge({
      name: "coffer_job_oldest_waiting_age_seconds",
      help: "How long the oldest background job due to run has waited, by queue; 0 when none is due (refreshed at most every 30 s).",
      labelNames: ["queue"] as const,
      registers,
    }),
    storageCheckProblems: new Gauge({
      name: "coffer_storage_check_problems",
      help: "Problems the last storage check left (after its repairs), by kind: orphan, missing, size_mismatch, hash_mismatch, expired_upload (from the database, refreshed at most every 30 s).",
      labelNames: ["kind"] as const,
      registers,
    }),
    storageCheckLastRun: new Gauge({
      name: "coffer_storage_check_last_run_timestamp_seconds",
      help: "When the last storage check (weekly job or coffer fsck) finished, in Unix seconds; no sample before the first.",
      registers,
    }),
    walStaged: new Gauge({
      name: "coffer_wal_staged_segments",
      help: "WAL files the embedded PostgreSQL archived into the staging directory that wait to be shipped to the backup target (refreshed by each shipper run and scrape).",
      registers,
    }),
    walOldestStagedAge: new Gauge({
      name: "coffer_wal_oldest_staged_age_seconds",
      help: "Age of the oldest WAL file waiting in the staging directory, 0 when none waits (refreshed by each shipper run and scrape).",
      registers,
    }),
    walLastShipped: new Gauge({
      name: "coffer_wal_last_shipped_timestamp_seconds",
      help: "When this process last shipped a WAL file to the backup target, in Unix seconds; no sample before the first.",
      registers,
    }),
    walArchiverFailing: new Gauge({
      name: "coffer_wal_archiver_failing",
      help: "1 when the embedded PostgreSQL's last attempt to archive a WAL segment into the staging directory failed (pg_stat_archiver), else 0 (refreshed at most every 30 s by a scrape).",
      registers,
    }),
    walShipFailures: new Counter({
      name: "coffer_wal_ship_failures_total",
      help: "WAL shipper runs that stopped on an error (target unreachable, a conflicting archived file, a read-back mismatch).",
      registers,
    }),
    storageTierMovedObjects: new Counter({
      name: "coffer_storage_tier_moved_objects_total",
      help: "Objects moved between stores and verified by SHA-256, by move: to_cold, from_cold (restored on access) or migration (STORAGE_MIGRATE_FROM).",
      labelNames: ["move"] as const,
      registers,
    }),
    storageTierMovedBytes: new Counter({
      name: "coffer_storage_tier_moved_bytes_total",
      help: "Bytes (as stored) of the objects moved between stores, by move.",
      labelNames: ["move"] as const,
      registers,
    }),
    storageTierMoveFailures: new Counter({
      name: "coffer_storage_tier_move_failures_total",
      help: "Moves between stores that failed (the original kept), a copy that did not verify included, by move.",
      labelNames: ["move"] as const,
      registers,
    }),
    // Backups (app/domain/backup): read from the backup_runs table at each scrape, so every instance agrees.
    backupConfigured: new Gauge({
      name: "coffer_backup_configured",
      help: "1 when a backup target is configured (BACKUP_DIR or BACKUP_S3_BUCKET), else 0.",
      registers,
    }),
    backupLastSuccess: new Gauge({
      name: "coffer_backup_last_success_timestamp_seconds",
      help: "When the latest successful backup finished, in Unix seconds; no sample before the first.",
      registers,
    }),
    backupLastDuration: new Gauge({
      name: "coffer_backup_last_duration_seconds",
      help: "How long the latest successful backup took; no sample before the first.",
      registers,
    }),
    backupLastSize: new Gauge({
      name: "coffer_backup_last_size_bytes",
      help: "Bytes the latest successful backup wrote to the target (its new objects and its database files); no sample before the first.",
      registers,
    }),
    backupRuns: new Gauge({
      name: "coffer_backup_runs",
      help: "Finished backup runs recorded in the database (all instances and the command line), by kind (backup, verify, prune) and outcome (success, failure).",
      labelNames: ["kind", "outcome"] as const,
      registers,
    }),
    backupLastRunSuccess: new Gauge({
      name: "coffer_backup_last_run_success",
      help: "1 when the latest finished run of the kind (backup, verify, prune) succeeded, 0 when it failed; no sample before the first.",
      labelNames: ["kind"] as const,
      registers,
    }),
    backupVerifyLastSuccess: new Gauge({
      name: "coffer_backup_verify_last_success_timestamp_seconds",
      help: "When the latest successful verification (a restore of the latest backup into a scratch instance) finished, in Unix seconds; no sample before the first.",
      registers,
    }),
    objectDeletionsDeferred: new Gauge({
      name: "coffer_object_deletions_deferred",
      help: "Objects whose deletion waits for a running backup to end or, with WAL archiving on, for the backup target to hold them (deleted by the delete-deferred-objects job), from the database; refreshed by each run of that job and at most every 30 s by a scrape.",
      registers,
    }),
    backupsRetained: new Gauge({
      name: "coffer_backups_retained",
      help: "Backups the target keeps after the latest successful prune; no sample before the first.",
      registers,
    }),
    defaultMetricsStarted: false,
    /** `metric name:driver` pairs already set to zero (zeroOperations). */
    zeroedDrivers: new Set<string>(),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Label values known before any event, set to 0 at creation so rate() and alerts see them from the first scrape. */
export const UPLOAD_FAILURE_STAGES = ["receive", "complete"] as const;
export const DOWNLOAD_KINDS = ["file", "zip", "share"] as const;
export const LOGIN_OUTCOMES = ["success", "failure", "locked"] as const;
export const MFA_OUTCOMES = ["success", "failure"] as const;
export const QUOTA_OPERATIONS = ["upload", "copy", "handover"] as const;
export type QuotaOperation = (typeof QUOTA_OPERATIONS)[number];
/**
 * ok: the visitor got in (no password, or a valid grant); unlocked: a right password;
 * password_required: the password form (or a redirect to it); wrong_password; expired (or the
 * owner deactivated); limit_reached: downloads used up; not_found: unknown, revoked, or its item
 * in the trash; rate_limited.
 */
export const SHARE_ACCESS_OUTCOMES = [
  "ok",
  "unlocked",
  "password_required",
  "wrong_password",
  "expired",
  "limit_reached",
  "not_found",
  "rate_limited",
] as const;
export type ShareAccessOutcome = (typeof SHARE_ACCESS_OUTCOMES)[number];
export const SHARE_LINK_MODES = ["read", "drop"] as const;
/** Live events sent to browsers (LiveEvent types, `:` written `_`), and session_end: sockets of revoked sessions closed. */
export const SOCKET_EMITTED_EVENTS = ["file_created", "folder_changed", "thumbnail_ready", "session_end"] as const;
/** connection and disconnect of sockets; other: any event a client sends (Coffer's browsers send none). */
export const SOCKET_RECEIVED_EVENTS = ["connection", "disconnect", "other"] as const;
export const ACTIVE_USER_WINDOWS = ["1d", "7d"] as const;
export const STORAGE_TIER_MOVES = ["to_cold", "from_cold", "migration"] as const;
export type StorageTierMove = (typeof STORAGE_TIER_MOVES)[number];

function zeroKnownLabels(m: Metrics): void {
  // Unlabelled gauges start at 0: a plain HTTP server would report a certificate that expired in 1970.
  m.tlsCertificateExpiry.remove();
  m.storageCheckLastRun.remove();
  for (const gauge of [m.backupLastSuccess, m.backupLastDuration, m.backupLastSize, m.backupVerifyLastSuccess, m.backupsRetained])
    gauge.remove();
  for (const stage of UPLOAD_FAILURE_STAGES) m.uploadsFailed.inc({ stage }, 0);
  for (const verdict of ["clean", "infected"]) m.malwareScanned.inc({ verdict }, 0);
  for (const reason of ["unavailable", "stream", "rescan"]) m.malwareScanFailures.inc({ reason }, 0);
  for (const kind of DOWNLOAD_KINDS) {
    m.downloadsStarted.inc({ kind }, 0);
    m.downloadSentBytes.inc({ kind }, 0);
  }
  for (const outcome of LOGIN_OUTCOMES) m.loginAttempts.inc({ outcome }, 0);
  for (const outcome of MFA_OUTCOMES) m.mfaChallenges.inc({ outcome }, 0);
  for (const operation of QUOTA_OPERATIONS) m.quotaRefusals.inc({ operation }, 0);
  for (const outcome of SHARE_ACCESS_OUTCOMES) m.shareAccesses.inc({ outcome }, 0);
  for (const mode of SHARE_LINK_MODES) m.shareLinksCreated.inc({ mode }, 0);
  for (const event of SOCKET_EMITTED_EVENTS) m.socketEvents.inc({ direction: "emitted", event }, 0);
  for (const event of SOCKET_RECEIVED_EVENTS) m.socketEvents.inc({ direction: "received", event }, 0);
  for (const move of STORAGE_TIER_MOVES) {
    m.storageTierMovedObjects.inc({ move }, 0);
    m.storageTierMovedBytes.inc({ move }, 0);
    m.storageTierMoveFailures.inc({ move }, 0);
  }
}

// One set per process, although copies of this module can coexist in one process (Vite re-evaluates edited modules in development; the tests load the app's sources beside the build):
// two sets would split the counts and clash on metric names.
const GLOBAL_KEY = Symbol.for("coffer.metrics");

export function metrics(): Metrics {
  const global = globalThis as Record<symbol, Metrics | undefined>;
  let m = global[GLOBAL_KEY];
  if (!m) {
    m = global[GLOBAL_KEY] = createMetrics();
    zeroKnownLabels(m);
  }
  return m;
}

/**
 * Runs `operation`, observing its duration in `duration` and counting a rejection in `errors`
 * unless `expected(error)` says it is an answer rather than a failure. Two clock reads and a
 * histogram update: microseconds beside any database, storage or search call.
 */
export async function measured<L extends string, T>(
  duration: Histogram<L>,
  errors: Counter<L>,
  labels: LabelValues<L>,
  operation: () => Promise<T>,
  expected: (error: unknown) => boolean = () => false,
): Promise<T> {
  const started = performance.now();
  try {
    return await operation();
  } catch (error) {
    if (!expected(error)) errors.inc(labels);
    throw error;
  } finally {
    duration.observe(labels, (performance.now() - started) / 1000);
  }
}

/**
 * Sets a driver's operations to zero (histogram and errors), so they show before the first call;
 * once per process and driver: a histogram's zero() would wipe what a second instance of the
 * same driver (tests run several apps in one process) had already observed.
 */
export function zeroOperations(
  duration: Histogram<"driver" | "operation">,
  errors: Counter<"driver" | "operation">,
  driver: string,
  operations: readonly string[],
): void {
  const { zeroedDrivers } = metrics();
  const key = `${(duration as unknown as { name: string }).name}:${driver}`;
  if (zeroedDrivers.has(key)) return;
  zeroedDrivers.add(key);
  for (const operation of operations) {
    duration.zero({ driver, operation });
    errors.inc({ driver, operation }, 0);
  }
}

export function countQuotaRefusal(operation: QuotaOperation): void {
  metrics().quotaRefusals.inc({ operation });
}

export function countShareAccess(outcome: ShareAccessOutcome): void {
  metrics().shareAccesses.inc({ outcome });
}

/** Process metrics (CPU, memory, heap, event loop lag, GC) with the coffer_ prefix; started once. */
export function collectProcessMetrics(): void {
  const m = metrics();
  if (m.defaultMetricsStarted) return;
  m.defaultMetricsStarted = true;
  collectDefaultMetrics({ register: m.registry, prefix: "coffer_" });
}

/** The limiter's name is the start of its key (`auth-login:<ip>` → `auth-login`): never the subject. */
export function countRateLimitRefusal(key: string): void {
  metrics().rateLimitRefusals.inc({ limiter: key.split(":")[0] });
}
