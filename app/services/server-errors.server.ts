/**
 * Counts of 5xx answers of this process by route class, for the admin's system page. Kept in
 * buckets (one a minute for the last hour, one an hour for the last day), so memory stays
 * bounded whatever the traffic. On a globalThis symbol: the HTTP host records, the page reads,
 * and they may be two copies of this module (tests load the sources beside the build).
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const MINUTES_KEPT = 60;
const HOURS_KEPT = 24;

type Buckets = Map<number, Map<string, number>>;

interface Record5xx {
  minutes: Buckets;
  hours: Buckets;
}

const record: Record5xx = ((globalThis as Record<symbol, unknown>)[Symbol.for("coffer.serverErrors")] ??= {
  minutes: new Map(),
  hours: new Map(),
}) as Record5xx;

export interface ServerErrorCounts {
  /** Route class → 5xx answers in the last 60 minutes (by the minute). */
  lastHour: Record<string, number>;
  /** Route class → 5xx answers in the last 24 hours (by the hour: the current one and the 23 before). */
  lastDay: Record<string, number>;
}

/** Counts one answer if its status is a 5xx; anything else is ignored. */
export function recordServerResponse(routeClass: string, status: number, now = Date.now()): void {
  if (status < 500 || status > 599) return;
  add(record.minutes, Math.floor(now / MINUTE_MS), routeClass);
  add(record.hours, Math.floor(now / HOUR_MS), routeClass);
  prune(now);
}

export function serverErrorCounts(now = Date.now()): ServerErrorCounts {
  prune(now);
  return { lastHour: total(record.minutes), lastDay: total(record.hours) };
}

/** Forgets every count (tests). */
export function resetServerErrors(): void {
  record.minutes.clear();
  record.hours.clear();
}

function add(buckets: Buckets, slot: number, routeClass: string) {
  let bucket = buckets.get(slot);
  if (!bucket) buckets.set(slot, (bucket = new Map()));
  bucket.set(routeClass, (bucket.get(routeClass) ?? 0) + 1);
}

function prune(now: number) {
  const oldestMinute = Math.floor(now / MINUTE_MS) - MINUTES_KEPT + 1;
  const oldestHour = Math.floor(now / HOUR_MS) - HOURS_KEPT + 1;
  for (const slot of record.minutes.keys()) if (slot < oldestMinute) record.minutes.delete(slot);
  for (const slot of record.hours.keys()) if (slot < oldestHour) record.hours.delete(slot);
}

function total(buckets: Buckets): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const bucket of buckets.values()) for (const [routeClass, n] of bucket) sums[routeClass] = (sums[routeClass] ?? 0) + n;
  return sums;
}
