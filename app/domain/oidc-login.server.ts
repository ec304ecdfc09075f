import { data, redirect } from "@remix-run/node";
import { Authenticator } from "remix-auth";
import type { Services } from "~/services/index.server";
import { auditActor, recordAudit } from "./audit.server";
import { isAppError } from "./errors";
import { oidcStrategy, type OidcLogin } from "./oidc.server";
import { OidcLoginError } from "./oidc-strategy.server";
import { assertCookieCanBeKept, createSession, destroySession, getUser, safeRedirect } from "./sessions.server";

/** GET /auth/oidc: sends the browser to the provider (or straight on when already signed in). */
export async function startOidcLogin(services: Services, request: Request, clientIp: string | null): Promise<never> {
  if (await getUser(services, request)) throw redirect(safeRedirect(new URL(request.url).searchParams.get("redirectTo")));
  try {
    assertCookieCanBeKept(services, request);
    const strategy = oidcStrategy(services, request, auditActor(request, clientIp, null));
    await new Authenticator<OidcLogin>().use(strategy, "oidc").authenticate("oidc", request);
  } catch (error) {
    if (isAppError(error)) throw data({ message: error.message }, { status: error.status });
    throw error;
  }
  throw new Error("the OIDC strategy returned instead of redirecting to the provider");
}

/**
 * GET /auth/oidc/callback: completes the provider's answer, then replaces any previous session
 * with a new one (a fresh id, so a session fixed before login is worthless) and records the login.
 * Refusals become error responses with the reason shown to the person and kept in the audit log.
 */
export async function finishOidcLogin(services: Services, request: Request, clientIp: string | null): Promise<Response> {
  const headers = new Headers();
  let login: OidcLogin;
  try {
    assertCookieCanBeKept(services, request);
    const strategy = oidcStrategy(services, request, auditActor(request, clientIp, null));
    // The transaction (state, nonce, verifier) is single-use whatever the outcome.
    headers.append("Set-Cookie", await strategy.clearTransactionCookie());
    login = await new Authenticator<OidcLogin>().use(strategy, "oidc").authenticate("oidc", request);
  } catch (error) {
    if (!isAppError(error)) throw error;
    await recordAudit(services.prisma, auditActor(request, clientIp, null), {
      action: "auth.login",
      outcome: "failure",
      details: { method: "oidc", reason: error instanceof OidcLoginError ? error.reason : error.name },
    });
    throw data({ message: error.message }, { status: error.status, headers });
  }
  await destroySession(services, request);
  headers.append("Set-Cookie", await createSession(services, login.user.id, request, clientIp));
  await recordAudit(services.prisma, auditActor(request, clientIp, login.user), {
    action: "auth.login",
    targetType: "user",
    targetId: login.user.id,
    details: { method: "oidc" },
  });
  return redirect(login.redirectTo, { headers });
}
