import { verify } from "@node-rs/argon2";
import type { OidcConfig } from "~/config.server";
import type { Services } from "~/services/index.server";
import { UnauthorizedError, ValidationError } from "../errors";
import { REAUTH_PATH, type ReauthMethods } from "./reauth";
import { verifySecondFactor } from "./totp.server";

/**
 * "Confirm it's you" before a sensitive action (removing a passkey, turning off two-step
 * verification, new recovery codes, a new password, deleting the account): with the password,
 * a code from the authenticator app, or, for accounts that sign in with single sign-on, a fresh
 * login at the provider. That login marks the session, and for 10 minutes every sensitive action
 * in it needs nothing more.
 */

export const REAUTH_WINDOW_MS = 10 * 60_000;
/** An ID token's `auth_time` older than this means the provider did not ask again (allows clock skew). */
export const REAUTH_MAX_AUTH_AGE_MS = 5 * 60_000;

/**
 * The provider's name for "Confirm with …": the button label without its "Sign in with", so
 * `OIDC_BUTTON_LABEL=Sign in with Acme` reads "Confirm with Acme".
 */
export function providerName(oidc: OidcConfig): string {
  const name = oidc.buttonLabel.replace(/^\s*(sign|log)\s*in\s+(with|via|using)\s+/i, "").trim();
  return name || new URL(oidc.issuer).host;
}

/** When this session's confirmation stops counting, or null when there is none (or it is over). */
export async function confirmedUntil(services: Services, sessionId: string, now = Date.now()): Promise<Date | null> {
  const session = await services.prisma.session.findUnique({ where: { id: sessionId }, select: { reauthenticatedAt: true } });
  const at = session?.reauthenticatedAt?.getTime();
  if (at === undefined || at > now + 60_000 || now - at >= REAUTH_WINDOW_MS) return null;
  return new Date(at + REAUTH_WINDOW_MS);
}

export async function markReauthenticated(services: Services, sessionId: string): Promise<void> {
  await services.prisma.session.update({ where: { id: sessionId }, data: { reauthenticatedAt: new Date() } });
}

/** The one place that decides how this person can confirm it is them, in this session. */
export async function reauthMethods(services: Services, user: { id: string; sessionId: string }, now = Date.now()): Promise<ReauthMethods> {
  const oidc = services.config.oidc;
  const [account, totp, identities, until] = await Promise.all([
    services.prisma.user.findUnique({ where: { id: user.id }, select: { passwordUsable: true } }),
    services.prisma.totpCredential.findUnique({ where: { userId: user.id }, select: { confirmedAt: true } }),
    oidc ? services.prisma.oidcIdentity.count({ where: { userId: user.id } }) : Promise.resolve(0),
    confirmedUntil(services, user.sessionId, now),
  ]);
  return {
    password: account?.passwordUsable ?? false,
    code: Boolean(totp?.confirmedAt),
    provider: oidc && identities > 0 ? providerName(oidc) : null,
    confirmedUntil: until?.toISOString() ?? null,
  };
}

/** What to do when nothing was entered: the ways this account has, in words. */
function askFor(methods: ReauthMethods): string {
  const typed =
    methods.password && methods.code
      ? "a code from your app, a recovery code or your password"
      : methods.code
        ? "a code from your app or a recovery code"
        : "your password";
  if (!methods.provider) return `Enter ${typed} to confirm.`;
  if (!methods.password && !methods.code) return `Confirm it's you with ${methods.provider} first, then try again. Nothing was changed.`;
  return `Enter ${typed}, or confirm it's you with ${methods.provider}.`;
}

const looksLikeCode = (proof: string) =>
  /^\d{6}$/.test(proof.replace(/[\s-]/g, "")) || proof.toLowerCase().replace(/[^a-z0-9]/g, "").length === 10;

/**
 * Checks the confirmation for a sensitive action: a recent confirmation in this session, or the
 * proof typed into the form (a current code, a recovery code or the password; passwords have at
 * least 12 characters, so a code-shaped input is a code). Throws a refusal that says what to do.
 */
export async function confirmIdentity(
  services: Services,
  user: { id: string; sessionId: string },
  rawProof: unknown,
  now = Date.now(),
): Promise<"recent" | "code" | "password"> {
  const methods = await reauthMethods(services, user, now);
  if (methods.confirmedUntil) return "recent";
  const proof = typeof rawProof === "string" ? rawProof.slice(0, 1024) : "";
  if (proof.trim() === "") {
    const message = askFor(methods);
    const field =
      methods.password && methods.code
        ? "Enter a code or your password."
        : methods.code
          ? "Enter a code from your app or a recovery code."
          : methods.password
            ? "Enter your password."
            : message;
    throw new ValidationError(message, { proof: field });
  }
  if (looksLikeCode(proof)) {
    if (await verifySecondFactor(services, user.id, proof.trim())) return "code";
    throw new UnauthorizedError("That code is not right, or it was already used.", { proof: "That code is not right." });
  }
  if (!methods.password) {
    const code = "enter a current code from your app or a recovery code";
    const instead = methods.provider
      ? methods.code
        ? `${code}, or confirm it's you with ${methods.provider}`
        : `confirm it's you with ${methods.provider}`
      : code;
    throw new UnauthorizedError(`Your account has no password: ${instead} instead.`, {
      proof: `Your account has no password: ${instead}.`,
    });
  }
  const account = await services.prisma.user.findUnique({ where: { id: user.id }, select: { passwordHash: true } });
  if (account && (await verify(account.passwordHash, proof).catch(() => false))) return "password";
  throw new UnauthorizedError("That password is not right.", { proof: "That password is not right." });
}

/** Where to go back after confirming at the provider: same-site relative paths only. */
export function reauthUrl(returnTo: string): string {
  return `${REAUTH_PATH}?returnTo=${encodeURIComponent(returnTo)}`;
}
