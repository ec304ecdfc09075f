/** What the browser also needs of retention rules (retention-rules.server.ts has the rest). */

export const RETENTION_KINDS = ["keep_at_least", "delete_after"] as const;
export type RetentionKind = (typeof RETENTION_KINDS)[number];
/** Only folders for now; labels later (the column is text). */
export const RETENTION_TARGET_TYPES = ["folder"] as const;
export type RetentionTargetType = (typeof RETENTION_TARGET_TYPES)[number];
/** A rule's days, at most (100 years; the database checks it too). */
export const RETENTION_DAYS_MAX = 36_600;
export const RETENTION_REASON_MAX = 500;

export const RETENTION_KIND_LABELS: Readonly<Record<RetentionKind, string>> = {
  keep_at_least: "Keep at least",
  delete_after: "Delete after",
};
