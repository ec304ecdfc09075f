import type { Services } from "~/services/index.server";
import { recordAudit, type AuditActor } from "../audit/audit.server";
import { currentRequestScope } from "../request-scope.server";

/**
 * Why someone was refused a shared item. "not-shared": no share grants it, nor ever did;
 * "share-revoked": the share that granted it was removed; "owner-deactivated": a share or link
 * exists but its owner's account is deactivated; "read-only": a read-only share, asked to change
 * something; the rest are share links: past their expiry, downloads used up. (A wrong link
 * password is recorded as `share.password_failed` instead, once per attempt.)
 */
export type ShareDenialReason = "not-shared" | "share-revoked" | "owner-deactivated" | "read-only" | "expired" | "exhausted";

/** How long one actor's refusals of one kind on one target count as one audit event. */
export const SHARE_DENIAL_AUDIT_TTL_MS = 10 * 60 * 1000;

export interface ShareDenial {
  targetType: "file" | "folder" | "share";
  targetId: string;
  reason: ShareDenialReason;
  details?: Record<string, string | number | boolean>;
}

/**
 * Records a refused access as `share.access_denied` with outcome "denied", at most once per
 * actor (user, or IP for visitors), target and reason per SHARE_DENIAL_AUDIT_TTL_MS, so a
 * crawler retrying a dead link cannot flood the log. Never fails the request it is part of.
 */
export async function recordShareDenial(services: Services, actor: AuditActor, denial: ShareDenial): Promise<void> {
  const who = actor.actorId ?? `ip:${actor.ip ?? "unknown"}`;
  const key = `share-denied-audit:${who}:${denial.targetType}:${denial.targetId}:${denial.reason}`;
  if (!(await firstInWindow(services, key))) return;
  try {
    await recordAudit(services.prisma, actor, {
      action: "share.access_denied",
      outcome: "denied",
      targetType: denial.targetType,
      targetId: denial.targetId,
      details: { reason: denial.reason, ...denial.details },
    });
  } catch (error) {
    services.log.warn("could not record a refused share access", { targetId: denial.targetId, error });
  }
}

/**
 * Whether this is the first refusal of its kind in the window. A lock that is never released
 * is an atomic "once per window" (as for share page views). With Redis down each instance
 * throttles on its own (orLocal); should that fail too, the throttle fails open: a refusal
 * recorded twice is better than one not recorded.
 */
async function firstInWindow(services: Services, key: string): Promise<boolean> {
  try {
    return (await services.cache.orLocal.tryLock(key, SHARE_DENIAL_AUDIT_TTL_MS)) !== null;
  } catch (error) {
    services.log.warn("refused share access recorded without its throttle: the cache is unavailable", { error });
    return true;
  }
}

/**
 * The audit actor for a signed-in user refused deep inside a domain service, which has the
 * user but not the request: the address comes from the request scope the server set.
 */
export async function signedInAuditActor(services: Services, user: { id: string; email?: string }): Promise<AuditActor> {
  const scope = currentRequestScope();
  const email = user.email ?? (await services.prisma.user.findUnique({ where: { id: user.id }, select: { email: true } }))?.email;
  return { actorId: user.id, actorLabel: email ?? user.id, ip: scope?.ip ?? null, userAgent: scope?.userAgent ?? null };
}
