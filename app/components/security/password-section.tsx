import { Form } from "@remix-run/react";
import { Field, FormMessage } from "~/components/field";
import { CsrfInput } from "~/components/csrf-input";

interface Props {
  hint: string;
  /** Messages of a refused change (the form is shown again with them). */
  message?: string;
  errors?: Record<string, string>;
  busy: boolean;
}

/** Change password: the current one, then the new one twice. */
export function PasswordSection({ hint, message, errors = {}, busy }: Props) {
  return (
    <section aria-labelledby="password-heading" className="card p-6">
      <h2 id="password-heading" className="text-lg font-semibold">
        Password
      </h2>
      <p className="mt-1 text-sm text-slate-600">Changing your password logs you out everywhere else.</p>
      <Form method="post" className="mt-4 max-w-md space-y-4" noValidate>
        <CsrfInput />
        <input type="hidden" name="intent" value="change-password" />
        <FormMessage message={message} />
        <Field
          label="Current password"
          name="currentPassword"
          type="password"
          autoComplete="current-password"
          required
          error={errors.currentPassword}
        />
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
        <button type="submit" className="btn-primary" disabled={busy}>
          {busy ? "Changing password…" : "Change password"}
        </button>
      </Form>
    </section>
  );
}
