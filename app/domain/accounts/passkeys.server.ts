import { randomBytes } from "node:crypto";
import { signedCookie, type SignedCookie } from "~/lib/cookies.server";
import type {
  AuthenticationResponseJSON,
  AuthenticatorTransport,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from "@simplewebauthn/server";
import { COSEALG } from "@simplewebauthn/server/helpers";
import { z } from "zod";
import { CacheError } from "~/services/cache/types";
import type { Services } from "~/services/index.server";
import { recordAudit, type AuditActor } from "../audit/audit.server";
import { NotFoundError, ServiceUnavailableError, UnauthorizedError, ValidationError } from "../errors";
import type { PasskeySummary } from "./passkeys";
import { confirmIdentity } from "./reauth.server";

/** Loaded on the first passkey ceremony: the WebAuthn library is large and many people never use one. */
const webauthn = () => import("@simplewebauthn/server");

const RP_NAME = "Coffer";
/** How long the browser (and the person) may take between options and response. */
const CHALLENGE_TTL_MS = 5 * 60_000;
export const PASSKEY_NAME_MAX = 60;
/** The JSON endpoint that registers passkeys; admins who must enroll MFA may use it. */
export const PASSKEY_REGISTER_PATH = "/settings/security/passkeys";
/**
 * Signature algorithms offered and accepted for new passkeys, the same on every Node version.
 * The library's default adds ML-DSA-44 when the runtime's Web Crypto verifies it (Node 24, as
 * an experimental feature that warns): such a passkey would stop working on Node 20 or 22.
 */
const PASSKEY_ALGORITHMS = [COSEALG.EdDSA, COSEALG.ES256, COSEALG.RS256];

export interface RelyingParty {
  rpID: string;
  origin: string;
}

/** APP_URL when set (like the OIDC callback), else the origin the request came to. */
export function relyingParty(services: Services, request: Request): RelyingParty {
  const origin = new URL(services.config.appUrl ?? request.url).origin;
  return { rpID: new URL(origin).hostname, origin };
}

const parseTransports = (stored: string) => (stored ? (stored.split(",") as AuthenticatorTransport[]) : undefined);

// ---- challenges ------------------------------------------------------------------------------

/**
 * Challenges live in the cache with a short expiry and are spent by the first verification: the
 * `used:` counter makes taking one atomic even when two requests race (or two instances share Redis).
 */
async function storeChallenge(services: Services, key: string, value: object): Promise<void> {
  try {
    await services.cache.set(`passkey:${key}`, JSON.stringify(value), CHALLENGE_TTL_MS);
  } catch (error) {
    if (error instanceof CacheError) throw new ServiceUnavailableError("Passkeys are unavailable right now. Please try again shortly.");
    throw error;
  }
}

async function takeChallenge<T>(services: Services, key: string, schema: z.ZodType<T>): Promise<T | null> {
  try {
    const raw = await services.cache.get(`passkey:${key}`);
    if (!raw) return null;
    const parsed = schema.safeParse(JSON.parse(raw));
    if (!parsed.success) return null;
    const { count } = await services.cache.increment(`passkey-used:${key}:${raw}`, CHALLENGE_TTL_MS);
    await services.cache.delete(`passkey:${key}`);
    return count === 1 ? parsed.data : null;
  } catch (error) {
    if (error instanceof CacheError) throw new ServiceUnavailableError("Passkeys are unavailable right now. Please try again shortly.");
    throw error;
  }
}

const expired = () => new ValidationError("That passkey request expired or was already used. Please try again.");

// ---- listing and management ------------------------------------------------------------------

export async function listPasskeys(services: Services, userId: string): Promise<PasskeySummary[]> {
  const rows = await services.prisma.passkey.findMany({ where: { userId }, orderBy: { createdAt: "asc" } });
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    synced: row.backedUp,
  }));
}

export async function hasPasskeys(services: Services, userId: string): Promise<boolean> {
  return (await services.prisma.passkey.count({ where: { userId } })) > 0;
}

const nameSchema = z
  .string()
  .trim()
  .min(1, "Give the passkey a name, e.g. the device it is on.")
  .max(PASSKEY_NAME_MAX, `At most ${PASSKEY_NAME_MAX} characters.`);

function parseName(raw: unknown): string {
  const parsed = nameSchema.safeParse(typeof raw === "string" ? raw : "");
  if (!parsed.success) {
    const message = parsed.error.issues[0]?.message ?? "Enter a name.";
    throw new ValidationError(message, { name: message });
  }
  return parsed.data;
}

export async function renamePasskey(services: Services, userId: string, passkeyId: string, rawName: unknown): Promise<void> {
  const name = parseName(rawName);
  const { count } = await services.prisma.passkey.updateMany({ where: { id: passkeyId, userId }, data: { name } });
  if (count === 0) throw new NotFoundError("That passkey");
}

/** Removing needs a confirmation (password, current code or a recent one at the provider), like turning off the authenticator app. */
export async function removePasskey(
  services: Services,
  actor: AuditActor,
  user: { id: string; sessionId: string },
  passkeyId: string,
  proof: unknown,
): Promise<void> {
  const userId = user.id;
  const passkey = await services.prisma.passkey.findFirst({ where: { id: passkeyId, userId }, select: { id: true, name: true } });
  if (!passkey) throw new NotFoundError("That passkey");
  try {
    await confirmIdentity(services, user, proof);
  } catch (error) {
    await recordAudit(services.prisma, actor, {
      action: "auth.passkey_removed",
      outcome: "failure",
      targetType: "user",
      targetId: userId,
      details: { reason: "bad_proof", passkey: passkey.name },
    });
    throw error;
  }
  await services.prisma.$transaction(async (tx) => {
    await tx.passkey.delete({ where: { id: passkey.id } });
    await recordAudit(tx, actor, {
      action: "auth.passkey_removed",
      targetType: "user",
      targetId: userId,
      details: { passkey: passkey.name },
    });
  });
}

