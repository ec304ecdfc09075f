import type { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { metrics } from "~/services/metrics.server";
import type { AuditOutcome, AuditTargetType } from "./audit-filter";

/**
 * Security and data events. The names are dotted `area.event`; failures use the same name with
 * outcome "failure" (a failed login is `auth.login` + failure). The admin audit page names them
 * with AUDIT_ACTION_LABELS (audit-filter.ts).
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
  | "auth.token_created"
  | "auth.token_revoked"
  | "webhook.created"
  | "webhook.updated"
  | "webhook.enabled"
  | "webhook.disabled"
  | "webhook.deleted"
  | "webhook.secret_rotated"
  | "user.registered"
  | "user.role_changed"
  | "user.quota_changed"
  | "user.data_exported"
  | "user.deleted"
  | "user.deactivated"
  | "user.reactivated"
  | "user.restored"
  | "user.purged"
  | "user.files_transferred"
  | "share.created"
  | "share.updated"
  | "share.revoked"
  | "share.used"
  | "share.password_failed"
  | "share.access_denied"
  | "share.granted"
  | "share.removed"
  | "file.quarantined"
  | "data.deleted"
  | "data.trash_emptied"
  | "data.versions_purged"
  | "data.search_content_removed"
  | "admin.settings_updated"
  | "admin.user_unlocked"
  | "admin.audit_exported"
  | "admin.encryption_key_rotated"
  | "admin.jobs_retried"
  | "admin.announcement"
  | "admin.job_run"
  | "admin.hold_placed"
  | "admin.hold_released"
  | "admin.retention_rule_added"
  | "admin.retention_rule_removed"
  | "data.retention_deleted"
  | "audit.purged"
  | "storage.checked"
  | "storage.orphan_quarantined"
  | "storage.orphan_deleted"
  | "storage.moved_to_cold"
  | "storage.restored_from_cold"
  | "storage.migration_progress"
  | "storage.migration_finished"
  | "storage.expired_uploads_removed"
  | "backup.pruned";

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
  outcome?: AuditOutcome;
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
  /** The services, or inside a transaction its client. */
  db: Pick<Services["prisma"], "auditEvent"> | Pick<Services, "prisma">,
  actor: AuditActor,
  entry: AuditEntry,
): Promise<void> {
  await ("prisma" in db ? db.prisma : db).auditEvent.create({
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
export async function pseudonymiseAuditActor(
  db: Pick<Services["prisma"], "$executeRaw">,
  userId: string,
  pseudonym: string,
): Promise<number> {
  return db.$executeRaw`
    UPDATE "audit_events" SET "actor_label" = ${pseudonym}, "ip" = NULL, "user_agent" = NULL, "details" = '{}'
    WHERE "actor_id" = ${userId}`;
}

/**
 * Replaces a deleted account's email where other actors' rows name it (details such as
 * `user.role_changed`'s email or `share.granted`'s granteeEmail, the email typed at a failed
 * login, an actor label without the account's id) with the pseudonym its own rows got. Only
 * label and details change, as the append-only trigger allows: ids, actions and targets stay,
 * so the filters (target id, action, actor) find these rows as before.
 */
export async function pseudonymiseAuditMentions(
  db: Pick<Services["prisma"], "$queryRaw" | "$executeRaw">,
  userId: string,
  email: string,
  pseudonym: string,
): Promise<number> {
  const mention = new RegExp(email.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gi");
  let changed = 0;
  let after = "";
  for (;;) {
    const rows = await db.$queryRaw<Array<{ id: string; actor_label: string; details: Prisma.JsonValue }>>`
      SELECT id, actor_label, details FROM "audit_events"
      WHERE "actor_id" IS DISTINCT FROM ${userId} AND "id" > ${after}
        AND (strpos(lower("details"::text), lower(${email})) > 0 OR lower("actor_label") = lower(${email}))
      ORDER BY "id" LIMIT 500`;
    if (rows.length === 0) return changed;
    for (const row of rows) {
      const details = replaceInJson(row.details, mention, pseudonym);
      const label = row.actor_label.toLowerCase() === email.toLowerCase() ? pseudonym : row.actor_label;
      changed += await db.$executeRaw`
        UPDATE "audit_events" SET "actor_label" = ${label}, "details" = ${JSON.stringify(details)}::jsonb WHERE "id" = ${row.id}`;
    }
    after = rows[rows.length - 1].id;
  }
}

function replaceInJson(value: Prisma.JsonValue, pattern: RegExp, replacement: string): Prisma.JsonValue {
  if (typeof value === "string") return value.replace(pattern, replacement);
  if (Array.isArray(value)) return value.map((item) => replaceInJson(item, pattern, replacement));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key.replace(pattern, replacement), replaceInJson(item ?? null, pattern, replacement)]),
    );
  }
  return value;
}
