import { Button } from "~/components/ui/button";
import { useEffect, useState } from "react";
import {
  browserSupportsWebAuthnAutofill,
  startAuthentication,
  WebAuthnAbortService,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from "@simplewebauthn/browser";
import { useCsrfToken } from "~/components/csrf-input";
import { FormMessage } from "~/components/field";
import { describeWebAuthnError, postPasskeyJson, useWebAuthnSupport } from "~/components/passkey-client";

const ENDPOINT = "/login/passkey";
const UNREACHABLE = "Coffer could not be reached. Check your connection and try again.";

type LoginMode = "passwordless" | "second-factor";
type Outcome = { ok: true; redirectTo: string } | { ok: false; message: string; cancelled: boolean };

/** Step one: a challenge from the server, answered by a passkey the browser lets the person pick. */
async function pickPasskey(csrfToken: string, mode: LoginMode, redirectTo: string | undefined, autofill?: { wanted: () => boolean }) {
  const start = await postPasskeyJson<{ options: PublicKeyCredentialRequestOptionsJSON }>(ENDPOINT, csrfToken, {
    step: "options",
    mode,
    redirectTo,
  });
  if (!start.ok) return { ok: false as const, message: start.message ?? "Please try again.", cancelled: false };
  if (autofill && !autofill.wanted()) return { ok: false as const, message: "", cancelled: true };
  try {
    const response: AuthenticationResponseJSON = await startAuthentication({
      optionsJSON: start.options,
      useBrowserAutofill: Boolean(autofill),
    });
    return { ok: true as const, response };
  } catch (error) {
    // Another passkey request (the button, or the next autofill round) replaced this one.
    const cancelled = error instanceof Error && error.name === "AbortError";
    return { ok: false as const, message: describeWebAuthnError(error), cancelled };
  }
}

/** Step two: the server checks the answer and starts the session. */
async function verifyPasskey(
  csrfToken: string,
  mode: LoginMode,
  redirectTo: string | undefined,
  response: AuthenticationResponseJSON,
): Promise<Outcome> {
  const done = await postPasskeyJson<{ redirectTo: string }>(ENDPOINT, csrfToken, { step: "verify", mode, redirectTo, response });
  return done.ok
    ? { ok: true, redirectTo: done.redirectTo }
    : { ok: false, message: done.message ?? "Please try again.", cancelled: false };
}

/**
 * "Sign in with a passkey" (passwordless, on /login) or "Use a passkey" (second step, on
 * /login/mfa). Needs JavaScript; without it the page says so and the other ways still work.
 * It takes over from a waiting passkey autofill request (`onStart`: pause it; `onSettled`, when
 * it did not sign in: resume it); simplewebauthn cancels the waiting request when it starts.
 */
export function PasskeyLoginButton({
  mode,
  redirectTo,
  label,
  onStart,
  onSettled,
}: {
  mode: LoginMode;
  redirectTo?: string;
  label: string;
  onStart?: () => void;
  onSettled?: () => void;
}) {
  const csrfToken = useCsrfToken();
  const supported = useWebAuthnSupport();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);

  if (supported === null) {
    return (
      <p className="without-js-only text-sm text-text-muted" data-testid="passkey-needs-js">
        Logging in with a passkey needs JavaScript.
      </p>
    );
  }
  if (!supported) return <p className="text-sm text-text-muted">This browser cannot use passkeys.</p>;

  async function signIn() {
    onStart?.();
    setBusy(true);
    setMessage(null);
    try {
      const picked = await pickPasskey(csrfToken, mode, redirectTo);
      const outcome = picked.ok ? await verifyPasskey(csrfToken, mode, redirectTo, picked.response) : picked;
      if (outcome.ok) return window.location.assign(outcome.redirectTo);
      setMessage(outcome.message);
    } catch {
      setMessage(UNREACHABLE);
    } finally {
      setBusy(false);
    }
    onSettled?.();
  }

  return (
    <div className="space-y-2">
      <FormMessage message={message} />
      <Button type="button" variant="secondary" className="w-full" onClick={signIn} disabled={busy}>
        {busy ? "Waiting for your passkey…" : label}
      </Button>
    </div>
  );
}

/** A fresh challenge before the server's (5 minutes) expires, so a page left open still works. */
const AUTOFILL_REFRESH_MS = 4 * 60_000;

/**
 * Passkey autofill (WebAuthn conditional UI) on the login form: where the browser supports it,
 * the email field's autofill list offers this site's passkeys and picking one signs in, through
 * the same endpoint as the button. Returns the email field's `autoComplete` and a message when a
 * picked passkey was refused. Without JavaScript or support, the field stays a plain "username".
 * `pause` and `resume` are for the passkey button, which takes over while it runs.
 */
export function usePasskeyAutofill({ enabled, redirectTo }: { enabled: boolean; redirectTo?: string }) {
  const csrfToken = useCsrfToken();
  const [supported, setSupported] = useState(false);
  const [round, setRound] = useState(0);
  const [paused, setPaused] = useState(false);
  const [message, setMessage] = useState<string | null>(null);

  useEffect(() => {
    if (!enabled) return;
    let active = true;
    browserSupportsWebAuthnAutofill()
      .then((yes) => active && setSupported(yes))
      .catch(() => undefined);
    return () => {
      active = false;
    };
  }, [enabled]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `round` is read only to start a fresh ceremony.
  useEffect(() => {
    // Runs after the field got its "webauthn" token: the request needs it in the page.
    if (!enabled || !supported || paused) return;
    let active = true;
    const refresh = setTimeout(() => setRound((n) => n + 1), AUTOFILL_REFRESH_MS);
    (async () => {
      // Failing to start (no challenge, no connection) is silent: the button says why when used.
      const picked = await pickPasskey(csrfToken, "passwordless", redirectTo, { wanted: () => active }).catch(() => null);
      clearTimeout(refresh);
      if (!active || !picked?.ok) return;
      setMessage(null);
      const outcome = await verifyPasskey(csrfToken, "passwordless", redirectTo, picked.response).catch(() => null);
      if (outcome?.ok) return window.location.assign(outcome.redirectTo);
      if (!active) return;
      setMessage(outcome?.message ?? UNREACHABLE);
      setRound((n) => n + 1);
    })();
    return () => {
      active = false;
      clearTimeout(refresh);
      WebAuthnAbortService.cancelCeremony();
    };
  }, [enabled, supported, paused, round, csrfToken, redirectTo]);

  return {
    autoComplete: enabled && supported ? "username webauthn" : "username",
    message,
    pause: () => setPaused(true),
    resume: () => {
      setPaused(false);
      setRound((n) => n + 1);
    },
  };
}
