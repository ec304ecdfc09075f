import { randomBytes } from "node:crypto";
import type { Services } from "~/services/index.server";
import type { BulkOutcome } from "./bulk.server";

/**
 * The summary of a bulk action, kept after its POST redirects to `/bulk?result=<token>` so a
 * reload shows the summary again instead of repeating the action. It lives in the cache (shared
 * by all instances), under a key that holds the user's id, so only that user can read it. While
 * Redis is down it is kept in this instance's memory (Cache.orLocal): the summary is a courtesy,
 * and the action itself must not fail for it.
 */
export type StoredBulkResult = { outcome: BulkOutcome; back: string; destinationId: string | null };

/** How long the summary of a bulk action stays available at its result address. */
export const BULK_RESULT_TTL_MS = 30 * 60 * 1000;

/** 12 random bytes in base64url: exactly 16 characters of this alphabet. */
const TOKEN = /^[A-Za-z0-9_-]{16}$/;

const resultKey = (userId: string, token: string) => `bulk-result:${userId}:${token}`;

/** Stores the summary for this user; returns the token of its result address. */
export async function storeBulkResult(services: Services, userId: string, result: StoredBulkResult): Promise<string> {
  const token = randomBytes(12).toString("base64url");
  await services.cache.orLocal.set(resultKey(userId, token), JSON.stringify(result), BULK_RESULT_TTL_MS);
  return token;
}

/** The summary behind a token, or null when the token is malformed, expired or someone else's. */
export async function loadBulkResult(services: Services, userId: string, token: string): Promise<StoredBulkResult | null> {
  if (!TOKEN.test(token)) return null;
  const raw = await services.cache.orLocal.get(resultKey(userId, token));
  return raw ? (JSON.parse(raw) as StoredBulkResult) : null;
}
