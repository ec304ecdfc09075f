import type { LoaderFunctionArgs } from "@remix-run/node";
import { z } from "zod";
import { NotFoundError } from "~/domain/errors";
import { idSchema } from "~/domain/ids";

type Params = LoaderFunctionArgs["params"];

/**
 * The schema of each route parameter, by name. Every parameter of every route is checked
 * against it before the route's loader or action runs (app/server/route-boundary.server.ts),
 * so a NUL byte or a 10 kB "id" never reaches a query; a name missing here gets the id shape.
 */
export const ROUTE_PARAMS: Record<string, z.ZodType<string>> = {
  kind: z.enum(["file", "folder"]),
  id: idSchema,
  fileId: idSchema,
  folderId: idSchema,
  versionId: idSchema,
  userId: idSchema,
  token: idSchema,
  // Checked by its route, which answers anything but its own signed shape with a 400
  // (app/domain/events/unsubscribe.server.ts); the length bound keeps garbage short.
  unsubscribeToken: z.string().max(1000),
};

/** Whether every parameter has its shape; a route whose parameters do not names nothing (404). */
export function paramsAreValid(params: Params): boolean {
  return Object.entries(params).every(([name, value]) => name === "*" || (ROUTE_PARAMS[name] ?? idSchema).safeParse(value).success);
}

/** A route parameter that must be an id; NotFoundError (404) when it is missing or not one. */
export function idParam(params: Params, name: string, what = "That item"): string {
  return asId(params[name], what);
}

/** A form's or query's id, refused as not found (404) when it is not one, like a route parameter. */
export function asId(value: unknown, what = "That item"): string {
  const parsed = idSchema.safeParse(value);
  if (!parsed.success) throw new NotFoundError(what);
  return parsed.data;
}
