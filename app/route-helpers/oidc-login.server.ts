import { data, redirect } from "@remix-run/node";
import { Authenticator } from "remix-auth";
import { auditActor, recordAudit, type AuditActor } from "~/domain/audit/audit.server";
import { isAppError } from "~/domain/errors";
import { beginPendingLogin, hasMfa, MFA_LOGIN_PATH } from "~/domain/accounts/mfa.server";
import { OidcLoginError, oidcLoginFor, oidcRedirectUri, type OidcLogin, type OidcVerifyParams } from "~/domain/accounts/oidc.server";
import { reauthMethods } from "~/domain/accounts/reauth.server";
import { getSettings } from "~/domain/admin/settings.server";
import { assertCookieCanBeKept, createSession, destroySession, getUser, safeRedirect, sessionKey } from "~/domain/accounts/sessions.server";
import { requireUser } from "~/route-helpers/guards.server";
import { cookiesAreSecure } from "~/lib/cookies.server";
import type { Services } from "~/services/index.server";
import { OidcStrategy } from "./oidc-strategy.server";
import { field, parseQuery } from "./forms.server";
import { z } from "zod";

/** The remix-auth strategy for a login (or, with `reauth`, a confirmation) at the provider. */
export function oidcStrategy(
  services: Services,
  request: Request,
  actor: AuditActor,
  reauth?: { session: string; returnTo: string },
): OidcStrategy<OidcLogin> {
  const config = services.config.oidc;
  if (!config)
    throw new OidcLoginError(404, "not_configured", "Single sign-on is not set up on this Coffer. Log in with your email and password.");
  return new OidcStrategy<OidcLogin>(
    {
      config,
      redirectUri: oidcRedirectUri(services, request),
      cookieSecret: services.sessionSecret,
      secureCookie: cookiesAreSecure(services.config),
      log: services.log,
      safeRedirect: (target) => safeRedirect(target),
      reauth,
    },
    (params: OidcVerifyParams) => oidcLoginFor(services, actor, params),
  );
}

/** GET /auth/oidc: sends the browser to the provider (or straight on when already signed in). */
export async function startOidcLogin(services: Services, request: Request, clientIp: string | null): Promise<never> {
  if (await getUser(services, request))
    throw redirect(safeRedirect(parseQuery(request, z.object({ redirectTo: field.hint(4_000) })).redirectTo));
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
 * GET /auth/oidc/reauth?returnTo=/path: a signed-in person with a linked provider account
 * confirms it is them by signing in at the provider again; the callback then marks the session
 * and sends them back to `returnTo` (same-site paths only, else /settings/security).
 */
export async function startOidcReauth(services: Services, request: Request, clientIp: string | null): Promise<never> {
  const user = await requireUser(services, request);
  const returnTo = safeRedirect(parseQuery(request, z.object({ returnTo: field.hint(4_000) })).returnTo, "/settings/security");
  try {
    const methods = await reauthMethods(services, user);
    if (!methods.provider) {
      throw new OidcLoginError(
        services.config.oidc ? 409 : 404,
        "not_linked",
        services.config.oidc
          ? "Your account does not sign in with single sign-on: confirm with your password or a code on the page instead."
          : "Single sign-on is not set up on this Coffer: confirm with your password or a code on the page instead.",
      );
    }
    const strategy = oidcStrategy(services, request, auditActor(request, clientIp, user), {
      session: sessionKey(user.sessionId),
      returnTo,
    });
    await new Authenticator<OidcLogin>().use(strategy, "oidc").authenticate("oidc", request);
  } catch (error) {
    if (isAppError(error)) throw data({ message: error.message, returnTo, signedIn: true }, { status: error.status });
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
  let pending: { purpose: "login" | "reauth"; redirectTo: string } | null = null;
  try {
    assertCookieCanBeKept(services, request);
    const strategy = oidcStrategy(services, request, auditActor(request, clientIp, null));
    pending = await strategy.pendingTransaction(request);
    // The transaction (state, nonce, verifier) is single-use whatever the outcome.
    headers.append("Set-Cookie", await strategy.clearTransactionCookie());
    login = await new Authenticator<OidcLogin>().use(strategy, "oidc").authenticate("oidc", request);
  } catch (error) {
    if (!isAppError(error)) throw error;
    const reason = error instanceof OidcLoginError ? error.reason : error.name;
    if (pending?.purpose === "reauth") {
      const user = await getUser(services, request);
      await recordAudit(services, auditActor(request, clientIp, user), {
        action: "auth.reauth",
        outcome: "failure",
        ...(user ? { targetType: "user" as const, targetId: user.id } : {}),
        details: { method: "oidc", reason },
      });
      // The error page says what happens next: the person is normally still signed in, with nothing changed.
      throw data(
        { message: error.message, returnTo: safeRedirect(pending.redirectTo, "/settings/security"), signedIn: user !== null },
        { status: error.status, headers },
      );
    }
    await recordAudit(services, auditActor(request, clientIp, null), {
      action: "auth.login",
      outcome: "failure",
      details: { method: "oidc", reason },
    });
    throw data({ message: error.message }, { status: error.status, headers });
  }
  if (login.reauth) {
    // The person confirmed it is them: the session stays, now marked as recently confirmed.
    await recordAudit(services, auditActor(request, clientIp, login.user), {
      action: "auth.reauth",
      targetType: "user",
      targetId: login.user.id,
      details: { method: "oidc" },
    });
    return redirect(login.redirectTo, { headers });
  }
  await destroySession(services, request);
  if ((await getSettings(services)).requireMfaAfterSso && (await hasMfa(services, login.user.id))) {
    // The provider vouched for the first step; Coffer's own second step follows, as after a password.
    headers.append("Set-Cookie", await beginPendingLogin(services, login.user.id, login.redirectTo, "oidc"));
    return redirect(MFA_LOGIN_PATH, { headers });
  }
  headers.append("Set-Cookie", await createSession(services, login.user.id, request, clientIp));
  await recordAudit(services, auditActor(request, clientIp, login.user), {
    action: "auth.login",
    targetType: "user",
    targetId: login.user.id,
    details: { method: "oidc" },
  });
  return redirect(login.redirectTo, { headers });
}
