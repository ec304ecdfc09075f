import { Card } from "~/components/ui/card";
import { Form, useNavigation } from "@remix-run/react";
import { Field, FormMessage } from "~/components/field";
import { ConfirmIdentity } from "~/components/security/confirm-identity";
import type { ReauthMethods } from "~/domain/accounts/reauth";
import type { MfaStatus, PendingEnrollment } from "~/domain/accounts/mfa";
import { formatDate } from "~/lib/format";
import { CsrfInput } from "~/components/csrf-input";
import { Button } from "~/components/ui/button";

export interface MfaActionResult {
  ok: boolean;
  message: string;
  fieldErrors?: Record<string, string>;
  intent?: string;
  /** Shown once, right after they were made. */
  recoveryCodes?: string[];
}

const ACTION = "/settings/security/mfa";

/**
 * Two-step verification (TOTP) on /settings/security: set up with a QR code, confirm with a
 * code, recovery codes, regenerate, turn off. Every form posts to /settings/security/mfa.
 */
export function MfaSection({
  status,
  enrollment,
  result,
  reauth,
}: {
  status: MfaStatus;
  /** How the person confirms turning it off or new recovery codes. */
  reauth: ReauthMethods;
  enrollment?: Pick<PendingEnrollment, "secret" | "qrSvg"> | null;
  result?: MfaActionResult | null;
}) {
  const busy = useNavigation().state === "submitting";
  const errorsFor = (intent: string) => (result && !result.ok && result.intent === intent ? (result.fieldErrors ?? {}) : {});
  return (
    <Card as="section" padding="none" className="space-y-4 p-6" aria-labelledby="mfa-heading" data-testid="mfa-section">
      <div>
        <h2 id="mfa-heading" className="text-lg font-semibold">
          Two-step verification
        </h2>
        <p className="mt-1 text-sm text-text-muted" data-testid="mfa-intro">
          {introduction(status, reauth.provider)}
        </p>
      </div>
      <FormMessage message={result?.message} tone={result?.ok ? "success" : "error"} />
      {result?.recoveryCodes ? <RecoveryCodes codes={result.recoveryCodes} /> : null}

      {status.enabled ? (
        <>
          <p className="text-sm" data-testid="mfa-status">
            <strong className="text-success">On</strong>
            {`${status.enabledAt ? ` since ${formatDate(status.enabledAt)}` : ""} · ${status.recoveryCodesLeft} of 10 recovery codes left.`}
          </p>
          <div className="grid gap-6 md:grid-cols-2">
            <Form method="post" action={ACTION} className="space-y-3" aria-labelledby="mfa-regenerate-heading" noValidate>
              <CsrfInput />
              <h3 id="mfa-regenerate-heading" className="font-medium">
                New recovery codes
              </h3>
              <input type="hidden" name="intent" value="regenerate" />
              <ConfirmIdentity
                reauth={reauth}
                id="mfa-regenerate-proof"
                label="Current code or your password"
                hint="Your old recovery codes stop working."
                error={errorsFor("regenerate").proof}
              />
              <Button variant="secondary" type="submit" disabled={busy}>
                Make new recovery codes
              </Button>
            </Form>
            <Form method="post" action={ACTION} className="space-y-3" aria-labelledby="mfa-disable-heading" noValidate>
              <CsrfInput />
              <h3 id="mfa-disable-heading" className="font-medium">
                Turn off
              </h3>
              <input type="hidden" name="intent" value="disable" />
              <ConfirmIdentity
                reauth={reauth}
                id="mfa-disable-proof"
                label="Current code or your password"
                hint={
                  status.required
                    ? "Administrators must use two-step verification here; you will be asked to set it up again."
                    : afterTurningOff(status, reauth.provider)
                }
                error={errorsFor("disable").proof}
              />
              <Button variant="secondary" type="submit" disabled={busy}>
                Turn off two-step verification
              </Button>
            </Form>
          </div>
        </>
      ) : enrollment ? (
        <div className="space-y-4">
          <ol className="list-decimal space-y-1 pl-5 text-sm">
            <li>Scan this QR code with your authenticator app, or type the key below into it.</li>
            <li>Enter the 6-digit code the app shows to turn two-step verification on.</li>
          </ol>
          <div className="flex flex-wrap items-start gap-6">
            <div
              className="h-48 w-48 rounded border border-border bg-surface-raised p-1"
              role="img"
              aria-label="QR code to scan with your authenticator app"
              data-testid="mfa-qr"
              // biome-ignore lint/security/noDangerouslySetInnerHtml: the server draws this SVG with qrcode from its own secret.
              dangerouslySetInnerHTML={{ __html: enrollment.qrSvg }}
            />
            <div className="space-y-1 text-sm">
              <p className="font-medium">Key for manual entry</p>
              <p>
                <code className="rounded bg-surface-hover px-2 py-1 font-mono text-base break-all" data-testid="mfa-secret">
                  {enrollment.secret}
                </code>
              </p>
              <p className="text-text-muted">Time-based, 6 digits, every 30 seconds.</p>
            </div>
          </div>
          <Form method="post" action={ACTION} className="max-w-xs space-y-3" noValidate>
            <CsrfInput />
            <input type="hidden" name="intent" value="confirm" />
            <Field
              id="mfa-confirm-code"
              label="Code from your app"
              name="code"
              inputMode="numeric"
              autoComplete="one-time-code"
              required
              error={errorsFor("confirm").code}
            />
            <Button variant="primary" type="submit" disabled={busy}>
              Turn on
            </Button>
          </Form>
        </div>
      ) : (
        <div className="space-y-3">
          <p className="text-sm" data-testid="mfa-status">
            <strong>Off.</strong>{" "}
            {status.required ? "Your administrator requires it for administrator accounts: set it up to continue." : ""}
          </p>
          <Form method="post" action={ACTION}>
            <CsrfInput />
            <input type="hidden" name="intent" value="start" />
            <Button variant="primary" type="submit" disabled={busy}>
              Set up an authenticator app
            </Button>
          </Form>
        </div>
      )}
    </Card>
  );
}

