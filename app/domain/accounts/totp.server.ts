import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, randomInt } from "node:crypto";
import * as OTPAuth from "otpauth";
import { z } from "zod";
import type { Services } from "~/services/index.server";

/**
 * The authenticator-app factor itself: its secret at rest, TOTP and recovery codes, and the
 * check of a second factor. Below mfa.server (enrollment, status, the login step) and
 * reauth.server (confirming a sensitive action), which both use it.
 */

const ISSUER = "Coffer";
const PERIOD_SECONDS = 30;
/** Codes of the previous and next 30 s step are accepted too, for clocks that drift a little. */
const WINDOW_STEPS = 1;
export const RECOVERY_CODE_COUNT = 10;

// ---- secrets at rest -------------------------------------------------------------------------

/** Keys derived from the session secret: one encrypts TOTP secrets, one keys recovery-code hashes. */
function derivedKey(services: Services, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", services.sessionSecret, "coffer-mfa", purpose, 32));
}

export function encryptSecret(services: Services, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", derivedKey(services, "totp-secret"), iv);
  const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return ["v1", iv.toString("base64url"), body.toString("base64url"), cipher.getAuthTag().toString("base64url")].join(".");
}

export function decryptSecret(services: Services, stored: string): string {
  const [version, iv, body, tag] = stored.split(".");
  if (version !== "v1" || !iv || !body || !tag) throw new Error("Unknown TOTP secret format");
  const decipher = createDecipheriv("aes-256-gcm", derivedKey(services, "totp-secret"), Buffer.from(iv, "base64url"));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
}

export function totpFor(secretBase32: string, label: string): OTPAuth.TOTP {
  return new OTPAuth.TOTP({
    issuer: ISSUER,
    label,
    algorithm: "SHA1",
    digits: 6,
    period: PERIOD_SECONDS,
    secret: OTPAuth.Secret.fromBase32(secretBase32),
  });
}

// ---- codes -----------------------------------------------------------------------------------

/** Never throws: anything that is not a string of at most 64 characters is no code at all (the caller says so). */
export const codeInput = z.preprocess((v) => (typeof v === "string" && v.trim().length <= 64 ? v : ""), z.string().trim());

/** "123 456" → "123456"; anything else that is not six digits is treated as a recovery code. */
export function asTotpCode(input: string): string | null {
  const digits = input.replace(/[\s-]/g, "");
  return /^\d{6}$/.test(digits) ? digits : null;
}

const RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789";

function newRecoveryCode(): string {
  const chars = Array.from({ length: 10 }, () => RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)]).join("");
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}

function normaliseRecoveryCode(input: string): string {
  return input.toLowerCase().replace(/[^a-z0-9]/g, "");
}

/** Recovery codes are random (50 bits), so a keyed hash is enough; argon2 would cost 10× per check. */
function hashRecoveryCode(services: Services, code: string): string {
  return createHmac("sha256", derivedKey(services, "recovery-code")).update(normaliseRecoveryCode(code)).digest("base64url");
}

export async function replaceRecoveryCodes(
  db: Pick<Services["prisma"], "recoveryCode">,
  services: Services,
  userId: string,
): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  await db.recoveryCode.deleteMany({ where: { userId } });
  await db.recoveryCode.createMany({ data: codes.map((code) => ({ userId, codeHash: hashRecoveryCode(services, code) })) });
  return codes;
}

/**
 * Checks a TOTP code and marks its time step used, atomically, so the same code (or an older
 * one) cannot be accepted twice. `confirmed` selects the active factor or a pending enrollment.
 */
export async function acceptTotpCode(services: Services, userId: string, code: string, confirmed: boolean): Promise<boolean> {
  const credential = await services.prisma.totpCredential.findUnique({ where: { userId } });
  if (!credential || (credential.confirmedAt !== null) !== confirmed) return false;
  const totp = totpFor(decryptSecret(services, credential.secretEncrypted), "");
  const delta = totp.validate({ token: code, window: WINDOW_STEPS });
  if (delta === null) return false;
  const step = totp.counter() + delta;
  const { count } = await services.prisma.totpCredential.updateMany({
    where: { userId, OR: [{ lastUsedStep: null }, { lastUsedStep: { lt: step } }] },
    data: { lastUsedStep: step, ...(confirmed ? {} : { confirmedAt: new Date() }) },
  });
  return count === 1;
}

/** An authenticator app is set up and confirmed. */
export async function hasTotp(services: Services, userId: string): Promise<boolean> {
  const credential = await services.prisma.totpCredential.findUnique({ where: { userId }, select: { confirmedAt: true } });
  return Boolean(credential?.confirmedAt);
}

/**
 * Checks a second factor: a 6-digit code from the app (each accepted once) or a recovery code
 * (spent on use). Returns which one matched, or null.
 */
export async function verifySecondFactor(services: Services, userId: string, input: string): Promise<"totp" | "recovery" | null> {
  const code = asTotpCode(input);
  if (code) return (await acceptTotpCode(services, userId, code, true)) ? "totp" : null;
  const normalised = normaliseRecoveryCode(input);
  if (normalised.length !== 10) return null;
  if (!(await hasTotp(services, userId))) return null;
  const { count } = await services.prisma.recoveryCode.updateMany({
    where: { userId, codeHash: hashRecoveryCode(services, normalised), usedAt: null },
    data: { usedAt: new Date() },
  });
  return count === 1 ? "recovery" : null;
}
