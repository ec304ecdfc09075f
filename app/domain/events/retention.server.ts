import type { Services } from "~/services/index.server";

/**
 * Retention of the event machinery (docs/webhooks.md, decision 0037), run hourly by the
 * `purge-event-history` job:
 * - webhook deliveries created before WEBHOOK_DELIVERY_RETENTION_DAYS, whatever their outcome,
 *   except one being sent right now (a delivery still waiting that long is for an endpoint turned
 *   off as long: its event is stale);
 * - outbox events created before EVENT_RETENTION_DAYS that every sink has had (dispatched_at set)
 *   and that nothing still points at: no delivery in a webhook's log, no notification (deleting
 *   an event would take those with it, by their foreign keys).
 * - notifications created before NOTIFICATION_RETENTION_DAYS, read or not, and the records of
 *   notification emails (sent, skipped or failed) and digests as old (decision 0036);
 * All in batches, so no statement holds many locks for long.
 */

const DAY_MS = 24 * 3600 * 1000;
const BATCH = 5000;

export interface EventHistoryPurged {
  webhookDeliveries: number;
  events: number;
  notifications: number;
  notificationEmails: number;
}

/** Runs a DELETE of at most `batch` rows until one removes fewer; the rows removed in all. */
async function deleteInBatches(batch: number, deleteOneBatch: () => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const removed = await deleteOneBatch();
    total += removed;
    if (removed < batch) return total;
  }
}

export async function purgeEventHistory(
  services: Pick<Services, "prisma" | "config">,
  now: Date = new Date(),
  batch: number = BATCH,
): Promise<EventHistoryPurged> {
  const { prisma, config } = services;
  const deliveriesBefore = new Date(now.getTime() - config.webhookDeliveryRetentionDays * DAY_MS);
  const eventsBefore = new Date(now.getTime() - config.eventRetentionDays * DAY_MS);
  const notificationsBefore = new Date(now.getTime() - config.notificationRetentionDays * DAY_MS);
  const notifications = await deleteInBatches(
    batch,
    () => prisma.$executeRaw`
        DELETE FROM notifications WHERE id IN (
          SELECT id FROM notifications WHERE created_at < ${notificationsBefore}
          LIMIT ${batch}
          FOR UPDATE SKIP LOCKED)`,
  );
  // Emails still waiting (a digest entry, a retry) are kept: their event is what they will say.
  const notificationEmails = await deleteInBatches(
    batch,
    () => prisma.$executeRaw`
        DELETE FROM notification_emails WHERE id IN (
          SELECT id FROM notification_emails
          WHERE created_at < ${notificationsBefore} AND status IN ('sent', 'skipped', 'failed')
          LIMIT ${batch}
          FOR UPDATE SKIP LOCKED)`,
  );
  await prisma.$executeRaw`
    DELETE FROM notification_digests d WHERE d.created_at < ${notificationsBefore}
      AND NOT EXISTS (SELECT 1 FROM notification_emails e WHERE e.digest_id = d.id)`;
  const webhookDeliveries = await deleteInBatches(
    batch,
    () => prisma.$executeRaw`
        DELETE FROM webhook_deliveries WHERE id IN (
          SELECT id FROM webhook_deliveries
          WHERE created_at < ${deliveriesBefore}
            AND NOT (status = 'sending' AND locked_until > now())
          LIMIT ${batch}
          FOR UPDATE SKIP LOCKED)`,
  );
  const events = await deleteInBatches(
    batch,
    () => prisma.$executeRaw`
        DELETE FROM events WHERE id IN (
          SELECT e.id FROM events e
          WHERE e.dispatched_at IS NOT NULL AND e.created_at < ${eventsBefore}
            AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id)
            AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.event_id = e.id)
            AND NOT EXISTS (SELECT 1 FROM notification_emails m WHERE m.event_id = e.id)
          LIMIT ${batch}
          FOR UPDATE OF e SKIP LOCKED)`,
  );
  return { webhookDeliveries, events, notifications, notificationEmails };
}
