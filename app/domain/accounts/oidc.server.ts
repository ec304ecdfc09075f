import { randomBytes } from "node:crypto";
import type { Services } from "~/services/index.server";
import { DEACTIVATED_MESSAGE, isDeactivated } from "./account-status.server";
import { recordAudit, type AuditActor } from "../audit/audit.server";
import { AppError, ForbiddenError } from "../errors";
import { markReauthenticated, REAUTH_MAX_AUTH_AGE_MS } from "./reauth.server";
import { getUser, sessionKey } from "./sessions.server";
import { hashPassword, type PublicUser } from "./users.server";

export const OIDC_CALLBACK_PATH = "/auth/oidc/callback";

/** What Coffer needs from the provider about the person signing in. */
export interface OidcClaims {
  /** The provider's issuer identifier as it announces it in discovery. */
  issuer: string;
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
}

export interface OidcVerifyParams {
  claims: OidcClaims;
  request: Request;
  /** Where to go after login: the safe, same-site path the login was started with. */
  redirectTo: string;
  /** Set when this was a confirmation of a signed-in person, not a login: names the session it was for. */
  reauthSession: string | null;
  /** The ID token's `auth_time` (seconds since the epoch) when the provider sent it. */
  authTime: number | null;
}

/** Why a single sign-on attempt failed; `reason` goes to the audit log, `message` to the person. */
export class OidcLoginError extends AppError {
  constructor(
    status: number,
    readonly reason: string,
    message: string,
  ) {
    super(status, message);
  }
}

/** What the login page needs to show single sign-on; null when it is not configured. */
export function ssoLoginOptions(services: Services): { label: string; only: boolean } | null {
  const oidc = services.config.oidc;
  return oidc ? { label: oidc.buttonLabel, only: oidc.ssoOnly } : null;
}

/** In SSO-only mode password login and registration are refused, whatever the form says. */
export function assertPasswordAuthAllowed(services: Services, what: "login" | "registration"): void {
  const oidc = services.config.oidc;
  if (!oidc?.ssoOnly) return;
  throw new ForbiddenError(
    what === "login"
      ? `This Coffer does not use passwords: sign in with “${oidc.buttonLabel}” on the login page.`
      : `Accounts are created automatically the first time you sign in with “${oidc.buttonLabel}” on the login page.`,
  );
}

/** Where the provider sends people back: APP_URL when set, else the origin the request came to. */
export function oidcRedirectUri(services: Services, request: Request): string {
  return new URL(OIDC_CALLBACK_PATH, services.config.appUrl ?? new URL(request.url).origin).href;
}

export interface OidcLogin {
  user: PublicUser;
  redirectTo: string;
  /** A confirmation of the signed-in person (their session is now marked), not a new login. */
  reauth: boolean;
}

/** Who a verified answer from the provider signs in, or (reauthSession set) confirms. */
export async function oidcLoginFor(
  services: Services,
  actor: AuditActor,
  { claims, redirectTo, request, reauthSession, authTime }: OidcVerifyParams,
): Promise<OidcLogin> {
  return reauthSession
    ? { user: await confirmSignedInUser(services, request, claims, reauthSession, authTime), redirectTo, reauth: true }
    : { user: await activeUser(services, await userForOidcClaims(services, claims, actor)), redirectTo, reauth: false };
}

/** A deactivated account is refused here, so the failure page explains it (and it is audited as a failed login). */
async function activeUser(services: Services, user: PublicUser): Promise<PublicUser> {
  if (await isDeactivated(services, user.id)) throw new OidcLoginError(403, "deactivated", DEACTIVATED_MESSAGE);
  return user;
}

/**
 * Completes a confirmation at the provider: the answer must be for the session that asked, come
 * from an identity linked to its user, and (when the provider says when) from a login just now.
 * Then the session counts as recently confirmed.
 */
