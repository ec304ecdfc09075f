/**
 * Errors the domain raises on purpose. Each carries the HTTP status and a message that is safe
 * to show to the person who caused it; anything else is an internal error and shown generically.
 */
/** Marks an AppError from any copy of this module (tests load the sources beside the build). */
const APP_ERROR = Symbol.for("coffer.AppError");

export class AppError extends Error {
  readonly [APP_ERROR] = true;

  constructor(
    readonly status: number,
    message: string,
    readonly fieldErrors: Record<string, string> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, fieldErrors: Record<string, string> = {}) {
    super(400, message, fieldErrors);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = "Please log in to continue.", fieldErrors: Record<string, string> = {}) {
    super(401, message, fieldErrors);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = "You do not have permission to do that.") {
    super(403, message);
  }
}

export class NotFoundError extends AppError {
  constructor(what = "That item") {
    super(404, `${what} was not found. It may have been moved or deleted.`);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, fieldErrors: Record<string, string> = {}) {
    super(409, message, fieldErrors);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message: string) {
    super(413, message);
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(message = "A storage service is unavailable right now. Nothing was lost; please try again shortly.") {
    super(503, message);
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError || (error instanceof Error && (error as Partial<Record<typeof APP_ERROR, boolean>>)[APP_ERROR] === true);
}
