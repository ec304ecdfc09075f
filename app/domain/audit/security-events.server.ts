import type { Services } from "~/services/index.server";
import type { SessionUser } from "../accounts/sessions.server";

/** How each event reads in the user's own list; events without an entry are not shown there. */
const DESCRIPTIONS: Record<string, string> = {
  "auth.login": "Logged in",
  "auth.logout": "Logged out",
  "auth.locked": "Account locked after failed logins",
  "auth.unlocked": "Account unlocked",
  "auth.password_changed": "Password changed",
  "auth.password_set": "Password set",
  "auth.reauth": "Confirmed it's you at the sign-in provider",
  "auth.password_reset_requested": "Password reset link requested",
  "auth.password_reset": "Password reset with an emailed link",
  "auth.mfa_enabled": "Two-factor authentication turned on",
  "auth.mfa_disabled": "Two-factor authentication turned off",
  "auth.mfa_challenge": "Two-factor check",
  "auth.recovery_code_used": "Recovery code used",
  "auth.recovery_codes_regenerated": "New recovery codes created",
  "auth.passkey_added": "Passkey added",
  "auth.passkey_removed": "Passkey removed",
  "auth.sso_linked": "Single sign-on linked",
  "auth.session_revoked": "Session logged out",
  "auth.token_created": "Access token created",
  "auth.token_revoked": "Access token revoked",
  "user.role_changed": "Role changed",
  "user.deactivated": "Account deactivated by an administrator",
  "user.reactivated": "Account reactivated by an administrator",
};

export const SECURITY_EVENTS_SHOWN = 20;

/** The user's latest security events: done by them, or done to their account by anyone. */
export async function listMySecurityEvents(services: Services, user: SessionUser) {
  const rows = await services.prisma.auditEvent.findMany({
    where: {
      action: { in: Object.keys(DESCRIPTIONS) },
      OR: [{ actorId: user.id }, { targetType: "user", targetId: user.id }],
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: SECURITY_EVENTS_SHOWN,
    select: { id: true, createdAt: true, action: true, outcome: true, ip: true, details: true },
  });
  return rows.map((row) => ({
    id: row.id,
    createdAt: row.createdAt.toISOString(),
    description: describe(row.action, row.details),
    failed: row.outcome === "failure",
    ip: row.ip,
  }));
}

/** A passkey login reads as such, so people can tell it from a password login. */
function describe(action: string, details: unknown): string {
  const method = details && typeof details === "object" ? (details as { method?: unknown }).method : undefined;
  if (action === "auth.login" && method === "passkey") return "Logged in with a passkey";
  return DESCRIPTIONS[action] ?? action;
}
