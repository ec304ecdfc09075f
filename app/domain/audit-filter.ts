/** The audit viewer's filter fields: query-string names shared by the page, its links and the CSV export. */
export const AUDIT_FILTER_FIELDS = ["actor", "action", "outcome", "targetType", "targetId", "ip", "from", "to"] as const;

export type AuditFilterField = (typeof AUDIT_FILTER_FIELDS)[number];
