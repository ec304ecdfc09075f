import { z } from "zod";
import { auditActor } from "~/domain/audit/audit.server";
import { isAppError } from "~/domain/errors";
import {
  changeWebhookIfCurrent,
  createWebhook,
  deleteWebhook,
  getWebhook,
  getWebhookVersion,
  listWebhooks,
  pageDeliveries,
  rotateWebhookSecret,
  sendTestEvent,
  updateWebhook,
  type VersionedWebhook,
  type WebhookActor,
  type WebhookView,
} from "~/domain/events/webhooks.server";
import { decodeTimeCursor } from "~/domain/time-cursor";
import { hasScope } from "~/domain/tokens/scopes";
import type { Services } from "~/services/index.server";
import { badCursor } from "./me.server";
import { defineOperation, json, type Operation } from "./operation.server";
import type { Principal } from "./principal.server";
import { ApiProblem } from "./problem.server";
import { entityTag } from "./entity-tag.server";
import { changeIfEtagMatches } from "./preconditions.server";
import { IdempotencyHeader, IfMatchHeader } from "./schemas";
import {
  CreatedWebhook,
  CreateWebhook,
  UpdateWebhook,
  Webhook,
  WebhookDeliveryPage,
  WebhookDeliveryQuery,
  WebhookList,
  WebhookParams,
  WebhookSecret,
} from "./schemas-webhooks";

/**
 * Your webhook endpoints (docs/webhooks.md), through the same domain functions as
 * /settings/webhooks: the same checks (the SSRF guard on the URL, `instance` for administrators
 * only, 404 for anyone else's endpoint), the same audit rows. Scopes follow the files they report
 * on: reading endpoints and their deliveries needs `files:read`, changing them `files:write`.
 * An endpoint of scope `instance` hears of everyone's events, so a token reaches one only when it
 * also holds `admin` (which only an administrator's token can): a files token of an administrator
 * reaches their own files, not everyone's.
 */

const NoParams = z.strictObject({});
const MY_WEBHOOKS_PATH = "/api/v1/me/webhooks";
const INSTANCE_NEEDS_ADMIN = "A webhook for everyone's events needs an access token with the “admin” scope as well.";

function actorOf(principal: Principal): WebhookActor {
  return { id: principal.user.id, role: principal.user.role === "ADMIN" ? "ADMIN" : "USER" };
}

/** An instance endpoint through a token: the token needs `admin` too (a browser session holds every scope). */
function checkInstanceScope(principal: Principal, scope: string): void {
  if (scope === "instance" && principal.user.role === "ADMIN" && !hasScope(principal, "admin")) {
    throw new ApiProblem(403, INSTANCE_NEEDS_ADMIN);
  }
}

/** The endpoint, when the caller may reach it: 404 for another account's, 403 for an instance one without `admin`. */
async function reachable(services: Services, principal: Principal, webhookId: string): Promise<WebhookView> {
  const webhook = await getWebhook(services, actorOf(principal), webhookId);
  checkInstanceScope(principal, webhook.scope);
  return webhook;
}

const ETAG_HEADER = { ETag: "The webhook's entity tag: send it as If-Match to change it only if nobody else did." };

/** The ETag covers the row's version stamp too: a change sent with If-Match renews it (a claim). */
function etagOf({ view, updatedAt }: VersionedWebhook): string {
  return entityTag([view, updatedAt.toISOString()]);
}

/** The webhook as it is now, with its ETag. */
async function withEtag(services: Services, principal: Principal, webhookId: string): Promise<Response> {
  const versioned = await getWebhookVersion(services, actorOf(principal), webhookId);
  return json(versioned.view, 200, { ETag: etagOf(versioned) });
}

/** The domain's field errors name the body's fields. */
async function asProblem<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isAppError(error) && error.status === 400) {
      const errors = Object.entries(error.fieldErrors).map(([name, detail]) => ({ pointer: `/body/${name}`, detail }));
      throw new ApiProblem(422, error.message, errors);
    }
    throw error;
  }
}

