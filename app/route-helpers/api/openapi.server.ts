import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";
import { EVENT_KINDS } from "~/domain/events/catalogue";
import { EVENT_PAYLOADS, eventEnvelope } from "~/domain/events/payloads";
import type { Operation } from "./operation.server";
import { API_OPERATIONS } from "./operations.server";
import { PROBLEM_TYPES, type ProblemStatus, problemType } from "./problem.server";
import { Problem } from "./schemas";

export const API_PREFIX = "/api/v1";

const PROBLEM_DESCRIPTIONS: Record<ProblemStatus, string> = {
  400: "The request is malformed (a body that is not JSON).",
  401: "No valid session or access token.",
  403: "Not allowed: a missing scope, or a change to something you may only read.",
  404: "No such item, or one you may not see (the API never reveals which).",
  405: "The resource does not answer this method.",
  409: "The change conflicts with the current state (a name already taken, an item being deleted).",
  412: "If-Match named an older version of the item.",
  413: "The request body is too large.",
  415: "The request body is not application/json.",
  422: "The request is well-formed but not valid: the `errors` list points at each field.",
  428: "The operation needs a precondition header.",
  429: "Too many requests; retry after Retry-After seconds.",
  503: "A service Coffer depends on is unavailable; retry after Retry-After seconds.",
};

/**
 * Problems the host itself answers for every operation, tus included (the rate limiter, a
 * dependency that is down): one shared response each, with Retry-After.
 */
const SHARED_PROBLEMS: Partial<Record<ProblemStatus, string>> = { 429: "RateLimited", 503: "Unavailable" };

function registerSharedProblems(registry: OpenAPIRegistry) {
  for (const [status, name] of Object.entries(SHARED_PROBLEMS)) {
    registry.registerComponent("responses", name, {
      description: PROBLEM_DESCRIPTIONS[Number(status) as ProblemStatus],
      headers: { "Retry-After": { description: "Seconds to wait before retrying.", schema: { type: "string" } } },
      content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
    });
  }
}

const sharedProblemRefs = () =>
  Object.fromEntries(Object.entries(SHARED_PROBLEMS).map(([status, name]) => [status, { $ref: `#/components/responses/${name}` }]));

function problemStatuses(operation: Operation): ProblemStatus[] {
  const statuses = new Set<number>([401, 403, 404, 429, 503, ...(operation.problems ?? [])]);
  if (operation.query) statuses.add(422);
  if (operation.body) for (const status of [400, 413, 415, 422]) statuses.add(status);
  return [...statuses].sort() as ProblemStatus[];
}

