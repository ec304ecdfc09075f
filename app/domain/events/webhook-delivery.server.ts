import { wakeSignal } from "./wake-signal";
import { createHmac } from "node:crypto";
import type { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { type WebhookAnswer, postWebhook } from "~/services/webhook-http.server";
import { recordAudit, SYSTEM_ACTOR } from "../audit/audit.server";
import { ADMIN_KINDS, type EventKind } from "./catalogue";
import { type EventSink, type OutboxEvent, recipientsOf } from "./sink";
import { appendEvent } from "./outbox.server";
import { decryptWebhookSecret } from "./webhooks.server";

/**
 * Webhook delivery (docs/webhooks.md, decision 0035). The dispatcher's webhook sink writes one
 * `webhook_deliveries` row per (endpoint, event) in its transaction; the `deliver-webhooks` job
 * sends them after the commit, signed per Standard Webhooks, and retries a failure with
 * exponential backoff and jitter for about 21 hours (MAX_ATTEMPTS); when the last attempt fails
 * the endpoint is turned off and its owner notified. A resource's events reach one endpoint in
 * order: a delivery waits while an earlier one for the same endpoint and resource is unfinished.
 */

export const WEBHOOKS_QUEUE = "deliver-webhooks";
/** Attempts of one delivery: the first and 8 retries (30 s, 2 min, 8 min, 32 min, 2 h 8 min, then 6 h three times). */
export const MAX_ATTEMPTS = 9;
export const RETRY_BASE_MS = 30_000;
export const RETRY_CAP_MS = 6 * 3600_000;
/** ±10 %: retries of many endpoints failing at once do not arrive together. */
const JITTER = 0.1;
export const DELIVERY_TIMEOUT_MS = 10_000;
/** A claimed delivery whose instance died is taken again after this. */
const CLAIM_MS = 2 * 60_000;
const BATCH = 20;
/** What the delivery log keeps of a request body; an event's JSON is far smaller. */
export const REQUEST_BODY_MAX = 16 * 1024;

/** The pause before attempt `attempt + 1`, after `attempt` failed. */
export function retryDelayMs(attempt: number, baseMs = RETRY_BASE_MS, random = Math.random): number {
  const plain = Math.min(baseMs * 4 ** (attempt - 1), RETRY_CAP_MS);
  return Math.round(plain * (1 - JITTER + 2 * JITTER * random()));
}

/** Standard Webhooks: v1,<base64 HMAC-SHA256 of "id.timestamp.body" under the secret's bytes>. */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret, "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

type Hook = { id: string; userId: string; scope: string; eventTypes: string[]; user: { role: string; deletedAt: Date | null } };

/**
 * Whether an event concerns the endpoint's owner, so they may hear of it: they did it, it is
 * theirs (where the change recorded its owner), or it was shared with them. An administrator's
 * instance-wide endpoint hears of everything but other endpoints' own events.
 */
export function webhookWants(hook: Hook, event: OutboxEvent): boolean {
  if (hook.user.deletedAt) return false;
  const payload = (event.payload && typeof event.payload === "object" && !Array.isArray(event.payload) ? event.payload : {}) as Record<
    string,
    unknown
  >;
  if (event.kind === "webhook.test") return payload.webhookId === hook.id;
  if (!hook.eventTypes.includes(event.kind)) return false;
  if (event.kind === "webhook.disabled") return event.ownerUserId === hook.userId && event.subjectId !== hook.id;
  // An announcement or a job failure concerns the instance: its administrators' instance endpoints.
  if (ADMIN_KINDS.includes(event.kind as EventKind)) return hook.scope === "instance" && hook.user.role === "ADMIN";
  if (hook.scope === "instance") return hook.user.role === "ADMIN";
  return event.actorUserId === hook.userId || event.ownerUserId === hook.userId || recipientsOf(event).includes(hook.userId);
}

export const webhookSink: EventSink = {
  name: "webhooks",
  async deliver(tx, events) {
    const hooks = await tx.webhook.findMany({
      where: { enabled: true },
      select: { id: true, userId: true, scope: true, eventTypes: true, user: { select: { role: true, deletedAt: true } } },
    });
    if (hooks.length === 0) return undefined;
    const rows = events.flatMap((event) =>
      hooks
        .filter((hook) => webhookWants(hook, event))
        .map((hook) => ({
          webhookId: hook.id,
          eventId: event.id,
          kind: event.kind,
          eventSeq: event.seq,
          resourceKey: event.resourceKey ?? `${event.subjectType}:${event.subjectId}`,
        })),
    );
    if (rows.length > 0) {
      await tx.webhookDelivery.createMany({ data: rows, skipDuplicates: true });
      wakeWebhooksSoon();
    }
    return undefined;
  },
};

/** The JSON a delivery carries: the Standard Webhooks envelope, ids and metadata only. */
export function webhookBody(event: {
  id: string;
  kind: string;
  createdAt: Date;
  subjectType: string;
  subjectId: string;
  actorUserId: string | null;
  ownerUserId: string | null;
  payload: Prisma.JsonValue;
}): string {
  const payload = event.payload && typeof event.payload === "object" && !Array.isArray(event.payload) ? event.payload : {};
  return JSON.stringify({
    type: event.kind,
    timestamp: event.createdAt.toISOString(),
    data: {
      eventId: event.id,
      subjectType: event.subjectType,
      subjectId: event.subjectId,
      actorId: event.actorUserId,
      ownerId: event.ownerUserId,
      ...payload,
    },
  });
}

export interface DeliverOptions {
  /** The first retry's pause (tests shorten it). */
  retryBaseMs?: number;
  timeoutMs?: number;
  /** Tests resolve names their own way. */
  lookup?: Parameters<typeof postWebhook>[0]["lookup"];
  /** Stop after this many batches (default: until nothing is due). */
  maxBatches?: number;
}

type Claimed = { id: string; webhookId: string; eventId: string; attempts: number };

/**
 * Sends what is due: claims a batch (FOR UPDATE SKIP LOCKED, so instances share the work and a
 * claim whose instance died is taken again after CLAIM_MS), posts each, records the outcome.
 */
export async function deliverWebhooks(
  services: Pick<Services, "prisma" | "config" | "sessionSecret" | "log">,
  options: DeliverOptions = {},
): Promise<{ delivered: number; failed: number; retrying: number }> {
  const totals = { delivered: 0, failed: 0, retrying: 0 };
  const maxBatches = options.maxBatches ?? 500;
  for (let batch = 0; batch < maxBatches; batch++) {
    const claimed = await services.prisma.$queryRaw<Claimed[]>`
      UPDATE webhook_deliveries SET status = 'sending', attempts = attempts + 1,
             locked_until = now() + make_interval(secs => ${CLAIM_MS / 1000})
      WHERE id IN (
        SELECT d.id FROM webhook_deliveries d
        JOIN webhooks w ON w.id = d.webhook_id AND w.enabled
        WHERE d.status IN ('pending', 'sending')
          AND ((d.status = 'pending' AND d.next_attempt_at <= now()) OR (d.status = 'sending' AND d.locked_until < now()))
          AND NOT EXISTS (
            SELECT 1 FROM webhook_deliveries p
            WHERE p.webhook_id = d.webhook_id AND p.resource_key = d.resource_key
              AND p.status IN ('pending', 'sending') AND p.event_seq < d.event_seq)
        ORDER BY d.event_seq
        LIMIT ${BATCH}
        FOR UPDATE OF d SKIP LOCKED)
      RETURNING id, webhook_id AS "webhookId", event_id AS "eventId", attempts`;
    if (claimed.length === 0) break;
    const outcomes = await Promise.all(claimed.map((delivery) => sendOne(services, delivery, options)));
    for (const outcome of outcomes) totals[outcome]++;
  }
  return totals;
}

async function sendOne(
  services: Pick<Services, "prisma" | "config" | "sessionSecret" | "log">,
  delivery: Claimed,
  options: DeliverOptions,
): Promise<"delivered" | "failed" | "retrying"> {
  const [webhook, event] = await Promise.all([
    services.prisma.webhook.findUnique({ where: { id: delivery.webhookId } }),
    services.prisma.event.findUnique({ where: { id: delivery.eventId } }),
  ]);
  if (!webhook || !event) return "failed";
  const body = webhookBody(event);
  const timestamp = Math.floor(Date.now() / 1000);
  const answer: WebhookAnswer = await postWebhook({
    url: webhook.url,
    body,
    timeoutMs: options.timeoutMs ?? DELIVERY_TIMEOUT_MS,
    allowNetworks: services.config.webhookAllowNetworks,
    lookup: options.lookup,
    headers: {
      "content-type": "application/json",
      "user-agent": "Coffer-Webhooks/1",
      "webhook-id": delivery.id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signWebhook(decryptWebhookSecret(services, webhook.secretEncrypted, webhook.id), delivery.id, timestamp, body),
    },
  });
  const ok = answer.status !== null && answer.status >= 200 && answer.status < 300;
  const record = {
    responseStatus: answer.status,
    durationMs: answer.durationMs,
    error: answer.error?.slice(0, 500) ?? null,
    responseExcerpt: answer.excerpt,
    requestBody: body.slice(0, REQUEST_BODY_MAX),
    lastAttemptAt: new Date(),
    lockedUntil: null,
  };
  if (ok) {
    await services.prisma.$transaction([
      services.prisma.webhookDelivery.update({ where: { id: delivery.id }, data: { ...record, status: "delivered" } }),
      services.prisma.webhook.updateMany({ where: { id: webhook.id, failingSince: { not: null } }, data: { failingSince: null } }),
    ]);
    return "delivered";
  }
  // Without the URL: it may carry a token in its query.
  services.log.debug("webhook delivery failed", {
    webhookId: webhook.id,
    deliveryId: delivery.id,
    status: answer.status,
    attempt: delivery.attempts,
  });
  if (delivery.attempts < MAX_ATTEMPTS) {
    const next = new Date(Date.now() + retryDelayMs(delivery.attempts, options.retryBaseMs));
    await services.prisma.$transaction([
      services.prisma.webhookDelivery.update({ where: { id: delivery.id }, data: { ...record, status: "pending", nextAttemptAt: next } }),
      services.prisma.webhook.updateMany({ where: { id: webhook.id, failingSince: null }, data: { failingSince: new Date() } }),
    ]);
    return "retrying";
  }
  // The last attempt failed: the endpoint is turned off and its owner told, in one transaction.
  await services.prisma.$transaction(async (tx) => {
    await tx.webhookDelivery.update({ where: { id: delivery.id }, data: { ...record, status: "failed" } });
    const turnedOff = await tx.webhook.updateMany({
      where: { id: webhook.id, enabled: true },
      data: { enabled: false, disabledReason: "failures" },
    });
    if (turnedOff.count === 1) {
      await recordAudit(tx, SYSTEM_ACTOR, {
        action: "webhook.disabled",
        targetType: "webhook",
        targetId: webhook.id,
        details: {
          reason: "failures",
          host: new URL(webhook.url).host,
          ownerId: webhook.userId,
          deliveryId: delivery.id,
          attempts: delivery.attempts,
        },
      });
      await appendEvent(tx, {
        actorId: null,
        ownerId: webhook.userId,
        action: "webhook.disabled",
        subjectType: "webhook",
        subjectId: webhook.id,
        details: { webhookId: webhook.id, host: new URL(webhook.url).host, deliveryId: delivery.id, attempts: delivery.attempts },
      });
    }
  });
  services.log.warn("webhook turned off after repeated failures", { webhookId: webhook.id, attempts: delivery.attempts });
  return "failed";
}

const wake = wakeSignal("coffer.webhooks.wake");

/** Installed by the jobs while they run (null to remove): how to wake the delivery job. */
export const setWebhooksWake = wake.set;

/** After the dispatcher's transaction has (usually) committed, once per burst. */
const wakeWebhooksSoon = wake.soon;
