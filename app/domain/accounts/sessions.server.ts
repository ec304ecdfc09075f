import { createHash, randomBytes } from "node:crypto";
import type { Services } from "~/services/index.server";
import { describeUserAgent } from "~/lib/user-agent";
import { assertAccountActive } from "./account-status.server";
import { AppError, NotFoundError } from "../errors";
import { getSettings } from "../admin/settings.server";
import type { PublicUser } from "./users.server";
import { appCookie, cookiesAreSecure, type SignedCookie } from "~/lib/cookies.server";
import { markActive } from "../analytics/usage.server";
import { setLogUser } from "~/services/log-context.server";
import { currentRequestScope } from "../request-scope.server";
import { sessionCacheOf, sessionKeyOf } from "./session-cache.server";
import { appendEvent } from "../events/outbox.server";
import { localeFromAcceptLanguage } from "../events/preferences.server";
import type { Prisma } from "~/generated/prisma/client";

/**
 * Over HTTPS in production the name carries the __Host- prefix, so browsers accept the cookie
 * only when Secure, for Path=/ and without Domain: nothing on another subdomain or on plain
 * HTTP can set or shadow it.
 */
export function sessionCookieName(config: Services["config"]): string {
  return config.isProduction && config.servedOverHttps ? "__Host-coffer_session" : "coffer_session";
}
/** Refresh last-seen at most this often, so each request is not a database write. */
const TOUCH_INTERVAL_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 3600 * 1000;

const cookies = new WeakMap<Services, SignedCookie>();

