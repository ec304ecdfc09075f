import { Card } from "~/components/ui/card";
import { Button } from "~/components/ui/button";
import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { Field, FormMessage } from "~/components/field";
import { auditActor } from "~/domain/audit/audit.server";
import { requestPasswordReset, RESET_TOKEN_TTL_MS } from "~/domain/accounts/passwords.server";
import { TooManyRequestsError } from "~/domain/rate-limit.server";
import { getUser } from "~/domain/accounts/sessions.server";
import { actionFailure } from "~/route-helpers/http.server";
import { CsrfInput } from "~/components/csrf-input";
import { z } from "zod";
import { field, parseForm, parseQuery } from "~/route-helpers/forms.server";

export const meta: MetaFunction = () => [{ title: "Forgot password · Coffer" }];

export const headers: HeadersFunction = ({ actionHeaders, loaderHeaders }) => {
  const retryAfter = actionHeaders.get("Retry-After");
  return retryAfter ? { "Retry-After": retryAfter } : loaderHeaders;
};

export async function loader({ request, context }: LoaderFunctionArgs) {
  if (await getUser(context.services, request)) throw redirect("/settings/security");
  return {
    enabled: context.services.mailer !== null,
    sent: parseQuery(request, z.object({ sent: field.hint() })).sent === "1",
    minutes: RESET_TOKEN_TTL_MS / 60_000,
  };
}

const forgotForm = z.object({ email: field.text(1_000) });

export async function action({ request, context }: ActionFunctionArgs) {
  try {
    const { email } = await parseForm(request, forgotForm);
    await requestPasswordReset(context.services, auditActor(request, context.clientIp, null), email);
    // The same answer whether or not the address has an account.
    return redirect("/forgot-password?sent=1");
  } catch (error) {
    const failure = actionFailure(error);
    const headers = error instanceof TooManyRequestsError ? { "Retry-After": String(error.retryAfter) } : undefined;
    return data(failure.data, { ...failure.init, headers });
  }
}

export default function ForgotPassword() {
  const { enabled, sent, minutes } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  return (
    <Card padding="none" className="mx-auto max-w-md p-6">
      <h1 className="text-2xl font-semibold">Reset your password</h1>
      {!enabled ? (
        <p className="mt-4 text-text-muted" role="status">
          Password reset by email isn’t configured on this server. Ask an administrator to reset your password for you.
        </p>
      ) : sent ? (
        <div className="mt-4 space-y-3 text-text-muted" role="status">
          <p>If an account exists for that address, we sent it a link to choose a new password.</p>
          <p className="text-sm text-text-muted">
            The link works once, for {minutes} minutes. No mail after a few minutes? Check your spam folder, or try again with the address
            you registered with.
          </p>
        </div>
      ) : (
        <>
          <p className="mt-1 text-sm text-text-muted">
            Enter the email address of your account and we will mail you a link to choose a new password.
          </p>
          <Form method="post" className="mt-6 space-y-4" noValidate>
            <CsrfInput />
            <FormMessage message={result?.message} />
            <Field label="Email" name="email" type="email" autoComplete="email" required error={result?.fieldErrors.email} />
            <Button type="submit" variant="primary" className="w-full" disabled={busy}>
              {busy ? "Sending…" : "Send reset link"}
            </Button>
          </Form>
        </>
      )}
      <p className="mt-6 text-sm">
        <Link to="/login" className="text-accent-text underline">
          Back to log in
        </Link>
      </p>
    </Card>
  );
}
