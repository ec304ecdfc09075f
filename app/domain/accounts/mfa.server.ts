import { randomBytes } from "node:crypto";
import * as OTPAuth from "otpauth";
import { signedCookie, type SignedCookie } from "~/lib/cookies.server";
import { z } from "zod";
import type { Services } from "~/services/index.server";
import { recordAudit, type AuditActor } from "../audit/audit.server";
import { appendEvent } from "../events/outbox.server";
import { ConflictError, ValidationError } from "../errors";
import { confirmIdentity } from "./reauth.server";
import type { MfaStatus, PendingEnrollment } from "./mfa";
import { getSettings } from "../admin/settings.server";
import { acceptTotpCode, asTotpCode, codeInput, decryptSecret, encryptSecret, hasTotp, replaceRecoveryCodes, totpFor } from "./totp.server";

export { hasTotp, verifySecondFactor } from "./totp.server";

/** How long the step between password and code may take. */
const PENDING_LOGIN_TTL_MS = 5 * 60_000;
/** Wrong codes accepted for one pending login before the password must be entered again. */
export const PENDING_LOGIN_MAX_ATTEMPTS = 5;
/** The route that enrolls a factor; admins who must have MFA may open only this (and log out). */
export const MFA_ENROLL_PATH = "/settings/security/mfa";

// ---- status and enrollment -------------------------------------------------------------------

/** Any second factor: an authenticator app or a passkey. Login then takes two steps. */
export async function hasMfa(services: Services, userId: string): Promise<boolean> {
  if (await hasTotp(services, userId)) return true;
  return (await services.prisma.passkey.count({ where: { userId } })) > 0;
}

/** True when the "require MFA for admins" setting applies to this user and they have no factor yet. */
export async function mustEnrollMfa(services: Services, user: { id: string; role: string }): Promise<boolean> {
  if (user.role !== "ADMIN") return false;
  if (!(await getSettings(services)).requireMfaForAdmins) return false;
  return !(await hasMfa(services, user.id));
}

/** What the MFA section of /settings/security shows. */
export async function loadMfaStatus(services: Services, user: { id: string; role: string }): Promise<MfaStatus> {
  const [credential, recoveryCodesLeft, settings, account, passkeys] = await Promise.all([
    services.prisma.totpCredential.findUnique({ where: { userId: user.id }, select: { confirmedAt: true } }),
    services.prisma.recoveryCode.count({ where: { userId: user.id, usedAt: null } }),
    getSettings(services),
    services.prisma.user.findUnique({ where: { id: user.id }, select: { passwordUsable: true } }),
    services.prisma.passkey.count({ where: { userId: user.id } }),
  ]);
  return {
    enabled: Boolean(credential?.confirmedAt),
    enabledAt: credential?.confirmedAt?.toISOString() ?? null,
    pending: Boolean(credential && !credential.confirmedAt),
    recoveryCodesLeft,
    required: user.role === "ADMIN" && settings.requireMfaForAdmins,
    passwordLogin: Boolean(account?.passwordUsable) && !services.config.oidc?.ssoOnly,
    afterSso: settings.requireMfaAfterSso,
    passkeys,
  };
}

/** Starts (or restarts) enrollment with a fresh secret. Refused while a confirmed factor exists. */
export async function startTotpEnrollment(services: Services, userId: string): Promise<void> {
  if (await hasTotp(services, userId))
    throw new ConflictError("Two-step verification is already on. Turn it off first to set up a new app.");
  const secretEncrypted = encryptSecret(services, new OTPAuth.Secret({ size: 20 }).base32);
  await services.prisma.totpCredential.upsert({
    where: { userId },
    update: { secretEncrypted, confirmedAt: null, lastUsedStep: null, createdAt: new Date() },
    create: { userId, secretEncrypted },
  });
}

/** The secret of an unconfirmed enrollment; once confirmed it is never shown again. */
export async function pendingEnrollment(services: Services, user: { id: string; email: string }): Promise<PendingEnrollment | null> {
  const credential = await services.prisma.totpCredential.findUnique({ where: { userId: user.id } });
  if (!credential || credential.confirmedAt) return null;
  const secret = decryptSecret(services, credential.secretEncrypted);
  const uri = totpFor(secret, user.email).toString();
  const { default: QRCode } = await import("qrcode");
  const qrSvg = await QRCode.toString(uri, { type: "svg", margin: 1, errorCorrectionLevel: "M" });
  return { secret: secret.match(/.{1,4}/g)!.join(" "), uri, qrSvg };
}

