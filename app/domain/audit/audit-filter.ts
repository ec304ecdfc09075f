/** The audit viewer's filter fields: query-string names shared by the page, its links and the CSV export. */
export const AUDIT_FILTER_FIELDS = ["actor", "action", "outcome", "targetType", "targetId", "ip", "from", "to"] as const;

export type AuditFilterField = (typeof AUDIT_FILTER_FIELDS)[number];

/** What an audit event can be about. */
export const AUDIT_TARGET_TYPES = [
  "user",
  "file",
  "folder",
  "share",
  "session",
  "token",
  "settings",
  "trash",
  "audit",
  "webhook",
  "announcement",
] as const;

export type AuditTargetType = (typeof AUDIT_TARGET_TYPES)[number];

/**
 * How an event ended: "failure" is an attempt that went wrong (a bad password at login),
 * "denied" a request that access rules refused (a revoked share, an expired link).
 */
export const AUDIT_OUTCOMES = ["success", "failure", "denied"] as const;

export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** How the admin audit page names each action (AuditAction in audit.server.ts). */
export const AUDIT_ACTION_LABELS: Readonly<Record<string, string>> = {
  "auth.login": "Login",
  "auth.logout": "Logout",
  "auth.locked": "Account locked",
  "auth.unlocked": "Account unlocked",
  "auth.password_changed": "Password changed",
  "auth.password_set": "Password set",
  "auth.reauth": "Identity confirmed at the provider",
  "auth.password_reset_requested": "Password reset requested",
  "auth.password_reset": "Password reset",
  "auth.mfa_enabled": "Two-step verification on",
  "auth.mfa_disabled": "Two-step verification off",
  "auth.mfa_challenge": "Two-step check",
  "auth.recovery_code_used": "Recovery code used",
  "auth.recovery_codes_regenerated": "Recovery codes renewed",
  "auth.passkey_added": "Passkey added",
  "auth.passkey_removed": "Passkey removed",
  "auth.sso_linked": "Single sign-on linked",
  "auth.session_revoked": "Session revoked",
  "auth.token_created": "Access token created",
  "auth.token_revoked": "Access token revoked",
  "webhook.created": "Webhook added",
  "webhook.updated": "Webhook changed",
  "webhook.enabled": "Webhook turned on",
  "webhook.disabled": "Webhook turned off",
  "webhook.deleted": "Webhook deleted",
  "webhook.secret_rotated": "Webhook secret replaced",
  "user.registered": "Account registered",
  "user.role_changed": "Role changed",
  "user.quota_changed": "Quota changed",
  "user.data_exported": "Data exported",
  "user.deleted": "Account deleted",
  "user.deactivated": "Account deactivated",
  "user.reactivated": "Account reactivated",
  "user.restored": "Deleted account restored",
  "user.purged": "Deleted account purged",
  "user.files_transferred": "Files given to another user",
  "share.created": "Share link created",
  "share.updated": "Share link changed",
  "share.revoked": "Share link revoked",
  "share.used": "Share link used",
  "share.password_failed": "Wrong share link password",
  "share.access_denied": "Shared item refused",
  "share.granted": "Shared with a user",
  "share.removed": "User share removed",
  "data.deleted": "Deleted forever",
  "data.trash_emptied": "Trash emptied",
  "data.retention_deleted": "Deleted by retention rules",
  "admin.retention_rule_added": "Retention rule added",
  "admin.retention_rule_removed": "Retention rule removed",
  "data.versions_purged": "Old versions deleted",
  "data.search_content_removed": "File text removed from search",
  "admin.settings_updated": "Settings changed",
  "admin.user_unlocked": "Account unlocked by an admin",
  "admin.audit_exported": "Audit log exported",
  "admin.encryption_key_rotated": "Encryption key rotated",
  "admin.jobs_retried": "Failed background jobs retried",
  "admin.announcement": "Announcement sent",
  "admin.job_run": "Background job run now",
  "audit.purged": "Old audit events deleted",
  "storage.checked": "Storage checked",
  "storage.orphan_quarantined": "Orphaned object quarantined",
  "storage.orphan_deleted": "Quarantined object deleted",
  "storage.expired_uploads_removed": "Expired uploads removed",
  "file.quarantined": "Malware found: file quarantined",
  "storage.moved_to_cold": "Unread files moved to the cold tier",
  "storage.restored_from_cold": "File brought back from the cold tier",
  "storage.migration_progress": "Objects moved by the storage migration",
  "storage.migration_finished": "Storage migration finished",
  "backup.pruned": "Old backups pruned",
};

/** "Login (auth.login)"; a name no longer written (or unknown) reads as itself. */
export function auditActionLabel(action: string): string {
  const label = Object.hasOwn(AUDIT_ACTION_LABELS, action) ? AUDIT_ACTION_LABELS[action] : undefined;
  return label ? `${label} (${action})` : action;
}
