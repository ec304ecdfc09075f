import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type express from "express";
import { TUS_PATH } from "./tus-host.server";
import type { Services } from "~/services/index.server";
import { metrics } from "~/services/metrics.server";
import { refreshJobGauges } from "~/services/job-queue.server";
import { lastStorageCheck } from "~/domain/storage-check/storage-check.server";
import { refreshPitrGauges } from "~/domain/pitr/pitr-jobs.server";
import { backupMetricFacts } from "~/domain/backup/status.server";
import { countDeferredDeletions } from "~/domain/files/deferred-deletions.server";
import { readiness } from "./health.server";
import { onBodyChunk } from "./body-bytes.server";

/** Database totals and driver checks are refreshed at most this often, so scrapes stay cheap. */
const SCRAPE_CACHE_MS = 30_000;

/**
 * GET /metrics in the Prometheus text format, for `Authorization: Bearer <METRICS_TOKEN>` only.
 * Registered only when METRICS_TOKEN is set (otherwise metricsOff answers 404).
 */
export function metricsEndpoint(services: Services, token: string): express.RequestHandler {
  const expected = digest(token);
  const { registry } = metrics();
  return async (req, res, next) => {
    try {
      res.set("Cache-Control", "no-store");
      // The scheme is case-insensitive (RFC 9110). Digests have equal lengths, so the comparison
      // takes the same time whatever was sent.
      const sent = /^Bearer +(\S+)$/i.exec(req.get("authorization") ?? "")?.[1] ?? "";
      if (!timingSafeEqual(digest(sent), expected)) {
        res
          .status(401)
          .set("WWW-Authenticate", 'Bearer realm="coffer-metrics"')
          .type("text/plain")
          .send("A valid metrics token is required (Authorization: Bearer <METRICS_TOKEN>).\n");
        return;
      }
      await refreshScrapeGauges(services);
      res.type(registry.contentType).send(await registry.metrics());
    } catch (error) {
      next(error);
    }
  };
}

/**
 * GET /metrics while METRICS_TOKEN is unset: a plain 404 answered here, so the request never
 * reaches Remix (which would log every scrape as "No route matches URL").
 */
export const metricsOff: express.RequestHandler = (_req, res) => {
  res
    .status(404)
    .set("Cache-Control", "no-store")
    .type("text/plain")
    .send("Not found. Metrics are off on this server (METRICS_TOKEN is not set).\n");
};

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

type Refresh = { expires: number; done: Promise<void> };
// Per Services (an app instance) and per process: copies of this module can coexist in one process (Vite re-evaluates edited modules in development; the tests load the app's sources beside the build).
const refreshes: WeakMap<Services, Refresh> = ((globalThis as Record<symbol, unknown>)[Symbol.for("coffer.metricsScrapeCache")] ??=
  new WeakMap()) as WeakMap<Services, Refresh>;

/** Sets the storage and driver gauges from the database and /readyz's checks, at most every 30 s. */
function refreshScrapeGauges(services: Services): Promise<void> {
  const cached = refreshes.get(services);
  if (cached && cached.expires > Date.now()) return cached.done;
  const done = Promise.all([
    refreshStorage(services),
    refreshDrivers(services),
    refreshJobGauges(services),
    refreshStorageCheck(services),
    refreshWalStaging(services),
    refreshBackups(services),
    refreshDeferredDeletions(services),
  ]).then(() => {});
  refreshes.set(services, { expires: Date.now() + SCRAPE_CACHE_MS, done });
  return done;
}

/**
 * Bytes come from the per-account counters (files and versions, trash included), one row each;
 * every object is in the one configured store, so they are all that driver's.
 * Active accounts in a window: a session seen within it (rolling, to TOUCH_INTERVAL's 5 minutes),
 * or a UTC day of activity within it (usage rollup, which also keeps those who signed out since).
 */
