import { createHash } from "node:crypto";
import type { Services } from "~/services/index.server";
import { CacheError, isCacheUnavailable, type Cache } from "~/services/cache/types";
import { recordAudit, type AuditActor } from "../audit/audit.server";
import { NotFoundError, ServiceUnavailableError } from "../errors";
import { describeWait, TooManyRequestsError } from "../rate-limit.server";

/** The first lock lasts a minute and each further failure doubles it, up to an hour. */
const FIRST_LOCK_MS = 60_000;
const MAX_LOCK_MS = 3_600_000;
/** Failures are forgotten a day after the first one (or at a successful login or an unlock). */
const FAILURES_TTL_MS = 24 * 3_600_000;

interface LockoutState {
  failures: number;
  /** Epoch ms; 0 when not locked. */
  lockedUntil: number;
}

export interface LockStatus {
  failures: number;
  lockedUntil: Date | null;
}

/**
 * Locks are kept per submitted email, whether or not an account has it, so a lock message
 * never tells anyone that an address is registered. The email is hashed in the keys. The
 * failure count is an atomic counter, so parallel guesses cannot slip past it.
 *
 * While Redis is down, failures are counted and locks kept in each instance's memory
 * (Cache.orLocal) and still apply after it returns, until they expire: a guesser gets at most
 * the free failures once per instance, where refusing every login would lock everyone out and
 * not counting would allow unlimited guesses. See docs/decisions/0007.
 */
/**
 * Which sign-in the lock is for. `webdav`: app passwords at /dav/, counted per account (the
 * Basic user name) or per token (Bearer) and apart from logins, so a sync client that keeps
 * trying a revoked app password does not lock its owner out of the pages.
 */
export type LockoutScope = "login" | "webdav";

export function lockoutKeys(email: string, scope: LockoutScope = "login"): { failures: string; until: string } {
  const id = createHash("sha256").update(email.trim().toLowerCase()).digest("base64url");
  const prefix = scope === "login" ? "lockout" : `${scope}-lockout`;
  return { failures: `${prefix}-failures:${id}`, until: `${prefix}-until:${id}` };
}

async function readState(services: Services, email: string, scope: LockoutScope = "login"): Promise<LockoutState> {
  const keys = lockoutKeys(email, scope);
  const cache = services.cache.orLocal;
  const [failures, until] = await Promise.all([cache.get(keys.failures), cache.get(keys.until)]);
  return { failures: Number(failures) || 0, lockedUntil: Number(until) || 0 };
}

/** Lock length after `failures` failed attempts: none before the free ones are used up. */
export function lockDurationMs(failures: number, freeFailures: number): number {
  if (failures < freeFailures) return 0;
  return Math.min(MAX_LOCK_MS, FIRST_LOCK_MS * 2 ** Math.min(failures - freeFailures, 20));
}

export function lockedMessage(retryAfter: number): string {
  return `Too many failed attempts for this account. Please try again in ${describeWait(retryAfter)}, or ask an administrator to unlock it.`;
}

/**
 * Throws TooManyRequestsError while the email is locked; otherwise returns the failures counted
 * so far. A cache outage lets the attempt through (logged).
 */
export async function assertNotLocked(services: Services, email: string, scope: LockoutScope = "login"): Promise<number> {
  let state: LockoutState;
  try {
    state = await readState(services, email, scope);
  } catch (error) {
    if (!isCacheFailure(error)) throw error;
    services.log.warn("account lockout skipped: the cache is unavailable", { error });
    return 0;
  }
  const waitMs = state.lockedUntil - Date.now();
  if (waitMs > 0) {
    const retryAfter = Math.ceil(waitMs / 1000);
    throw new TooManyRequestsError(retryAfter, lockedMessage(retryAfter));
  }
  return state.failures;
}

/**
 * Counts a failed attempt. Returns the new lock (with its length in seconds) when this
 * failure started one, so the caller can audit it; null otherwise.
 */
export async function recordFailedLogin(
  services: Services,
  email: string,
  scope: LockoutScope = "login",
): Promise<{ lockedSeconds: number; failures: number } | null> {
  try {
    const keys = lockoutKeys(email, scope);
    const cache = services.cache.orLocal;
    const { count: failures } = await cache.increment(keys.failures, FAILURES_TTL_MS);
    const lockMs = lockDurationMs(failures, services.config.lockoutFreeFailures);
    if (lockMs === 0) return null;
    await cache.set(keys.until, String(Date.now() + lockMs), lockMs);
    return { lockedSeconds: Math.ceil(lockMs / 1000), failures };
  } catch (error) {
    if (!isCacheFailure(error)) throw error;
    services.log.warn("failed login not counted: the cache is unavailable", { error });
    return null;
  }
}

function forget(cache: Cache, email: string, scope: LockoutScope = "login"): Promise<void> {
  const keys = lockoutKeys(email, scope);
  return Promise.all([cache.delete(keys.failures), cache.delete(keys.until)]).then(() => undefined);
}

const isCacheFailure = (error: unknown) => error instanceof CacheError || isCacheUnavailable(error);

/** Forgets the failures: after a successful login, or when an admin unlocks the account. */
export async function clearFailedLogins(services: Services, email: string, scope: LockoutScope = "login"): Promise<void> {
  await forget(services.cache.orLocal, email, scope).catch((error: unknown) => {
    if (!isCacheFailure(error)) throw error;
    services.log.warn("failed logins not cleared: the cache is unavailable", { error });
  });
}

/** Failures and lock of one email, for the admin page: of logins or of WebDAV, whichever is worse. */
export async function lockStatus(services: Services, email: string): Promise<LockStatus> {
  const none = { failures: 0, lockedUntil: 0 };
  const [login, webdav] = await Promise.all([
    readState(services, email).catch(() => none),
    readState(services, email, "webdav").catch(() => none),
  ]);
  const lockedUntil = Math.max(login.lockedUntil, webdav.lockedUntil);
  return { failures: Math.max(login.failures, webdav.failures), lockedUntil: lockedUntil > Date.now() ? new Date(lockedUntil) : null };
}

/** An admin lifts a lock (and forgets the failures) of an account. */
export async function unlockAccount(services: Services, actor: AuditActor, userId: string): Promise<{ name: string }> {
  const user = userId
    ? await services.prisma.user.findUnique({ where: { id: userId }, select: { id: true, name: true, email: true } })
    : null;
  if (!user) throw new NotFoundError("That user");
  const before = await lockStatus(services, user.email);
  // Fails closed: an unlock that reached only this instance's memory would come undone when
  // Redis returns, after the admin was told it worked.
  await Promise.all([forget(services.cache, user.email), forget(services.cache, user.email, "webdav")])
    .then(() => Promise.all([forget(services.cache.orLocal, user.email), forget(services.cache.orLocal, user.email, "webdav")]))
    .catch((error: unknown) => {
      if (isCacheFailure(error))
        throw new ServiceUnavailableError("The cache is unavailable, so the account could not be unlocked. Please try again shortly.");
      throw error;
    });
  await recordAudit(services.prisma, actor, {
    action: "admin.user_unlocked",
    targetType: "user",
    targetId: user.id,
    details: { failures: before.failures, wasLocked: before.lockedUntil !== null },
  });
  return { name: user.name };
}
