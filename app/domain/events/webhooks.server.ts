import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { z } from "zod";
import type { Services } from "~/services/index.server";
import { allowList, refusedUrl } from "~/services/webhook-http.server";
import { type AuditActor, recordAudit } from "../audit/audit.server";
import { ForbiddenError, NotFoundError, ValidationError } from "../errors";
import { isId } from "../ids";
import { changeIfCurrent } from "../versioned-claim.server";
import { decodeTimeCursor, encodeTimeCursor } from "../time-cursor";
import { appendEvent } from "./outbox.server";
import { MAX_URL_LENGTH, MAX_WEBHOOKS_PER_USER, WEBHOOK_EVENT_TYPES, WEBHOOK_SCOPES, webhookEventTypesFor } from "./webhook-limits";

/**
 * Webhook endpoints (docs/webhooks.md, decision 0035): what their owners register, list, turn
 * off and on, delete, re-key and test. The secret is shown once, when it is made, and kept
 * encrypted; delivery is webhook-delivery.server.ts.
 */

export type WebhookActor = { id: string; role: "USER" | "ADMIN" };

export { MAX_URL_LENGTH, MAX_WEBHOOKS_PER_USER, WEBHOOK_EVENT_TYPES, WEBHOOK_SCOPES, webhookEventTypesFor };

// ---- the secret --------------------------------------------------------------------------------

function secretKey(services: Pick<Services, "sessionSecret">): Buffer {
  return Buffer.from(hkdfSync("sha256", services.sessionSecret, "coffer-webhooks", "webhook-secret", 32));
}

/** A new Standard Webhooks secret: whsec_ and 24 random bytes in base64. */
export function newSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
}

export function encryptWebhookSecret(services: Pick<Services, "sessionSecret">, secret: string, webhookId: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", secretKey(services), iv);
  cipher.setAAD(Buffer.from(`webhook ${webhookId}`));
  const body = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
  return ["v1", iv.toString("base64url"), body.toString("base64url"), cipher.getAuthTag().toString("base64url")].join(".");
}

export function decryptWebhookSecret(services: Pick<Services, "sessionSecret">, stored: string, webhookId: string): string {
  const [version, iv, body, tag] = stored.split(".");
  if (version !== "v1" || !iv || !body || !tag) throw new Error("Unknown webhook secret format");
  const decipher = createDecipheriv("aes-256-gcm", secretKey(services), Buffer.from(iv, "base64url"));
  decipher.setAAD(Buffer.from(`webhook ${webhookId}`));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
}

/** What the list shows of a secret: enough to tell two apart, nothing to sign with. */
function hintOf(secret: string): string {
  return `whsec_…${secret.slice(-4)}`;
}

// ---- registration ------------------------------------------------------------------------------

export const webhookInput = z.object({
  url: z
    .string()
    .trim()
    .min(1, "Enter the address to send events to.")
    .max(MAX_URL_LENGTH, `Use an address of at most ${MAX_URL_LENGTH} characters.`),
  eventTypes: z
    .array(z.string().max(100))
    .min(1, "Choose at least one event.")
    .max(WEBHOOK_EVENT_TYPES.length)
    .refine((types) => types.every((type) => WEBHOOK_EVENT_TYPES.includes(type)), "Choose events from the list."),
  scope: z.enum(WEBHOOK_SCOPES).default("user"),
});

export type WebhookInput = z.input<typeof webhookInput>;

function fieldErrors(error: z.ZodError): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = String(issue.path[0] ?? "form");
    errors[key] ??= issue.message;
  }
  return errors;
}

/** Refuses kinds the actor may not subscribe to (the administrators' ones, for anyone else): a field error. */
function checkEventTypesFor(actor: WebhookActor, eventTypes: readonly string[]): void {
  const allowed = webhookEventTypesFor(actor.role);
  const refused = eventTypes.filter((type) => !allowed.includes(type));
  if (refused.length > 0) {
    throw new ValidationError("Please correct the highlighted fields.", {
      eventTypes: `Only administrators may subscribe to ${refused.map((type) => `“${type}”`).join(", ")}.`,
    });
  }
}

