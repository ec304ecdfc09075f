import { data } from "@remix-run/node";
import { isAppError } from "~/domain/errors";

export interface ActionFailure {
  ok: false;
  message: string;
  fieldErrors: Record<string, string>;
}

/** Domain errors become a form result with the right status; anything else propagates (500). */
export function actionFailure(error: unknown) {
  if (isAppError(error)) {
    return data<ActionFailure>({ ok: false, message: error.message, fieldErrors: error.fieldErrors }, { status: error.status });
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