/** Turns MFA on when the code matches the pending secret; returns the recovery codes (shown once). */
export async function confirmTotpEnrollment(services: Services, actor: AuditActor, userId: string, rawCode: unknown): Promise<string[]> {
  const code = asTotpCode(codeInput.parse(rawCode));
  if (!code) throw new ValidationError("Enter the 6-digit code from your app.", { code: "Enter the 6-digit code from your app." });
  if (!(await acceptTotpCode(services, userId, code, false))) {
    const pending = await services.prisma.totpCredential.findUnique({ where: { userId }, select: { confirmedAt: true } });
    if (!pending) throw new ConflictError("Start the set-up again: there is no enrollment in progress.");
    throw new ValidationError("That code is not right. Check that your device's clock is correct and enter the current code.", {
      code: "That code is not right.",
    });
  }
  const codes = await services.prisma.$transaction(async (tx) => {
    const created = await replaceRecoveryCodes(tx, services, userId);
    await recordAudit(tx, actor, { action: "auth.mfa_enabled", targetType: "user", targetId: userId, details: { method: "totp" } });
    return created;
  });
  return codes;
}

/** Needs a confirmation ({@link confirmIdentity}): a current code, the password or a recent one at the provider. */
export async function disableTotp(
  services: Services,
  actor: AuditActor,
  user: { id: string; sessionId: string },
  proof: unknown,
): Promise<void> {
  const userId = user.id;
  if (!(await hasTotp(services, userId))) throw new ConflictError("Two-step verification is already off.");
  await confirmIdentity(services, user, proof);
  await services.prisma.$transaction(async (tx) => {
    await tx.totpCredential.deleteMany({ where: { userId } });
    await tx.recoveryCode.deleteMany({ where: { userId } });
    await recordAudit(tx, actor, { action: "auth.mfa_disabled", targetType: "user", targetId: userId });
    // The owner hears of it (a stolen session turning it off must not go unnoticed), with the change.
    const passkeysLeft = await tx.passkey.count({ where: { userId } });
    await appendEvent(tx, {
      actorId: actor.actorId,
      ownerId: userId,
      action: "security.mfa_disabled",
      subjectType: "user",
      subjectId: userId,
      details: { method: "totp", passkeysLeft },
    });
  });
}

export async function regenerateRecoveryCodes(
  services: Services,
  actor: AuditActor,
  user: { id: string; sessionId: string },
  proof: unknown,
): Promise<string[]> {
  const userId = user.id;
  if (!(await hasTotp(services, userId))) throw new ConflictError("Turn on two-step verification first.");
  await confirmIdentity(services, user, proof);
  return services.prisma.$transaction(async (tx) => {
    const codes = await replaceRecoveryCodes(tx, services, userId);
    await recordAudit(tx, actor, { action: "auth.recovery_codes_regenerated", targetType: "user", targetId: userId });
    return codes;
  });
}

// ---- the step between password and code ------------------------------------------------------

/** The page of the second step. */
export const MFA_LOGIN_PATH = "/login/mfa";

/** What the first step of a pending login was: the password, or single sign-on at the provider. */
export type FirstFactor = "password" | "oidc";

export interface PendingLogin {
  userId: string;
  redirectTo: string;
  /** Identifies this pending login (its attempt counter). */
  nonce: string;
  firstFactor: FirstFactor;
}

/** A signed, short-lived cookie: it proves the first step was passed, and is no session. */
function pendingLoginCookie(services: Services): SignedCookie {
  return signedCookie(services, "coffer_mfa", { path: "/login", maxAge: Math.floor(PENDING_LOGIN_TTL_MS / 1000) });
}

export function beginPendingLogin(
  services: Services,
  userId: string,
  redirectTo: string,
  firstFactor: FirstFactor = "password",
): Promise<string> {
  const value = {
    u: userId,
    r: redirectTo,
    n: randomBytes(16).toString("base64url"),
    e: Date.now() + PENDING_LOGIN_TTL_MS,
    f: firstFactor,
  };
  return pendingLoginCookie(services).serialize(value);
}

export async function readPendingLogin(services: Services, request: Request): Promise<PendingLogin | null> {
  const value = await pendingLoginCookie(services)
    .parse(request.headers.get("cookie"))
    .catch(() => null);
  const parsed = z
    .object({
      u: z.string().min(1),
      r: z.string(),
      n: z.string().min(8),
      e: z.number(),
      f: z.enum(["password", "oidc"]).default("password"),
    })
    .safeParse(value);
  if (!parsed.success || parsed.data.e <= Date.now()) return null;
  return { userId: parsed.data.u, redirectTo: parsed.data.r, nonce: parsed.data.n, firstFactor: parsed.data.f };
}

export function endPendingLogin(services: Services): Promise<string> {
  return pendingLoginCookie(services).serialize("", { maxAge: 0 });
}

/** How to get a new try when the second step ran out: repeat the first step. */
export function restartFirstStep(pending: PendingLogin): string {
  return pending.firstFactor === "oidc"
    ? "Sign in again from the login page to get a new try."
    : "Log in again with your password to get a new try.";
}
