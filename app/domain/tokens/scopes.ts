/**
 * What a personal access token may do. The rules live here and nowhere else:
 * - `files:write` implies `files:read` (changing files without seeing them is no real limit);
 * - `shares` manages share links and shares with users, and implies nothing about files;
 * - `admin` reaches administration only when the token's user is an administrator, and grants
 *   nothing about files or shares;
 * - a browser session (no token) holds every scope; the role checks still apply to it.
 */
export const TOKEN_SCOPES = ["files:read", "files:write", "shares", "admin"] as const;

export type TokenScope = (typeof TOKEN_SCOPES)[number];

export const TOKEN_SCOPE_LABELS: Readonly<Record<TokenScope, string>> = {
  "files:read": "Read files and folders",
  "files:write": "Upload, change and delete files and folders (includes reading)",
  shares: "Manage share links and shares with people",
  admin: "Administration (administrators only)",
};

export interface Principal {
  user: { role: string };
  /** Absent for a browser session. */
  token?: { id: string; scopes: readonly string[] } | null;
}

export function isTokenScope(value: unknown): value is TokenScope {
  return typeof value === "string" && (TOKEN_SCOPES as readonly string[]).includes(value);
}

export function hasScope(principal: Principal, scope: TokenScope): boolean {
  if (scope === "admin" && principal.user.role !== "ADMIN") return false;
  if (!principal.token) return true;
  const granted = principal.token.scopes;
  if (granted.includes(scope)) return true;
  return scope === "files:read" && granted.includes("files:write");
}
