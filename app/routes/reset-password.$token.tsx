import { Card } from "~/components/ui/card";
import { Button, ButtonLink } from "~/components/ui/button";
import { redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { Field, FormMessage } from "~/components/field";
import { auditActor } from "~/domain/audit/audit.server";
import { PASSWORD_HINT } from "~/domain/accounts/password-policy.server";
import { isResetTokenUsable, resetPassword } from "~/domain/accounts/passwords.server";
import { actionFailure } from "~/route-helpers/http.server";
import { CsrfInput } from "~/components/csrf-input";
import { z } from "zod";
import { field, parseForm, parseQuery } from "~/route-helpers/forms.server";

export const meta: MetaFunction = () => [{ title: "Choose a new password · Coffer" }];

// The token is in the URL: keep it out of Referer headers and caches.
export const headers: HeadersFunction = () => ({ "Referrer-Policy": "no-referrer", "Cache-Control": "no-store" });

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  if (parseQuery(request, z.object({ done: field.hint() })).done === "1") return { state: "done" as const, hint: PASSWORD_HINT };
  const usable = await isResetTokenUsable(context.services, params.token ?? "");
  return { state: usable ? ("form" as const) : ("invalid" as const), hint: PASSWORD_HINT };
}

const resetForm = z.object({ newPassword: field.text(10_000), confirmPassword: field.text(10_000) });

export async function action({ request, params, context }: ActionFunctionArgs) {
  const token = params.token ?? "";
  try {
    const passwords = await parseForm(request, resetForm);
    await resetPassword(context.services, auditActor(request, context.clientIp, null), token, passwords);
    return redirect(`/reset-password/${encodeURIComponent(token)}?done=1`);
  } catch (error) {
    return actionFailure(error);
  }
}

export default function ResetPassword() {
  const { state, hint } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const errors = result?.fieldErrors ?? {};
  return (
    <Card padding="none" className="mx-auto max-w-md p-6">
      <h1 className="text-2xl font-semibold">Choose a new password</h1>
      {state === "done" ? (
        <div className="mt-4 space-y-3" role="status">
          <p className="text-text-muted">Your password was changed and every session of your account was logged out.</p>
          <ButtonLink to="/login" variant="primary" className="inline-block">
            Log in with your new password
          </ButtonLink>
        </div>
      ) : state === "invalid" ? (
        <div className="mt-4 space-y-3" role="alert">
          <p className="text-text-muted">This reset link is invalid, has already been used or has expired.</p>
          <Link to="/forgot-password" className="text-accent-text underline">
            Request a new link
          </Link>
        </div>
      ) : (
        <Form method="post" className="mt-6 space-y-4" noValidate>
          <CsrfInput />
          <FormMessage message={result?.message} />
          <Field
            label="New password"
            name="newPassword"
            type="password"
            autoComplete="new-password"
            required
            minLength={12}
            hint={hint}
            error={errors.newPassword}
          />
          <Field
            label="Confirm new password"
            name="confirmPassword"
            type="password"
            autoComplete="new-password"
            required
            error={errors.confirmPassword}
          />
          <Button type="submit" variant="primary" className="w-full" disabled={busy}>
            {busy ? "Saving…" : "Set new password"}
          </Button>
        </Form>
      )}
    </Card>
  );
}
