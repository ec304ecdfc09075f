import { createHmac, timingSafeEqual } from "node:crypto";
import type { Services } from "~/services/index.server";
import { ValidationError } from "../errors";
import { NOTIFIABLE_KINDS } from "./catalogue";
import { channelKey, channelsFor, setNotificationChannel } from "./preferences.server";

/**
 * One-click unsubscribe (RFC 8058, docs/events.md). Every notification email carries
 * `List-Unsubscribe: <APP_URL/unsubscribe/<token>>`; the token names the user and the kind and is
 * signed with an HMAC under the session secret, so it needs no login and no row of its own. A
 * POST to it turns that kind off. The digest's token names the kind `digest`: it turns off every
 * kind the person gets in the digest.
 *
 * Format: `<userId>-<kind as hex>-<base64url HMAC-SHA256 of "unsubscribe:<userId>:<kind>">`: only
 * letters, digits, `-` and `_` (an id's shape), and unambiguous since neither the cuid nor the hex
 * holds a `-`.
 */

export const DIGEST_KIND = "digest";
const TOKEN = /^([a-z0-9]{20,40})-((?:[0-9a-f]{2}){1,60})-([A-Za-z0-9_-]{43})$/;

function signature(secret: string, userId: string, kind: string): string {
  return createHmac("sha256", secret).update(`unsubscribe:${userId}:${kind}`).digest("base64url");
}

export function unsubscribeToken(secret: string, userId: string, kind: string): string {
  return `${userId}-${Buffer.from(kind).toString("hex")}-${signature(secret, userId, kind)}`;
}

/** The user and kind a token names, when its signature is ours; null for anything else. */
export function readUnsubscribeToken(secret: string, token: string): { userId: string; kind: string } | null {
  if (typeof token !== "string" || token.length > 200) return null;
  const match = TOKEN.exec(token);
  if (!match) return null;
  const [, userId, hex, mac] = match;
  const kind = Buffer.from(hex, "hex").toString("utf8");
  if (kind !== DIGEST_KIND && !NOTIFIABLE_KINDS.some((entry) => entry.kind === kind)) return null;
  const expected = Buffer.from(signature(secret, userId, kind));
  const given = Buffer.from(mac);
  return expected.length === given.length && timingSafeEqual(expected, given) ? { userId, kind } : null;
}

/** What the confirmation page names: the kind's label, or "the daily digest". */
export function unsubscribeLabel(kind: string): string {
  if (kind === DIGEST_KIND) return "The daily digest email";
  return NOTIFIABLE_KINDS.find((entry) => entry.kind === kind)?.label ?? kind;
}

/** Reads a token for the confirmation page; a forged or garbled one is a 400. */
export function checkUnsubscribeToken(
  services: Pick<Services, "sessionSecret">,
  token: string,
): { userId: string; kind: string; label: string } {
  const read = readUnsubscribeToken(services.sessionSecret, token);
  if (!read)
    throw new ValidationError("This unsubscribe link is not valid. Change your notifications in Settings → Notification settings.");
  return { ...read, label: unsubscribeLabel(read.kind) };
}

/**
 * Turns the token's kind off (the digest's: every kind on the digest). Idempotent; an account
 * deleted since changes nothing. Returns what was turned off, for the page.
 */
export async function unsubscribe(services: Pick<Services, "sessionSecret" | "prisma">, token: string): Promise<{ label: string }> {
  const { userId, kind, label } = checkUnsubscribeToken(services, token);
  await services.prisma.$transaction(async (tx) => {
    const user = await tx.user.findUnique({ where: { id: userId }, select: { id: true } });
    if (!user) return;
    if (kind !== DIGEST_KIND) {
      await setNotificationChannel(tx, userId, kind, "off");
      return;
    }
    const channels = await channelsFor(
      tx,
      NOTIFIABLE_KINDS.map((entry) => ({ userId, kind: entry.kind })),
    );
    for (const entry of NOTIFIABLE_KINDS)
      if (channels.get(channelKey(userId, entry.kind)) === "digest") await setNotificationChannel(tx, userId, entry.kind, "off");
  });
  return { label };
}