/** The URL, checked: http(s), no credentials, not a refused address literal. Names are checked when connecting. */
export function checkedUrl(services: Pick<Services, "config">, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ValidationError("Please correct the highlighted fields.", { url: "Enter a full address, e.g. https://example.com/hooks." });
  }
  const refused = refusedUrl(url, allowList(services.config.webhookAllowNetworks));
  if (refused) throw new ValidationError("Please correct the highlighted fields.", { url: refused });
  return url.href;
}

/**
 * What the audit log keeps of an endpoint: its host, never the whole URL (its path or query may
 * hold a token), and never the secret.
 */
function auditDetails(webhook: { url: string; scope: string; eventTypes: string[]; userId: string }) {
  return { host: new URL(webhook.url).host, scope: webhook.scope, eventTypes: webhook.eventTypes, ownerId: webhook.userId };
}

export async function createWebhook(services: Services, actor: WebhookActor, input: WebhookInput, audit: AuditActor) {
  const parsed = webhookInput.safeParse(input);
  if (!parsed.success) throw new ValidationError("Please correct the highlighted fields.", fieldErrors(parsed.error));
  const { eventTypes, scope } = parsed.data;
  if (scope === "instance" && actor.role !== "ADMIN")
    throw new ForbiddenError("Only administrators may register webhooks for everyone's events.");
  checkEventTypesFor(actor, eventTypes);
  const url = checkedUrl(services, parsed.data.url);
  const count = await services.prisma.webhook.count({ where: { userId: actor.id } });
  if (count >= MAX_WEBHOOKS_PER_USER) {
    throw new ValidationError(`You have ${MAX_WEBHOOKS_PER_USER} webhooks, the most one account may have. Delete one first.`);
  }
  const secret = newSecret();
  const id = randomBytes(12).toString("hex");
  const webhook = await services.prisma.$transaction(async (tx) => {
    const created = await tx.webhook.create({
      data: {
        id,
        userId: actor.id,
        scope,
        url,
        eventTypes: [...new Set(eventTypes)],
        secretEncrypted: encryptWebhookSecret(services, secret, id),
        secretHint: hintOf(secret),
      },
    });
    await recordAudit(tx, audit, { action: "webhook.created", targetType: "webhook", targetId: id, details: auditDetails(created) });
    return created;
  });
  return { webhook: viewOf(webhook), secret };
}

export interface WebhookView {
  id: string;
  url: string;
  scope: string;
  eventTypes: string[];
  secretHint: string;
  enabled: boolean;
  disabledReason: string | null;
  failingSince: string | null;
  createdAt: string;
}

type WebhookRow = Omit<WebhookView, "failingSince" | "createdAt"> & { failingSince: Date | null; createdAt: Date };