function registerOperation(registry: OpenAPIRegistry, operation: Operation) {
  const responses: Record<string, unknown> = {};
  for (const [status, spec] of Object.entries(operation.responses)) {
    responses[status] = {
      description: spec.description,
      ...(spec.headers
        ? {
            headers: Object.fromEntries(
              Object.entries(spec.headers).map(([name, description]) => [name, { description, schema: { type: "string" } }]),
            ),
          }
        : {}),
      ...(spec.schema
        ? { content: { "application/json": { schema: spec.schema } } }
        : spec.contentType
          ? { content: { [spec.contentType]: { schema: z.string().meta({ format: "binary" }) } } }
          : {}),
    };
  }
  for (const status of problemStatuses(operation)) {
    responses[String(status)] = SHARED_PROBLEMS[status]
      ? { $ref: `#/components/responses/${SHARED_PROBLEMS[status]}` }
      : { description: PROBLEM_DESCRIPTIONS[status], content: { "application/problem+json": { schema: Problem } } };
  }
  registry.registerPath({
    operationId: operation.operationId,
    method: operation.method,
    path: `${API_PREFIX}${operation.path}`,
    tags: [operation.tag],
    summary: operation.summary,
    description: `${operation.description}\n\n${
      operation.scope === "session"
        ? "Only with the browser session: access tokens get 403, whatever their scopes."
        : `Access tokens need the \`${operation.scope}\` scope.`
    }`,
    // Scopes belong to OAuth schemes in OpenAPI; a token's needed scope is named in an extension
    // (`session`: no token at all).
    security: operation.scope === "session" ? [{ session: [] }] : [{ session: [] }, { bearer: [] }],
    "x-coffer-scope": operation.scope,
    request: {
      ...(operation.params && Object.keys((operation.params as z.ZodObject).shape ?? {}).length > 0
        ? { params: operation.params as z.ZodObject }
        : {}),
      ...(operation.query ? { query: operation.query as z.ZodObject } : {}),
      ...(operation.headers ? { headers: operation.headers } : {}),
      ...(operation.body ? { body: { required: true, content: { "application/json": { schema: operation.body } } } } : {}),
    },
    responses: responses as never,
  });
}

const TusHeaders = z.object({
  "tus-resumable": z.literal("1.0.0"),
});

/**
 * Uploads are served by the tus host, not by the /api/v1 router; they are described here so
 * clients find them, and the contract tests hold the tus host to this description. Error bodies
 * are tus's plain text, except the shared 429 and 503 problems. The PATCH that completes an upload answers the new file's id in
 * `Coffer-File-Id`; GET /api/v1/files/{id} then gives its metadata.
 */
function registerUploads(registry: OpenAPIRegistry) {
  const uploadParams = z.object({ uploadId: z.string().meta({ description: "From the Location of the creation response." }) });
  registry.registerPath({
    operationId: "createUpload",
    method: "post",
    path: "/api/uploads",
    tags: ["Uploads"],
    summary: "Start a resumable upload (tus creation)",
    description:
      "tus 1.0 with the creation extension. Upload-Metadata carries base64 `filename`, `filetype`, `folderId` (the destination folder; your top folder when absent) and `onConflict` (`keep-both`, the default; `replace`, which keeps the replaced content as a version; or `cancel`, 409 when the name is taken).",
    security: [{ session: [] }, { bearer: [] }],
    request: {
      headers: TusHeaders.extend({
        "upload-length": z.string().meta({ description: "The file's size in bytes." }),
        "upload-metadata": z
          .string()
          .meta({ description: "tus Upload-Metadata: `filename <b64>,filetype <b64>,folderId <b64>,onConflict <b64>`." }),
      }),
    },
    responses: {
      201: {
        description: "Created; send the bytes with PATCH to the Location.",
        headers: { Location: { description: "The upload's URL.", schema: { type: "string" as const } } },
      },
      400: { description: "Upload-Metadata is not valid (a bad name, an unknown onConflict)." },
      401: { description: "Not signed in." },
      403: { description: "A token without files:write, or a folder you may only read." },
      404: { description: "No such destination folder (or one you may not see)." },
      409: { description: "The name is taken and onConflict is cancel." },
      413: { description: "Larger than the upload limit or the quota." },
      ...sharedProblemRefs(),
    },
  });
  registry.registerPath({
    operationId: "continueUpload",
    method: "patch",
    path: "/api/uploads/{uploadId}",
    tags: ["Uploads"],
    summary: "Send bytes of an upload (tus PATCH)",
    description: "Send the bytes from Upload-Offset on; after an interruption ask HEAD for the offset and continue from there.",
    security: [{ session: [] }, { bearer: [] }],
    request: {
      params: uploadParams,
      headers: TusHeaders.extend({ "upload-offset": z.string() }),
      body: { content: { "application/offset+octet-stream": { schema: z.string().meta({ format: "binary" }) } } },
    },
    responses: {
      204: {
        description: "Accepted. On the last PATCH the upload becomes a file, named in Coffer-File-Id.",
        headers: {
          "Upload-Offset": { description: "Bytes received so far.", schema: { type: "string" as const } },
          "Coffer-File-Id": {
            description: "Only on the PATCH that completed the upload: the new file's id.",
            schema: { type: "string" as const },
          },
          "Coffer-File-Place": {
            description:
              "With Coffer-File-Id: where the file landed. `folder`: the chosen folder; `trash`: that folder was moved to the trash meanwhile, and the file is in the trash with it; `root`: that folder was deleted, and the file is in the uploader's top folder.",
            schema: { type: "string" as const, enum: ["folder", "trash", "root"] },
          },
        },
      },
      401: { description: "Not signed in." },
      403: { description: "A token without files:write." },
      404: { description: "No such upload (or not yours)." },
      409: { description: "Upload-Offset does not match the bytes received." },
      413: { description: "More bytes than Upload-Length, or over the quota." },
      ...sharedProblemRefs(),
    },
  });
  registry.registerPath({
    operationId: "getUploadOffset",
    method: "head",
    path: "/api/uploads/{uploadId}",
    tags: ["Uploads"],
    summary: "How much of an upload arrived (tus HEAD), to resume it",
    description: "Answers Upload-Offset: the bytes the server has; continue the PATCH from there.",
    security: [{ session: [] }, { bearer: [] }],
    request: { params: uploadParams, headers: TusHeaders },
    responses: {
      200: {
        description: "Upload-Offset says where to resume.",
        headers: { "Upload-Offset": { description: "Bytes received.", schema: { type: "string" as const } } },
      },
      401: { description: "Not signed in." },
      403: { description: "A token without files:write." },
      404: { description: "No such upload (or not yours)." },
      ...sharedProblemRefs(),
    },
  });
  registry.registerPath({
    operationId: "terminateUpload",
    method: "delete",
    path: "/api/uploads/{uploadId}",
    tags: ["Uploads"],
    summary: "Cancel an unfinished upload (tus termination)",
    description:
      "Removes the bytes received so far and releases the storage the upload reserved against your quota. A finished upload is a file: delete it through the files operations.",
    security: [{ session: [] }, { bearer: [] }],
    request: { params: uploadParams, headers: TusHeaders },
    responses: {
      204: { description: "Cancelled: nothing of the upload is left." },
      400: { description: "The upload finished while this request waited for it (it is a file now)." },
      401: { description: "Not signed in." },
      403: { description: "A token without files:write." },
      404: { description: "No such upload, not yours, or finished (it is a file now)." },
      ...sharedProblemRefs(),
    },
  });
}

const pascal = (kind: string) => kind.replace(/(^|[._])([a-z])/g, (_, __, letter: string) => letter.toUpperCase());

/**
 * What Coffer posts to a webhook endpoint (docs/webhooks.md): one OpenAPI 3.1 webhook per event
 * kind, its body the Standard Webhooks envelope around the kind's payload schema
 * (app/domain/events/payloads.ts, docs/events.md#payload-schemas).
 */
function registerEventWebhooks(registry: OpenAPIRegistry) {
  const headers = z.object({
    "webhook-id": z.string().meta({ description: "The delivery's id, the same on every attempt: deduplicate by it." }),
    "webhook-timestamp": z.string().meta({ description: "Unix seconds when this attempt was signed." }),
    "webhook-signature": z
      .string()
      .meta({ description: "`v1,` and the base64 HMAC-SHA256 of `<id>.<timestamp>.<body>` under the secret." }),
  });
  for (const kind of EVENT_KINDS) {
    registry.registerWebhook({
      operationId: `on${pascal(kind)}`,
      method: "post",
      path: kind,
      tags: ["Events"],
      summary: `The \`${kind}\` event`,
      description: `${EVENT_PAYLOADS[kind].description ?? kind} Sent to the endpoints subscribed to \`${kind}\` that may hear of it (docs/webhooks.md); \`data\` holds the event's ids and its payload, never contents or secrets. Ignore fields you do not know.`,
      security: [],
      request: {
        headers,
        body: { required: true, content: { "application/json": { schema: eventEnvelope(kind).meta({ id: `${pascal(kind)}Event` }) } } },
      },
      responses: {
        200: { description: "Any 2xx answer within the timeout: delivered. Anything else is retried with backoff for up to 24 hours." },
      },
    });
  }
}