// ---- registration ----------------------------------------------------------------------------

const registrationChallenge = z.object({ c: z.string().min(16) });

/** Within this long after logging in, adding a passkey needs no password again. */
export const FRESH_LOGIN_MS = 10 * 60_000;

/**
 * A new passkey is a new way into the account, so a stolen session alone must not add one: the
 * login must be recent, or the person confirms (password, current code, or at the provider).
 */
async function assertRecentLoginOrProof(
  services: Services,
  actor: AuditActor,
  user: { id: string; sessionId: string },
  proof: unknown,
): Promise<void> {
  const session = await services.prisma.session.findUnique({ where: { id: user.sessionId }, select: { createdAt: true } });
  if (session && Date.now() - session.createdAt.getTime() < FRESH_LOGIN_MS) return;
  try {
    await confirmIdentity(services, user, proof);
  } catch (error) {
    if (typeof proof === "string" && proof.trim() !== "") {
      await recordAudit(services.prisma, actor, {
        action: "auth.passkey_added",
        outcome: "failure",
        targetType: "user",
        targetId: user.id,
        details: { reason: "bad_proof" },
      });
    }
    throw error;
  }
}

export async function startRegistration(
  services: Services,
  request: Request,
  actor: AuditActor,
  user: { id: string; email: string; name: string; sessionId: string },
  proof?: unknown,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  await assertRecentLoginOrProof(services, actor, user, proof);
  const { rpID } = relyingParty(services, request);
  const existing = await services.prisma.passkey.findMany({ where: { userId: user.id }, select: { credentialId: true, transports: true } });
  const options = await (await webauthn()).generateRegistrationOptions({
    rpName: RP_NAME,
    rpID,
    userName: user.email,
    userDisplayName: user.name,
    userID: new TextEncoder().encode(user.id),
    attestationType: "none",
    excludeCredentials: existing.map((row) => ({ id: row.credentialId, transports: parseTransports(row.transports) })),
    // Discoverable credentials make passwordless login possible; others still work as a second factor.
    authenticatorSelection: { residentKey: "preferred", userVerification: "preferred" },
    timeout: CHALLENGE_TTL_MS,
    supportedAlgorithmIDs: PASSKEY_ALGORITHMS,
  });
  await storeChallenge(services, `register:${user.id}`, { c: options.challenge });
  return options;
}

const responseSchema = z
  .object({
    id: z.string().min(1).max(1024),
    rawId: z.string().min(1).max(1024),
    type: z.literal("public-key"),
    response: z.record(z.string(), z.unknown()),
  })
  .passthrough();

export async function finishRegistration(
  services: Services,
  request: Request,
  actor: AuditActor,
  userId: string,
  input: { name: unknown; response: unknown },
): Promise<PasskeySummary> {
  const name = parseName(input.name);
  const response = responseSchema.safeParse(input.response);
  const fail = async (reason: string, message: string) => {
    await recordAudit(services.prisma, actor, {
      action: "auth.passkey_added",
      outcome: "failure",
      targetType: "user",
      targetId: userId,
      details: { reason },
    });
    return new ValidationError(message);
  };
  if (!response.success) throw await fail("malformed", "The browser sent an incomplete passkey. Please try again.");
  const challenge = await takeChallenge(services, `register:${userId}`, registrationChallenge);
  if (!challenge) throw await fail("challenge", expired().message);
  const { rpID, origin } = relyingParty(services, request);
  let verification;
  try {
    verification = await (await webauthn()).verifyRegistrationResponse({
      response: response.data as unknown as RegistrationResponseJSON,
      expectedChallenge: challenge.c,
      expectedOrigin: origin,
      expectedRPID: rpID,
      requireUserVerification: false,
      supportedAlgorithmIDs: PASSKEY_ALGORITHMS,
    });
  } catch (error) {
    services.log.info("passkey registration refused", { error: error instanceof Error ? error.message : String(error) });
    throw await fail("verification", "That passkey could not be verified. Please try again.");
  }
  if (!verification.verified) throw await fail("verification", "That passkey could not be verified. Please try again.");
  const { credential, credentialDeviceType, credentialBackedUp } = verification.registrationInfo;
  if (await services.prisma.passkey.findUnique({ where: { credentialId: credential.id }, select: { id: true } })) {
    throw await fail("duplicate", "That passkey is already registered.");
  }
  const row = await services.prisma.$transaction(async (tx) => {
    const created = await tx.passkey.create({
      data: {
        userId,
        credentialId: credential.id,
        publicKey: Buffer.from(credential.publicKey),
        counter: BigInt(credential.counter),
        transports: (credential.transports ?? []).join(","),
        deviceType: credentialDeviceType,
        backedUp: credentialBackedUp,
        name,
      },
    });
    await recordAudit(tx, actor, { action: "auth.passkey_added", targetType: "user", targetId: userId, details: { passkey: name } });
    return created;
  });
  return { id: row.id, name: row.name, createdAt: row.createdAt.toISOString(), lastUsedAt: null, synced: row.backedUp };
}

// ---- authentication --------------------------------------------------------------------------

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
  if (!challenge || challenge.u !== expectedUser) throw expired();

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
