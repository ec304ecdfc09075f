import { buttonClass } from "~/components/ui/button";
import { useLocation } from "@remix-run/react";
import { Field } from "~/components/field";
import { REAUTH_PATH, type ReauthMethods } from "~/domain/accounts/reauth";

const time = (iso: string) => new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: "UTC" }) + " UTC";

/** "Confirm with <provider>": a plain link (works without JavaScript) that comes back to this page. */
export function ConfirmWithProvider({ provider, primary = false, text }: { provider: string; primary?: boolean; text?: string }) {
  const location = useLocation();
  const href = `${REAUTH_PATH}?returnTo=${encodeURIComponent(location.pathname + location.search)}`;
  return (
    <a
      href={href}
      className={primary ? buttonClass("primary", "md", "inline-flex") : "text-sm text-accent-text underline"}
      data-testid="confirm-with-provider"
    >
      {text ?? (primary ? `Confirm with ${provider}` : `Or confirm with ${provider} instead`)}
    </a>
  );
}

/**
 * The "confirm it's you" part of a sensitive form: nothing while a recent confirmation counts;
 * else the password/code field the account can use, and for single sign-on accounts a link to
 * confirm at the provider (the only way for accounts without a password or app).
 */
export function ConfirmIdentity({
  reauth,
  id,
  name = "proof",
  label,
  hint,
  error,
}: {
  reauth: ReauthMethods;
  id: string;
  name?: string;
  /** The field's label for accounts with a password. */
  label: string;
  hint?: string;
  error?: string;
}) {
  if (reauth.confirmedUntil) {
    return (
      <p className="text-sm text-success" data-testid="reauth-confirmed">
        {`You confirmed it's you${reauth.provider ? ` with ${reauth.provider}` : ""}: ${reauth.password ? "no password needed" : "no need to confirm again"} until ${time(reauth.confirmedUntil)}.`}
      </p>
    );
  }
  if (!reauth.password && !reauth.code) {
    if (!reauth.provider) return null;
    return (
      <div className="space-y-1">
        <p className="text-sm text-text-muted">{`Your account has no password. First confirm it's you by signing in again with ${reauth.provider}; you come back here.`}</p>
        {error ? <p className="field-error">{error}</p> : null}
        <ConfirmWithProvider provider={reauth.provider} primary />
      </div>
    );
  }
  return (
    <div className="space-y-1">
      {/* Without a password it is a one-time code, not a secret to hide or for a password manager to save. */}
      <Field
        id={id}
        label={reauth.password ? label : "A current code from your app, or a recovery code"}
        name={name}
        type={reauth.password ? "password" : "text"}
        autoComplete={reauth.password ? "off" : "one-time-code"}
        spellCheck={false}
        required
        hint={hint}
        error={error}
      />
      {reauth.provider ? <ConfirmWithProvider provider={reauth.provider} /> : null}
    </div>
  );
}