const APPS = "an authenticator app on your phone (such as Aegis, Google Authenticator or 1Password)";

/**
 * When Coffer asks for the code. It depends on how the person logs in: after the password; after
 * single sign-on only when the administrator turned that on (else the provider's checks count);
 * and for an account without a password, a code still confirms changes here.
 */
function introduction(status: MfaStatus, provider: string | null): string {
  if (status.passwordLogin) {
    const afterPassword = `After your password, Coffer asks for a code from ${APPS}.`;
    if (!provider) return afterPassword;
    return status.afterSso
      ? `${afterPassword} It asks after you sign in with ${provider} too.`
      : `${afterPassword} Signing in with ${provider} relies on ${provider}'s own checks instead.`;
  }
  if (!provider) return `A code from ${APPS} confirms sensitive changes to your account here, such as removing a passkey.`;
  return status.afterSso
    ? `After you sign in with ${provider}, Coffer asks for a code from ${APPS}.`
    : `You sign in with ${provider}, which does its own checks, so Coffer asks for no code then. A code from ${APPS} lets you confirm changes here, such as removing a passkey, without signing in with ${provider} again.`;
}

/** What logging in needs once the app is turned off. */
function afterTurningOff(status: MfaStatus, provider: string | null): string {
  if (status.passwordLogin) {
    return status.passkeys > 0
      ? "Logging in with your password will still ask for one of your passkeys."
      : "Logging in will need only your password.";
  }
  if (provider && status.afterSso) {
    return status.passkeys > 0
      ? `Signing in with ${provider} will still ask for one of your passkeys.`
      : `Signing in will need only ${provider}.`;
  }
  if (provider) return `Signing in with ${provider} stays the same; to confirm changes here, you sign in with ${provider} again.`;
  return "Coffer will no longer ask for codes from your app.";
}

function RecoveryCodes({ codes }: { codes: string[] }) {
  return (
    <div className="rounded-md border border-warning-border bg-warning-soft p-4" role="region" aria-labelledby="recovery-codes-heading">
      <h3 id="recovery-codes-heading" className="font-medium">
        Your recovery codes
      </h3>
      <p className="mt-1 text-sm text-text-muted">
        Save them somewhere safe now: they are shown only this once. Each works once, in place of a code from your app, if you lose your
        phone.
      </p>
      <ul className="mt-3 grid grid-cols-2 gap-x-6 gap-y-1 font-mono sm:grid-cols-5" data-testid="recovery-codes">
        {codes.map((code) => (
          <li key={code}>{code}</li>
        ))}
      </ul>
    </div>
  );
}
