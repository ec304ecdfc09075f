/** The audit viewer's filter fields: query-string names shared by the page, its links and the CSV export. */
export const AUDIT_FILTER_FIELDS = ["actor", "action", "outcome", "targetType", "targetId", "ip", "from", "to"] as const;

export type AuditFilterField = (typeof AUDIT_FILTER_FIELDS)[number];

/** What an audit event can be about. */
export const AUDIT_TARGET_TYPES = ["user", "file", "folder", "share", "session", "settings", "trash", "audit"] as const;

export type AuditTargetType = (typeof AUDIT_TARGET_TYPES)[number];
