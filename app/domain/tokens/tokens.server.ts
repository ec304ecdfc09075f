import { z } from "zod";
import type { Services } from "~/services/index.server";
import { setLogUser } from "~/services/log-context.server";
import { AppError, ForbiddenError, NotFoundError, ValidationError } from "../errors";
import { getSettings } from "../admin/settings.server";
import { recordAudit, type AuditActor } from "../audit/audit.server";
import type { SessionUser } from "../accounts/sessions.server";
import { decodeTimeCursor, encodeTimeCursor, type TimePosition } from "../time-cursor";
import { TOKEN_SCOPES, type TokenScope } from "./scopes";
import { hashSecret, newTokenParts, parseToken, secretMatches } from "./token-format";

const DAY_MS = 24 * 3600 * 1000;
/** Refresh last-used at most this often, so an API client's every request is not a write. */
const TOUCH_INTERVAL_MS = 60 * 1000;
/** Live (unrevoked) tokens one person may hold: enough for every script, bounds the table. */
export const MAX_LIVE_TOKENS = 100;

/**
 * Every way a bearer token fails (unknown, malformed, expired, revoked, account deactivated)
 * answers the same, so the answer tells a guesser nothing. `reason` is for tests and logs only.
 */
export class TokenAuthenticationError extends AppError {
  constructor(readonly reason: "malformed" | "unknown" | "expired" | "revoked" | "deactivated") {
    super(401, "The access token is not valid. It may have expired or been revoked.");
  }
}

export interface TokenPrincipal {
  user: SessionUser;
  token: { id: string; scopes: TokenScope[] };
}

export interface TokenSummary {
  id: string;
  name: string;
  scopes: TokenScope[];
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
  revokedAt: Date | null;
  expired: boolean;
}

const CONTROL_OR_INVISIBLE = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

export const createTokenSchema = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1, "Name the token after what will use it.")
    .max(100, "Name is too long (at most 100 characters).")
    .refine((name) => !CONTROL_OR_INVISIBLE.test(name), "Name cannot contain control or invisible characters."),
  scopes: z
    .array(z.enum(TOKEN_SCOPES, "Choose from the listed scopes."))
    .min(1, "Choose at least one scope.")
    .transform((scopes) => TOKEN_SCOPES.filter((scope) => scopes.includes(scope))),
  expiresAt: z.date().nullable(),
});

export type CreateTokenInput = z.input<typeof createTokenSchema>;

/** Creates a token; the returned `secret` (the whole token) is shown once and never stored. */
export async function createToken(
  services: Services,
  user: Pick<SessionUser, "id" | "role">,
  input: unknown,
  actor: AuditActor,
): Promise<{ secret: string; token: TokenSummary }> {
  const parsed = createTokenSchema.safeParse(input);
  if (!parsed.success) {
    const fieldErrors: Record<string, string> = {};
    for (const issue of parsed.error.issues) fieldErrors[String(issue.path[0] ?? "form")] ??= issue.message;
    throw new ValidationError("Please correct the highlighted fields.", fieldErrors);
  }
  const { name, scopes, expiresAt } = parsed.data;
  if (scopes.includes("admin") && user.role !== "ADMIN") {
    throw new ValidationError("Please correct the highlighted fields.", {
      scopes: "Only administrators can create tokens with the admin scope.",
    });
  }
  const now = Date.now();
  if (expiresAt && expiresAt.getTime() <= now) {
    throw new ValidationError("Please correct the highlighted fields.", { expiresAt: "Choose an expiry in the future." });
  }
  const settings = await getSettings(services);
  if (settings.tokensMustExpire) {
    if (!expiresAt) {
      throw new ValidationError("Please correct the highlighted fields.", { expiresAt: "Tokens must have an expiry date here." });
    }
    // A day of slack, so "N days" chosen just before midnight is not refused.
    if (expiresAt.getTime() > now + (settings.tokenMaxDays + 1) * DAY_MS) {
      throw new ValidationError("Please correct the highlighted fields.", {
        expiresAt: `Tokens can last at most ${settings.tokenMaxDays} days here.`,
      });
    }
  }
  const live = await services.prisma.apiToken.count({ where: { userId: user.id, revokedAt: null } });
  if (live >= MAX_LIVE_TOKENS) {
    throw new ValidationError(`You already have ${MAX_LIVE_TOKENS} tokens. Revoke one you no longer use first.`);
  }
  const parts = newTokenParts();
  const record = await services.prisma.$transaction(async (tx) => {
    const created = await tx.apiToken.create({
      data: { id: parts.id, userId: user.id, name, secretHash: hashSecret(parts.secret), scopes: scopes.join(" "), expiresAt },
    });
    await recordAudit(tx, actor, {
      action: "auth.token_created",
      targetType: "token",
      targetId: created.id,
      details: { name, scopes, expiresAt: expiresAt?.toISOString() ?? null },
    });
    return created;
  });
  return { secret: parts.token, token: summarise(record, now) };
}

