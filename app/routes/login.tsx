import { Card } from "~/components/ui/card";
import { Button } from "~/components/ui/button";
import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation, useSearchParams } from "@remix-run/react";
import { Authenticator } from "remix-auth";
import { FormStrategy } from "remix-auth-form";
import { Field, FormMessage } from "~/components/field";
import { SsoButton } from "~/components/sso-button";
import { PasskeyLoginButton, usePasskeyAutofill } from "~/components/passkey-login-button";
import { AccountDeactivatedError, isDeactivated } from "~/domain/accounts/account-status.server";
import { assertPasswordAuthAllowed, ssoLoginOptions } from "~/domain/accounts/oidc.server";
import { auditActor, recordAudit } from "~/domain/audit/audit.server";
import { ValidationError, UnauthorizedError } from "~/domain/errors";
import { assertNotLocked, clearFailedLogins, recordFailedLogin } from "~/domain/accounts/lockout.server";
import { beginPendingLogin, hasMfa } from "~/domain/accounts/mfa.server";
import { passkeyBrowserBinding } from "~/domain/accounts/passkey-login.server";
import { limitLoginAttempt, TooManyRequestsError } from "~/domain/rate-limit.server";
import { assertCookieCanBeKept, createSession, destroySession, getUser, safeRedirect } from "~/domain/accounts/sessions.server";
import { fieldErrors, loginSchema, verifyLogin, type PublicUser } from "~/domain/accounts/users.server";
import type { Services } from "~/services/index.server";
import { actionFailure, retryAfterHeaders } from "~/route-helpers/http.server";
import { CsrfInput } from "~/components/csrf-input";
import { z } from "zod";
import { field, formValues, parseFormData, readForm } from "~/route-helpers/forms.server";

export const meta: MetaFunction = () => [{ title: "Log in · Coffer" }];
export const headers = retryAfterHeaders;

type Audit = (
  action: "auth.login" | "auth.locked",
  outcome: "success" | "failure",
  details: Record<string, string | number>,
  user?: PublicUser,
) => Promise<void>;

function authenticator(services: Services, audit: Audit) {
  const auth = new Authenticator<PublicUser>();
  auth.use(
    new FormStrategy(async ({ form }) => {
      const parsed = loginSchema.safeParse(formValues(form));
      if (!parsed.success) throw new ValidationError("Enter your email and password.", fieldErrors(parsed.error));
      const { email, password } = parsed.data;
      try {
        await assertNotLocked(services, email);
      } catch (error) {
        if (error instanceof TooManyRequestsError) await audit("auth.login", "failure", { reason: "locked", email });
        throw error;
      }
      const user = await verifyLogin(services, email, password);
      if (!user) {
        const lock = await recordFailedLogin(services, email);
        await audit("auth.login", "failure", { reason: "bad_credentials", email });
        if (lock) await audit("auth.locked", "failure", { email, ...lock });
        throw new UnauthorizedError("That email and password do not match an account.");
      }
      // Told only to whoever knows the password, so the state of an account does not leak.
      if (await isDeactivated(services, user.id)) {
        await audit("auth.login", "failure", { reason: "deactivated" }, user);
        throw new AccountDeactivatedError();
      }
      return user;
    }),
    "password",
  );
  return auth;
}

/**
 * Requests whose login failed. After a form post (no JavaScript) Remix runs the loader too, whose
 * redirect of a signed-in browser would hide the failure: such a browser sees the error instead.
 */
const failedLogins = new WeakSet<object>();

export async function loader({ request, context }: LoaderFunctionArgs) {
  if (!failedLogins.has(context) && (await getUser(context.services, request))) throw redirect("/files");
  const sso = ssoLoginOptions(context.services);
  if (sso?.only) return data({ sso });
  // The passkey autofill and the passkey button each ask for a challenge, maybe at the same
  // moment: both must find this browser's binding already there, or each would make its own.
  const binding = await passkeyBrowserBinding(context.services, request);
  return data({ sso }, { headers: { "Set-Cookie": binding.cookie } });
}

const redirectForm = z.object({ redirectTo: field.text(2_000) });

export async function action({ request, context }: ActionFunctionArgs) {
  const { services, clientIp } = context;
  const audit: Audit = (action, outcome, details, user) =>
    recordAudit(services, auditActor(request, clientIp, user ?? null), {
      action,
      outcome,
      targetType: user ? "user" : undefined,
      targetId: user?.id,
      details,
    });
  try {
    assertPasswordAuthAllowed(services, "login");
    assertCookieCanBeKept(services, request);
    await limitLoginAttempt(services, clientIp);
    const { redirectTo: target } = parseFormData(await readForm(request.clone()), redirectForm);
    const user = await authenticator(services, audit).authenticate("password", request);
    const redirectTo = safeRedirect(target);
    if (await hasMfa(services, user.id)) {
      // The password was right; the session is created only after the second factor.
      const pending = await beginPendingLogin(services, user.id, redirectTo);
      return redirect("/login/mfa", { headers: { "Set-Cookie": pending } });
    }
    await clearFailedLogins(services, user.email);
    // A browser signed in already (maybe as someone else) leaves that session behind.
    if (await getUser(services, request)) await destroySession(services, request);
    const cookie = await createSession(services, user.id, request, clientIp);
    context.renewCsrfToken();
    await audit("auth.login", "success", { method: "password" }, user);
    return redirect(redirectTo, { headers: { "Set-Cookie": cookie } });
  } catch (error) {
    failedLogins.add(context);
    return actionFailure(error);
  }
}

export default function Login() {
  const result = useActionData<typeof action>();
  const { sso } = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  const busy = useNavigation().state === "submitting";
  const errors = result?.fieldErrors ?? {};
  const redirectTo = params.get("redirectTo") ?? "/files";
  const autofill = usePasskeyAutofill({ enabled: !sso?.only, redirectTo });
  return (
    <Card padding="none" className="mx-auto max-w-md p-6">
      <h1 className="text-2xl font-semibold">Log in to Coffer</h1>
      <p className="mt-1 text-sm text-text-muted" hidden={sso?.only}>
        New here?{" "}
        <Link to="/register" className="text-accent-text underline">
          Create an account
        </Link>
      </p>
      <SsoButton sso={sso} redirectTo={params.get("redirectTo") ?? "/files"} />
      <div className="mt-6" hidden={sso?.only}>
        <PasskeyLoginButton
          mode="passwordless"
          redirectTo={redirectTo}
          label="Sign in with a passkey"
          onStart={autofill.pause}
          onSettled={autofill.resume}
        />
      </div>
      <Form method="post" className="mt-6 space-y-4" noValidate hidden={sso?.only}>
        <CsrfInput />
        <FormMessage message={autofill.message ?? result?.message} />
        <input type="hidden" name="redirectTo" value={params.get("redirectTo") ?? "/files"} />
        <Field label="Email" name="email" type="email" autoComplete={autofill.autoComplete} required error={errors.email} />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required error={errors.password} />
        <p className="text-sm">
          <Link to="/forgot-password" className="text-accent-text underline">
            Forgot your password?
          </Link>
        </p>
        <Button type="submit" variant="primary" className="w-full" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </Button>
      </Form>
    </Card>
  );
}
