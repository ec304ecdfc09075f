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

/** `<YYYYMMDDTHHMMSSZ>-<6 hex>`, the backup id format (ids sort by time). */
const BACKUP_ID = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-[0-9a-f]{6}$/;

export function isBackupId(id: string): boolean {
  return BACKUP_ID.test(id);
}

/** The UTC time a backup id names, or null when it is not one. */
export function backupIdTime(id: string): Date | null {
  const match = BACKUP_ID.exec(id);
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match.map(Number);
  const time = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
  // Date.UTC rolls 31 February over into March: only a real date and time round-trips.
  const same = time.getUTCFullYear() === y && time.getUTCMonth() === mo! - 1 && time.getUTCDate() === d && time.getUTCHours() === h;
  return same && time.getUTCMinutes() === mi && time.getUTCSeconds() === s ? time : null;
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
