import { createRouter } from "./dispatch.server";
import { API_PREFIX } from "./openapi.server";
import { API_OPERATIONS } from "./operations.server";

export const apiRouter = createRouter(API_OPERATIONS);

/** The path below /api/v1 of a request URL. */
export function apiPath(request: Request): string {
  return new URL(request.url).pathname.slice(API_PREFIX.length);
}
