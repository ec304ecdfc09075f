/**
 * Which backups retention keeps (pure: ids and times in, ids out). Like borg and restic's
 * keep-daily/weekly/monthly: the last backup of each of the newest `daily` UTC days that have a
 * backup, the last of each of the newest `weekly` ISO weeks (Monday to Sunday, UTC), and the last
 * of each of the newest `monthly` months; a backup may count for several of them. The newest
 * backup is always kept, whatever the counts.
 */
export interface RetentionPolicy {
  daily: number;
  weekly: number;
  monthly: number;
}

export interface BackupPoint {
  id: string;
  startedAt: Date;
}

export interface RetentionDecision {
  /** Newest first. */
  keep: string[];
  /** Newest first. */
  prune: string[];
}

export function chooseRetained(backups: readonly BackupPoint[], policy: RetentionPolicy): RetentionDecision {
  const newestFirst = [...backups].sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime() || b.id.localeCompare(a.id));
  const keep = new Set<string>();
  if (newestFirst.length > 0) keep.add(newestFirst[0]!.id);
  for (const [count, bucket] of [
    [policy.daily, dayOf],
    [policy.weekly, isoWeekOf],
    [policy.monthly, monthOf],
  ] as const) {
    const seen = new Set<string>();
    for (const backup of newestFirst) {
      if (seen.size >= count) break;
      const key = bucket(backup.startedAt);
      if (seen.has(key)) continue;
      // Newest first: the first backup met in a bucket is that bucket's last.
      seen.add(key);
      keep.add(backup.id);
    }
  }
  return {
    keep: newestFirst.filter((b) => keep.has(b.id)).map((b) => b.id),
    prune: newestFirst.filter((b) => !keep.has(b.id)).map((b) => b.id),
  };
}

function dayOf(time: Date): string {
  return time.toISOString().slice(0, 10);
}

function monthOf(time: Date): string {
  return time.toISOString().slice(0, 7);
}

/** The Monday (UTC) that starts the ISO week of `time`. */
function isoWeekOf(time: Date): string {
  const day = new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate()));
  const sinceMonday = (day.getUTCDay() + 6) % 7;
  day.setUTCDate(day.getUTCDate() - sinceMonday);
  return day.toISOString().slice(0, 10);
}
