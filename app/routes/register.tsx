import { Card } from "~/components/ui/card";
import { Button } from "~/components/ui/button";
import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { Field, FormMessage } from "~/components/field";
import { auditActor, recordAudit } from "~/domain/audit/audit.server";
import { assertPasswordAuthAllowed } from "~/domain/accounts/oidc.server";
import { limitRegistration } from "~/domain/rate-limit.server";
import { assertCookieCanBeKept, createSession, destroySession, getUser } from "~/domain/accounts/sessions.server";
import { isFirstAccount } from "~/domain/accounts/users.server";
import { registerSelf } from "~/domain/accounts/self-registration.server";
import { actionFailure, loaderFailure, retryAfterHeaders } from "~/route-helpers/http.server";
import { CsrfInput } from "~/components/csrf-input";
import { z } from "zod";
import { field, parseForm, parseQuery } from "~/route-helpers/forms.server";

export const meta: MetaFunction = () => [{ title: "Create account · Coffer" }];
export const headers = retryAfterHeaders;

/** Requests whose registration failed: a signed-in browser sees why instead of a redirect (as on /login). */
const failedRegistrations = new WeakSet<object>();

export async function loader({ request, context }: LoaderFunctionArgs) {
  // "Check your email" is shown to a signed-in browser too: it registered an address that had an account.
  const check = parseQuery(request, z.object({ check: field.hint() })).check === "1";
  if (check) return { isFirst: false, check, mailEnabled: context.services.mailer !== null };
  if (!failedRegistrations.has(context) && (await getUser(context.services, request))) throw redirect("/files");
  try {
    assertPasswordAuthAllowed(context.services, "registration");
  } catch (error) {
    loaderFailure(error);
  }
  const isFirst = await isFirstAccount(context.services);
  return { isFirst, check, mailEnabled: context.services.mailer !== null };
}

const registerForm = z.object({ email: field.text(1_000), name: field.text(1_000), password: field.text(10_000) });

export async function action({ request, context }: ActionFunctionArgs) {
  try {
    const form = await parseForm(request, registerForm);
    assertPasswordAuthAllowed(context.services, "registration");
    assertCookieCanBeKept(context.services, request);
    await limitRegistration(context.services, context.clientIp);
    const registered = await registerSelf(context.services, auditActor(request, context.clientIp, null), {
      email: form.email,
      name: form.name,
      password: form.password,
    });
    // An address that already has an account: nothing changes, nobody is signed in, and the
    // answer does not say so (the owner is mailed instead).
    if (!registered.created) return redirect("/register?check=1", 303);
    const { user } = registered;
    // Registering signs in as the new account: a session this browser had ends.
    if (await getUser(context.services, request)) await destroySession(context.services, request);
    const cookie = await createSession(context.services, user.id, request, context.clientIp);
    context.renewCsrfToken();
    await recordAudit(context.services, auditActor(request, context.clientIp, user), {
      action: "user.registered",
      targetType: "user",
      targetId: user.id,
      details: { role: user.role },
    });
    return redirect("/files", { headers: { "Set-Cookie": cookie } });
  } catch (error) {
    failedRegistrations.add(context);
    return actionFailure(error);
  }
}

export default function Register() {
  const { check, mailEnabled } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const errors = result?.fieldErrors ?? {};
  if (check) return <CheckYourEmail mailEnabled={mailEnabled} />;
  return (
    <Card padding="none" className="mx-auto max-w-md p-6">
      <h1 className="text-2xl font-semibold">Create your account</h1>
      <p className="mt-1 text-sm text-text-muted">
        Already have one?{" "}
        <Link to="/login" className="text-accent-text underline">
          Log in
        </Link>
      </p>
      <Form method="post" className="mt-6 space-y-4" noValidate>
        <CsrfInput />
        <FormMessage message={result?.message} />
        <Field label="Name" name="name" autoComplete="name" required error={errors.name} />
        <Field label="Email" name="email" type="email" autoComplete="email" required error={errors.email} />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          minLength={12}
          hint="At least 12 characters; not a common password and not containing your name or email."
          error={errors.password}
        />
        <Button type="submit" variant="primary" className="w-full" disabled={busy}>
          {busy ? "Creating account…" : "Create account"}
        </Button>
      </Form>
    </Card>
  );
}

/** The answer when the address could not be given a new account; it never says whether it has one. */
function CheckYourEmail({ mailEnabled }: { mailEnabled: boolean }) {
  return (
    <Card padding="none" className="mx-auto max-w-md p-6" role="status">
      <h1 className="text-2xl font-semibold">{mailEnabled ? "Check your email" : "No account was created"}</h1>
      {mailEnabled ? (
        <>
          <p className="mt-3 text-text">We sent a message to the address you entered. It says what to do next.</p>
          <p className="mt-3 text-sm text-text-muted">
            No mail after a few minutes? Check your spam folder, or log in if you already have an account.
          </p>
        </>
      ) : (
        <p className="mt-3 text-text">
          If you already have an account with this address, log in. Forgot its password? Ask an administrator to reset it.
        </p>
      )}
      <p className="mt-6 flex flex-wrap gap-4 text-sm">
        <Link to="/login" className="text-accent-text underline">
          Log in
        </Link>
        <Link to="/forgot-password" className="text-accent-text underline">
          Forgot your password?
        </Link>
      </p>
    </Card>
  );
}
