import { redirect, type ActionFunctionArgs } from "@remix-run/node";
import { z } from "zod";
import { AccountDeactivatedError } from "~/domain/accounts/account-status.server";
import { auditActor, recordAudit } from "~/domain/audit/audit.server";
import { isAppError, ValidationError } from "~/domain/errors";
import { assertNotLocked, clearFailedLogins, recordFailedLogin } from "~/domain/accounts/lockout.server";
import {
  endPendingLogin,
  PENDING_LOGIN_MAX_ATTEMPTS,
  readPendingLogin,
  restartFirstStep,
  type FirstFactor,
} from "~/domain/accounts/mfa.server";
import { assertPasswordAuthAllowed } from "~/domain/accounts/oidc.server";
import {
  clearLoginChallengeCookie,
  finishLogin,
  PasskeyLoginError,
  startLogin,
  type PasskeyLoginMode,
} from "~/domain/accounts/passkey-login.server";
import { limitLoginAttempt, limitMfaVerification, limitPasskeyChallenge, rateLimit } from "~/domain/rate-limit.server";
import { assertCookieCanBeKept, createSession, safeRedirect } from "~/domain/accounts/sessions.server";
import { loginAccount } from "~/domain/accounts/users.server";
import { metrics } from "~/services/metrics.server";

/**
 * JSON endpoint for the passkey buttons on /login (passwordless, also passkey autofill in the
 * email field) and /login/mfa (second step):
 * `{ step: "options" }` returns the WebAuthn request options, `{ step: "verify", response }`
 * checks the signature and starts the session. Pages without JavaScript never call it.
 */
export async function loader() {
  return redirect("/login");
}

const bodySchema = z.object({
  step: z.enum(["options", "verify"]),
  mode: z.enum(["passwordless", "second-factor"]),
  redirectTo: z.string().max(2048).optional(),
  response: z.unknown().optional(),
});

export async function action({ request, context }: ActionFunctionArgs) {
  const { services, clientIp } = context;
  const headers = new Headers({ "Cache-Control": "no-store" });
  try {
    const body = bodySchema.safeParse(await request.json().catch(() => null));
    if (!body.success) throw new ValidationError("Send a JSON body with step and mode.");
    const { step, mode: modeName } = body.data;
    // In SSO-only mode people sign in only through the provider, passkeys included; a passkey
    // may still be the second step after it (the "two-step verification after single sign-on" setting).
    if (modeName === "passwordless") assertPasswordAuthAllowed(services, "login");

    let mode: PasskeyLoginMode = { kind: "passwordless" };
    let firstFactor: FirstFactor | null = null;
    let redirectTo = safeRedirect(body.data.redirectTo);
    // Each attempt counts against the per-IP limit of its form.
    if (modeName === "second-factor") {
      const pending = await readPendingLogin(services, request);
      if (!pending) throw new ValidationError("Your login step expired. Log in again from the login page.");
      if (pending.firstFactor === "password") assertPasswordAuthAllowed(services, "login");
      mode = { kind: "second-factor", userId: pending.userId };
      firstFactor = pending.firstFactor;
      redirectTo = pending.redirectTo;
      await limitMfaVerification(services, clientIp);
      if (step === "verify") {
        // Shared with the code form: a few tries per password entry.
        await rateLimit(services, `mfa-pending:${pending.nonce}`, {
          limit: PENDING_LOGIN_MAX_ATTEMPTS,
          windowMs: 5 * 60_000,
          message: () => `Too many failed tries. ${restartFirstStep(pending)}`,
        });
      }
    } else if (step === "options") {
      await limitPasskeyChallenge(services, clientIp);
    } else {
      await limitLoginAttempt(services, clientIp);
    }

    if (step === "options") {
      const { options, cookie } = await startLogin(services, request, mode);
      headers.append("Set-Cookie", cookie);
      return Response.json({ ok: true as const, options }, { headers });
    }

    assertCookieCanBeKept(services, request);
    let result;
    try {
      result = await finishLogin(services, request, mode, body.data.response);
    } catch (error) {
      if (mode.kind === "second-factor") metrics().mfaChallenges.inc({ outcome: "failure" });
      if (error instanceof PasskeyLoginError) await recordFailure(error);
      throw error;
    }
    if (mode.kind === "second-factor") metrics().mfaChallenges.inc({ outcome: "success" });
    const user = await loginAccount(services, result.userId);
    if (!user) throw new Error("a verified passkey belongs to no account");
    if (user.deactivatedAt) {
      await recordAudit(services, auditActor(request, clientIp, user), {
        action: "auth.login",
        outcome: "failure",
        targetType: "user",
        targetId: user.id,
        details: { method: "passkey", reason: "deactivated" },
      });
      throw new AccountDeactivatedError();
    }
    try {
      await assertNotLocked(services, user.email);
    } catch (error) {
      await recordAudit(services, auditActor(request, clientIp, user), {
        action: "auth.login",
        outcome: "failure",
        targetType: "user",
        targetId: user.id,
        details: { method: "passkey", reason: "locked" },
      });
      throw error;
    }
    await clearFailedLogins(services, user.email);
    // Signed in: this browser's other pending challenges (say, the autofill's) are of no more use.
    headers.append("Set-Cookie", await clearLoginChallengeCookie(services));
    headers.append("Set-Cookie", await createSession(services, user.id, request, clientIp));
    context.renewCsrfToken();
    if (mode.kind === "second-factor") headers.append("Set-Cookie", await endPendingLogin(services));
    await recordAudit(services, auditActor(request, clientIp, user), {
      action: "auth.login",
      targetType: "user",
      targetId: user.id,
      details: {
        method: "passkey",
        step: mode.kind,
        passkey: result.passkeyName,
        ...(firstFactor === "oidc" ? { firstStep: "oidc" } : {}),
      },
    });
    return Response.json({ ok: true as const, redirectTo }, { headers });
  } catch (error) {
    if (!isAppError(error)) throw error;
    const retryAfter = (error as { retryAfter?: unknown }).retryAfter;
    if (typeof retryAfter === "number") headers.set("Retry-After", String(retryAfter));
    return Response.json({ ok: false as const, message: error.message }, { status: error.status, headers });
  }

  /** A refused passkey of a known account counts towards its lockout, like a wrong password. */
  async function recordFailure(error: PasskeyLoginError) {
    const user = error.userId ? await loginAccount(services, error.userId) : null;
    const actor = auditActor(request, clientIp, user);
    await recordAudit(services, actor, {
      action: "auth.login",
      outcome: "failure",
      targetType: user ? "user" : undefined,
      targetId: user?.id,
      details: { method: "passkey", reason: error.reason },
    });
    if (!user) return;
    const lock = await recordFailedLogin(services, user.email);
    if (lock)
      await recordAudit(services, actor, {
        action: "auth.locked",
        outcome: "failure",
        targetType: "user",
        targetId: user.id,
        details: lock,
      });
  }
}
