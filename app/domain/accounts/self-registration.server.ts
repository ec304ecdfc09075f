// Registration from the public /register page: it must not reveal which addresses have accounts.
import type { Services } from "~/services/index.server";
import { recordAudit, type AuditActor } from "../audit/audit.server";
import { ConflictError } from "../errors";
import { rateLimit, TooManyRequestsError } from "../rate-limit.server";
import { registerUser, registrationSchema, type PublicUser } from "./users.server";

/** A new account (sign it in), or an address that already had one (its owner was told by mail). */
export type SelfRegistration = { created: true; user: PublicUser } | { created: false };

/** Mails about attempts on one address, at most, per hour; more attempts are dropped silently. */
const NOTICES_PER_HOUR = 3;

/**
 * Registers a new account. When the email already has one, nothing changes and nobody is signed
 * in: the caller answers "check your email", and the address's owner gets a mail saying someone
 * tried (when SMTP is set). The password is hashed in both cases (registerUser hashes before it
 * inserts), so the time taken does not tell the two apart either; the mail goes after the answer.
 */
export async function registerSelf(services: Services, actor: AuditActor, input: unknown): Promise<SelfRegistration> {
  try {
    return { created: true, user: await registerUser(services, input) };
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
  }
  // registerUser parsed the input before it could conflict.
  const { email } = registrationSchema.parse(input);
  const owner = await services.prisma.user.findUnique({ where: { email }, select: { id: true, email: true, name: true } });
  if (!owner) return { created: false };
  await recordAudit(services.prisma, actor, {
    action: "user.registered",
    outcome: "failure",
    targetType: "user",
    targetId: owner.id,
    details: { reason: "email-taken" },
  });
  await noticeToOwner(services, owner);
  return { created: false };
}

async function noticeToOwner(services: Services, owner: { id: string; email: string; name: string }): Promise<void> {
  const mailer = services.mailer;
  const mail = services.config.mail;
  if (!mailer || !mail) return;
  try {
    await rateLimit(services, `registration-notice:${owner.email}`, { limit: NOTICES_PER_HOUR, windowMs: 60 * 60 * 1000 });
  } catch (error) {
    if (error instanceof TooManyRequestsError) return;
    throw error;
  }
  void mailer
    .send({
      to: owner.email,
      subject: "Someone tried to create a Coffer account with your address",
      text: [
        `Hello ${owner.name},`,
        "",
        "Someone tried to create a new Coffer account with this email address, which already has an account. No account was created and nothing about yours changed.",
        "",
        `If it was you, log in instead: ${new URL("/login", mail.appUrl).href}`,
        `Forgot your password? Choose a new one: ${new URL("/forgot-password", mail.appUrl).href}`,
        "",
        "If it was not you, you can ignore this mail.",
      ].join("\n"),
    })
    .catch((error) => services.log.error("sending the registration notice failed", { error, userId: owner.id }));
}
