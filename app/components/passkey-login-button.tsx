import { useState } from "react";
import { startAuthentication, type PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/browser";
import { useCsrfToken } from "~/components/csrf-input";
import { FormMessage } from "~/components/field";
import { describeWebAuthnError, postPasskeyJson, useWebAuthnSupport } from "~/components/passkey-client";

const ENDPOINT = "/login/passkey";

/**
 * "Sign in with a passkey" (passwordless, on /login) or "Use a passkey" (second step, on
 * /login/mfa). Needs JavaScript; without it the page says so and the other ways still work.
 */
export function PasskeyLoginButton({ mode, redirectTo, label }: { mode: "passwordless" | "second-factor"; redirectTo?: string; label: string }) {
  const csrfToken = useCsrfToken();
  const supported = useWebAuthnSupport();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);

  if (supported === null) {
    return <p className="text-sm text-slate-600" data-testid="passkey-needs-js">Logging in with a passkey needs JavaScript.</p>;
  }
  if (!supported) return <p className="text-sm text-slate-600">This browser cannot use passkeys.</p>;

  async function signIn() {
    setBusy(true);
    setMessage(null);
    try {
      const start = await postPasskeyJson<{ options: PublicKeyCredentialRequestOptionsJSON }>(ENDPOINT, csrfToken, { step: "options", mode, redirectTo });
      if (!start.ok) return setMessage(start.message ?? "Please try again.");
      let response;
      try {
        response = await startAuthentication({ optionsJSON: start.options });
      } catch (error) {
        return setMessage(describeWebAuthnError(error));
      }
      const done = await postPasskeyJson<{ redirectTo: string }>(ENDPOINT, csrfToken, { step: "verify", mode, redirectTo, response });
      if (!done.ok) return setMessage(done.message ?? "Please try again.");
      window.location.assign(done.redirectTo);
    } catch {
      setMessage("Coffer could not be reached. Check your connection and try again.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="space-y-2">
      <FormMessage message={message} />
      <button type="button" className="btn-secondary w-full" onClick={signIn} disabled={busy}>
        {busy ? "Waiting for your passkey…" : label}
      </button>
    </div>
  );
}
