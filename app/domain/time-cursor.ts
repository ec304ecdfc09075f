/**
 * The opaque cursor of a listing paged by (createdAt, id): the audit log and the activity page
 * (newest first) and the admin's account list (oldest first). Base64url of a JSON pair, so it survives a URL unescaped.
 */
export interface TimePosition {
  createdAt: Date;
  id: string;
}

export function encodeTimeCursor(position: TimePosition): string {
  return Buffer.from(JSON.stringify([position.createdAt.toISOString(), position.id])).toString("base64url");
}

/** The position a cursor encodes; null when it is not one of ours. */
export function decodeTimeCursor(cursor: string): TimePosition | null {
  if (cursor.length > 512) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== "string" || typeof value[1] !== "string") return null;
    const createdAt = new Date(value[0]);
    return Number.isNaN(createdAt.getTime()) || value[1].length === 0 || value[1].length > 100 ? null : { createdAt, id: value[1] };
  } catch {
    return null;
  }
}
