import { data, type HeadersFunction } from "@remix-run/node";
import { isAppError } from "~/domain/errors";
import type { ActionFailure, ActionSuccess } from "~/lib/action-result";

export type { ActionFailure, ActionResult, ActionSuccess } from "~/lib/action-result";

/** A form's success, with what else the page shows (`extra`). */
export function actionSuccess<Extra extends object = object>(message: string, extra?: Extra) {
  return data<ActionSuccess<Extra>>({ ok: true, message, ...(extra as Extra) });
}

/**
 * Domain errors become a form result with the right status (and Retry-After on 429), with what
 * else the page needs to show it (`extra`); anything else propagates (500).
 */
export function actionFailure<Extra extends object = object>(error: unknown, extra?: Extra) {
  if (isAppError(error)) {
    const retryAfter = (error as { retryAfter?: unknown }).retryAfter;
    const headers: Record<string, string> =
      typeof retryAfter === "number" ? { "Retry-After": String(retryAfter), "Cache-Control": "no-store" } : {};
    return data<ActionFailure<Extra>>(
      { ok: false, message: error.message, fieldErrors: error.fieldErrors, ...(extra as Extra) },
      { status: error.status, headers },
    );
  }
  throw error;
}

/** Domain errors in loaders become error responses shown by the nearest ErrorBoundary. */
export function loaderFailure(error: unknown): never {
  if (isAppError(error)) throw data({ message: error.message }, { status: error.status });
  throw error;
}

export function badRequest(message: string, fieldErrors: Record<string, string> = {}) {
  return data<ActionFailure>({ ok: false, message, fieldErrors }, { status: 400 });
}

/** Route `headers` export that passes an action's Retry-After (429) on to the page response. */
export const retryAfterHeaders: HeadersFunction = ({ actionHeaders, loaderHeaders }) => {
  const headers = new Headers();
  for (const source of [loaderHeaders, actionHeaders]) {
    for (const name of ["Retry-After", "Cache-Control"]) {
      const value = source.get(name);
      if (value) headers.set(name, value);
    }
  }
  return headers;
};
