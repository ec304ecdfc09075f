import { createHash } from "node:crypto";
import type { z } from "zod";
import { claimIdempotencyKey, releaseIdempotencyKey, storeIdempotentAnswer } from "~/domain/api/idempotency.server";
import type { Services } from "~/services/index.server";
import { type Operation, pathMatcher } from "./operation.server";
import { resolvePrincipal, requireScope } from "./principal.server";
import { ApiProblem, type FieldProblem, problem, problemResponse } from "./problem.server";

/** JSON bodies of the API are small (names, ids, lists of ids); anything bigger is refused. */
export const JSON_BODY_LIMIT = 256 * 1024;

interface Route {
  operation: Operation;
  match: (path: string) => Record<string, string> | null;
}

export interface Router {
  handle(services: Services, request: Request, path: string, clientIp: string | null): Promise<Response>;
}

export function createRouter(operations: readonly Operation[]): Router {
  const routes: Route[] = operations.map((operation) => ({ operation, match: pathMatcher(operation.path) }));
  return {
    async handle(services, request, path, clientIp) {
      try {
        const method = request.method.toLowerCase() === "head" ? "get" : request.method.toLowerCase();
        const matching = routes.flatMap((route) => {
          const params = route.match(path);
          return params ? [{ route, params }] : [];
        });
        if (matching.length === 0) throw new ApiProblem(404, "There is no such API resource.");
        const found = matching.find(({ route }) => route.operation.method === method);
        if (!found) {
          const allowed = [...new Set(matching.map(({ route }) => route.operation.method.toUpperCase()))].join(", ");
          throw new ApiProblem(405, `This resource answers ${allowed}.`, [], { Allow: allowed });
        }
        const { operation } = found.route;
        const principal = await resolvePrincipal(services, request, clientIp);
        requireScope(principal, operation.scope);
        // Ids are checked before anything else: a malformed one names nothing (404).
        const params = operation.params ? operation.params.safeParse(found.params) : null;
        if (params && !params.success) throw new ApiProblem(404, "That item was not found.");
        const query = operation.query ? validate(operation.query, queryObject(request), "query") : {};
        const raw = operation.body ? await readJson(request) : null;
        const body = operation.body ? validate(operation.body, raw!.value, "body") : undefined;
        const run = () =>
          operation
            .handler({ services, request, principal, clientIp, params: params?.data ?? {}, query, body })
            .catch((error) => (error instanceof Response ? error : problemResponse(error)));
        const key = operation.idempotent ? idempotencyKey(request) : null;
        if (key === null) return await run();
        const hash = createHash("sha256")
          .update(`${request.method} ${path}\n${raw?.text ?? ""}`)
          .digest("hex");
        return await idempotently(services, principal.user.id, key, hash, run, operation.unreplayed ?? []);
      } catch (error) {
        if (error instanceof Response) return error;
        return problemResponse(error);
      }
    },
  };
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function idempotencyKey(request: Request): string | null {
  const key = request.headers.get("idempotency-key");
  if (key === null) return null;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new ApiProblem(422, "The Idempotency-Key header is not valid.", [
      { pointer: "/header/idempotency-key", detail: "Use 1 to 255 visible ASCII characters, e.g. a UUID." },
    ]);
  }
  return key;
}

/**
 * Runs a create once per key: the same request again gets the first answer (with
 * Idempotent-Replayed), another request with the same key a 422. Answers of 5xx are not kept, so
 * the client can retry.
 */
async function idempotently(
  services: Services,
  userId: string,
  key: string,
  hash: string,
  run: () => Promise<Response>,
  unreplayed: string[],
) {
  const claim = await claimIdempotencyKey(services, userId, key, hash);
  if (claim.kind === "mismatch") {
    throw new ApiProblem(422, "This Idempotency-Key was used for another request.", [
      { pointer: "/header/idempotency-key", detail: "Use a new key for a new request." },
    ]);
  }
  if (claim.kind === "replay") {
    return new Response(claim.answer.body, {
      status: claim.answer.status,
      headers: { ...claim.answer.headers, "Idempotent-Replayed": "true" },
    });
  }
  let response: Response;
  try {
    response = await run();
  } catch (error) {
    await releaseIdempotencyKey(services, userId, key);
    throw error;
  }
  if (response.status >= 500) {
    await releaseIdempotencyKey(services, userId, key);
    return response;
  }
  const text = await response.text();
  const headers = Object.fromEntries(response.headers);
  await storeIdempotentAnswer(services, userId, key, { status: response.status, body: withoutFields(text, unreplayed), headers });
  return new Response(text, { status: response.status, headers });
}

/** The JSON answer with these top-level fields set to null (an error answer has none of them). */
function withoutFields(text: string, fields: string[]): string {
  if (fields.length === 0) return text;
  const body = JSON.parse(text) as Record<string, unknown>;
  for (const field of fields) if (field in body) body[field] = null;
  return JSON.stringify(body);
}

function queryObject(request: Request): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [name, value] of new URL(request.url).searchParams) {
    if (name in query)
      throw new ApiProblem(422, `The query parameter “${name}” is given more than once.`, [
        { pointer: `/query/${name}`, detail: "Give it once." },
      ]);
    // PostgreSQL text cannot hold a NUL byte: refused here for every parameter, as a bad value.
    if (value.includes("\u0000"))
      throw new ApiProblem(422, `The query parameter “${name}” contains a NUL byte.`, [
        { pointer: `/query/${name}`, detail: "Remove the NUL byte." },
      ]);
    query[name] = value;
  }
  return query;
}

function validate<T>(schema: z.ZodType<T>, value: unknown, where: "query" | "body"): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const errors: FieldProblem[] = parsed.error.issues.map((issue) => {
    const keys = issue.code === "unrecognized_keys" ? issue.keys : [];
    const path = [...issue.path.map(String), ...(keys.length === 1 ? keys : [])];
    return { pointer: `/${[where, ...path].map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/")}`, detail: issue.message };
  });
  throw new ApiProblem(422, `The request ${where} is not valid.`, errors);
}

/** The request's JSON body: 415 when it is not JSON, 413 when too big, 400 when malformed. */
async function readJson(request: Request): Promise<{ value: unknown; text: string }> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) {
    throw new ApiProblem(415, "Send the request body as application/json.");
  }
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (declared > JSON_BODY_LIMIT) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let length = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      length += value.byteLength;
      if (length > JSON_BODY_LIMIT) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
  }
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return { value: JSON.parse(text), text };
  } catch {
    throw new ApiProblem(400, "The request body is not valid JSON.");
  }
}

function tooLarge() {
  return new ApiProblem(413, `The request body is larger than ${JSON_BODY_LIMIT / 1024} KiB.`);
}

export { problem };