async function refreshStorage(services: Services): Promise<void> {
  const { storedBytes, storedFiles, activeUsers } = metrics();
  const driver = services.storage.driver;
  try {
    const [row] = await services.prisma.$queryRaw<Array<{ files: bigint; bytes: bigint; active1d: bigint; active7d: bigint }>>`
      SELECT (SELECT COUNT(*) FROM files) AS files, (SELECT COALESCE(SUM(storage_used), 0) FROM users) AS bytes,
        (SELECT COUNT(*) FROM (
          SELECT user_id FROM sessions WHERE last_seen_at > now() - interval '1 day'
          UNION SELECT user_id FROM user_usage_daily WHERE active AND day = (now() AT TIME ZONE 'UTC')::date
        ) a) AS active1d,
        (SELECT COUNT(*) FROM (
          SELECT user_id FROM sessions WHERE last_seen_at > now() - interval '7 days'
          UNION SELECT user_id FROM user_usage_daily WHERE active AND day > (now() AT TIME ZONE 'UTC')::date - 7
        ) a) AS active7d`;
    storedFiles.set({ driver }, Number(row?.files ?? 0));
    storedBytes.set({ driver }, Number(row?.bytes ?? 0));
    activeUsers.set({ window: "1d" }, Number(row?.active1d ?? 0));
    activeUsers.set({ window: "7d" }, Number(row?.active7d ?? 0));
  } catch (error) {
    // The database being down shows in coffer_driver_up; the totals keep their last values.
    services.log.warn("metrics: could not read storage totals", { error });
  }
}

/** What waits in the WAL staging directory (point-in-time recovery), when this instance archives WAL. */
async function refreshWalStaging(services: Services): Promise<void> {
  try {
    await refreshPitrGauges(services);
  } catch (error) {
    services.log.warn("metrics: could not read the WAL archiving state", { error });
  }
}

/** The last storage check's results, whichever instance or command ran it (from its audit event). */
async function refreshStorageCheck(services: Services): Promise<void> {
  const { storageCheckProblems, storageCheckLastRun } = metrics();
  try {
    const last = await lastStorageCheck(services);
    if (!last) return;
    for (const [kind, count] of Object.entries(last.problems)) storageCheckProblems.set({ kind }, count);
    storageCheckLastRun.set(last.at.getTime() / 1000);
  } catch (error) {
    services.log.warn("metrics: could not read the last storage check", { error });
  }
}

async function refreshDrivers(services: Services): Promise<void> {
  const { driverUp } = metrics();
  const report = await readiness(services);
  for (const [driver, check] of Object.entries(report.checks)) driverUp.set({ driver }, check.ok ? 1 : 0);
}

/**
 * The 5xx series the availability SLO reads, exported at 0 from the start: a counter born with
 * its first error shows no increase for it, so the first 5xx after a restart would go unseen.
 */
const SLO_5XX_SERIES: Array<[string, string]> = [
  ...["page", "folder", "action", "api", "download", "share"].flatMap((route) => [
    ["GET", route] as [string, string],
    ["POST", route] as [string, string],
  ]),
  ...["POST", "HEAD", "PATCH", "DELETE"].map((method) => [method, "tus"] as [string, string]),
];

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * The route group of a request path: a handful of fixed names, so a label never holds an id,
 * a token or a file name. `staticFiles` are the names at the top of the client build.
 */
export function routeGroup(method: string, url: string, staticFiles: ReadonlySet<string>): string {
  const path = url.split("?")[0];
  if (path === "/metrics") return "metrics";
  if (path === "/healthz" || path === "/readyz") return "health";
  if (path.startsWith("/socket.io/")) return "socket.io";
  if (path === TUS_PATH || path.startsWith(`${TUS_PATH}/`)) return "tus";
  if (path.startsWith("/api/")) return "api";
  if (downloadKind(path)) return "download";
  if (path.startsWith("/s/")) return "share";
  // Folder pages (and their loader data) on their own: the latency SLO is about them.
  if ((method === "GET" || method === "HEAD") && (path === "/files" || path === "/files.data" || path.startsWith("/files/")))
    return "folder";
  if (path.startsWith("/assets/") || staticFiles.has(path.slice(1)) || path.startsWith("/@") || path.startsWith("/node_modules/"))
    return "static";
  return method === "GET" || method === "HEAD" ? "page" : "action";
}

