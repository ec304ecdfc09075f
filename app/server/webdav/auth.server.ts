import type express from "express";
import { assertNotLocked, clearFailedLogins, recordFailedLogin } from "~/domain/accounts/lockout.server";
import { recordAudit } from "~/domain/audit/audit.server";
import { AppError, isAppError } from "~/domain/errors";
import { rateLimit, TooManyRequestsError } from "~/domain/rate-limit.server";
import type { TokenPrincipal } from "~/domain/tokens/tokens.server";
import { authenticateBearer, TokenAuthenticationError } from "~/domain/tokens/tokens.server";
import { parseToken } from "~/domain/tokens/token-format";
import type { Services } from "~/services/index.server";

/**
 * Who a WebDAV request is: HTTP Basic whose password is a personal access token (an "app
 * password"; the user name must be the token owner's email), or `Authorization: Bearer` with the
 * token. Account passwords are never accepted here, so two-step verification and single sign-on
 * cannot be bypassed. Failed attempts are counted twice, like logins: per address (past the
 * limit the address is refused for the rest of the window) and per credential, the account the
 * Basic user name names or the token a Bearer header names, with the login lockout's escalating
 * locks (kept apart from the login's own). A locked credential is refused (429) before it is
 * checked, so even the right app password waits for the lock to expire. Secrets are never
 * counted, logged or audited: the keys are the email (hashed) or the token's public id.
 */

export const REALM = 'Basic realm="Coffer", charset="UTF-8"';

export class DavAuthError extends AppError {
  constructor(message: string) {
    super(401, message);
  }
}

const lockedKey = (ip: string | null) => `webdav-auth-locked:${ip ?? "unknown"}`;

function basicCredentials(header: string): { user: string; password: string } | null {
  const match = /^Basic[ ]+([A-Za-z0-9+/=]+)[ ]*$/i.exec(header);
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon === -1) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Basic over plain HTTP is refused in production when Coffer is set up for HTTPS (behind a proxy: X-Forwarded-Proto). */
function basicAllowed(services: Services, req: express.Request): boolean {
  return !(services.config.isProduction && services.config.servedOverHttps) || req.secure;
}

async function verify(services: Services, req: express.Request, header: string): Promise<TokenPrincipal> {
  const ip = req.ip ?? null;
  if (/^Bearer(\s|$)/i.test(header)) return authenticateBearer(services, header, ip);
  const basic = basicCredentials(header);
  if (!basic) throw new DavAuthError("Send your email and an app password (an access token) with HTTP Basic.");
  if (!basicAllowed(services, req)) throw new AppError(403, "Coffer accepts app passwords only over HTTPS.");
  if (!parseToken(basic.password))
    throw new DavAuthError("WebDAV takes an app password (an access token from Settings), not your account password.");
  const principal = await authenticateBearer(services, `Bearer ${basic.password}`, ip);
  if (basic.user.trim().toLowerCase() !== principal.user.email.toLowerCase()) {
    throw new DavAuthError("The user name must be the email of the account the app password belongs to.");
  }
  return principal;
}

/**
 * Whose failures a request counts toward: the account a Basic user name names (`account`, the
 * email) and the token the password or Bearer header names (`token:<public id>`).
 */
function credentialSubjects(header: string): { account: string | null; token: string | null } {
  const bearer = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header);
  if (bearer) {
    const id = parseToken(bearer[1]!)?.id;
    return { account: null, token: id ? `token:${id}` : null };
  }
  const basic = basicCredentials(header);
  const id = basic ? parseToken(basic.password)?.id : undefined;
  const account = basic?.user.trim().toLowerCase().slice(0, 320) || null;
  return { account, token: id ? `token:${id}` : null };
}

/**
 * A token that is right but no longer valid (revoked, expired, its account deactivated) is a
 * client left behind, not a guess: it counts toward that token only, so it cannot lock its
 * owner's other clients out. Every other failure counts toward the account it names (Basic) or
 * the token (Bearer).
 */
function countedSubjects(error: unknown, subjects: { account: string | null; token: string | null }): string[] {
  const stale = error instanceof TokenAuthenticationError && error.reason !== "unknown" && error.reason !== "malformed";
  if (stale) return subjects.token ? [subjects.token] : [];
  if (subjects.account) return [subjects.account];
  return subjects.token ? [subjects.token] : [];
}

export async function authenticateDav(services: Services, req: express.Request): Promise<TokenPrincipal> {
  const header = req.headers.authorization;
  if (!header) throw new DavAuthError("Sign in with your email and an app password.");
  const ip = req.ip ?? null;
  if (await services.cache.orLocal.get(lockedKey(ip))) throw new TooManyRequestsError(60);
  const subjects = credentialSubjects(header);
  const present = [subjects.account, subjects.token].filter((subject): subject is string => subject !== null);
  const failures = await Promise.all(present.map((subject) => assertNotLocked(services, subject, "webdav")));
  try {
    const principal = await verify(services, req, header);
    // A Bearer request names its account only once its token is known: a locked account stays locked.
    if (!subjects.account) await assertNotLocked(services, principal.user.email, "webdav");
    await Promise.all(present.filter((_, i) => failures[i]! > 0).map((subject) => clearFailedLogins(services, subject, "webdav")));
    return principal;
  } catch (error) {
    if (!isAppError(error) || error.status !== 401) throw error;
    for (const subject of countedSubjects(error, subjects)) {
      const lock = await recordFailedLogin(services, subject, "webdav");
      if (!lock) continue;
      const actor = { actorId: null, actorLabel: "anonymous", ip, userAgent: req.headers["user-agent"]?.slice(0, 512) ?? null };
      await recordAudit(services, actor, {
        action: "auth.locked",
        outcome: "failure",
        details: { via: "webdav", credential: subject, ...lock },
      });
    }
    try {
      await rateLimit(services, `auth-webdav:${ip ?? "unknown"}`, services.config.rateLimits.auth);
    } catch (refusal) {
      if (refusal instanceof TooManyRequestsError) {
        await services.cache.orLocal.set(lockedKey(ip), "1", refusal.retryAfter * 1000);
      }
      throw refusal;
    }
    throw error instanceof DavAuthError ? error : new DavAuthError(error.message);
  }
}
