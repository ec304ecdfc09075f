import type { z } from "zod";
import type { Services } from "~/services/index.server";
import type { Principal, Scope } from "./principal.server";

/**
 * One API operation: its place (method and path template), the scope it needs, the zod schemas
 * that validate its request and shape its responses, and its handler. The router dispatches on
 * these and the OpenAPI document is generated from these, so neither can drift from the other.
 */
export type Method = "get" | "post" | "patch" | "put" | "delete";

export interface ResponseSpec {
  description: string;
  /** JSON body schema; omitted for bodiless responses. */
  schema?: z.ZodType;
  /** For non-JSON bodies: a download is in the file's own type, documented as any media type. */
  contentType?: string;
  /** Response headers, by name: their description (all are strings). */
  headers?: Record<string, string>;
}

export interface OperationContext<P, Q, B> {
  services: Services;
  request: Request;
  principal: Principal;
  clientIp: string | null;
  params: P;
  query: Q;
  body: B;
}

export interface Operation<P = any, Q = any, B = any> {
  operationId: string;
  method: Method;
  /** OpenAPI path template under /api/v1, e.g. `/files/{id}`. */
  path: string;
  tag: string;
  summary: string;
  /** Required: spectral (npm run api:lint) warns on an operation without one. */
  description: string;
  scope: Scope;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** Request headers the operation reads, documented as parameters. */
  headers?: z.ZodObject;
  /** Success responses by status; the shared problem responses are added to every operation. */
  responses: Record<number, ResponseSpec>;
  /** A create that honours Idempotency-Key (documented as a header parameter). */
  idempotent?: true;
  /**
   * Top-level fields of a create's JSON answer that are never stored for a replay (a secret shown
   * once): a replay answers them null.
   */
  unreplayed?: string[];
  /** Extra problem statuses this operation can answer besides the shared ones. */
  problems?: number[];
  handler(context: OperationContext<P, Q, B>): Promise<Response>;
}

export function defineOperation<P, Q, B>(operation: Operation<P, Q, B>): Operation<P, Q, B> {
  return operation;
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers },
  });
}

/** `/files/{id}` → a matcher giving `{ id }` for `/files/abc`. */
export function pathMatcher(template: string): (path: string) => Record<string, string> | null {
  const names: string[] = [];
  const pattern = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return "([^/]+)";
  });
  const regex = new RegExp(`^${pattern}$`);
  return (path) => {
    const match = regex.exec(path);
    if (!match) return null;
    const params: Record<string, string> = {};
    names.forEach((name, index) => {
      params[name] = match[index + 1]!;
    });
    return params;
  };
}