/** Which downloads a path serves: a file (or one of its versions), a selection as zip, or anything through a share link. */
export function downloadKind(path: string): "file" | "zip" | "share" | null {
  if (path.startsWith("/download/")) return "file";
  if (path === "/bulk/zip") return "zip";
  if (/^\/s\/[^/]+\/(download\/[^/]+|zip)$/.test(path)) return "share";
  return null;
}

/**
 * Counts every request the HTTP server answers (Socket.IO's polling included, which never
 * reaches Express) and the body bytes of downloads. Install as the server's first "request"
 * listener, after Socket.IO has attached.
 */
export function observeHttpRequests(staticFiles: ReadonlySet<string>): (req: IncomingMessage, res: ServerResponse) => void {
  const { httpRequests, httpRequestDuration } = metrics();
  for (const [method, route] of SLO_5XX_SERIES) httpRequests.inc({ method, route, status: "5xx" }, 0);
  return (req, res) => {
    const started = performance.now();
    const method = METHODS.has(req.method ?? "") ? req.method! : "other";
    const url = req.url ?? "/";
    const route = routeGroup(method, url, staticFiles);
    if (method === "GET") {
      const kind = downloadKind(url.split("?")[0]);
      if (kind) countDownload(res, kind);
    }
    res.once("close", () => {
      // A client that went away before any answer was sent has no status to report.
      const labels = { method, route, status: res.headersSent ? `${Math.floor(res.statusCode / 100)}xx` : "aborted" };
      httpRequests.inc(labels);
      httpRequestDuration.observe(labels, (performance.now() - started) / 1000);
    });
  };
}

/**
 * Counts a download as started when its first bytes (or its empty end) go out with 200 or 206,
 * and its body bytes as they are written (after compression, if any: the bytes on the wire).
 */
function countDownload(res: ServerResponse, kind: "file" | "zip" | "share"): void {
  const started = metrics().downloadsStarted.labels({ kind });
  const sent = metrics().downloadSentBytes.labels({ kind });
  let counting: boolean | null = null;
  onBodyChunk(res, (bytes) => {
    if (counting === null) {
      counting = res.statusCode === 200 || res.statusCode === 206;
      if (counting) started.inc();
    }
    if (counting && bytes > 0) sent.inc(bytes);
  });
}

/** Object deletions that wait for a backup, from the database (every instance reports the same). */
async function refreshDeferredDeletions(services: Services): Promise<void> {
  try {
    metrics().objectDeletionsDeferred.set(await countDeferredDeletions(services));
  } catch (error) {
    services.log.warn("metrics: could not count the deferred object deletions", { error });
  }
}

/** The backup gauges, from the backup_runs table: whichever instance or command ran them. */
async function refreshBackups(services: Services): Promise<void> {
  const m = metrics();
  m.backupConfigured.set(services.config.backup ? 1 : 0);
  try {
    const facts = await backupMetricFacts(services);
    if (facts.lastSuccess) {
      m.backupLastSuccess.set(facts.lastSuccess.finishedAt.getTime() / 1000);
      m.backupLastDuration.set(facts.lastSuccess.durationSeconds);
      m.backupLastSize.set(facts.lastSuccess.bytes);
    }
    if (facts.lastVerifySuccessAt) m.backupVerifyLastSuccess.set(facts.lastVerifySuccessAt.getTime() / 1000);
    if (facts.backupsRetained !== null) m.backupsRetained.set(facts.backupsRetained);
    for (const run of facts.runs) m.backupRuns.set({ kind: run.kind, outcome: run.outcome }, run.count);
    for (const [kind, succeeded] of Object.entries(facts.lastOutcome)) m.backupLastRunSuccess.set({ kind }, succeeded ? 1 : 0);
  } catch (error) {
    services.log.warn("metrics: could not read the backup runs", { error });
  }
}
