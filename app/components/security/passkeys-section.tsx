import { Card } from "~/components/ui/card";
import { useState } from "react";
import { Form, useRevalidator } from "@remix-run/react";
import { startRegistration, type PublicKeyCredentialCreationOptionsJSON } from "@simplewebauthn/browser";
import { CsrfInput, useCsrfToken } from "~/components/csrf-input";
import { Field, FormMessage } from "~/components/field";
import { ConfirmIdentity, ConfirmWithProvider } from "~/components/security/confirm-identity";
import type { ReauthMethods } from "~/domain/accounts/reauth";
import { describeWebAuthnError, postPasskeyJson, useWebAuthnSupport } from "~/components/passkey-client";
import type { PasskeySummary } from "~/domain/accounts/passkeys";
import { formatDate } from "~/lib/format";
import { Button } from "~/components/ui/button";

const REGISTER_ENDPOINT = "/settings/security/passkeys";

/**
 * Passkeys on /settings/security: add one (needs JavaScript), rename, remove (with the password
 * or a current code). Rename and remove are plain forms handled by the page's action.
 */
export function PasskeysSection({
  passkeys,
  failure,
  manage = true,
  reauth,
}: {
  passkeys: PasskeySummary[];
  /** How the person confirms removing or adding one. */
  reauth: ReauthMethods;
  failure?: { intent?: string; passkeyId?: string; fieldErrors?: Record<string, string> } | null;
  /** False on /settings/security/mfa, where only adding is offered. */
  manage?: boolean;
}) {
  const errorsFor = (intent: string, id: string) =>
    failure?.intent === intent && failure.passkeyId === id ? (failure.fieldErrors ?? {}) : {};
  return (
    <Card as="section" padding="none" className="space-y-4 p-6" aria-labelledby="passkeys-heading" data-testid="passkeys-section">
      <div>
        <h2 id="passkeys-heading" className="text-lg font-semibold">
          Passkeys
        </h2>
        <p className="mt-1 text-sm text-text-muted">
          A passkey lives on your phone, computer or security key and is unlocked with your fingerprint, face or PIN. Use it to log in
          without a password, or as the second step after your password.
        </p>
      </div>
      {passkeys.length === 0 ? (
        <p className="text-sm" data-testid="passkeys-empty">
          You have no passkeys yet. Add one below from the device you want to log in with.
        </p>
      ) : (
        <ul className="divide-y divide-border rounded-md border border-border" data-testid="passkey-list">
          {passkeys.map((passkey) => (
            <li key={passkey.id} className="space-y-2 px-4 py-3">
              <div className="flex flex-wrap items-baseline justify-between gap-2">
                <p className="font-medium">{passkey.name}</p>
                <p className="text-sm text-text-muted">
                  Added {formatDate(passkey.createdAt)} ·{" "}
                  {passkey.lastUsedAt ? `last used ${formatDate(passkey.lastUsedAt)}` : "not used yet"}
                  {passkey.synced ? " · synced" : ""}
                </p>
              </div>
              {manage ? (
                <div className="flex flex-wrap gap-4">
                  <details className="text-sm">
                    <summary className="cursor-pointer text-accent-text underline">
                      Rename<span className="sr-only"> {passkey.name}</span>
                    </summary>
                    <Form method="post" className="mt-2 flex flex-wrap items-end gap-2" noValidate>
                      <CsrfInput />
                      <input type="hidden" name="intent" value="rename-passkey" />
                      <input type="hidden" name="passkey" value={passkey.id} />
                      <Field
                        id={`passkey-name-${passkey.id}`}
                        label="New name"
                        name="name"
                        defaultValue={passkey.name}
                        maxLength={60}
                        required
                        error={errorsFor("rename-passkey", passkey.id).name}
                      />
                      <Button variant="secondary" type="submit">
                        Save name
                      </Button>
                    </Form>
                  </details>
                  <details className="text-sm" open={Boolean(errorsFor("remove-passkey", passkey.id).proof)}>
                    <summary className="cursor-pointer text-danger underline">
                      Remove…<span className="sr-only"> {passkey.name}</span>
                    </summary>
                    <Form method="post" className="mt-2 flex flex-wrap items-end gap-2" noValidate>
                      <CsrfInput />
                      <input type="hidden" name="intent" value="remove-passkey" />
                      <input type="hidden" name="passkey" value={passkey.id} />
                      <ConfirmIdentity
                        reauth={reauth}
                        id={`passkey-proof-${passkey.id}`}
                        label="Your password or a current code, to confirm"
                        error={errorsFor("remove-passkey", passkey.id).proof}
                      />
                      <Button variant="secondary" type="submit">
                        Remove passkey
                      </Button>
                    </Form>
                  </details>
                </div>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      <AddPasskey reauth={reauth} />
    </Card>
  );
}

function AddPasskey({ reauth }: { reauth: ReauthMethods }) {
  const supported = useWebAuthnSupport();
  const csrfToken = useCsrfToken();
  const revalidator = useRevalidator();
  const [name, setName] = useState("");
  const [proof, setProof] = useState("");
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; message: string; nameError?: string; proofError?: string } | null>(null);

  if (supported === null) {
    return (
      <p className="without-js-only text-sm text-text-muted" data-testid="passkey-needs-js">
        Adding a passkey needs JavaScript: turn it on to add one. Everything else on this page works without it.
      </p>
    );
  }
  if (!supported) return <p className="text-sm text-text-muted">This browser cannot create passkeys. Try another browser or device.</p>;

  async function add(event: React.FormEvent) {
    event.preventDefault();
    setBusy(true);
    setResult(null);
    try {
      const trimmed = name.trim();
      if (!trimmed)
        return setResult({ ok: false, message: "Give the passkey a name first.", nameError: "Enter a name, e.g. “Work laptop”." });
      const start = await postPasskeyJson<{ options: PublicKeyCredentialCreationOptionsJSON; fieldErrors?: Record<string, string> }>(
        REGISTER_ENDPOINT,
        csrfToken,
        {
          step: "options",
          proof,
        },
      );
      if (!start.ok) return setResult({ ok: false, message: start.message ?? "Please try again.", proofError: start.fieldErrors?.proof });
      let response;
      try {
        response = await startRegistration({ optionsJSON: start.options });
      } catch (error) {
        return setResult({ ok: false, message: describeWebAuthnError(error) });
      }
      const done = await postPasskeyJson<{ passkey: { name: string }; fieldErrors?: Record<string, string> }>(
        REGISTER_ENDPOINT,
        csrfToken,
        {
          step: "verify",
          name: trimmed,
          response,
        },
      );
      if (!done.ok) return setResult({ ok: false, message: done.message ?? "Please try again.", nameError: done.fieldErrors?.name });
      setName("");
      setProof("");
      setResult({ ok: true, message: `Passkey “${done.passkey.name}” added. You can now log in with it.` });
      revalidator.revalidate();
    } catch {
      setResult({ ok: false, message: "Coffer could not be reached. Check your connection and try again." });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={add} className="space-y-3" noValidate aria-labelledby="passkey-add-heading">
      <h3 id="passkey-add-heading" className="font-medium">
        Add a passkey
      </h3>
      <FormMessage message={result?.message} tone={result?.ok ? "success" : "error"} />
      <div className="max-w-xs">
        <Field
          id="passkey-new-name"
          label="Passkey name"
          name="name"
          value={name}
          onChange={(event) => setName(event.target.value)}
          maxLength={60}
          hint="So you can tell your passkeys apart, e.g. “Work laptop”."
          error={result?.nameError}
        />
      </div>
      {reauth.confirmedUntil ? null : reauth.password || reauth.code ? (
        <div className="max-w-xs space-y-1">
          <Field
            id="passkey-new-proof"
            label={reauth.password ? "Your password or a current code" : "A current code from your app, or a recovery code"}
            name="proof"
            type={reauth.password ? "password" : "text"}
            autoComplete={reauth.password ? "current-password" : "one-time-code"}
            spellCheck={false}
            value={proof}
            onChange={(event) => setProof(event.target.value)}
            hint="Not needed within 10 minutes of logging in."
            error={result?.proofError}
          />
          {reauth.provider ? <ConfirmWithProvider provider={reauth.provider} /> : null}
        </div>
      ) : reauth.provider ? (
        <p className="text-sm text-text-muted">
          Within 10 minutes of logging in you can add one straight away; later, first{" "}
          <ConfirmWithProvider provider={reauth.provider} text={`confirm with ${reauth.provider}`} />.
        </p>
      ) : null}
      <Button variant="primary" type="submit" disabled={busy}>
        {busy ? "Waiting for your device…" : "Add a passkey"}
      </Button>
    </form>
  );
}