export const webhookOperations: Operation[] = [
  defineOperation({
    operationId: "listMyWebhooks",
    method: "get",
    path: "/me/webhooks",
    tag: "Webhooks",
    summary: "List your webhooks",
    description: "Your webhook endpoints, newest first, as /settings/webhooks lists them: URL, events, state. Never a secret.",
    scope: "files:read",
    params: NoParams,
    responses: { 200: { description: "Your webhooks.", schema: WebhookList } },
    async handler({ services, principal }) {
      const webhooks = await listWebhooks(services, actorOf(principal));
      return json({ items: webhooks.map(({ deliveries: _, ...webhook }) => webhook) });
    },
  }),
  defineOperation({
    operationId: "createMyWebhook",
    method: "post",
    path: "/me/webhooks",
    tag: "Webhooks",
    summary: "Create a webhook",
    description:
      "As on /settings/webhooks: a URL (checked against the SSRF guard), the events to send, and the scope (`instance`: everyone's events, for administrators only). The answer holds the signing secret, this once. Audited. Safe to retry with an Idempotency-Key; a replay answers the same webhook with `secret` null.",
    scope: "files:write",
    params: NoParams,
    headers: IdempotencyHeader,
    idempotent: true,
    unreplayed: ["secret"],
    body: CreateWebhook,
    responses: {
      201: { description: "The new webhook, with its secret.", schema: CreatedWebhook, headers: { Location: "The webhook's URL." } },
    },
    async handler({ services, principal, body, request, clientIp }) {
      checkInstanceScope(principal, body.scope ?? "user");
      const audit = auditActor(request, clientIp, principal.user);
      const { webhook, secret } = await asProblem(() => createWebhook(services, actorOf(principal), body, audit));
      return json({ ...webhook, secret }, 201, { Location: `${MY_WEBHOOKS_PATH}/${webhook.id}` });
    },
  }),
  defineOperation({
    operationId: "getMyWebhook",
    method: "get",
    path: "/me/webhooks/{webhookId}",
    tag: "Webhooks",
    summary: "Get one of your webhooks",
    description: "The webhook (never its secret) and its ETag. Another account's is not found.",
    scope: "files:read",
    params: WebhookParams,
    responses: { 200: { description: "The webhook.", schema: Webhook, headers: ETAG_HEADER } },
    async handler({ services, principal, params }) {
      await reachable(services, principal, params.webhookId);
      return withEtag(services, principal, params.webhookId);
    },
  }),
  defineOperation({
    operationId: "updateMyWebhook",
    method: "patch",
    path: "/me/webhooks/{webhookId}",
    tag: "Webhooks",
    summary: "Change one of your webhooks",
    description:
      "Its URL (checked as on creation), its events, or whether it is on; what is left out stays. Turning it on again clears a failure streak and sends what was waiting. Send If-Match to refuse a lost update (412 when it changed since you read it). Audited.",
    scope: "files:write",
    params: WebhookParams,
    headers: IfMatchHeader,
    body: UpdateWebhook,
    problems: [412],
    responses: { 200: { description: "The webhook as it is now.", schema: Webhook, headers: ETAG_HEADER } },
    async handler({ services, principal, params, body, request, clientIp }) {
      await reachable(services, principal, params.webhookId);
      const audit = auditActor(request, clientIp, principal.user);
      const actor = actorOf(principal);
      await changeIfEtagMatches(
        request,
        (versioned: VersionedWebhook) => ({ etag: etagOf(versioned) }),
        (isCurrent, change) => changeWebhookIfCurrent(services, actor, params.webhookId, isCurrent, change),
        () => asProblem(() => updateWebhook(services, actor, params.webhookId, body, audit)),
      );
      return withEtag(services, principal, params.webhookId);
    },
  }),
  defineOperation({
    operationId: "deleteMyWebhook",
    method: "delete",
    path: "/me/webhooks/{webhookId}",
    tag: "Webhooks",
    summary: "Delete one of your webhooks",
    description: "Nothing more is sent to it, and its delivery log goes with it. Audited.",
    scope: "files:write",
    params: WebhookParams,
    responses: { 204: { description: "Deleted." } },
    async handler({ services, principal, params, request, clientIp }) {
      await reachable(services, principal, params.webhookId);
      await deleteWebhook(services, actorOf(principal), params.webhookId, auditActor(request, clientIp, principal.user));
      return new Response(null, { status: 204 });
    },
  }),
  defineOperation({
    operationId: "rotateMyWebhookSecret",
    method: "post",
    path: "/me/webhooks/{webhookId}/secret",
    tag: "Webhooks",
    summary: "Give one of your webhooks a new secret",
    description: "A new signing secret, in this answer only; the old one signs nothing from now on. Audited.",
    scope: "files:write",
    params: WebhookParams,
    responses: { 200: { description: "The new secret.", schema: WebhookSecret } },
    async handler({ services, principal, params, request, clientIp }) {
      await reachable(services, principal, params.webhookId);
      const audit = auditActor(request, clientIp, principal.user);
      return json({ secret: await rotateWebhookSecret(services, actorOf(principal), params.webhookId, audit) });
    },
  }),
  defineOperation({
    operationId: "testMyWebhook",
    method: "post",
    path: "/me/webhooks/{webhookId}/test",
    tag: "Webhooks",
    summary: "Send a test event to one of your webhooks",
    description:
      "Queues a `webhook.test` event for this endpoint only; it is sent like any other event and appears in the delivery log. The webhook must be on (422 otherwise).",
    scope: "files:write",
    params: WebhookParams,
    responses: { 202: { description: "Queued." } },
    problems: [422],
    async handler({ services, principal, params }) {
      await reachable(services, principal, params.webhookId);
      await asProblem(() => sendTestEvent(services, actorOf(principal), params.webhookId));
      return new Response(null, { status: 202 });
    },
  }),
  defineOperation({
    operationId: "listMyWebhookDeliveries",
    method: "get",
    path: "/me/webhooks/{webhookId}/deliveries",
    tag: "Webhooks",
    summary: "List one of your webhook's deliveries",
    description:
      "Its delivery log, newest first: each event sent or to be sent, with the last attempt's status, duration, error and the start of the answer. Paged with an opaque cursor.",
    scope: "files:read",
    params: WebhookParams,
    query: WebhookDeliveryQuery,
    responses: { 200: { description: "One page of deliveries.", schema: WebhookDeliveryPage } },
    async handler({ services, principal, params, query }) {
      // A cursor that is not one of ours is the query's fault, whichever webhook it is for.
      if (query.cursor !== undefined && decodeTimeCursor(query.cursor) === null) throw badCursor();
      await reachable(services, principal, params.webhookId);
      try {
        const page = await pageDeliveries(services, actorOf(principal), params.webhookId, query);
        return json({ items: page.deliveries, nextCursor: page.nextCursor });
      } catch (error) {
        if (isAppError(error) && error.status === 400) throw badCursor();
        throw error;
      }
    },
  }),
];
