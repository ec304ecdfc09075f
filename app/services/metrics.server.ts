import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

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
      // Uploads and downloads of large files take minutes.
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
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
      help: "Bytes of all stored files and their kept versions, trash included (from the database, refreshed at most every 30 s).",
      registers,
    }),
    storedFiles: new Gauge({
      name: "coffer_storage_files",
      help: "Stored files, trash included (from the database, refreshed at most every 30 s).",
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
    defaultMetricsStarted: false,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

// One set per process, although copies of this module can coexist in one process (Vite re-evaluates edited modules in development; the tests load the app's sources beside the build):
// two sets would split the counts and clash on metric names.
const GLOBAL_KEY = Symbol.for("coffer.metrics");

export function metrics(): Metrics {
  const global = globalThis as Record<symbol, Metrics | undefined>;
  return (global[GLOBAL_KEY] ??= createMetrics());
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
