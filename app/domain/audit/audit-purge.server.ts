import type { Services } from "~/services/index.server";
import { getSettings } from "../admin/settings.server";
import { recordAudit, SYSTEM_ACTOR } from "./audit.server";

const DAY_MS = 24 * 60 * 60 * 1000;
/** Rows per DELETE: short statements, so writers of new events never wait long. */
const BATCH = 5_000;

/**
 * Deletes audit events older than the retention setting (none when it is empty), in batches,
 * and records that it did: the log says what it no longer holds.
 */
export async function purgeExpiredAudit(services: Services, now = new Date()): Promise<{ deleted: number }> {
  const { auditRetentionDays } = await getSettings(services);
  if (auditRetentionDays === null) return { deleted: 0 };
  const cutoff = new Date(now.getTime() - auditRetentionDays * DAY_MS);
  let deleted = 0;
  for (;;) {
    // The append-only trigger lets only a transaction that declares itself the purge delete, and
    // only rows older than the shortest retention (migration 20261205130000_audit_retention).
    const [, removed] = await services.prisma.$transaction([
      services.prisma.$executeRaw`SELECT set_config('coffer.audit_retention_purge', 'on', true)`,
      services.prisma.$executeRaw`
        DELETE FROM audit_events WHERE id IN (
          SELECT id FROM audit_events WHERE created_at < ${cutoff} ORDER BY created_at LIMIT ${BATCH})`,
    ]);
    deleted += removed;
    if (removed < BATCH) break;
  }
  if (deleted > 0) {
    await recordAudit(services.prisma, SYSTEM_ACTOR, {
      action: "audit.purged",
      targetType: "audit",
      details: { deleted, olderThan: cutoff.toISOString(), retentionDays: auditRetentionDays },
    });
  }
  return { deleted };
}
