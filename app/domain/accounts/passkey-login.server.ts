// Logging in with a passkey (passwordless, or as the second step): the browser binding of the
// challenges and the WebAuthn authentication ceremony.
import { randomBytes } from "node:crypto";
import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/server";
import { z } from "zod";
import { type SignedCookie, signedCookie } from "~/lib/cookies.server";
import type { Services } from "~/services/index.server";
import { UnauthorizedError, ValidationError } from "../errors";
import {
  CHALLENGE_TTL_MS,
  expiredRequestError,
  parseTransports,
  relyingParty,
  responseSchema,
  storeChallenge,
  takeChallenge,
  webauthn,
} from "./passkeys.server";

/** Passwordless login; or the second step for the user whose password was right. */
export type PasskeyLoginMode = { kind: "passwordless" } | { kind: "second-factor"; userId: string };

const loginChallenge = z.object({ c: z.string().min(16), u: z.string().nullable() });

/** How long the browser binding lasts; every challenge request (and visit of /login) renews it. */
const BINDING_TTL_SECONDS = 60 * 60;
const bindingId = z.string().regex(/^[A-Za-z0-9_-]{22}$/);

/**
 * Binds login challenges to this browser: a random id that names the browser, not a challenge.
 * It stays the same while the browser has it, so several ceremonies can be pending at once (the
 * login page's passkey autofill and the "Sign in with a passkey" button, or two tabs) without one
 * answer's cookie replacing the other's. It is no session and proves nothing on its own.
 */
function bindingCookie(services: Services): SignedCookie {
  return signedCookie(services, "coffer_passkey", { path: "/login", sameSite: "strict", maxAge: BINDING_TTL_SECONDS });
}

async function readBinding(services: Services, request: Request): Promise<string | null> {
  const value = await bindingCookie(services)
    .parse(request.headers.get("cookie"))
    .catch(() => null);
  const parsed = bindingId.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/**
 * This browser's binding, made when it has none, and the Set-Cookie that keeps it. The login
 * page sets it before any script runs, so that its first two challenge requests share one.
 */
export async function passkeyBrowserBinding(services: Services, request: Request): Promise<{ id: string; cookie: string }> {
  const id = (await readBinding(services, request)) ?? randomBytes(16).toString("base64url");
  return { id, cookie: await bindingCookie(services).serialize(id) };
}

/** The challenge a WebAuthn response signed, from its clientDataJSON (the signature check confirms it). */
function signedChallenge(response: { response: Record<string, unknown> }): string | null {
  const clientData = response.response.clientDataJSON;
  if (typeof clientData !== "string" || clientData.length > 4096) return null;
  try {
    const parsed = z
      .object({ challenge: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/) })
      .safeParse(JSON.parse(Buffer.from(clientData, "base64url").toString("utf8")));
    return parsed.success ? parsed.data.challenge : null;
  } catch {
    return null;
  }
}

export async function startLogin(
  services: Services,
  request: Request,
  mode: PasskeyLoginMode,
): Promise<{ options: PublicKeyCredentialRequestOptionsJSON; cookie: string }> {
  const { rpID } = relyingParty(services, request);
  const allowCredentials =
    mode.kind === "second-factor"
      ? (await services.prisma.passkey.findMany({ where: { userId: mode.userId }, select: { credentialId: true, transports: true } })).map(
          (row) => ({
            id: row.credentialId,
            transports: parseTransports(row.transports),
          }),
        )
      : undefined;
  if (mode.kind === "second-factor" && allowCredentials?.length === 0) {
    throw new ValidationError("You have no passkey. Enter a code instead.");
  }
  const options = await (await webauthn()).generateAuthenticationOptions({
    rpID,
    allowCredentials,
    // Alone, a passkey must prove both possession and the person (PIN or biometrics).
    userVerification: mode.kind === "passwordless" ? "required" : "preferred",
    timeout: CHALLENGE_TTL_MS,
  });
  const binding = await passkeyBrowserBinding(services, request);
  // One entry per challenge: a newer request leaves the older ones pending until used or expired.
  await storeChallenge(services, `login:${binding.id}:${options.challenge}`, {
    c: options.challenge,
    u: mode.kind === "second-factor" ? mode.userId : null,
  });
  return { options, cookie: binding.cookie };
}

