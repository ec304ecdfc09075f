import { Card } from "~/components/ui/card";
import { Form } from "@remix-run/react";
import { Field, FormMessage } from "~/components/field";
import { CsrfInput } from "~/components/csrf-input";
import { ConfirmWithProvider } from "~/components/security/confirm-identity";
import type { ReauthMethods } from "~/domain/accounts/reauth";
import { Button } from "~/components/ui/button";

interface Props {
  hint: string;
  /** Messages of a refused change (the form is shown again with them). */
  message?: string;
  errors?: Record<string, string>;
  busy: boolean;
  reauth: ReauthMethods;
  /** SSO_ONLY: passwords are not used, so none can be set. */
  ssoOnly: boolean;
}

/**
 * Change password: the current one (or a recent confirmation at the provider), then the new one
 * twice. Accounts single sign-on made set their first password after confirming at the provider.
 */
export function PasswordSection({ hint, message, errors = {}, busy, reauth, ssoOnly }: Props) {
  const setting = !reauth.password;
  const confirmed = Boolean(reauth.confirmedUntil);
  return (
    <Card as="section" padding="none" className="p-6" aria-labelledby="password-heading" data-testid="password-section">
      <h2 id="password-heading" className="text-lg font-semibold">
        Password
      </h2>
      {ssoOnly ? (
        <p className="mt-1 text-sm text-text-muted">
          {`This Coffer signs people in only ${reauth.provider ? `with ${reauth.provider}` : "through single sign-on"}, so passwords are not used and none can be set.`}
        </p>
      ) : setting && !confirmed ? (
        <div className="mt-1 space-y-3">
          <FormMessage message={message} />
          <p className="text-sm text-text-muted">
            {`You sign in${reauth.provider ? ` with ${reauth.provider}` : ""} and have no password. To also log in with your email and a password, confirm it's you first, then choose one.`}
          </p>
          {reauth.provider ? <ConfirmWithProvider provider={reauth.provider} primary /> : null}
        </div>
      ) : (
        <>
          <p className="mt-1 text-sm text-text-muted">
            {setting
              ? "Choose a password to also log in with your email address. Setting it logs you out everywhere else."
              : "Changing your password logs you out everywhere else."}
          </p>
          <Form method="post" className="mt-4 max-w-md space-y-4" noValidate>
            <CsrfInput />
            <input type="hidden" name="intent" value="change-password" />
            <FormMessage message={message} />
            {confirmed ? (
              <p className="text-sm text-success">{`You confirmed it's you${reauth.provider ? ` with ${reauth.provider}` : ""}: no current password needed.`}</p>
            ) : (
              <div className="space-y-1">
                <Field
                  label="Current password"
                  name="currentPassword"
                  type="password"
                  autoComplete="current-password"
                  required
                  error={errors.currentPassword}
                />
                {reauth.provider ? <ConfirmWithProvider provider={reauth.provider} /> : null}
              </div>
            )}
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
            <Button variant="primary" type="submit" disabled={busy}>
              {busy ? (setting ? "Setting password…" : "Changing password…") : setting ? "Set password" : "Change password"}
            </Button>
          </Form>
        </>
      )}
    </Card>
  );
}
