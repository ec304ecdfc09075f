import { isAppError } from "~/domain/errors";
import { holdFault } from "~/domain/files/holds.server";
import { type DependencyUnavailableError, isDependencyUnavailable } from "~/services/dependency.server";

/**
 * RFC 9457 problem responses. Every error the API sends is one of these, with a `type` that
 * never changes for that error: a relative URI that resolves to its entry on /api/docs.
 */
export const PROBLEM_TYPES = {
  400: "malformed-request",
  401: "unauthenticated",
  403: "forbidden",
  404: "not-found",
  405: "method-not-allowed",
  409: "conflict",
  412: "precondition-failed",
  413: "payload-too-large",
  415: "unsupported-media-type",
  422: "validation-failed",
  428: "precondition-required",
  429: "rate-limited",
  503: "unavailable",
} as const;

export type ProblemStatus = keyof typeof PROBLEM_TYPES;

const TITLES: Record<ProblemStatus, string> = {
  400: "Malformed request",
  401: "Authentication required",
  403: "Forbidden",
  404: "Not found",
  405: "Method not allowed",
  409: "Conflict",
  412: "Precondition failed",
  413: "Payload too large",
  415: "Unsupported media type",
  422: "Validation failed",
  428: "Precondition required",
  429: "Too many requests",
  503: "Service unavailable",
};

export function problemType(status: ProblemStatus): string {
  return `/api/docs#problem-${PROBLEM_TYPES[status]}`;
}

export interface FieldProblem {
  /** JSON Pointer (RFC 6901) into the request: `/body/name`, `/query/cursor`. */
  pointer: string;
  detail: string;
}

/** An error the API raises itself, turned into a problem response by `problemResponse`. */
export class ApiProblem extends Error {
  constructor(
    readonly status: ProblemStatus,
    readonly detail: string,
    readonly errors: FieldProblem[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

/** The JSON of a problem; `extensions` are RFC 9457 extension members (e.g. the dependency that is down). */
export function problemBody(
  status: ProblemStatus,
  detail: string,
  errors: FieldProblem[] = [],
  extensions: Record<string, unknown> = {},
): string {
  const body: Record<string, unknown> = { type: problemType(status), title: TITLES[status], status, detail, ...extensions };
  if (errors.length > 0) body.errors = errors;
  return JSON.stringify(body);
}

/** The 503 body for a dependency that is down: which one, and when to retry. */
export function unavailableProblemBody(error: DependencyUnavailableError): string {
  return problemBody(503, error.message, [], { dependency: error.dependency, retryAfterSeconds: error.retryAfterSeconds });
}

export function problem(
  status: ProblemStatus,
  detail: string,
  errors: FieldProblem[] = [],
  headers: Record<string, string> = {},
): Response {
  return new Response(problemBody(status, detail, errors), {
    status,
    headers: { "Content-Type": "application/problem+json", "Cache-Control": "no-store", ...headers },
  });
}

function isProblemStatus(status: number): status is ProblemStatus {
  return status in PROBLEM_TYPES;
}

/**
 * The problem for an error a handler threw: the API's own, or a typed domain error (its status
 * and safe message; its field errors as pointers into the body), or a dependency that is down
 * (503 with Retry-After). Anything else is rethrown: a bug, answered 500 by the host without details.
 */
export function problemResponse(error: unknown): Response {
  // A legal hold's trigger refused a deletion the domain did not check first: still a 409.
  error = holdFault(error) ?? error;
  if (error instanceof ApiProblem) return problem(error.status, error.detail, error.errors, error.headers);
  if (isDependencyUnavailable(error)) {
    return new Response(unavailableProblemBody(error), {
      status: 503,
      headers: { "Content-Type": "application/problem+json", "Cache-Control": "no-store", "Retry-After": String(error.retryAfterSeconds) },
    });
  }
  if (isAppError(error)) {
    // The domain's 400 is a refusal of well-formed input (a name taken, a bad destination).
    const status = error.status === 400 ? 422 : error.status;
    const retryAfter = (error as { retryAfter?: unknown }).retryAfter;
    const headers: Record<string, string> = typeof retryAfter === "number" ? { "Retry-After": String(retryAfter) } : {};
    const errors = Object.entries(error.fieldErrors).map(([name, detail]) => ({ pointer: `/body/${name}`, detail }));
    if (isProblemStatus(status)) return problem(status, error.message, errors, headers);
  }
  throw error;
}