type TokenRow = {
  id: string;
  name: string;
  scopes: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
  revokedAt: Date | null;
};

function grantedScopes(stored: string): TokenScope[] {
  const words = stored.split(" ");
  return TOKEN_SCOPES.filter((scope) => words.includes(scope));
}

function summarise(row: TokenRow, now = Date.now()): TokenSummary {
  return {
    id: row.id,
    name: row.name,
    scopes: grantedScopes(row.scopes),
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    lastUsedAt: row.lastUsedAt,
    lastUsedIp: row.lastUsedIp,
    revokedAt: row.revokedAt,
    expired: row.expiresAt !== null && row.expiresAt.getTime() <= now,
  };
}

/** The person's unrevoked tokens, newest first (expired ones too, marked, until revoked). */
export async function listTokens(services: Services, user: Pick<SessionUser, "id">): Promise<TokenSummary[]> {
  const rows = await services.prisma.apiToken.findMany({
    where: { userId: user.id, revokedAt: null },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
  });
  const now = Date.now();
  return rows.map((row) => summarise(row, now));
}

export interface AdminTokenSummary extends TokenSummary {
  user: { id: string; email: string; name: string };
}

export const ADMIN_TOKENS_SHOWN = 200;

/** Everyone's unrevoked tokens for administrators, optionally of the accounts whose email contains `userFilter`. */
export async function listAllTokens(services: Services, admin: Pick<SessionUser, "role">, userFilter = ""): Promise<AdminTokenSummary[]> {
  const page = await pageAllTokens(services, admin, { email: userFilter, limit: ADMIN_TOKENS_SHOWN });
  return page.tokens;
}

/** The position a cursor of {@link pageAllTokens} encodes; null when it is not one. */
export function decodeTokenCursor(cursor: string): TimePosition | null {
  return decodeTimeCursor(cursor);
}

/**
 * Everyone's unrevoked tokens for administrators a page at a time, newest first, optionally only
 * those of one account (`userId`) or of the accounts whose email contains `email` (any case);
 * keyset paging, so a page costs the same anywhere.
 */
export async function pageAllTokens(
  services: Services,
  admin: Pick<SessionUser, "role">,
  query: { email?: string; userId?: string; cursor?: string | null; limit: number },
): Promise<{ tokens: AdminTokenSummary[]; nextCursor: string | null }> {
  if (admin.role !== "ADMIN") throw new ForbiddenError();
  const after = query.cursor ? decodeTokenCursor(query.cursor) : null;
  if (query.cursor && !after) throw new ValidationError("That page of tokens does not exist. Start again from the first.");
  const email = (query.email ?? "").trim().slice(0, 254);
  const rows = await services.prisma.apiToken.findMany({
    where: {
      revokedAt: null,
      ...(query.userId !== undefined ? { userId: query.userId } : {}),
      // LIKE's wildcards are matched as themselves: a filter of "%" finds emails with a "%".
      ...(email ? { user: { email: { contains: email.replace(/[\\%_]/g, (c) => `\\${c}`), mode: "insensitive" as const } } } : {}),
      ...(after ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] } : {}),
    },
    include: { user: { select: { id: true, email: true, name: true } } },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  const now = Date.now();
  return {
    tokens: page.map((row) => ({ ...summarise(row, now), user: row.user })),
    nextCursor: rows.length > query.limit ? encodeTimeCursor(page.at(-1)!) : null,
  };
}

/** A token's public id (see token-format.ts); anything else names no token. */
const TOKEN_ID = /^[0-9a-f]{24}$/;

/** One of the person's own unrevoked tokens; anyone else's (or a revoked or unknown one) is not found. */
export async function getToken(services: Services, user: Pick<SessionUser, "id">, tokenId: string): Promise<TokenSummary> {
  if (typeof tokenId !== "string" || !TOKEN_ID.test(tokenId)) throw new NotFoundError("That token");
  const row = await services.prisma.apiToken.findFirst({ where: { id: tokenId, userId: user.id, revokedAt: null } });
  if (!row) throw new NotFoundError("That token");
  return summarise(row);
}

