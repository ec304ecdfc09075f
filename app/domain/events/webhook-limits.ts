import { ADMIN_KINDS, EVENT_KINDS, type EventKind } from "./catalogue";

/** What a webhook endpoint may be, shared by the domain (webhooks.server.ts) and the API's schemas. */

/** The kinds an endpoint may subscribe to: the catalogue, less the test event only Coffer sends. */
export const WEBHOOK_EVENT_TYPES = EVENT_KINDS.filter((kind) => kind !== "webhook.test") as readonly string[];

/**
 * Kinds only an administrator's endpoint can ever hear of: the administrators' kinds (to
 * instance endpoints only) and the instance-wide changes only an administrator makes (the
 * settings, someone's quota). Nobody else is offered them, on the page or through the API.
 */
export const ADMIN_WEBHOOK_EVENT_TYPES: readonly string[] = [
  ...ADMIN_KINDS,
  "settings.updated",
  "user.quota_changed",
] satisfies EventKind[];

/** The kinds an account of this role may subscribe an endpoint to. */
export function webhookEventTypesFor(role: string): readonly string[] {
  return role === "ADMIN" ? WEBHOOK_EVENT_TYPES : WEBHOOK_EVENT_TYPES.filter((kind) => !ADMIN_WEBHOOK_EVENT_TYPES.includes(kind));
}

export const WEBHOOK_SCOPES = ["user", "instance"] as const;
export const MAX_WEBHOOKS_PER_USER = 20;
export const MAX_URL_LENGTH = 2048;
