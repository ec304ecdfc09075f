/** What the browser also needs of passkeys (passkeys.server.ts). */

export interface PasskeySummary {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  /** Synced between devices (e.g. by a password manager or the platform's keychain). */
  synced: boolean;
}
