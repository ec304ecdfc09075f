import type { Prisma } from "~/generated/prisma/client";

export type OutboxEvent = {
  id: string;
  seq: bigint;
  kind: string;
  actorUserId: string | null;
  ownerUserId: string | null;
  subjectType: string;
  subjectId: string;
  /** Per-resource order (the dispatcher reads it; `<subjectType>:<subjectId>` when absent). */
  resourceKey?: string;
  payload: Prisma.JsonValue;
  createdAt: Date;
};

/**
 * Where events go. deliver runs in the dispatcher's transaction: it commits with the delivery
 * rows. The users it notified are told live once that transaction has committed.
 */
export interface EventSink {
  name: string;
  deliver(tx: Prisma.TransactionClient, events: OutboxEvent[]): Promise<{ notified: string[] } | undefined>;
}

function payloadOf(event: OutboxEvent): Record<string, unknown> {
  const payload = event.payload;
  return payload && typeof payload === "object" && !Array.isArray(payload) ? payload : {};
}

/**
 * Kinds told to the owner even when they did it themselves: what arrived through their link, and
 * what Coffer has to tell them about their account (a quota, a link expiring, a sign-in, two-step
 * verification turned off).
 */
const OWNER_NOTICES = new Set([
  "share.dropped",
  "webhook.disabled",
  "user.quota_threshold",
  "share.expiring",
  "security.new_device_login",
  "security.mfa_disabled",
  "file.infected",
]);

/**
 * Who hears of an event in the app (docs/events.md): the person something was shared with, the
 * owner of a drop link a file arrived through, and an owner whose item someone else changed
 * (where the change recorded its owner). A link's downloads are not notified: too noisy.
 */
export function recipientsOf(event: OutboxEvent): string[] {
  const payload = payloadOf(event);
  const others = (id: unknown) => (typeof id === "string" && id !== event.actorUserId ? [id] : []);
  if (event.kind === "share.granted") return others(payload.granteeId);
  if (OWNER_NOTICES.has(event.kind)) return event.ownerUserId ? [event.ownerUserId] : [];
  if (event.kind.startsWith("file.") || event.kind.startsWith("folder.")) return event.actorUserId ? others(event.ownerUserId) : [];
  return [];
}