/**
 * Revokes a token at once: its next request fails. People revoke their own; administrators
 * anyone's. Someone else's (or an unknown, or an already revoked) token is not found.
 */
export async function revokeToken(
  services: Services,
  user: Pick<SessionUser, "id" | "role">,
  tokenId: string,
  actor: AuditActor,
): Promise<void> {
  if (typeof tokenId !== "string" || !TOKEN_ID.test(tokenId)) throw new NotFoundError("That token");
  const where = { id: tokenId, revokedAt: null, ...(user.role === "ADMIN" ? {} : { userId: user.id }) };
  await services.prisma.$transaction(async (tx) => {
    const token = await tx.apiToken.findFirst({ where, select: { userId: true, name: true } });
    if (!token) throw new NotFoundError("That token");
    const { count } = await tx.apiToken.updateMany({ where, data: { revokedAt: new Date() } });
    if (count === 0) throw new NotFoundError("That token");
    await recordAudit(tx, actor, {
      action: "auth.token_revoked",
      targetType: "token",
      targetId: tokenId,
      details: { name: token.name, ownerId: token.userId },
    });
  });
}

/** The token in an `Authorization: Bearer …` header, or null when the header is not of that scheme. */
export function bearerToken(authorization: string | null | undefined): string | null {
  if (!authorization) return null;
  const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(authorization);
  return match ? match[1] : null;
}

/** The public id of the access token in an Authorization header, or null (nothing is verified). */
export function accessTokenId(authorization: string | null | undefined): string | null {
  const raw = bearerToken(authorization);
  return raw ? (parseToken(raw)?.id ?? null) : null;
}

/** True when the header claims the Bearer scheme at all (well-formed or not). */
export function isBearerAuthorization(authorization: string | null | undefined): boolean {
  return typeof authorization === "string" && /^\s*Bearer(\s|$)/i.test(authorization);
}

interface BearerRow {
  secretHash: string;
  scopes: string;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
  userId: string;
  email: string;
  name: string;
  role: "USER" | "ADMIN";
  deactivatedAt: Date | null;
}

/**
 * The principal of an `Authorization: Bearer coffer_pat_…` header. Any failure throws
 * TokenAuthenticationError (401) with one message. The row is found by the public id and the
 * secret compared in constant time, so response times do not reveal how much of a guess matched.
 */
export async function authenticateBearer(
  services: Services,
  authorization: string | null | undefined,
  ip: string | null,
): Promise<TokenPrincipal> {
  const raw = bearerToken(authorization);
  const parts = raw ? parseToken(raw) : null;
  if (!parts) throw new TokenAuthenticationError("malformed");
  const [row] = await services.prisma.$queryRaw<BearerRow[]>`
    SELECT t.secret_hash AS "secretHash", t.scopes, t.expires_at AS "expiresAt", t.revoked_at AS "revokedAt",
      t.last_used_at AS "lastUsedAt", t.last_used_ip AS "lastUsedIp",
      u.id AS "userId", u.email, u.name, u.role::text AS role, u.deactivated_at AS "deactivatedAt"
    FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ${parts.id}`;
  if (!row || !secretMatches(parts.secret, row.secretHash)) throw new TokenAuthenticationError("unknown");
  const now = Date.now();
  if (row.revokedAt) throw new TokenAuthenticationError("revoked");
  if (row.expiresAt && row.expiresAt.getTime() <= now) throw new TokenAuthenticationError("expired");
  if (row.deactivatedAt) throw new TokenAuthenticationError("deactivated");
  if (!row.lastUsedAt || now - row.lastUsedAt.getTime() >= TOUCH_INTERVAL_MS) {
    await services.prisma.apiToken
      .updateMany({ where: { id: parts.id }, data: { lastUsedAt: new Date(now), lastUsedIp: ip } })
      .catch(() => {});
  }
  setLogUser(row.userId);
  return {
    // No browser session stands behind a token; this id matches no session, so nothing that
    // needs one (a recent confirmation, "this device") is granted.
    user: { id: row.userId, email: row.email, name: row.name, role: row.role, sessionId: `token:${parts.id}` },
    token: { id: parts.id, scopes: grantedScopes(row.scopes) },
  };
}
