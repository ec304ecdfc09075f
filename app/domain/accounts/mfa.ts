/** What the browser also needs of two-step verification (mfa.server.ts). */

export interface MfaStatus {
  enabled: boolean;
  enabledAt: string | null;
  /** An enrollment was started but not yet confirmed with a code. */
  pending: boolean;
  recoveryCodesLeft: number;
  /** The "require MFA for admins" setting applies to this user. */
  required: boolean;
  /** The person can log in with a password (it is theirs, and single sign-on is not the only way). */
  passwordLogin: boolean;
  /** Coffer's second step also follows single sign-on (the admin setting). */
  afterSso: boolean;
  /** Passkeys they have: each is a second step on its own. */
  passkeys: number;
}

export interface PendingEnrollment {
  /** Base32, grouped by four for typing. */
  secret: string;
  uri: string;
  /** The otpauth URI as an inline SVG QR code. */
  qrSvg: string;
}
