/** What the browser also needs of re-authentication (reauth.server.ts). */

/** Starts a confirmation at the provider: `?returnTo=/same/site/path`. */
export const REAUTH_PATH = "/auth/oidc/reauth";

export interface ReauthMethods {
  /** The account has a password of its own. */
  password: boolean;
  /** An authenticator app is on: a current code or a recovery code confirms. */
  code: boolean;
  /** The provider's name when the account signs in with single sign-on; a fresh login there confirms. */
  provider: string | null;
  /** Until when this session's last confirmation counts (ISO time), or null. */
  confirmedUntil: string | null;
}
