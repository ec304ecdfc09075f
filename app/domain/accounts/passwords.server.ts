import { createHash, randomBytes } from "node:crypto";
import { verify } from "@node-rs/argon2";
import { z } from "zod";
import type { Services } from "~/services/index.server";
import { recordAudit, type AuditActor } from "../audit/audit.server";
import { AppError, ForbiddenError, ValidationError } from "../errors";
import { checkPassword, PASSWORD_MAX_LENGTH } from "./password-policy.server";
import { rateLimit, TooManyRequestsError } from "../rate-limit.server";
import { providerName, reauthMethods } from "./reauth.server";
import type { SessionUser } from "./sessions.server";
import { fieldErrors, hashPassword } from "./users.server";

/** How long a reset link works. */
export const RESET_TOKEN_TTL_MS = 30 * 60 * 1000;

const newPasswordFields = {
  newPassword: z.string().min(1, "Enter a new password.").max(PASSWORD_MAX_LENGTH, `Use at most ${PASSWORD_MAX_LENGTH} characters.`),
  confirmPassword: z.string(),
};

function checkNewPassword(input: { newPassword: string; confirmPassword: string }, owner: { name: string; email: string }) {
  const refused = checkPassword(input.newPassword, owner);
  if (refused) throw new ValidationError("Please choose another password.", { newPassword: refused });
  if (input.confirmPassword !== input.newPassword) {
    throw new ValidationError("Please choose another password.", { confirmPassword: "The two passwords do not match." });
  }
}

const changeSchema = z.object({ currentPassword: z.string().max(PASSWORD_MAX_LENGTH), ...newPasswordFields });

/**
 * Changes the signed-in user's password after checking the current one, or, after a recent
 * confirmation at the provider, without it. An account single sign-on made has no password:
 * it sets its first one that way. With SSO_ONLY no password can be set (none would be used).
 * The caller must then end the user's other sessions and rotate this one ({@link restartSessions}).
 */
export async function changePassword(services: Services, user: SessionUser, actor: AuditActor, input: unknown): Promise<"changed" | "set"> {
  const oidc = services.config.oidc;
  if (oidc?.ssoOnly) {
    throw new ForbiddenError(`This Coffer does not use passwords: you sign in with ${providerName(oidc)}, so no password can be set.`);
  }
  const parsed = changeSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError("Your password was not changed.", fieldErrors(parsed.error));
  // A stolen session must not become a way to guess the password.
  await rateLimit(services, `password-change:${user.id}`, {
    limit: 10,
    windowMs: 15 * 60 * 1000,
    message: (wait) => `Too many attempts to change the password. Try again in ${Math.ceil(wait / 60)} minutes.`,
  });
  const methods = await reauthMethods(services, user);
  const account = await services.prisma.user.findUniqueOrThrow({ where: { id: user.id }, select: { passwordHash: true } });
  if (!methods.confirmedUntil) {
    if (!methods.password) {
      await recordAudit(services.prisma, actor, {
        action: "auth.password_set",
        outcome: "failure",
        targetType: "user",
        targetId: user.id,
        details: { reason: "not-reauthenticated" },
      });
      const how = methods.provider ? `Confirm it's you with ${methods.provider} first` : "Ask for a password reset link";
      throw new ValidationError(`Your account has no password yet. ${how}, then choose one.`);
    }
    if (!parsed.data.currentPassword)
      throw new ValidationError("Your password was not changed.", { currentPassword: "Enter your current password." });
    if (!(await verify(account.passwordHash, parsed.data.currentPassword).catch(() => false))) {
      await recordAudit(services.prisma, actor, {
        action: "auth.password_changed",
        outcome: "failure",
        targetType: "user",
        targetId: user.id,
        details: { reason: "wrong-current-password" },
      });
      throw new ValidationError("Your password was not changed.", { currentPassword: "That is not your current password." });
    }
  }
  checkNewPassword(parsed.data, user);
  if (methods.password && (await verify(account.passwordHash, parsed.data.newPassword).catch(() => false))) {
    throw new ValidationError("Your password was not changed.", { newPassword: "Choose a password different from your current one." });
  }
  const passwordHash = await hashPassword(parsed.data.newPassword);
  await services.prisma.$transaction(async (tx) => {
    await tx.user.update({ where: { id: user.id }, data: { passwordHash, passwordUsable: true } });
    await tx.passwordResetToken.updateMany({ where: { userId: user.id, usedAt: null }, data: { usedAt: new Date() } });
    await recordAudit(tx, actor, {
      action: methods.password ? "auth.password_changed" : "auth.password_set",
      targetType: "user",
      targetId: user.id,
      ...(methods.confirmedUntil ? { details: { confirmedWith: "oidc" } } : {}),
    });
  });
  return methods.password ? "changed" : "set";
}

const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");

const emailSchema = z.string().trim().toLowerCase().max(254, "Email is too long.").pipe(z.email("Enter a valid email address."));

/**
 * Mails a reset link when the address has an account. The caller shows the same answer either
 * way, and the work done is nearly the same: the mail is sent after the response.
 */
