import { createHash } from "node:crypto";

/**
 * A strong ETag over everything a representation says (its JSON), so any visible change changes
 * it. 27 base64url characters keep 160 bits of the SHA-256.
 */
export function entityTag(value: unknown): string {
  return `"${createHash("sha256").update(JSON.stringify(value)).digest("base64url").slice(0, 27)}"`;
}
