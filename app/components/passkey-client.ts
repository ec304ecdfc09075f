import { useEffect, useState } from "react";
import { browserSupportsWebAuthn } from "@simplewebauthn/browser";

/** Posts JSON to one of the passkey endpoints with the CSRF header; returns the parsed answer. */
export async function postPasskeyJson<T>(url: string, csrfToken: string, body: unknown): Promise<T & { ok: boolean; message?: string }> {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrfToken },
    body: JSON.stringify(body),
  });
  const parsed = (await response.json().catch(() => null)) as (T & { ok: boolean; message?: string }) | null;
  if (!parsed)
    return { ok: false, message: `The server answered ${response.status}. Please try again.` } as T & { ok: boolean; message?: string };
  return parsed;
}

/** Words for the errors the browser's WebAuthn calls throw. */
export function describeWebAuthnError(error: unknown): string {
  const name = error instanceof Error ? error.name : "";
  if (name === "NotAllowedError" || name === "AbortError") return "The passkey request was cancelled or timed out. Please try again.";
  if (name === "InvalidStateError") return "This device already holds a passkey for your account.";
  if (name === "SecurityError")
    return "Passkeys need this site's real address (https, or localhost). Ask your administrator to set APP_URL.";
  return "Your browser could not use a passkey. Please try again or use another way.";
}

/** False until hydrated, then whether the browser has WebAuthn: buttons appear only when they can work. */
export function useWebAuthnSupport(): boolean | null {
  const [supported, setSupported] = useState<boolean | null>(null);
  useEffect(() => setSupported(browserSupportsWebAuthn()), []);
  return supported;
}
