import type { RateLimitClass } from "~/config.server";
import { CacheError, isCacheUnavailable } from "~/services/cache/types";
import type { Services } from "~/services/index.server";
import { countRateLimitRefusal } from "~/services/metrics.server";
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
 *
 * While Redis is down each instance counts in its own memory (Cache.orLocal): the limit still
 * holds per instance, and refusing every request (or answering 500) would turn a cache outage
 * into a full outage. Should even that fail, the request is let through and a warning logged.
 */
export async function rateLimit(services: Services, key: string, options: RateLimitOptions): Promise<RateLimitState> {
  let counted: { count: number; resetMs: number };
  try {
    counted = await services.cache.orLocal.increment(`rate:${key}`, options.windowMs);
  } catch (error) {
    if (!(error instanceof CacheError) && !isCacheUnavailable(error)) throw error;
    services.log.warn("rate limit skipped: the cache is unavailable", { limit: key.split(":")[0], error });
    return { count: 0, remaining: options.limit, resetMs: 0 };
  }
  const { count, resetMs } = counted;
  if (count > options.limit) {
    countRateLimitRefusal(key);
    const retryAfter = Math.max(1, Math.ceil(resetMs / 1000));
    throw new TooManyRequestsError(retryAfter, options.message?.(retryAfter));
  }
  return { count, remaining: options.limit - count, resetMs };
}

/** Counts one request of a class of routes from one client IP against the configured limit. */
export function limitByClass(services: Services, routeClass: RateLimitClass, ip: string | null, message?: (retryAfter: number) => string) {
  return rateLimit(services, `class-${routeClass}:${ip ?? "unknown"}`, { ...services.config.rateLimits[routeClass], message });
}

/**
 * Counts one request made with an access token against the API's limit, per token, besides
 * the count per address: a token used from many addresses gets no more, and one busy script
 * does not use up the budget of others behind the same address. The id is the token's public
 * part, so counting needs no database; a made-up id only adds a counter.
 */
export function limitByToken(services: Services, tokenId: string) {
  return rateLimit(services, `token-api:${tokenId}`, services.config.rateLimits.api);
}

/** Per-IP limits of the authentication forms; each action has its own counter in the "auth" class. */
function limitAuthAction(services: Services, action: string, ip: string | null, what: string) {
  return rateLimit(services, `auth-${action}:${ip ?? "unknown"}`, {
    ...services.config.rateLimits.auth,
    message: (seconds) => `Too many ${what} from your network. Please try again in ${describeWait(seconds)}.`,
  });
}

export const limitLoginAttempt = (services: Services, ip: string | null) => limitAuthAction(services, "login", ip, "login attempts");
export const limitRegistration = (services: Services, ip: string | null) => limitAuthAction(services, "register", ip, "sign-ups");
export const limitPasswordResetRequest = (services: Services, ip: string | null) =>
  limitAuthAction(services, "password-reset", ip, "password reset requests");
export const limitMfaVerification = (services: Services, ip: string | null) =>
  limitAuthAction(services, "mfa", ip, "verification attempts");
/**
 * Challenges for passwordless passkey sign-in. Counted apart from login attempts: the login
 * page asks for one on every visit with JavaScript (passkey autofill), and asking proves nothing;
 * answering it (the verify step) is the login attempt.
 */
export const limitPasskeyChallenge = (services: Services, ip: string | null) =>
  limitAuthAction(services, "passkey-challenge", ip, "passkey requests");

/** "45 seconds", "1 minute", "12 minutes", "2 hours". */
export function describeWait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  const hours = Math.ceil(minutes / 60);
  return `${hours} hours`;
}
