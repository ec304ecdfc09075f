// Adding a passkey: a recent login or a confirmation, then the WebAuthn registration ceremony.
import type { PublicKeyCredentialCreationOptionsJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import { z } from "zod";
import type { Services } from "~/services/index.server";
import { type AuditActor, recordAudit } from "../audit/audit.server";
import { ValidationError } from "../errors";
import type { PasskeySummary } from "./passkeys";
import {
  CHALLENGE_TTL_MS,
  expiredRequestError,
  PASSKEY_ALGORITHMS,
  parseName,
  parseTransports,
  relyingParty,
  responseSchema,
  storeChallenge,
  takeChallenge,
  webauthn,
} from "./passkeys.server";
import { confirmIdentity } from "./reauth.server";

const RP_NAME = "Coffer";

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
  if (!challenge) throw await fail("challenge", expiredRequestError().message);
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
