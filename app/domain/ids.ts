import { z } from "zod";

/**
 * The shape of every id Coffer hands out: Prisma cuids, tus upload ids (hex), share and reset
 * tokens (base64url). Anything else names nothing, and is refused before it reaches a query
 * (PostgreSQL refuses a NUL byte in text with an error, not an empty result).
 */
export const idSchema = z.string().regex(/^[A-Za-z0-9_-]{1,256}$/, "That is not a valid id.");

export function isId(value: unknown): value is string {
  return idSchema.safeParse(value).success;
}
