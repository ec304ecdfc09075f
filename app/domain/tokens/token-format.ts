import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * A token reads `coffer_pat_<id>_<secret>`: the id (public, 96 random bits in hex) finds the row,
 * the secret (256 random bits, base64url) proves possession. The fixed prefix lets secret
 * scanners and the log redaction recognise a token.
 */
export const TOKEN_PREFIX = "coffer_pat_";
const TOKEN_PATTERN = /^coffer_pat_([0-9a-f]{24})_([A-Za-z0-9_-]{43})$/;
/** Anything shaped like a token, anywhere in a text (for redaction). */
export const TOKEN_LIKE = /coffer_pat_[A-Za-z0-9_-]+/g;

export function newTokenParts(): { id: string; secret: string; token: string } {
  const id = randomBytes(12).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  return { id, secret, token: `${TOKEN_PREFIX}${id}_${secret}` };
}

export function parseToken(token: string): { id: string; secret: string } | null {
  const match = TOKEN_PATTERN.exec(token);
  return match ? { id: match[1], secret: match[2] } : null;
}

/**
 * One SHA-256 is enough: the secret is 256 random bits, so unlike a password there is no
 * dictionary to try and a slow hash would only slow every API request down.
 */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const actual = Buffer.from(hashSecret(secret), "hex");
  const expected = Buffer.from(storedHash, "hex");
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