function viewOf(row: WebhookRow): WebhookView {
  return {
    id: row.id,
    url: row.url,
    scope: row.scope,
    eventTypes: row.eventTypes,
    secretHint: row.secretHint,
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    failingSince: row.failingSince?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

export interface DeliveryView {
  id: string;
  kind: string;
  status: string;
  attempts: number;
  responseStatus: number | null;
  durationMs: number | null;
  error: string | null;
  responseExcerpt: string | null;
  /** What the last attempt sent: the event's JSON (ids and metadata, no secret); null before the first. */
  requestBody: string | null;
  createdAt: string;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
}

export const RECENT_DELIVERIES = 10;

/** The actor's own webhooks, newest first, each with its most recent deliveries. */
export async function listWebhooks(services: Services, actor: WebhookActor) {
  const rows = await services.prisma.webhook.findMany({
    where: { userId: actor.id },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    include: { deliveries: { orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: RECENT_DELIVERIES } },
  });
  return rows.map((row) => ({
    ...viewOf(row),
    deliveries: row.deliveries.map(deliveryViewOf),
  }));
}

type DeliveryRow = Omit<DeliveryView, "createdAt" | "lastAttemptAt" | "nextAttemptAt"> & {
  createdAt: Date;
  lastAttemptAt: Date | null;
  nextAttemptAt: Date;
};

function deliveryViewOf(delivery: DeliveryRow): DeliveryView {
  return {
    id: delivery.id,
    kind: delivery.kind,
    status: delivery.status,
    attempts: delivery.attempts,
    responseStatus: delivery.responseStatus,
    durationMs: delivery.durationMs,
    error: delivery.error,
    responseExcerpt: delivery.responseExcerpt,
    requestBody: delivery.requestBody,
    createdAt: delivery.createdAt.toISOString(),
    lastAttemptAt: delivery.lastAttemptAt?.toISOString() ?? null,
    nextAttemptAt: delivery.status === "pending" ? delivery.nextAttemptAt.toISOString() : null,
  };
}

/** One of the actor's webhooks, or 404. */
export async function getWebhook(services: Services, actor: WebhookActor, id: string): Promise<WebhookView> {
  return viewOf(await ownWebhook(services, actor, id));
}

/** One of the actor's webhooks with its version stamp (what an ETag covers), or 404. */
export async function getWebhookVersion(services: Services, actor: WebhookActor, id: string) {
  const row = await ownWebhook(services, actor, id);
  return { view: viewOf(row), updatedAt: row.updatedAt };
}

export type VersionedWebhook = Awaited<ReturnType<typeof getWebhookVersion>>;

/**
 * Runs a change of one of the actor's webhooks only when it is still the version the caller saw
 * (`isCurrent`), claimed by a compare-and-swap on updated_at as share links are: of two callers
 * holding the same version exactly one runs, the other gets StaleShareError (412). Another
 * account's webhook is not found, before any comparison.
 */
export function changeWebhookIfCurrent<T>(
  services: Services,
  actor: WebhookActor,
  id: string,
  isCurrent: (webhook: VersionedWebhook) => boolean,
  change: () => Promise<T>,
): Promise<T> {
  const hooks = services.prisma.webhook;
  return changeIfCurrent<VersionedWebhook, T>(
    {
      async load() {
        const versioned = await getWebhookVersion(services, actor, id);
        return { view: versioned, updatedAt: versioned.updatedAt };
      },
      async swap(before, after, { view }) {
        // Every field the caller's version shows: a change in between (a delivery's failure streak too) fails the claim.
        const where = {
          id: view.id,
          userId: actor.id,
          updatedAt: before,
          url: view.url,
          enabled: view.enabled,
          disabledReason: view.disabledReason,
          eventTypes: { equals: view.eventTypes },
          failingSince: view.failingSince === null ? null : new Date(view.failingSince),
        };
        return (await hooks.updateMany({ where, data: { updatedAt: after } })).count;
      },
      restore: (before, after) => hooks.updateMany({ where: { id, updatedAt: after }, data: { updatedAt: before } }),
    },
    isCurrent,
    change,
  );
}

export const webhookChange = z.object({
  url: webhookInput.shape.url.optional(),
  eventTypes: webhookInput.shape.eventTypes.optional(),
  enabled: z.boolean().optional(),
});

export type WebhookChange = z.input<typeof webhookChange>;

/**
 * Changes an endpoint's URL, events or state; what is left out stays. A new URL is checked as at
 * registration; turning it on clears a failure streak, as the page's "Turn on" does.
 */
export async function updateWebhook(
  services: Services,
  actor: WebhookActor,
  id: string,
  change: WebhookChange,
  audit: AuditActor,
): Promise<WebhookView> {
  const parsed = webhookChange.safeParse(change);
  if (!parsed.success) throw new ValidationError("Please correct the highlighted fields.", fieldErrors(parsed.error));
  const current = await ownWebhook(services, actor, id);
  const { url, eventTypes, enabled } = parsed.data;
  if (eventTypes !== undefined) checkEventTypesFor(actor, eventTypes);
  const data: { url?: string; eventTypes?: string[] } = {};
  const checked = url === undefined ? undefined : checkedUrl(services, url);
  if (checked !== undefined && checked !== current.url) data.url = checked;
  const types = eventTypes === undefined ? undefined : [...new Set(eventTypes)];
  if (types !== undefined && types.join(",") !== current.eventTypes.join(",")) data.eventTypes = types;
  const toggled = enabled !== undefined && (enabled !== current.enabled || (enabled && current.disabledReason !== null));
  if (Object.keys(data).length === 0 && !toggled) return viewOf(current);
  const updated = await services.prisma.$transaction(async (tx) => {
    let row = current;
    if (Object.keys(data).length > 0) {
      row = await tx.webhook.update({ where: { id }, data });
      await recordAudit(tx, audit, {
        action: "webhook.updated",
        targetType: "webhook",
        targetId: id,
        details: { ...auditDetails(row), changed: Object.keys(data).sort() },
      });
    }
    if (toggled) row = await toggle(tx, audit, row, enabled);
    return row;
  });
  return viewOf(updated);
}

type Tx = Parameters<Parameters<Services["prisma"]["$transaction"]>[0]>[0];
type AuditedHook = { id: string; url: string; scope: string; eventTypes: string[]; userId: string };

/** Turns an endpoint on (clearing a failure streak) or off, with its audit row, in `tx`. */
async function toggle(tx: Tx, audit: AuditActor, webhook: AuditedHook, enabled: boolean) {
  const row = await tx.webhook.update({
    where: { id: webhook.id },
    data: enabled ? { enabled: true, disabledReason: null, failingSince: null } : { enabled: false, disabledReason: "owner" },
  });
  await recordAudit(tx, audit, {
    action: enabled ? "webhook.enabled" : "webhook.disabled",
    targetType: "webhook",
    targetId: webhook.id,
    details: enabled ? auditDetails(webhook) : { ...auditDetails(webhook), reason: "owner" },
  });
  return row;
}

export const DELIVERY_PAGE_MAX = 100;

/** A page of one of the actor's webhooks' deliveries, newest first, after `cursor` (an opaque cursor this gave). */
export async function pageDeliveries(
  services: Services,
  actor: WebhookActor,
  id: string,
  options: { cursor?: string | null; limit?: number },
): Promise<{ deliveries: DeliveryView[]; nextCursor: string | null }> {
  await ownWebhook(services, actor, id);
  const limit = Math.min(Math.max(options.limit ?? 50, 1), DELIVERY_PAGE_MAX);
  const after = options.cursor ? decodeTimeCursor(options.cursor) : null;
  if (options.cursor && !after) throw new ValidationError("The cursor is not valid for this listing.");
  const rows = await services.prisma.webhookDelivery.findMany({
    where: {
      webhookId: id,
      ...(after ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] } : {}),
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: limit + 1,
  });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    deliveries: page.map(deliveryViewOf),
    nextCursor: rows.length > limit && last ? encodeTimeCursor(last) : null,
  };
}

