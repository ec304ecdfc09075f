import { createHash } from "node:crypto";
import type { Services } from "~/services/index.server";
import { CacheError } from "~/services/cache/types";
import { recordAudit, type AuditActor } from "./audit.server";
import { NotFoundError, ServiceUnavailableError } from "./errors";
import { describeWait, TooManyRequestsError } from "./rate-limit.server";

/** The first lock lasts a minute and each further failure doubles it, up to an hour. */
const FIRST_LOCK_MS = 60_000;
const MAX_LOCK_MS = 3_600_000;
/** Failures are forgotten a day after the last one (or at a successful login). */
const STATE_TTL_MS = 24 * 3_600_000;

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
 * never tells anyone that an address is registered. The email is hashed in the key.
 */
export function lockoutKey(email: string): string {
  return `lockout:${createHash("sha256").update(email.trim().toLowerCase()).digest("base64url")}`;
}

async function readState(services: Services, email: string): Promise<LockoutState> {
  const raw = await services.cache.get(lockoutKey(email));
  if (!raw) return { failures: 0, lockedUntil: 0 };
  try {
    const parsed = JSON.parse(raw) as Partial<LockoutState>;
    return { failures: Number(parsed.failures) || 0, lockedUntil: Number(parsed.lockedUntil) || 0 };
  } catch {
    return { failures: 0, lockedUntil: 0 };
  }
}

/** Lock length after `failures` failed attempts: none before the free ones are used up. */
export function lockDurationMs(failures: number, freeFailures: number): number {
  if (failures < freeFailures) return 0;
  return Math.min(MAX_LOCK_MS, FIRST_LOCK_MS * 2 ** Math.min(failures - freeFailures, 20));
}

export function lockedMessage(retryAfter: number): string {
  return `Too many failed attempts for this account. Please try again in ${describeWait(retryAfter)}, or ask an administrator to unlock it.`;
}

/** Throws TooManyRequestsError while the email is locked. A cache outage lets the attempt through (logged). */
export async function assertNotLocked(services: Services, email: string): Promise<void> {
  let state: LockoutState;
  try {
    state = await readState(services, email);
  } catch (error) {
    if (!(error instanceof CacheError)) throw error;
    services.log.warn("account lockout skipped: the cache is unavailable", { error });
    return;
  }
  const waitMs = state.lockedUntil - Date.now();
  if (waitMs > 0) {
    const retryAfter = Math.ceil(waitMs / 1000);
    throw new TooManyRequestsError(retryAfter, lockedMessage(retryAfter));
  }
}

/**
 * Counts a failed attempt. Returns the new lock (with its length in seconds) when this
 * failure started one, so the caller can audit it; null otherwise.
 */
export async function recordFailedLogin(services: Services, email: string): Promise<{ lockedSeconds: number; failures: number } | null> {
  try {
    const state = await readState(services, email);
    const failures = state.failures + 1;
    const lockMs = lockDurationMs(failures, services.config.lockoutFreeFailures);
    const lockedUntil = lockMs > 0 ? Date.now() + lockMs : 0;
    await services.cache.set(lockoutKey(email), JSON.stringify({ failures, lockedUntil }), STATE_TTL_MS);
    return lockMs > 0 ? { lockedSeconds: Math.ceil(lockMs / 1000), failures } : null;
  } catch (error) {
    if (!(error instanceof CacheError)) throw error;
    services.log.warn("failed login not counted: the cache is unavailable", { error });
    return null;
  }
}

/** Forgets the failures: after a successful login, or when an admin unlocks the account. */
export async function clearFailedLogins(services: Services, email: string): Promise<void> {
  await services.cache.delete(lockoutKey(email)).catch((error: unknown) => {
    if (!(error instanceof CacheError)) throw error;
    services.log.warn("failed logins not cleared: the cache is unavailable", { error });
  });
}

/** Failures and lock of one email, for the admin page. */
export async function lockStatus(services: Services, email: string): Promise<LockStatus> {
  const state = await readState(services, email).catch(() => ({ failures: 0, lockedUntil: 0 }));
  return { failures: state.failures, lockedUntil: state.lockedUntil > Date.now() ? new Date(state.lockedUntil) : null };
}

/** An admin lifts a lock (and forgets the failures) of an account. */
export async function unlockAccount(services: Services, actor: AuditActor, userId: string): Promise<{ name: string }> {
  const user = userId ? await services.prisma.user.findUnique({ where: { id: userId }, select: { id: true, name: true, email: true } }) : null;
  if (!user) throw new NotFoundError("That user");
  const before = await lockStatus(services, user.email);
  await services.cache.delete(lockoutKey(user.email)).catch((error: unknown) => {
    if (error instanceof CacheError) throw new ServiceUnavailableError("The cache is unavailable, so the account could not be unlocked. Please try again shortly.");
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
