import { mustEnrollMfa } from "~/domain/accounts/mfa.server";
import { getUser, type SessionUser } from "~/domain/accounts/sessions.server";
import { isAppError } from "~/domain/errors";
import { hasScope, type TokenScope } from "~/domain/tokens/scopes";
import { authenticateBearer, isBearerAuthorization } from "~/domain/tokens/tokens.server";
import type { Services } from "~/services/index.server";
import { ApiProblem } from "./problem.server";

/**
 * What an operation needs: a token scope (a browser session holds every one), or `session`: the
 * browser session itself, which no access token stands in for (managing your own tokens).
 */
export type Scope = TokenScope | "session";

/** Who is calling, and with which token (none for a browser session, which holds every scope). */
export interface Principal {
  user: SessionUser;
  token: { id: string; scopes: TokenScope[] } | null;
}

const CHALLENGE = { "WWW-Authenticate": 'Bearer realm="coffer"' };

/**
 * The caller: an `Authorization: Bearer` access token (the host skips the CSRF check only for a
 * request with a token and no cookie), else the session cookie (the host's CSRF check already
 * ran for changes). A session that must first enrol a second factor is refused, as the pages
 * send it to the enrolment.
 */
export async function resolvePrincipal(services: Services, request: Request, clientIp: string | null): Promise<Principal> {
  const authorization = request.headers.get("authorization");
  if (isBearerAuthorization(authorization)) {
    try {
      return await authenticateBearer(services, authorization, clientIp);
    } catch (error) {
      if (isAppError(error) && error.status === 401) throw new ApiProblem(401, error.message, [], CHALLENGE);
      throw error;
    }
  }
  const user = await getUser(services, request);
  if (!user) throw new ApiProblem(401, "Please log in, or send an access token.", [], CHALLENGE);
  if (await mustEnrollMfa(services, user)) throw new ApiProblem(403, "Set up two-step verification in the browser first.");
  return { user, token: null };
}

export function requireScope(principal: Principal, scope: Scope): void {
  if (scope === "session") {
    if (principal.token) throw new ApiProblem(403, SESSION_ONLY);
    return;
  }
  if (!hasScope(principal, scope)) throw new ApiProblem(403, `This operation needs an access token with the “${scope}” scope.`);
}

/** Why an access token, whatever its scopes, cannot manage tokens: it could mint a stronger one. */
export const SESSION_ONLY =
  "Manage access tokens signed in with the browser session: an access token cannot create, list or revoke tokens, whatever its scopes.";
