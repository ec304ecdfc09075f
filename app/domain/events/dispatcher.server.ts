import type { Prisma } from "~/generated/prisma/client";
import { ADMIN_AUDIENCE, type EventKind } from "./catalogue";
import { type EventSink, type OutboxEvent, recipientsOf } from "./sink";
import { emailSink } from "./notification-email.server";
import { channelKey, channelsFor } from "./preferences.server";
import { webhookSink } from "./webhook-delivery.server";
import type { Services } from "~/services/index.server";

/** The pg-boss queue of the dispatcher: woken after a commit, and every minute as the safety net. */
export const EVENTS_QUEUE = "dispatch-events";
const BATCH = 200;
/** Batches one run takes at most; what is left waits for the next (a wake or the minute). */
const MAX_BATCHES = 50;
/** pg_advisory_xact_lock key: one dispatcher at a time on the whole database keeps seq order. */
const DISPATCH_LOCK = 0x636f66666572_0032n;

export type { EventSink, OutboxEvent } from "./sink";
export { recipientsOf } from "./sink";

/**
 * An administrators' kind (an announcement, a job failure) to its whole audience, in one
 * statement: every active account, or every active administrator. Who it reached.
 */
async function notifyAudience(tx: Prisma.TransactionClient, event: OutboxEvent, audience: "everyone" | "admins"): Promise<string[]> {
  const rows = await tx.$queryRaw<Array<{ user_id: string }>>`
    INSERT INTO notifications (id, user_id, event_id, kind, created_at)
    SELECT 'n' || replace(gen_random_uuid()::text, '-', ''), u.id, ${event.id}, ${event.kind}, ${event.createdAt}
    FROM users u
    WHERE u.deleted_at IS NULL AND u.deactivated_at IS NULL AND (${audience} = 'everyone' OR u.role = 'ADMIN')
      AND NOT EXISTS (
        SELECT 1 FROM notification_preferences p WHERE p.user_id = u.id AND p.kind = ${event.kind} AND p.channel = 'off'
      )
    ON CONFLICT (user_id, event_id) DO NOTHING
    RETURNING user_id`;
  return rows.map((row) => row.user_id);
}

export const inAppSink: EventSink = {
  name: "in-app",
  async deliver(tx, events) {
    const reached: string[] = [];
    for (const event of events) {
      const audience = ADMIN_AUDIENCE[event.kind as EventKind];
      if (audience) reached.push(...(await notifyAudience(tx, event, audience)));
    }
    const wanted = events.flatMap((event) => recipientsOf(event).map((userId) => ({ userId, event })));
    if (wanted.length === 0) return reached.length > 0 ? { notified: [...new Set(reached)] } : undefined;
    // An account deleted since is skipped, not a failed batch.
    const live = await tx.user.findMany({
      where: { id: { in: [...new Set(wanted.map((w) => w.userId))] }, deletedAt: null },
      select: { id: true },
    });
    const ids = new Set(live.map((user) => user.id));
    // A kind the person turned off is not shown to them (docs/events.md).
    const channels = await channelsFor(
      tx,
      wanted.map((w) => ({ userId: w.userId, kind: w.event.kind })),
    );
    const shown = wanted.filter((w) => ids.has(w.userId) && channels.get(channelKey(w.userId, w.event.kind)) !== "off");
    if (shown.length > 0) {
      await tx.notification.createMany({
        data: shown.map(({ userId, event }) => ({ userId, eventId: event.id, kind: event.kind, createdAt: event.createdAt })),
        skipDuplicates: true,
      });
    }
    const notified = [...new Set([...shown.map((w) => w.userId), ...reached])];
    return notified.length > 0 ? { notified } : undefined;
  },
};

export const SINKS: EventSink[] = [inAppSink, webhookSink];

/** The sinks of this server: email only where SMTP is configured (an email sink without it would queue mail nobody sends). */
export function sinksFor(services: Partial<Pick<Services, "config">>): EventSink[] {
  return services.config?.mail ? [...SINKS, emailSink] : SINKS;
}

/**
 * Delivers the undelivered events to every sink, in seq order, a batch per transaction: the
 * sink's writes, the (event, sink) delivery rows and the dispatched mark commit together, so a
 * crash before the commit delivers the batch again on the next run, and after it never again.
 * One run at a time (an advisory lock); a run that finds it taken leaves the work to the other.
 */
export async function dispatchEvents(
  services: Pick<Services, "prisma"> & Partial<Pick<Services, "notifier" | "config">>,
  sinks: EventSink[] = sinksFor(services),
): Promise<{ delivered: number; busy: number }> {
  let delivered = 0;
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const notified = new Set<string>();
    const taken = await services.prisma.$transaction(async (tx) => {
      const [{ locked }] = await tx.$queryRaw<Array<{ locked: boolean }>>`SELECT pg_try_advisory_xact_lock(${DISPATCH_LOCK}) AS locked`;
      if (!locked) return null;
      const events = await tx.$queryRaw<OutboxEvent[]>`
        SELECT id, seq, kind, actor_user_id AS "actorUserId", owner_user_id AS "ownerUserId", subject_type AS "subjectType",
               subject_id AS "subjectId", resource_key AS "resourceKey", payload, created_at AS "createdAt"
        FROM events WHERE dispatched_at IS NULL ORDER BY seq LIMIT ${BATCH}`;
      if (events.length === 0) return 0;
      const ids = events.map((event) => event.id);
      for (const sink of sinks) {
        const done = await tx.eventDelivery.findMany({ where: { eventId: { in: ids }, sink: sink.name }, select: { eventId: true } });
        const delivered = new Set(done.map((row) => row.eventId));
        const todo = events.filter((event) => !delivered.has(event.id));
        if (todo.length === 0) continue;
        for (const userId of (await sink.deliver(tx, todo))?.notified ?? []) notified.add(userId);
        await tx.eventDelivery.createMany({ data: todo.map((event) => ({ eventId: event.id, sink: sink.name, status: "delivered" })) });
      }
      await tx.event.updateMany({ where: { id: { in: ids } }, data: { dispatchedAt: new Date() } });
      return events.length;
    });
    if (taken === null) return { delivered, busy: 1 };
    for (const userId of notified) services.notifier?.toUser(userId, { type: "notification:new" });
    delivered += taken;
    if (taken < BATCH) break;
  }
  return { delivered, busy: 0 };
}

/** Events no sink has taken yet (the coffer_events_pending gauge). */
export async function pendingEvents(services: Pick<Services, "prisma">): Promise<number> {
  return services.prisma.event.count({ where: { dispatchedAt: null } });
}
