import {
  data,
  type ActionFunction,
  type ActionFunctionArgs,
  type LoaderFunction,
  type LoaderFunctionArgs,
  type ServerBuild,
} from "@remix-run/node";
import { ZodError } from "zod";
import { isAppError } from "~/domain/errors";
import { holdFault } from "~/domain/files/holds.server";
import { paramsAreValid } from "~/route-helpers/params.server";
import { isDependencyUnavailable } from "~/services/dependency.server";
import { inSpan } from "~/services/tracing/spans.server";
import { nameRequestRoute } from "~/services/tracing/state.server";

type RouteFunction = (args: LoaderFunctionArgs | ActionFunctionArgs) => unknown;

/**
 * The one error boundary of the Remix routes: every loader and action of the build is wrapped so
 * that
 * - a route parameter without its shape (a NUL byte, a huge "id") is a 404 before the route runs;
 * - an error the request caused (an AppError that escaped its route, a ZodError, a body that is
 *   not the form it claims to be, a malformed URL) becomes its 4xx, with its message and no stack;
 * - a dependency that is down becomes a 503 with Retry-After;
 * - anything else propagates: a 500, logged by handleError in entry.server.tsx.
 * Pages show the 4xx in their ErrorBoundary; resource routes answer it as plain text.
 */
export function withRouteBoundary(build: ServerBuild): ServerBuild {
  const routes: ServerBuild["routes"] = {};
  for (const [id, route] of Object.entries(build.routes)) {
    const module = route.module;
    const isPage = Boolean(module.default);
    const pattern = routePattern(build, id);
    routes[id] = {
      ...route,
      module: {
        ...module,
        ...(module.loader
          ? { loader: guard(traced("remix.loader", id, pattern, module.loader as RouteFunction), isPage) as LoaderFunction }
          : {}),
        ...(module.action
          ? { action: guard(traced("remix.action", id, pattern, module.action as RouteFunction), isPage) as ActionFunction }
          : {}),
      },
    };
  }
  return { ...build, routes };
}

/**
 * A span per loader and action, named by its route's id (a file name of app/routes, no user
 * data); the request's server span is named by the route's pattern (`GET /files/:folderId`).
 */
function traced(name: string, routeId: string, pattern: string, run: RouteFunction): RouteFunction {
  return (args) => {
    nameRequestRoute(pattern);
    return inSpan(name, { "remix.route.id": routeId }, async () => run(args));
  };
}

/** `/files/:folderId`: the route's path joined to its parents'. */
function routePattern(build: ServerBuild, id: string): string {
  const segments: string[] = [];
  for (
    let route: ServerBuild["routes"][string] | undefined = build.routes[id];
    route;
    route = route.parentId ? build.routes[route.parentId] : undefined
  ) {
    if (route.path) segments.unshift(route.path);
  }
  return `/${segments.join("/")}`;
}

function guard(run: RouteFunction, isPage: boolean): RouteFunction {
  return async (args) => {
    if (!paramsAreValid(args.params))
      throw refusal({ status: 404, message: "This page does not exist. It may have been moved or deleted." }, isPage);
    try {
      return await run(args);
    } catch (error) {
      const input = inputFault(error);
      if (input) throw refusal(input, isPage);
      throw error;
    }
  };
}

/** The status and message for an error the request caused; null for anything else (a bug). */
export function inputFault(error: unknown): Fault | null {
  if (error instanceof Response || error === null || typeof error !== "object") return null;
  if (isDependencyUnavailable(error)) return { status: 503, message: error.message, retryAfterSeconds: error.retryAfterSeconds };
  if (isAppError(error)) return { status: error.status, message: error.message };
  const held = holdFault(error);
  if (held) return { status: held.status, message: held.message };
  if (error instanceof ZodError) return { status: 400, message: "The request was not valid. Check what you entered and try again." };
  if (error instanceof URIError) return { status: 400, message: "The address is not valid." };
  // PostgreSQL refuses text it cannot store (a NUL byte: 22021, in JSON: 22P05). Only input has
  // such text; the schemas should have refused it first, so this is the net under them.
  if (
    error instanceof Error &&
    error.name === "PrismaClientKnownRequestError" &&
    /\b(22021|22P05)\b/.test(`${error.message} ${JSON.stringify((error as { meta?: unknown }).meta ?? {})}`)
  ) {
    return { status: 400, message: "The request contains characters that cannot be stored, such as a NUL byte." };
  }
  // What Request.formData()/json() and Remix's multipart parser throw for a body that is not what it claims.
  if (
    error instanceof SyntaxError ||
    (error instanceof Error && /form ?data|multipart|content-disposition|request body|content-type/i.test(error.message))
  ) {
    return { status: 400, message: "The request's body could not be read: it is malformed or was cut short." };
  }
  return null;
}

interface Fault {
  status: number;
  message: string;
  retryAfterSeconds?: number;
}

function refusal({ status, message, retryAfterSeconds }: Fault, isPage: boolean): unknown {
  const headers: Record<string, string> = { "Cache-Control": "no-store" };
  if (status === 503) headers["Retry-After"] = String(retryAfterSeconds ?? 5);
  if (isPage) return data({ message }, { status, headers });
  return new Response(message, { status, headers: { ...headers, "Content-Type": "text/plain; charset=utf-8" } });
}
