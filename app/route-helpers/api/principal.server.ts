import { mustEnrollMfa } from "~/domain/accounts/mfa.server";
import { getUser, type SessionUser } from "~/domain/accounts/sessions.server";
import type { Services } from "~/services/index.server";
import { ApiProblem } from "./problem.server";

export const SCOPES = ["files:read", "files:write", "shares", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling, and what they may do through the API. */
export interface Principal {
  user: SessionUser;
  via: "session";
  /** A browser session may do whatever its user may do on the pages. */
  scopes: ReadonlySet<Scope> | "all";
}

/**
 * The caller, from the session cookie (the host's CSRF check already ran for changes). A caller
 * who must first enrol a second factor is refused like on the pages, where every page but the
 * enrolment redirects there.
 */
export async function resolvePrincipal(services: Services, request: Request): Promise<Principal> {
  if (request.headers.get("authorization")) {
    throw new ApiProblem(401, "Access tokens are not accepted yet; use the session cookie.", [], {
      "WWW-Authenticate": 'Bearer realm="coffer"',
    });
  }
  const user = await getUser(services, request);
  if (!user) throw new ApiProblem(401, "Please log in, or send an access token.", [], { "WWW-Authenticate": 'Bearer realm="coffer"' });
  if (await mustEnrollMfa(services, user)) throw new ApiProblem(403, "Set up two-step verification in the browser first.");
  return { user, via: "session", scopes: "all" };
}

export function requireScope(principal: Principal, scope: Scope): void {
  if (principal.scopes !== "all" && !principal.scopes.has(scope)) {
    throw new ApiProblem(403, `This operation needs the “${scope}” scope.`);
  }
}
