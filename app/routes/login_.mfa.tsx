import { Card } from "~/components/ui/card";
import { Button } from "~/components/ui/button";
import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { Field, FormMessage } from "~/components/field";
import { PasskeyLoginButton } from "~/components/passkey-login-button";
import { hasPasskeys } from "~/domain/accounts/passkeys.server";
import { auditActor, recordAudit } from "~/domain/audit/audit.server";
import { ForbiddenError, UnauthorizedError } from "~/domain/errors";
import { assertNotLocked, clearFailedLogins, recordFailedLogin } from "~/domain/accounts/lockout.server";
import {
  endPendingLogin,
  hasTotp,
  PENDING_LOGIN_MAX_ATTEMPTS,
  readPendingLogin,
  restartFirstStep,
  verifySecondFactor,
  type PendingLogin,
} from "~/domain/accounts/mfa.server";
import { assertPasswordAuthAllowed } from "~/domain/accounts/oidc.server";
import { limitMfaVerification, rateLimit } from "~/domain/rate-limit.server";
import { createSession, getUser } from "~/domain/accounts/sessions.server";
import { loginAccount } from "~/domain/accounts/users.server";
import { actionFailure, retryAfterHeaders } from "~/route-helpers/http.server";
import { CsrfInput } from "~/components/csrf-input";
import { metrics } from "~/services/metrics.server";
import type { Services } from "~/services/index.server";
import { z } from "zod";
import { field, parseForm } from "~/route-helpers/forms.server";

export const meta: MetaFunction = () => [{ title: "Two-step verification · Coffer" }];
export const headers = retryAfterHeaders;

export async function loader({ request, context }: LoaderFunctionArgs) {
  if (await getUser(context.services, request)) throw redirect("/files");
  const pending = await readPendingLogin(context.services, request);
  if (!pending) throw redirect("/login");
  const refusal = passwordStepRefusal(context.services, pending);
  if (refusal)
    return data({ totp: false, passkeys: false, firstFactor: pending.firstFactor, refused: refusal.message }, { status: refusal.status });
  const [totp, passkeys] = await Promise.all([hasTotp(context.services, pending.userId), hasPasskeys(context.services, pending.userId)]);
  return { totp, passkeys, firstFactor: pending.firstFactor, refused: null };
}

/**
 * A login begun with a password before SSO_ONLY was switched on (its pending step lives up to
 * 5 minutes) is refused at its second step as /login refuses the password.
 */
function passwordStepRefusal(services: Services, pending: PendingLogin): ForbiddenError | null {
  if (pending.firstFactor !== "password") return null;
  try {
    assertPasswordAuthAllowed(services, "login");
    return null;
  } catch (error) {
    if (error instanceof ForbiddenError) return error;
    throw error;
  }
}

/** Anything longer than a code or a recovery code is no code: cut, it fails like a wrong one. */
const codeForm = z.object({ code: field.text(1_000_000).transform((code) => code.slice(0, 64)) });

export async function action({ request, context }: ActionFunctionArgs) {
  const { services, clientIp } = context;
  const pending = await readPendingLogin(services, request);
  if (!pending) throw redirect("/login");
  const refusal = passwordStepRefusal(services, pending);
  if (refusal) return actionFailure(refusal);
  const user = await loginAccount(services, pending.userId);
  if (!user) throw redirect("/login", { headers: { "Set-Cookie": await endPendingLogin(services) } });
  const actor = auditActor(request, clientIp, user);
  try {
    await limitMfaVerification(services, clientIp);
    await rateLimit(services, `mfa-pending:${pending.nonce}`, {
      limit: PENDING_LOGIN_MAX_ATTEMPTS,
      windowMs: 5 * 60_000,
      message: () => `Too many wrong codes. ${restartFirstStep(pending)}`,
    });
    await assertNotLocked(services, user.email);
    const { code } = await parseForm(request, codeForm);
    const method = code.trim() ? await verifySecondFactor(services, user.id, code) : null;
    if (!method) {
      metrics().mfaChallenges.inc({ outcome: "failure" });
      const lock = await recordFailedLogin(services, user.email);
      await recordAudit(services, actor, { action: "auth.mfa_challenge", outcome: "failure", targetType: "user", targetId: user.id });
      if (lock)
        await recordAudit(services, actor, {
          action: "auth.locked",
          outcome: "failure",
          targetType: "user",
          targetId: user.id,
          details: lock,
        });
      throw new UnauthorizedError(
        "That code is not right, or it was already used. Enter the current code from your app or a recovery code.",
      );
    }
    if (method === "recovery") {
      await recordAudit(services, actor, { action: "auth.recovery_code_used", targetType: "user", targetId: user.id });
    }
    metrics().mfaChallenges.inc({ outcome: "success" });
    await clearFailedLogins(services, user.email);
    const headers = new Headers();
    headers.append("Set-Cookie", await createSession(services, user.id, request, clientIp));
    headers.append("Set-Cookie", await endPendingLogin(services));
    context.renewCsrfToken();
    await recordAudit(services, actor, {
      action: "auth.login",
      targetType: "user",
      targetId: user.id,
      details: pending.firstFactor === "oidc" ? { method, firstStep: "oidc" } : { method },
    });
    return redirect(pending.redirectTo, { headers });
  } catch (error) {
    return actionFailure(error);
  }
}

export default function LoginMfa() {
  const { totp, passkeys, firstFactor, refused } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  if (refused) {
    return (
      <Card padding="none" className="mx-auto max-w-md p-6">
        <h1 className="text-2xl font-semibold">Two-step verification</h1>
        <div className="mt-4">
          <FormMessage message={refused} />
        </div>
        <p className="mt-4 text-sm">
          <Link to="/login" className="text-accent-text underline">
            Go to the login page
          </Link>
        </p>
      </Card>
    );
  }
  return (
    <Card padding="none" className="mx-auto max-w-md p-6">
      <h1 className="text-2xl font-semibold">Two-step verification</h1>
      <p className="mt-1 text-sm text-text-muted">
        {totp && passkeys
          ? "Use one of your passkeys, or enter the 6-digit code from your authenticator app or one of your recovery codes."
          : passkeys
            ? "Use one of your passkeys to finish logging in."
            : "Enter the 6-digit code from your authenticator app, or one of your recovery codes."}
      </p>
      {passkeys ? (
        <div className="mt-6">
          <PasskeyLoginButton mode="second-factor" label="Use a passkey" />
        </div>
      ) : null}
      {totp ? (
        <Form method="post" className="mt-6 space-y-4" noValidate>
          <CsrfInput />
          <FormMessage message={result?.message} />
          <Field
            label="Code"
            name="code"
            autoComplete="one-time-code"
            inputMode="text"
            autoFocus={!passkeys}
            required
            hint="A recovery code looks like abcde-12345 and works once."
            error={result?.fieldErrors?.code}
          />
          <Button type="submit" variant="primary" className="w-full" disabled={busy}>
            {busy ? "Verifying…" : "Verify and log in"}
          </Button>
        </Form>
      ) : null}
      <p className="mt-4 text-sm">
        <Link to="/login" className="text-accent-text underline">
          {firstFactor === "oidc" ? "Start again from the login page" : "Start again with your password"}
        </Link>
      </p>
    </Card>
  );
}
