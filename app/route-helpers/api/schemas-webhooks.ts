import { z } from "zod";
import { ADMIN_WEBHOOK_EVENT_TYPES, MAX_URL_LENGTH, WEBHOOK_EVENT_TYPES, WEBHOOK_SCOPES } from "~/domain/events/webhook-limits";

/**
 * Webhook endpoints (docs/webhooks.md): your own, as /settings/webhooks manages them. An endpoint's
 * representation never holds its secret, only a hint; the secret is in the answers of a create
 * and of a rotation, this once. Request objects are strict; the rules of a URL (http(s), no
 * credentials, no refused address) stay with the domain, so the API accepts nothing the page refuses.
 */

const Timestamp = z.iso.datetime().meta({ description: "An RFC 3339 timestamp (UTC)." });

export const WebhookId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/)
  .meta({ id: "WebhookId", description: "A webhook endpoint's id." });

export const WebhookParams = z.strictObject({ webhookId: WebhookId });

const EventType = z
  .string()
  .max(100)
  .meta({
    id: "WebhookEventType",
    description: `An event kind from the catalogue (docs/events.md): ${WEBHOOK_EVENT_TYPES.map((kind) => `\`${kind}\``).join(", ")}. Administrators only (anyone else gets 422): ${ADMIN_WEBHOOK_EVENT_TYPES.map((kind) => `\`${kind}\``).join(", ")}.`,
  });

const WebhookScope = z.enum(WEBHOOK_SCOPES).meta({
  id: "WebhookScope",
  description:
    "`user`: events about your own things; `instance`: every event (administrators only, and a token also needs the `admin` scope).",
});

const Url = z.string().max(MAX_URL_LENGTH).meta({
  description:
    "Where events are posted: http or https, no credentials; private, loopback, link-local and metadata addresses are refused (after DNS resolution too) unless the administrator allow-lists them.",
});

const EventTypes = z
  .array(EventType)
  .min(1)
  .max(WEBHOOK_EVENT_TYPES.length * 2);

const webhookFields = {
  id: WebhookId,
  url: z.string(),
  scope: WebhookScope,
  eventTypes: z.array(z.string()),
  secretHint: z.string().meta({ description: "`whsec_…` and the secret's last 4 characters: enough to tell two apart." }),
  enabled: z.boolean(),
  disabledReason: z
    .string()
    .nullable()
    .meta({ description: "Why it is off: `owner` (turned off by you) or `failures` (after repeated failed deliveries); null when on." }),
  failingSince: Timestamp.nullable().meta({
    description: "Since when its deliveries fail (it is retried); null when the last one went through.",
  }),
  createdAt: Timestamp,
};

export const Webhook = z.object(webhookFields).meta({ id: "Webhook", description: "A webhook endpoint, without its secret." });

export const WebhookList = z
  .object({ items: z.array(Webhook) })
  .meta({ id: "WebhookList", description: "Your webhook endpoints (at most 20), newest first." });

const Secret = z.string().nullable().meta({
  description:
    "The signing secret (`whsec_…`, Standard Webhooks). Only in this answer: Coffer keeps it encrypted and never shows it again; a replay of the create (Idempotent-Replayed) answers null.",
});

export const CreatedWebhook = z
  .object({ ...webhookFields, secret: Secret })
  .meta({ id: "CreatedWebhook", description: "A new webhook endpoint, with its secret shown this once." });

export const WebhookSecret = z
  .object({ secret: z.string().meta({ description: "The new signing secret, shown this once; the old one signs nothing from now on." }) })
  .meta({ id: "WebhookSecret" });

export const CreateWebhook = z
  .strictObject({ url: Url, eventTypes: EventTypes, scope: WebhookScope.optional() })
  .meta({ id: "CreateWebhook", description: "An endpoint: its URL, the events to send it, and for administrators the scope." });

export const UpdateWebhook = z
  .strictObject({
    url: Url.optional(),
    eventTypes: EventTypes.optional(),
    enabled: z.boolean().optional().meta({ description: "Turn it off, or on again (which clears a failure streak)." }),
  })
  .meta({ id: "UpdateWebhook", description: "What to change; what is left out stays." });

export const WebhookDelivery = z
  .object({
    id: z.string().meta({ description: "The delivery's id: the `webhook-id` header of every attempt (receivers deduplicate by it)." }),
    kind: z.string().meta({ description: "The event's type." }),
    status: z.enum(["pending", "sending", "delivered", "failed"]),
    attempts: z.number().int(),
    responseStatus: z.number().int().nullable().meta({ description: "The last attempt's HTTP status; null when it got no answer." }),
    durationMs: z.number().int().nullable(),
    error: z.string().nullable().meta({ description: "Why the last attempt got no answer (timeout, refused address…)." }),
    responseExcerpt: z.string().nullable().meta({ description: "The first 1 KiB of the last answer's body." }),
    requestBody: z.string().nullable().meta({
      description:
        "The JSON body the last attempt sent (the event: ids and metadata, never a secret; at most 16 KiB); null before the first attempt.",
    }),
    createdAt: Timestamp,
    lastAttemptAt: Timestamp.nullable(),
    nextAttemptAt: Timestamp.nullable().meta({ description: "When it is tried next; null unless pending." }),
  })
  .meta({ id: "WebhookDelivery", description: "One event sent (or to be sent) to one endpoint, with its last attempt." });

export const WebhookDeliveryPage = z
  .object({
    items: z.array(WebhookDelivery),
    nextCursor: z.string().nullable().meta({ description: "Pass as `cursor` for the next page; null on the last page." }),
  })
  .meta({ id: "WebhookDeliveryPage" });

export const WebhookDeliveryQuery = z
  .strictObject({
    cursor: z.string().max(512).optional().meta({ description: "An opaque cursor from `nextCursor`." }),
    limit: z.coerce.number().int().min(1).max(100).default(50),
  })
  .meta({ id: "WebhookDeliveryQuery" });
