import { EVENT_KINDS } from "./catalogue";

/** What a webhook endpoint may be, shared by the domain (webhooks.server.ts) and the API's schemas. */

/** The kinds an endpoint may subscribe to: the catalogue, less the test event only Coffer sends. */
export const WEBHOOK_EVENT_TYPES = EVENT_KINDS.filter((kind) => kind !== "webhook.test") as readonly string[];
export const WEBHOOK_SCOPES = ["user", "instance"] as const;
export const MAX_WEBHOOKS_PER_USER = 20;
export const MAX_URL_LENGTH = 2048;
