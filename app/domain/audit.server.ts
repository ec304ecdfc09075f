import type { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { metrics } from "~/services/metrics.server";
import type { AuditTargetType } from "./audit-filter";

/**
 * Security and data events. The names are dotted `area.event`; failures use the same name with
 * outcome "failure" (a failed login is `auth.login` + failure).
 */
export type AuditAction =
  | "auth.login"
  | "auth.logout"
  | "auth.locked"
  | "auth.unlocked"
  | "auth.password_changed"
  | "auth.password_set"
  | "auth.reauth"
  | "auth.password_reset_requested"
  | "auth.password_reset"
  | "auth.mfa_enabled"
  | "auth.mfa_disabled"
  | "auth.mfa_challenge"
  | "auth.recovery_code_used"
  | "auth.recovery_codes_regenerated"
  | "auth.passkey_added"
  | "auth.passkey_removed"
  | "auth.sso_linked"
  | "auth.session_revoked"
  | "user.registered"
  | "user.role_changed"
  | "user.quota_changed"
  | "user.data_exported"
  | "user.deleted"
  | "user.deactivated"
  | "user.reactivated"
  | "user.files_transferred"
  | "share.created"
  | "share.updated"
  | "share.revoked"
  | "share.used"
  | "share.password_failed"
  | "share.granted"
  | "share.removed"
  | "data.deleted"
  | "data.trash_emptied"
  | "admin.settings_updated"
  | "admin.user_unlocked"
  | "admin.audit_exported"
  | "admin.encryption_key_rotated";

/** Who did it and from where; built once per request with {@link auditActor}. */
export interface AuditActor {
  actorId: string | null;
  /** The actor's email, "anonymous", or "system" for scheduled jobs. */
  actorLabel: string;
  ip: string | null;
  userAgent: string | null;
}

export interface AuditEntry {
  action: AuditAction;
  outcome?: "success" | "failure";
  targetType?: AuditTargetType;
  targetId?: string;
  details?: Prisma.InputJsonObject;
}

export function auditActor(request: Request, clientIp: string | null, user: { id: string; email: string } | null): AuditActor {
  return {
    actorId: user?.id ?? null,
    actorLabel: user?.email ?? "anonymous",
    ip: clientIp,
    userAgent: request.headers.get("user-agent")?.slice(0, 512) ?? null,
  };
}

/** Events nobody asked for at that moment, such as the hourly trash purge. */
export const SYSTEM_ACTOR: AuditActor = { actorId: null, actorLabel: "system", ip: null, userAgent: null };

/** Appends one event. Accepts a transaction client so the event commits with the change it records. */
export async function recordAudit(
  db: Pick<Services["prisma"], "auditEvent">,
  actor: AuditActor,
  entry: AuditEntry,
): Promise<void> {
  await db.auditEvent.create({
    data: {
      action: entry.action,
      outcome: entry.outcome ?? "success",
      actorId: actor.actorId,
      actorLabel: actor.actorLabel,
      ip: actor.ip,
      userAgent: actor.userAgent,
      targetType: entry.targetType ?? null,
      targetId: entry.targetId ?? null,
      details: entry.details ?? {},
    },
  });
  countLoginAttempt(entry);
}

/**
 * Every way of logging in (password, passkey, single sign-on, the second step) records its
 * outcome here, so the login counter is kept where no path can forget it.
 */
function countLoginAttempt(entry: AuditEntry): void {
  if (entry.action !== "auth.login") return;
  const reason = (entry.details as Record<string, unknown> | undefined)?.reason;
  const outcome = (entry.outcome ?? "success") === "success" ? "success" : reason === "locked" ? "locked" : "failure";
  metrics().loginAttempts.inc({ outcome });
}

/**
 * Replaces a deleted account's personal data in its audit rows with a stable pseudonym, keeping
 * the events themselves (what happened, when, to which target).
 */
export async function pseudonymiseAuditActor(db: Pick<Services["prisma"], "$executeRaw">, userId: string, pseudonym: string): Promise<number> {
  return db.$executeRaw`
    UPDATE "audit_events" SET "actor_label" = ${pseudonym}, "ip" = NULL, "user_agent" = NULL, "details" = '{}'
    WHERE "actor_id" = ${userId}`;
}
