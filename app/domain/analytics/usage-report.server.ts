import type { Services } from "~/services/index.server";
import { FILE_TYPE_GROUPS, utcDay, type FileTypeGroup } from "./usage.server";

/** One value per day of the report, oldest first; null where no snapshot was taken that day. */
export type DailySeries = Array<number | null>;

export interface UsageReport {
  /** UTC days, YYYY-MM-DD, oldest first, ending today. */
  days: string[];
  uploads: number[];
  uploadBytes: number[];
  downloads: number[];
  downloadBytes: number[];
  activeUsers: number[];
  storedBytes: DailySeries;
  storedByType: Array<{ group: FileTypeGroup; values: DailySeries }>;
  /** The accounts storing the most on the latest snapshot, with their history. */
  topAccounts: Array<{ name: string; values: DailySeries }>;
}

const TOP_ACCOUNTS = 5;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The figures of the last `dayCount` UTC days (today included) from the rollup tables. */
export async function usageReport(services: Services, dayCount: number, now = new Date()): Promise<UsageReport> {
  const today = Date.parse(`${utcDay(now)}T00:00:00Z`);
  const days = Array.from({ length: dayCount }, (_, i) => utcDay(new Date(today - (dayCount - 1 - i) * DAY_MS)));
  const first = days[0];
  const index = new Map(days.map((day, i) => [day, i]));
  const zeros = () => days.map(() => 0);
  const gaps = (): DailySeries => days.map(() => null);

  const [usage, perDay, top] = await Promise.all([
    services.prisma.$queryRaw<Array<{ day: string; metric: string; dimension: string; value: bigint }>>`
      SELECT to_char(day, 'YYYY-MM-DD') AS day, metric, dimension, value FROM usage_daily WHERE day >= ${first}::date`,
    services.prisma.$queryRaw<Array<{ day: string; active: bigint }>>`
      SELECT to_char(day, 'YYYY-MM-DD') AS day, COUNT(*) AS active
      FROM user_usage_daily WHERE day >= ${first}::date AND active GROUP BY day`,
    services.prisma.$queryRaw<Array<{ id: string; name: string }>>`
      SELECT u.id, u.name FROM user_usage_daily d JOIN users u ON u.id = d.user_id
      WHERE d.day = (SELECT MAX(day) FROM usage_daily WHERE metric = 'stored_bytes' AND day >= ${first}::date) AND d.stored_bytes > 0
      ORDER BY d.stored_bytes DESC, u.name LIMIT ${TOP_ACCOUNTS}`,
  ]);

  const report: UsageReport = {
    days,
    uploads: zeros(),
    uploadBytes: zeros(),
    downloads: zeros(),
    downloadBytes: zeros(),
    activeUsers: zeros(),
    storedBytes: gaps(),
    storedByType: FILE_TYPE_GROUPS.map((group) => ({ group, values: gaps() })),
    topAccounts: [],
  };
  const counters = {
    uploads: report.uploads,
    upload_bytes: report.uploadBytes,
    downloads: report.downloads,
    download_bytes: report.downloadBytes,
  };
  const snapshotDays = new Set<number>();
  for (const row of usage) {
    const i = index.get(row.day);
    if (i === undefined) continue;
    if (row.metric in counters) counters[row.metric as keyof typeof counters][i] = Number(row.value);
    if (row.metric === "stored_bytes") {
      snapshotDays.add(i);
      if (row.dimension === "") report.storedBytes[i] = Number(row.value);
      const group = report.storedByType.find((entry) => entry.group === row.dimension);
      if (group) group.values[i] = Number(row.value);
    }
  }
  // A day with a snapshot has a value for every type: a type with no files stored 0 bytes.
  for (const i of snapshotDays) for (const entry of report.storedByType) entry.values[i] ??= 0;
  for (const row of perDay) {
    const i = index.get(row.day);
    if (i === undefined) continue;
    report.activeUsers[i] = Number(row.active);
  }

  if (top.length > 0) {
    const history = await services.prisma.userUsageDaily.findMany({
      where: { userId: { in: top.map((account) => account.id) }, day: { gte: new Date(`${first}T00:00:00Z`) } },
      select: { userId: true, day: true, storedBytes: true },
    });
    report.topAccounts = top.map((account) => {
      const values = gaps();
      for (const row of history) {
        const i = index.get(utcDay(row.day));
        if (row.userId === account.id && i !== undefined && snapshotDays.has(i)) values[i] = Number(row.storedBytes);
      }
      return { name: account.name, values };
    });
  }
  return report;
}