let cached: ReturnType<OpenApiGeneratorV31["generateDocument"]> | null = null;

/** The OpenAPI 3.1 document of the API, generated from the operations' own schemas. */
export function openApiDocument() {
  if (cached) return cached;
  const registry = new OpenAPIRegistry();
  registry.registerComponent("securitySchemes", "session", {
    type: "apiKey",
    in: "cookie",
    name: "coffer_session",
    description: "The browser session. Changes also need the X-CSRF-Token header.",
  });
  registry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "A personal access token (`coffer_pat_…`, from /settings/tokens). Needs the operation's scope; no CSRF header.",
  });
  registerSharedProblems(registry);
  for (const operation of API_OPERATIONS) registerOperation(registry, operation);
  registerUploads(registry);
  registerEventWebhooks(registry);
  cached = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "Coffer API",
      version: "1.0.0",
      description: "Files and folders of a Coffer server. Errors are RFC 9457 problems; see /api/docs.",
    },
    servers: [{ url: "/" }],
    tags: [
      { name: "Folders", description: "Folders and their listings." },
      { name: "Files", description: "Files: metadata and content." },
      { name: "Versions", description: "Earlier content of files." },
      { name: "Bulk", description: "Several items at once." },
      { name: "Uploads", description: "Resumable uploads (tus 1.0)." },
      { name: "Search", description: "Names and contents of your items and of those shared with you." },
      { name: "Share links", description: "Public links to your files and folders." },
      { name: "User shares", description: "Your items shared with other accounts, and theirs with you." },

      { name: "Me", description: "Your own account." },
      { name: "Users", description: "Accounts (administrators)." },
      { name: "Audit", description: "The audit log (administrators)." },
      { name: "Settings", description: "Instance settings (administrators)." },
      { name: "Tokens", description: "Personal access tokens: your own (browser session only) and everyone's (administrators)." },
      { name: "Webhooks", description: "Your webhook endpoints and their delivery logs (docs/webhooks.md)." },
      { name: "Events", description: "What Coffer posts to your webhook endpoints: one body per event kind (docs/events.md)." },

      { name: "Operations", description: "Background jobs, lifecycle rules, system health and usage figures (administrators)." },
      { name: "Legal holds", description: "Holds that keep a user's, a folder's or a file's data from deletion (administrators)." },
      {
        name: "Retention rules",
        description: "Rules that keep a folder's files at least N days, or delete them after N days (administrators).",
      },
    ],
  });
  return cached;
}

/** Every problem type the API can send, for the documentation page. */
export function problemTypes() {
  return (Object.keys(PROBLEM_TYPES).map(Number) as ProblemStatus[]).map((status) => ({
    status,
    anchor: `problem-${PROBLEM_TYPES[status]}`,
    type: problemType(status),
    description: PROBLEM_DESCRIPTIONS[status],
  }));
}
