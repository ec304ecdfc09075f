/** What the browser also needs of legal holds (legal-holds.server.ts has the rest). */

export const HOLD_TARGET_TYPES = ["user", "folder", "file"] as const;
export type HoldTargetType = (typeof HOLD_TARGET_TYPES)[number];
/** A placing's or a release's reason, at most. */
export const HOLD_REASON_MAX = 500;
