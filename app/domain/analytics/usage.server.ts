import type { Services } from "~/services/index.server";

/**
 * Usage figures for /admin/analytics. Events on hot paths (a download, an upload, a request of a
 * signed-in person) only touch memory here; flushUsage() adds them to the daily rollup tables
 * once a minute (and before the analytics page reads them), so no request waits on a row that
 * every other request also updates. What a process held when it was killed is lost: at most a
 * minute of counts, acceptable for charts.
 */
export type UsageCounter = "uploads" | "upload_bytes" | "downloads" | "download_bytes";

interface Pending {
  /** "day|metric" → amount to add. */
  counts: Map<string, number>;
  /** "day|userId" of people seen. */
  active: Set<string>;
}

// Keyed by Services (tests run several apps in one process), and one map per process even where
// this module is loaded twice (tests load the sources beside the build).
const PENDING = Symbol.for("coffer.usage.pending");
const pendingByServices: WeakMap<Services, Pending> = ((globalThis as Record<symbol, unknown>)[PENDING] ??= new WeakMap()) as WeakMap<
  Services,
  Pending
>;

function pendingOf(services: Services): Pending {
  let pending = pendingByServices.get(services);
  if (!pending) {
    pending = { counts: new Map(), active: new Set() };
    pendingByServices.set(services, pending);
  }
  return pending;
}

/** The UTC day of a moment, as YYYY-MM-DD: days in the rollups are UTC days. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export function countUsage(services: Services, metric: UsageCounter, amount = 1, at = new Date()): void {
  if (!(amount > 0)) return;
  const counts = pendingOf(services).counts;
  const key = `${utcDay(at)}|${metric}`;
  counts.set(key, (counts.get(key) ?? 0) + amount);
}

export function markActive(services: Services, userId: string, at = new Date()): void {
  pendingOf(services).active.add(`${utcDay(at)}|${userId}`);
}

/** Adds what this process counted to the rollup tables. A failed flush keeps the counts for the next one. */
export async function flushUsage(services: Services): Promise<{ counters: number; activeUsers: number }> {
  const pending = pendingOf(services);
  const counts = pending.counts;
  const active = pending.active;
  if (counts.size === 0 && active.size === 0) return { counters: 0, activeUsers: 0 };
  pending.counts = new Map();
  pending.active = new Set();
  try {
    const countRows = [...counts].map(([key, amount]) => {
      const [day, metric] = key.split("|");
      return { day, metric, amount: Math.round(amount) };
    });
    const activeRows = [...active].map((key) => {
      const [day, userId] = key.split("|");
      return { day, userId };
    });
    await services.prisma.$transaction([
      ...(countRows.length > 0
        ? [
            services.prisma.$executeRaw`
              INSERT INTO usage_daily (day, metric, dimension, value)
              SELECT r.day::date, r.metric, '', r.amount::bigint
              FROM jsonb_to_recordset(${JSON.stringify(countRows)}::jsonb) AS r(day text, metric text, amount bigint)
              ON CONFLICT (day, metric, dimension) DO UPDATE SET value = usage_daily.value + EXCLUDED.value`,
          ]
        : []),
      // Only accounts that still exist: one deleted since it was seen has no row to add.
      ...(activeRows.length > 0
        ? [
            services.prisma.$executeRaw`
              INSERT INTO user_usage_daily (day, user_id, active)
              SELECT r.day::date, r.user_id, true
              FROM jsonb_to_recordset(${JSON.stringify(activeRows.map((r) => ({ day: r.day, user_id: r.userId })))}::jsonb)
                AS r(day text, user_id text)
              JOIN users u ON u.id = r.user_id
              ON CONFLICT (day, user_id) DO UPDATE SET active = true`,
          ]
        : []),
    ]);
    return { counters: countRows.length, activeUsers: activeRows.length };
  } catch (error) {
    for (const [key, amount] of counts) pending.counts.set(key, (pending.counts.get(key) ?? 0) + amount);
    for (const key of active) pending.active.add(key);
    throw error;
  }
}

/** File types as the storage chart groups them, by MIME type. */
export const FILE_TYPE_GROUPS = ["images", "video", "audio", "documents", "archives", "other"] as const;
export type FileTypeGroup = (typeof FILE_TYPE_GROUPS)[number];

/**
 * Today's stored bytes: in all and per account (the quota counters: files, earlier versions and
 * trash), and by file type (current files, trash included), replacing earlier snapshots of the day.
 */
export async function snapshotStorage(services: Services, at = new Date()): Promise<{ users: number }> {
  const day = utcDay(at);
  const [, , , , users] = await services.prisma.$transaction([
    // One snapshot at a time (the hourly job, the analytics page): they replace the same rows.
    services.prisma.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('coffer.usage_snapshot'))`,
    services.prisma.$executeRaw`DELETE FROM usage_daily WHERE day = ${day}::date AND metric = 'stored_bytes'`,
    // The total (dimension ''): what every quota counts, so earlier versions included.
    services.prisma.$executeRaw`
      INSERT INTO usage_daily (day, metric, dimension, value)
      SELECT ${day}::date, 'stored_bytes', '', COALESCE(SUM(storage_used), 0)::bigint FROM users`,
    services.prisma.$executeRaw`
      INSERT INTO usage_daily (day, metric, dimension, value)
      SELECT ${day}::date, 'stored_bytes', grp, SUM(size)::bigint FROM (
        SELECT size, CASE
          WHEN mime_type LIKE 'image/%' THEN 'images'
          WHEN mime_type LIKE 'video/%' THEN 'video'
          WHEN mime_type LIKE 'audio/%' THEN 'audio'
          WHEN mime_type IN ('application/zip', 'application/gzip', 'application/x-tar', 'application/x-7z-compressed',
            'application/x-rar-compressed', 'application/vnd.rar', 'application/x-bzip2', 'application/x-xz', 'application/zstd') THEN 'archives'
          WHEN mime_type LIKE 'text/%' OR mime_type = 'application/pdf' OR mime_type LIKE 'application/vnd.%'
            OR mime_type LIKE 'application/msword%' OR mime_type = 'application/rtf' THEN 'documents'
          ELSE 'other' END AS grp
        FROM files) f
      GROUP BY grp`,
    services.prisma.$executeRaw`
      INSERT INTO user_usage_daily (day, user_id, stored_bytes)
      SELECT ${day}::date, id, storage_used FROM users
      ON CONFLICT (day, user_id) DO UPDATE SET stored_bytes = EXCLUDED.stored_bytes`,
  ]);
  return { users };
}