/** The actor's own webhook, or 404 (someone else's is not theirs to know of). */
async function ownWebhook(services: Services, actor: WebhookActor, id: string) {
  const webhook = isId(id) ? await services.prisma.webhook.findFirst({ where: { id, userId: actor.id } }) : null;
  if (!webhook) throw new NotFoundError("That webhook");
  return webhook;
}

export async function setWebhookEnabled(
  services: Services,
  actor: WebhookActor,
  id: string,
  enabled: boolean,
  audit: AuditActor,
): Promise<void> {
  const webhook = await ownWebhook(services, actor, id);
  await services.prisma.$transaction((tx) => toggle(tx, audit, webhook, enabled));
}

export async function deleteWebhook(services: Services, actor: WebhookActor, id: string, audit: AuditActor): Promise<void> {
  const webhook = await ownWebhook(services, actor, id);
  await services.prisma.$transaction(async (tx) => {
    await tx.webhook.delete({ where: { id } });
    await recordAudit(tx, audit, { action: "webhook.deleted", targetType: "webhook", targetId: id, details: auditDetails(webhook) });
  });
}

/** A new secret, shown once; the old one stops signing at once. */
export async function rotateWebhookSecret(services: Services, actor: WebhookActor, id: string, audit: AuditActor): Promise<string> {
  const webhook = await ownWebhook(services, actor, id);
  const secret = newSecret();
  await services.prisma.$transaction(async (tx) => {
    await tx.webhook.update({
      where: { id },
      data: { secretEncrypted: encryptWebhookSecret(services, secret, id), secretHint: hintOf(secret) },
    });
    await recordAudit(tx, audit, { action: "webhook.secret_rotated", targetType: "webhook", targetId: id, details: auditDetails(webhook) });
  });
  return secret;
}

/** Sends a webhook.test event to this endpoint only, through the outbox like every other event. */
export async function sendTestEvent(services: Services, actor: WebhookActor, id: string): Promise<void> {
  const webhook = await ownWebhook(services, actor, id);
  if (!webhook.enabled) throw new ValidationError("Turn the webhook on before sending it a test event.");
  await services.prisma.$transaction((tx) =>
    appendEvent(tx, {
      actorId: actor.id,
      ownerId: actor.id,
      action: "webhook.test",
      subjectType: "webhook",
      subjectId: webhook.id,
      details: { webhookId: webhook.id },
    }),
  );
}
