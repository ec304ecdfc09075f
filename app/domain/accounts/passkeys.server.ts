// Passkeys (WebAuthn): the relying party, the one-use challenges both ceremonies keep, and a
// person's list of passkeys (rename, remove). Adding one is in `passkey-registration.server`,
// logging in with one in `passkey-login.server`.
import type { AuthenticatorTransport } from "@simplewebauthn/server";
import { z } from "zod";
import { CacheError, isCacheUnavailable } from "~/services/cache/types";
import type { Services } from "~/services/index.server";
import { type AuditActor, recordAudit } from "../audit/audit.server";
import { appendEvent } from "../events/outbox.server";
import { NotFoundError, ServiceUnavailableError, ValidationError } from "../errors";
import type { PasskeySummary } from "./passkeys";
import { confirmIdentity } from "./reauth.server";

/**
 * COSE algorithm identifiers (IANA's COSE Algorithms registry), as the library's COSEALG has them.
 * Not imported from "@simplewebauthn/server/helpers": that loads the certificate parsers (about
 * 4 MiB of heap) into every process at start-up, for three numbers.
 */
export const COSE_ALGORITHM = { EdDSA: -8, ES256: -7, RS256: -257 } as const;

/** Loaded on the first passkey ceremony: the WebAuthn library is large and many people never use one. */
export const webauthn = () => import("@simplewebauthn/server");

/** How long the browser (and the person) may take between options and response. */
export const CHALLENGE_TTL_MS = 5 * 60_000;
export const PASSKEY_NAME_MAX = 60;
/** The JSON endpoint that registers passkeys; admins who must enroll MFA may use it. */
export const PASSKEY_REGISTER_PATH = "/settings/security/passkeys";
/**
 * Signature algorithms offered and accepted for new passkeys, the same on every Node version.
 * The library's default adds ML-DSA-44 when the runtime's Web Crypto verifies it (Node 24, as
 * an experimental feature that warns): such a passkey would stop working on Node 20 or 22.
 */
export const PASSKEY_ALGORITHMS = [COSE_ALGORITHM.EdDSA, COSE_ALGORITHM.ES256, COSE_ALGORITHM.RS256];

export interface RelyingParty {
  rpID: string;
  origin: string;
}

/** APP_URL when set (like the OIDC callback), else the origin the request came to. */
export function relyingParty(services: Services, request: Request): RelyingParty {
  const origin = new URL(services.config.appUrl ?? request.url).origin;
  return { rpID: new URL(origin).hostname, origin };
}

export const parseTransports = (stored: string) => (stored ? (stored.split(",") as AuthenticatorTransport[]) : undefined);

// ---- challenges ------------------------------------------------------------------------------

/**
 * Challenges live in the cache with a short expiry and are spent by the first verification: the
 * `used:` counter makes taking one atomic even when two requests race (or two instances share Redis).
 */
export async function storeChallenge(services: Services, key: string, value: object): Promise<void> {
  try {
    await services.cache.set(`passkey:${key}`, JSON.stringify(value), CHALLENGE_TTL_MS);
  } catch (error) {
    throw passkeysUnavailable(error);
  }
}

/**
 * Challenges need the shared cache (fail closed): a challenge kept in one instance's memory
 * could be answered on another, or spent twice across instances.
 */
function passkeysUnavailable(error: unknown): unknown {
  if (error instanceof CacheError || isCacheUnavailable(error))
    return new ServiceUnavailableError("Passkeys are unavailable right now. Please try again shortly.");
  return error;
}

export async function takeChallenge<T>(services: Services, key: string, schema: z.ZodType<T>): Promise<T | null> {
  try {
    const raw = await services.cache.get(`passkey:${key}`);
    if (!raw) return null;
    const parsed = schema.safeParse(JSON.parse(raw));
    if (!parsed.success) return null;
    const { count } = await services.cache.increment(`passkey-used:${key}:${raw}`, CHALLENGE_TTL_MS);
    await services.cache.delete(`passkey:${key}`);
    return count === 1 ? parsed.data : null;
  } catch (error) {
    throw passkeysUnavailable(error);
  }
}

export const expiredRequestError = () => new ValidationError("That passkey request expired or was already used. Please try again.");

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

export function parseName(raw: unknown): string {
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
    // The last passkey with no authenticator app: sign-in is one step again, which the owner hears of.
    const [passkeysLeft, totp] = await Promise.all([
      tx.passkey.count({ where: { userId } }),
      tx.totpCredential.count({ where: { userId, confirmedAt: { not: null } } }),
    ]);
    if (passkeysLeft === 0 && totp === 0) {
      await appendEvent(tx, {
        actorId: actor.actorId,
        ownerId: userId,
        action: "security.mfa_disabled",
        subjectType: "user",
        subjectId: userId,
        details: { method: "passkeys", passkeysLeft: 0 },
      });
    }
  });
}

/** What the browser sends back from either ceremony; the library checks the rest. */
export const responseSchema = z
  .object({
    id: z.string().min(1).max(1024),
    rawId: z.string().min(1).max(1024),
    type: z.literal("public-key"),
    response: z.record(z.string(), z.unknown()),
  })
  .passthrough();