export async function confirmSignedInUser(
  services: Services,
  request: Request,
  claims: OidcClaims,
  reauthSession: string,
  authTime: number | null,
  now = Date.now(),
): Promise<PublicUser> {
  const user = await getUser(services, request);
  if (!user || sessionKey(user.sessionId) !== reauthSession) {
    throw new OidcLoginError(
      400,
      "reauth_session_mismatch",
      "This confirmation was started in another session. Go back to the page you were on and start again.",
    );
  }
  const identity = await services.prisma.oidcIdentity.findUnique({
    where: { issuer_subject: { issuer: claims.issuer, subject: claims.subject } },
    select: { id: true, userId: true },
  });
  if (!identity || identity.userId !== user.id) {
    throw new OidcLoginError(
      403,
      "reauth_other_account",
      `You signed in at the provider with an account that is not linked to ${user.email}. Sign in there with your own account and try again; nothing was changed.`,
    );
  }
  if (authTime !== null && now - authTime * 1000 > REAUTH_MAX_AUTH_AGE_MS) {
    throw new OidcLoginError(
      403,
      "reauth_not_fresh",
      "The sign-in provider did not ask you to sign in again, so Coffer cannot tell it is you. Please try again; if it keeps happening, tell your administrator.",
    );
  }
  await services.prisma.oidcIdentity.update({ where: { id: identity.id }, data: { lastLoginAt: new Date(now) } });
  await markReauthenticated(services, user.sessionId);
  return { id: user.id, email: user.email, name: user.name, role: user.role };
}

/**
 * The Coffer user for a provider identity. A known (issuer, subject) is that user. Otherwise the
 * identity is linked by email, which must be verified by the provider: to the existing account
 * with that email, or to a new account (the very first account becomes the administrator).
 */
export async function userForOidcClaims(services: Services, claims: OidcClaims, actor: AuditActor): Promise<PublicUser> {
  const linked = await findLinkedUser(services, claims);
  if (linked) return linked;
  if (!claims.email) {
    throw new OidcLoginError(
      403,
      "no_email",
      "Your sign-in provider did not share an email address, so Coffer cannot find or create your account. Ask your administrator to allow the email scope.",
    );
  }
  if (!claims.emailVerified) {
    throw new OidcLoginError(
      403,
      "email_not_verified",
      `Your sign-in provider has not verified the email address ${claims.email}. Verify it with the provider, then sign in again.`,
    );
  }
  const email = claims.email;
  // Creating an account hashes a password nobody knows, so no password can ever match it.
  const unusablePasswordHash = await hashPassword(randomBytes(32).toString("base64url"));
  try {
    return await services.prisma.$transaction(async (tx) => {
      // The same lock as registration, so two racing first sign-ups cannot both become admin.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(72707370)`;
      let user = await tx.user.findUnique({ where: { email }, select: { id: true, email: true, name: true, role: true } });
      if (!user) {
        const isFirst = (await tx.user.count()) === 0;
        user = await tx.user.create({
          data: {
            email,
            name: claims.name ?? email.split("@")[0]!,
            passwordHash: unusablePasswordHash,
            passwordUsable: false,
            role: isFirst ? "ADMIN" : "USER",
          },
          select: { id: true, email: true, name: true, role: true },
        });
        await tx.folder.create({ data: { ownerId: user.id, parentId: null, name: "", nameKey: "" } });
        await recordAudit(
          tx,
          { ...actor, actorId: user.id, actorLabel: user.email },
          {
            action: "user.registered",
            targetType: "user",
            targetId: user.id,
            details: { method: "oidc", role: user.role },
          },
        );
      }
      await tx.oidcIdentity.create({ data: { userId: user.id, issuer: claims.issuer, subject: claims.subject, email } });
      await recordAudit(
        tx,
        { ...actor, actorId: user.id, actorLabel: user.email },
        {
          action: "auth.sso_linked",
          targetType: "user",
          targetId: user.id,
          details: { issuer: claims.issuer, subject: claims.subject },
        },
      );
      return user;
    });
  } catch (error) {
    // Two callbacks for the same new identity raced; the other one linked it.
    if ((error as { code?: string }).code === "P2002") {
      const user = await findLinkedUser(services, claims);
      if (user) return user;
    }
    throw error;
  }
}

async function findLinkedUser(services: Services, claims: OidcClaims): Promise<PublicUser | null> {
  const identity = await services.prisma.oidcIdentity.findUnique({
    where: { issuer_subject: { issuer: claims.issuer, subject: claims.subject } },
    include: { user: { select: { id: true, email: true, name: true, role: true } } },
  });
  if (!identity) return null;
  await services.prisma.oidcIdentity.update({ where: { id: identity.id }, data: { lastLoginAt: new Date() } });
  return identity.user;
}
