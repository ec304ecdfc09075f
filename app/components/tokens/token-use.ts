import { formatDate } from "~/lib/format";

/** What a token list says about when a token expires (the settings page and the admin page alike). */
export function expiryText(token: { expiresAt: string | Date | null; expired: boolean }): string {
  if (!token.expiresAt) return "Never";
  return token.expired ? `Expired ${formatDate(token.expiresAt)}` : formatDate(token.expiresAt);
}

/** When, and from which address, a token was last used. */
export function lastUseText(token: { lastUsedAt: string | Date | null; lastUsedIp: string | null }): string {
  if (!token.lastUsedAt) return "Never used";
  return `${formatDate(token.lastUsedAt)}${token.lastUsedIp ? ` from ${token.lastUsedIp}` : ""}`;
}
