import { createHmac } from "node:crypto";
import type { Page } from "@playwright/test";

/** The e2e server's SESSION_SECRET (e2e/support/start-server.sh): the tests sign unsubscribe links with it. */
const E2E_SESSION_SECRET = "e2e-session-secret-0123456789abcdef-not-for-production";

/** The signed-in account's id, from the API (the session holds every scope). */
export async function myUserId(page: Page): Promise<string> {
  const response = await page.request.get("/api/v1/me");
  return ((await response.json()) as { id: string }).id;
}

/**
 * The unsubscribe link a notification email of `kind` carries (app/domain/events/unsubscribe.server.ts):
 * `<userId>-<kind as hex>-<base64url HMAC-SHA256 of "unsubscribe:<userId>:<kind>">`.
 */
export function unsubscribePath(userId: string, kind: string): string {
  const mac = createHmac("sha256", E2E_SESSION_SECRET).update(`unsubscribe:${userId}:${kind}`).digest("base64url");
  return `/unsubscribe/${userId}-${Buffer.from(kind).toString("hex")}-${mac}`;
}