export async function requestPasswordReset(services: Services, actor: AuditActor, rawEmail: unknown): Promise<void> {
  const mailer = services.mailer;
  const mail = services.config.mail;
  if (!mailer || !mail)
    throw new AppError(503, "Password reset by email is not set up on this server. Ask an administrator to reset your password.");
  const parsed = emailSchema.safeParse(typeof rawEmail === "string" ? rawEmail : "");
  if (!parsed.success)
    throw new ValidationError("Enter the email address of your account.", {
      email: fieldErrors(parsed.error).form ?? "Enter a valid email address.",
    });
  const email = parsed.data;
  await rateLimit(services, `password-reset-ip:${actor.ip ?? "unknown"}`, {
    limit: 10,
    windowMs: 15 * 60 * 1000,
    message: (wait) => `Too many reset requests from your network. Try again in ${Math.ceil(wait / 60)} minutes.`,
  });
  // Per address, excess requests are dropped silently: a 429 here would confirm nothing, but
  // nobody should be able to flood a mailbox.
  try {
    await rateLimit(services, `password-reset-email:${email}`, { limit: 3, windowMs: 60 * 60 * 1000 });
  } catch (error) {
    if (error instanceof TooManyRequestsError) return;
    throw error;
  }
  const token = randomBytes(32).toString("base64url");
  const user = await services.prisma.user.findUnique({ where: { email }, select: { id: true, email: true, name: true } });
  if (!user) {
    await recordAudit(services.prisma, actor, {
      action: "auth.password_reset_requested",
      outcome: "failure",
      details: { reason: "unknown-email" },
    });
    return;
  }
  await services.prisma.$transaction(async (tx) => {
    await tx.passwordResetToken.create({
      data: { userId: user.id, tokenHash: hashToken(token), expiresAt: new Date(Date.now() + RESET_TOKEN_TTL_MS) },
    });
    await recordAudit(tx, actor, { action: "auth.password_reset_requested", targetType: "user", targetId: user.id });
  });
  const link = new URL(`/reset-password/${token}`, mail.appUrl).href;
  const minutes = RESET_TOKEN_TTL_MS / 60_000;
  void mailer
    .send({
      to: user.email,
      subject: "Reset your Coffer password",
      text: [
        `Hello ${user.name},`,
        "",
        "Someone (hopefully you) asked to reset the password of your Coffer account. To choose a new password, open this link:",
        "",
        link,
        "",
        `The link works once, for ${minutes} minutes. If you did not ask for it, ignore this mail: your password stays as it is.`,
      ].join("\n"),
    })
    .catch((error) => services.log.error("sending the password reset mail failed", { error, userId: user.id }));
}

export class ResetLinkInvalidError extends AppError {
  constructor() {
    super(400, "This reset link is invalid, has already been used or has expired. Request a new one.");
  }
}

async function findUsableToken(services: Services, token: string) {
  if (token.length < 20 || token.length > 100) return null;
  const row = await services.prisma.passwordResetToken.findUnique({
    where: { tokenHash: hashToken(token) },
    include: { user: { select: { id: true, email: true, name: true } } },
  });
  if (!row || row.usedAt || row.expiresAt.getTime() <= Date.now()) return null;
  return row;
}

/** Whether a reset link can still be used, for showing the form or an explanation. */
export async function isResetTokenUsable(services: Services, token: string): Promise<boolean> {
  return (await findUsableToken(services, token)) !== null;
}

const resetSchema = z.object(newPasswordFields);

/**
 * Sets a new password with a reset link: spends the token (and every other outstanding one of
 * the user) and ends all the user's sessions, since whoever had them may know the old password.
 */
export async function resetPassword(services: Services, actor: AuditActor, token: string, input: unknown): Promise<void> {
  const row = await findUsableToken(services, token);
  if (!row) throw new ResetLinkInvalidError();
  const parsed = resetSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError("Your password was not changed.", fieldErrors(parsed.error));
  checkNewPassword(parsed.data, row.user);
  const passwordHash = await hashPassword(parsed.data.newPassword);
  const now = new Date();
  const sessions = await services.prisma.session.findMany({ where: { userId: row.userId }, select: { id: true } });
  await services.prisma.$transaction(async (tx) => {
    // Conditional, so two submissions racing with one link cannot both succeed.
    const spent = await tx.passwordResetToken.updateMany({
      where: { id: row.id, usedAt: null, expiresAt: { gt: now } },
      data: { usedAt: now },
    });
    if (spent.count !== 1) throw new ResetLinkInvalidError();
    await tx.passwordResetToken.updateMany({ where: { userId: row.userId, usedAt: null }, data: { usedAt: now } });
    await tx.user.update({ where: { id: row.userId }, data: { passwordHash, passwordUsable: true } });
    await tx.session.deleteMany({ where: { userId: row.userId } });
    // Whoever holds the mailed link acts as the account owner.
    await recordAudit(
      tx,
      { ...actor, actorId: row.user.id, actorLabel: row.user.email },
      { action: "auth.password_reset", targetType: "user", targetId: row.userId },
    );
  });
  services.notifier.endSessions(sessions.map((session) => session.id));
}