export function clearLoginChallengeCookie(services: Services): Promise<string> {
  return bindingCookie(services).serialize("", { maxAge: 0 });
}

/** Why a passkey login was refused; `userId` when the credential belonged to a known account. */
export class PasskeyLoginError extends UnauthorizedError {
  constructor(
    readonly reason: string,
    readonly userId: string | null,
  ) {
    super("That passkey did not work. Try again, or use another way to log in.");
  }
}

/**
 * Verifies a login response against this browser's challenge and returns the passkey's owner.
 * The signature counter must grow (when the authenticator counts): a counter that went back
 * suggests a cloned authenticator, and the login is refused.
 */
export async function finishLogin(
  services: Services,
  request: Request,
  mode: PasskeyLoginMode,
  rawResponse: unknown,
): Promise<{ userId: string; passkeyId: string; passkeyName: string }> {
  const response = responseSchema.safeParse(rawResponse);
  if (!response.success) throw new ValidationError("The browser sent an incomplete passkey response. Please try again.");
  // The challenge this answer signed, issued to this browser: any of its pending ones.
  const binding = await readBinding(services, request);
  const signed = signedChallenge(response.data);
  const challenge = binding && signed ? await takeChallenge(services, `login:${binding}:${signed}`, loginChallenge) : null;
  const expectedUser = mode.kind === "second-factor" ? mode.userId : null;
  if (!challenge || challenge.u !== expectedUser) throw expiredRequestError();

  const passkey = await services.prisma.passkey.findUnique({ where: { credentialId: response.data.id } });
  if (!passkey) throw new PasskeyLoginError("unknown_credential", expectedUser);
  if (expectedUser && passkey.userId !== expectedUser) throw new PasskeyLoginError("other_users_credential", expectedUser);
  const userHandle = (response.data.response as { userHandle?: unknown }).userHandle;
  if (typeof userHandle === "string" && userHandle !== "" && userHandle !== Buffer.from(passkey.userId).toString("base64url")) {
    throw new PasskeyLoginError("user_handle_mismatch", passkey.userId);
  }

  const { rpID, origin } = relyingParty(services, request);
  let verification;
  try {
    verification = await (await webauthn()).verifyAuthenticationResponse({
      response: response.data as unknown as AuthenticationResponseJSON,
      expectedChallenge: challenge.c,
      expectedOrigin: origin,
      expectedRPID: rpID,
      credential: {
        id: passkey.credentialId,
        publicKey: new Uint8Array(passkey.publicKey),
        counter: Number(passkey.counter),
        transports: parseTransports(passkey.transports),
      },
      requireUserVerification: mode.kind === "passwordless",
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    services.log.info("passkey login refused", { error: message });
    throw new PasskeyLoginError(/counter/i.test(message) ? "counter_regression" : "verification", passkey.userId);
  }
  if (!verification.verified) throw new PasskeyLoginError("verification", passkey.userId);

  const newCounter = BigInt(verification.authenticationInfo.newCounter);
  // Conditional, so two logins racing with the same signature cannot both pass.
  const { count } = await services.prisma.passkey.updateMany({
    where: { id: passkey.id, counter: newCounter === 0n ? 0n : { lt: newCounter } },
    data: { counter: newCounter, lastUsedAt: new Date(), backedUp: verification.authenticationInfo.credentialBackedUp },
  });
  if (count !== 1) throw new PasskeyLoginError("counter_regression", passkey.userId);
  return { userId: passkey.userId, passkeyId: passkey.id, passkeyName: passkey.name };
}