export function sessionCookie(services: Services): SignedCookie {
  let cookie = cookies.get(services);
  if (!cookie) {
    cookie = appCookie(sessionCookieName(services.config), {
      httpOnly: true,
      sameSite: "lax",
      secure: cookiesAreSecure(services.config),
      path: "/",
      secrets: [services.sessionSecret],
      maxAge: Math.floor(services.config.sessionTtlMs / 1000),
    });
    cookies.set(services, cookie);
  }
  return cookie;
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Browsers drop a Secure cookie sent over plain HTTP (except to localhost), which would make
 * login silently loop. Refuse up front with the fix instead.
 */
export function assertCookieCanBeKept(services: Services, request: Request): void {
  if (!cookiesAreSecure(services.config)) return;
  const url = new URL(request.url);
  if (url.protocol === "https:" || LOOPBACK_HOSTS.has(url.hostname)) return;
  throw new AppError(
    400,
    `You opened Coffer over plain HTTP, so your browser would not keep the login cookie. Use https://${url.host}, or, if plain HTTP is intended, set APP_URL=http://${url.host} and restart Coffer.`,
  );
}

export interface SessionUser extends PublicUser {
  sessionId: string;
}

/**
 * Creates a server-side session and returns the Set-Cookie header that refers to it. Every
 * login gets a new random id, so an id planted before login is worthless (no fixation).
 */
export async function createSession(
  services: Services,
  userId: string,
  request: Request,
  ip: string | null,
  options: { signIn?: boolean } = {},
): Promise<string> {
  // Every way of signing in ends here, so a deactivated account never gets a session.
  await assertAccountActive(services, userId);
  setLogUser(userId);
  const id = randomBytes(32).toString("base64url");
  const lifetimeMs = (await getSettings(services)).sessionAbsoluteDays * DAY_MS;
  const userAgent = request.headers.get("user-agent")?.slice(0, 500) ?? null;
  await services.prisma.$transaction(async (tx) => {
    await tx.session.create({ data: { id, userId, expiresAt: new Date(Date.now() + lifetimeMs), ip, userAgent } });
    await recordDevice(tx, userId, describeUserAgent(userAgent), ip, options.signIn ?? true);
    // The browser's language, for the dates of emails when the account chose none (docs/events.md#preferences).
    const locale = (options.signIn ?? true) ? localeFromAcceptLanguage(request.headers.get("accept-language")) : null;
    // Raw, so the account's updated_at (its version stamp) stays, and nothing is written when it is the same.
    if (locale)
      await tx.$executeRaw`UPDATE users SET sign_in_locale = ${locale} WHERE id = ${userId} AND sign_in_locale IS DISTINCT FROM ${locale}`;
  });
  return sessionCookie(services).serialize(id, { maxAge: Math.floor(lifetimeMs / 1000) });
}

/**
 * Remembers the device (the browser and system its user agent names) an account signs in from,
 * and tells the account of a sign-in from one it has not used before (security.new_device_login,
 * decision 0038), in the session's transaction. The account's first device is recorded silently
 * (its registration, or its first sign-in since devices are recorded), and so is a session
 * restarted after a password change (not a sign-in).
 */
async function recordDevice(tx: Prisma.TransactionClient, userId: string, label: string, ip: string | null, signIn: boolean) {
  const deviceKey = createHash("sha256").update(label).digest("base64url").slice(0, 22);
  const known = await tx.userDevice.count({ where: { userId } });
  const [row] = await tx.$queryRaw<Array<{ inserted: boolean }>>`
    INSERT INTO user_devices (user_id, device_key, label) VALUES (${userId}, ${deviceKey}, ${label})
    ON CONFLICT (user_id, device_key) DO UPDATE SET last_seen_at = now()
    RETURNING (xmax = 0) AS inserted`;
  if (!row?.inserted || known === 0 || !signIn) return;
  await appendEvent(tx, {
    actorId: userId,
    ownerId: userId,
    action: "security.new_device_login",
    subjectType: "user",
    subjectId: userId,
    details: { device: label, ip },
  });
}

interface SessionTimes {
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
}

/**
 * Idle and absolute timeouts come from the current settings (not those at login), so lowering
 * them takes effect at once. Last-seen is refreshed every few minutes, which bounds the idle
 * timeout's precision.
 */
function isExpired(session: SessionTimes, timeouts: { sessionIdleDays: number; sessionAbsoluteDays: number }, now: number): boolean {
  return (
    session.expiresAt.getTime() <= now ||
    now - session.createdAt.getTime() >= timeouts.sessionAbsoluteDays * DAY_MS ||
    now - session.lastSeenAt.getTime() >= timeouts.sessionIdleDays * DAY_MS
  );
}

/**
 * The signed-in user for a Cookie header, or null when absent, forged, expired or revoked. Within
 * one GET request (the root loader and the page's loader both ask) the session is looked up once.
 */
export async function getUserFromCookieHeader(services: Services, cookieHeader: string | null): Promise<SessionUser | null> {
  if (!cookieHeader) return null;
  const memo = currentRequestScope()?.sessionUsers as Map<string, Promise<SessionUser | null>> | undefined;
  if (!memo) return lookUpSessionUser(services, cookieHeader);
  let user = memo.get(cookieHeader);
  if (!user) {
    user = lookUpSessionUser(services, cookieHeader);
    memo.set(cookieHeader, user);
    // A failed lookup (the database away) is not remembered: the next caller tries again.
    user.catch(() => memo.delete(cookieHeader));
  }
  const found = await user;
  return found ? { ...found } : null;
}

async function lookUpSessionUser(services: Services, cookieHeader: string): Promise<SessionUser | null> {
  const id = await sessionCookie(services)
    .parse(cookieHeader)
    .catch(() => null);
  if (typeof id !== "string" || id.length === 0) return null;
  const session = await readSession(services, id);
  if (!session) return null;
  const now = Date.now();
  // Deactivation deletes the sessions; a login racing it must not leave one that works.
  if (session.deactivatedAt || isExpired(session, await getSettings(services), now)) {
    await services.prisma.session.deleteMany({ where: { id } });
    return null;
  }
  if (now - session.lastSeenAt.getTime() > TOUCH_INTERVAL_MS) {
    // The update drops the cached row (session-cache.server.ts): the next request reads the new time.
    await services.prisma.session.update({ where: { id }, data: { lastSeenAt: new Date(now) } }).catch(() => {});
  }
  markActive(services, session.id);
  setLogUser(session.id);
  return { id: session.id, email: session.email, name: session.name, role: session.role, sessionId: id };
}

type SessionRow = SessionTimes & PublicUser & { deactivatedAt: Date | null };

/** The session and its user: from the session cache, else one statement (every request starts here). */
async function readSession(services: Services, id: string): Promise<SessionRow | null> {
  const cache = sessionCacheOf<SessionRow>(services);
  const cached = cache.get(id);
  if (cached) return cached;
  const generation = cache.generation();
  const [session] = await services.prisma.$queryRaw<SessionRow[]>`
    SELECT s.expires_at AS "expiresAt", s.created_at AS "createdAt", s.last_seen_at AS "lastSeenAt",
      u.id, u.email, u.name, u.role::text AS role, u.deactivated_at AS "deactivatedAt"
    FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ${id}`;
  if (!session) return null;
  cache.set(id, session, generation);
  return session;
}

export function getUser(services: Services, request: Request) {
  return getUserFromCookieHeader(services, request.headers.get("cookie"));
}

/** Revokes the session server-side and returns the Set-Cookie header that clears the cookie. */
export async function destroySession(services: Services, request: Request): Promise<string> {
  const id = await sessionCookie(services)
    .parse(request.headers.get("cookie"))
    .catch(() => null);
  if (typeof id === "string") {
    await services.prisma.session.deleteMany({ where: { id } });
    services.notifier.endSessions([id]);
  }
  return sessionCookie(services).serialize("", { maxAge: 0 });
}

/** Only same-site relative paths, so a crafted link cannot send people elsewhere after login. */
export function safeRedirect(target: FormDataEntryValue | string | null | undefined, fallback = "/files"): string {
  if (typeof target !== "string" || !target.startsWith("/") || target.startsWith("//") || target.startsWith("/\\")) {
    return fallback;
  }
  // A Location header holds bytes, not text; and browsers drop tabs and newlines from URLs, so
  // "/\t/evil.example" would go off-site. Everything outside printable ASCII is percent-encoded.
  try {
    return target.replace(/[^\x21-\x7e]/gu, (character) => encodeURIComponent(character));
  } catch {
    return fallback; // a lone surrogate: not text at all
  }
}

/**
 * Sessions are named in pages and forms by a digest of their id: the id itself is a bearer
 * credential and must not appear in HTML.
 */
export function sessionKey(sessionId: string): string {
  return sessionKeyOf(sessionId);
}

export interface SessionSummary {
  key: string;
  device: string;
  ip: string | null;
  createdAt: Date;
  lastSeenAt: Date;
  current: boolean;
}

/** The user's live sessions, most recently used first. */
export async function listSessions(services: Services, user: SessionUser): Promise<SessionSummary[]> {
  const [sessions, settings] = await Promise.all([
    services.prisma.session.findMany({ where: { userId: user.id }, orderBy: { lastSeenAt: "desc" } }),
    getSettings(services),
  ]);
  const now = Date.now();
  return sessions
    .filter((session) => session.id === user.sessionId || !isExpired(session, settings, now))
    .map((session) => ({
      key: sessionKey(session.id),
      device: describeUserAgent(session.userAgent),
      ip: session.ip,
      createdAt: session.createdAt,
      lastSeenAt: session.lastSeenAt,
      current: session.id === user.sessionId,
    }));
}

/** Ends one of the user's own sessions; someone else's (or an unknown) key is not found. */
export async function revokeSession(services: Services, user: SessionUser, key: string): Promise<{ current: boolean }> {
  const sessions = await services.prisma.session.findMany({ where: { userId: user.id }, select: { id: true } });
  const session = sessions.find((candidate) => sessionKey(candidate.id) === key);
  if (!session) throw new NotFoundError("That session");
  await services.prisma.session.deleteMany({ where: { id: session.id, userId: user.id } });
  services.notifier.endSessions([session.id]);
  return { current: session.id === user.sessionId };
}

/** Ends every session of the user except the one making the request; returns how many ended. */
export async function revokeOtherSessions(services: Services, user: SessionUser): Promise<number> {
  return endSessionsWhere(services, { userId: user.id, id: { not: user.sessionId } });
}

/** Deletes the matching sessions and closes their live connections; returns how many ended. */
export async function endSessionsWhere(services: Services, where: { userId: string; id?: { not: string } }): Promise<number> {
  const sessions = await services.prisma.session.findMany({ where, select: { id: true } });
  const ids = sessions.map((session) => session.id);
  // A session created meanwhile (a login racing this) is caught by the where clause too.
  const { count } = await services.prisma.session.deleteMany({ where });
  services.notifier.endSessions(ids);
  return count;
}

/**
 * After a privilege change (e.g. a new password): ends every session of the user, this one
 * included, and starts a fresh one for this browser. Returns its Set-Cookie header.
 */
export async function restartSessions(services: Services, userId: string, request: Request, ip: string | null): Promise<string> {
  await endSessionsWhere(services, { userId });
  return createSession(services, userId, request, ip, { signIn: false });
}
