import type { Services } from "~/services/index.server";
import { AppError } from "./errors";

/** Too many attempts in the current window. `retryAfter` is in whole seconds (for Retry-After). */
export class TooManyRequestsError extends AppError {
  constructor(
    readonly retryAfter: number,
    message = `Too many requests. Please try again in ${describeWait(retryAfter)}.`,
  ) {
    super(429, message);
  }
}

export interface RateLimitOptions {
  /** Requests allowed per window. */
  limit: number;
  windowMs: number;
  /** Overrides the default message; receives the wait in seconds. */
  message?: (retryAfter: number) => string;
}

export interface RateLimitState {
  count: number;
  remaining: number;
  resetMs: number;
}

/**
 * Fixed-window limit on `key` (shared by every app instance when the cache is Redis). Counts
 * this request and throws TooManyRequestsError once the window holds more than `limit`.
 * Keys should name the purpose and the subject, e.g. `share-view:<ip>:<token>`.
 */
export async function rateLimit(services: Services, key: string, options: RateLimitOptions): Promise<RateLimitState> {
  const { count, resetMs } = await services.cache.increment(`rate:${key}`, options.windowMs);
  if (count > options.limit) {
    const retryAfter = Math.max(1, Math.ceil(resetMs / 1000));
    throw new TooManyRequestsError(retryAfter, options.message?.(retryAfter));
  }
  return { count, remaining: options.limit - count, resetMs };
}

/** "45 seconds", "1 minute", "12 minutes", "2 hours". */
export function describeWait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  const hours = Math.ceil(minutes / 60);
  return `${hours} hours`;
}
