import type { Services } from "~/services/index.server";
import { getSettings } from "./settings.server";

/** From this share of the quota in effect (in tenths) an account counts as nearly full. */
const NEARLY_FULL_TENTHS = 9;

export interface AccountsOverview {
  /** Accounts that can sign in: neither deactivated nor deleted. */
  active: number;
  admins: number;
  deactivated: number;
  /** Deleted accounts waiting out the grace period before their purge. */
  awaitingPurge: number;
  /** Active accounts using 90 % or more of the quota in effect. */
  nearlyFull: number;
  /** Bytes of every account's files and versions, trash included. */
  storedBytes: number;
  defaultQuotaBytes: number | null;
}

/** The accounts and their storage in one aggregate query, for the admin overview. */
export async function accountsOverview(services: Services): Promise<AccountsOverview> {
  const settings = await getSettings(services);
  const defaultQuota = settings.defaultQuotaBytes === null ? null : BigInt(settings.defaultQuotaBytes);
  const [row] = await services.prisma.$queryRaw<
    Array<{ active: bigint; admins: bigint; deactivated: bigint; awaiting: bigint; nearly_full: bigint; stored: bigint | null }>
  >`
    SELECT
      COUNT(*) FILTER (WHERE deactivated_at IS NULL AND deleted_at IS NULL) AS active,
      COUNT(*) FILTER (WHERE role = 'ADMIN' AND deactivated_at IS NULL AND deleted_at IS NULL) AS admins,
      COUNT(*) FILTER (WHERE deactivated_at IS NOT NULL AND deleted_at IS NULL) AS deactivated,
      COUNT(*) FILTER (WHERE deleted_at IS NOT NULL) AS awaiting,
      COUNT(*) FILTER (
        WHERE deactivated_at IS NULL AND deleted_at IS NULL
          AND COALESCE(quota_bytes, ${defaultQuota}::bigint) > 0
          AND storage_used * 10 >= COALESCE(quota_bytes, ${defaultQuota}::bigint) * ${NEARLY_FULL_TENTHS}
      ) AS nearly_full,
      SUM(storage_used)::bigint AS stored
    FROM users`;
  return {
    active: Number(row.active),
    admins: Number(row.admins),
    deactivated: Number(row.deactivated),
    awaitingPurge: Number(row.awaiting),
    nearlyFull: Number(row.nearly_full),
    storedBytes: Number(row.stored ?? 0),
    defaultQuotaBytes: settings.defaultQuotaBytes,
  };
}
