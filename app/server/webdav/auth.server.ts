import type express from "express";
import { AppError, isAppError } from "~/domain/errors";
import { rateLimit, TooManyRequestsError } from "~/domain/rate-limit.server";
import type { TokenPrincipal } from "~/domain/tokens/tokens.server";
import { authenticateBearer } from "~/domain/tokens/tokens.server";
import { parseToken } from "~/domain/tokens/token-format";
import type { Services } from "~/services/index.server";

/**
 * Who a WebDAV request is: HTTP Basic whose password is a personal access token (an "app
 * password"; the user name must be the token owner's email), or `Authorization: Bearer` with the
 * token. Account passwords are never accepted here, so two-step verification and single sign-on
 * cannot be bypassed. Failed attempts are counted per address like logins; past the limit the
 * address is refused for the rest of the window before any credential is checked.
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

export async function authenticateDav(services: Services, req: express.Request): Promise<TokenPrincipal> {
  const header = req.headers.authorization;
  if (!header) throw new DavAuthError("Sign in with your email and an app password.");
  const ip = req.ip ?? null;
  if (await services.cache.orLocal.get(lockedKey(ip))) throw new TooManyRequestsError(60);
  try {
    return await verify(services, req, header);
  } catch (error) {
    if (!isAppError(error) || error.status !== 401) throw error;
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
