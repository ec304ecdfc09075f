import { z } from "zod";
import type { Services } from "~/services/index.server";

/**
 * Settings an admin changes at run time, stored in the `settings` table. Defaults come from
 * the configuration where one exists (MAX_UPLOAD_SIZE), else from here.
 */
export const settingsSchema = z.object({
  /** Bytes per user when the user has no quota of their own; null = unlimited. */
  defaultQuotaBytes: z.number().int().positive().nullable(),
  /** Largest accepted file, never above the configured MAX_UPLOAD_SIZE. */
  maxFileSize: z.number().int().positive(),
  /** Lower-case extensions without the dot, e.g. ["exe", "bat"]. */
  blockedExtensions: z.array(z.string().regex(/^[a-z0-9]+$/)).max(200),
  /** Days audit events are kept before the hourly job deletes them; null keeps them forever. */
  auditRetentionDays: z.number().int().min(30).max(36500).nullable(),
  /** Contents not read for this many days move to the cold tier (COLD_STORAGE); null: never. */
  coldTierAfterDays: z.number().int().min(1).max(36500).nullable(),
  /** Days an item stays in the trash before it is purged. */
  trashRetentionDays: z.number().int().min(1).max(3650),
  /**
   * Previous versions kept per file: when it is replaced, and by the hourly version purge. Ignored
   * while `keepAllVersions` is on (stored apart, so a release before it never reads a null here).
   */
  versionsKept: z.number().int().min(0).max(1000),
  /** No limit on the number of versions per file (the age limit below may still apply). */
  keepAllVersions: z.boolean(),
  /** Days a version is kept after it was replaced; null keeps versions however old. */
  versionRetentionDays: z.number().int().min(1).max(36500).nullable(),
  /** Days a deleted account can still be restored before it is purged; 0 purges it at once. */
  deletedAccountRetentionDays: z.number().int().min(0).max(3650),
  /** Administrators must set up two-step verification before they can use Coffer. */
  requireMfaForAdmins: z.boolean(),
  /**
   * Single sign-on of an account with an authenticator app or a passkey goes on to Coffer's own
   * second step, as a password login does. Off: the provider's checks are trusted.
   */
  requireMfaAfterSso: z.boolean(),
  /** A session unused for this many days ends (idle timeout). */
  sessionIdleDays: z.number().int().min(1).max(3650),
  /** A session ends this many days after login however much it is used (absolute timeout). */
  sessionAbsoluteDays: z.number().int().min(1).max(3650),
  /** Personal access tokens must have an expiry date, at most `tokenMaxDays` ahead. */
  tokensMustExpire: z.boolean(),
  /** The longest a token may live while `tokensMustExpire` is on. */
  tokenMaxDays: z.number().int().min(1).max(3650),
});

export type Settings = z.infer<typeof settingsSchema>;

export function defaultSettings(services: Services): Settings {
  return {
    defaultQuotaBytes: null,
    maxFileSize: services.config.uploads.maxSize,
    blockedExtensions: [],
    trashRetentionDays: 30,
    // A year: what most audits look back on.
    auditRetentionDays: 365,
    versionsKept: 10,
    keepAllVersions: false,
    versionRetentionDays: null,
    // A month to undo a mistaken or regretted deletion, as the large hosted services allow.
    deletedAccountRetentionDays: 30,
    coldTierAfterDays: null,
    requireMfaForAdmins: false,
    requireMfaAfterSso: false,
    // SESSION_TTL_DAYS (default 30) is the longest a login lasts; two weeks unused ends it sooner.
    sessionAbsoluteDays: sessionTtlDays(services),
    sessionIdleDays: Math.min(14, sessionTtlDays(services)),
    tokensMustExpire: false,
    tokenMaxDays: 365,
  };
}

/** The most versions kept per file; null = no limit. */
export function versionLimit(settings: Pick<Settings, "versionsKept" | "keepAllVersions">): number | null {
  return settings.keepAllVersions ? null : settings.versionsKept;
}

function sessionTtlDays(services: Services): number {
  return Math.max(1, Math.round(services.config.sessionTtlMs / (24 * 3600 * 1000)));
}

/**
 * Settings are read on every upload, so each process keeps them briefly. The copy is per
 * process (not in the shared cache) because part of it derives from this process's
 * configuration; another instance sees a change within CACHE_TTL_MS.
 */
const CACHE_TTL_MS = 10_000;
// One map per process, although copies of this module can coexist in one process (Vite re-evaluates edited modules in development; the tests load the app's sources beside the build).
const cached: WeakMap<Services, { settings: Settings; expires: number }> = ((globalThis as Record<symbol, unknown>)[
  Symbol.for("coffer.settingsCache")
] ??= new WeakMap()) as WeakMap<Services, { settings: Settings; expires: number }>;

/** Current settings: stored values over defaults. */
export async function getSettings(services: Services): Promise<Settings> {
  const hit = cached.get(services);
  if (hit && hit.expires > Date.now()) return structuredClone(hit.settings);
  const settings = await readSettings(services);
  cached.set(services, { settings, expires: Date.now() + CACHE_TTL_MS });
  return structuredClone(settings);
}

type SettingsDb = Pick<Services["prisma"], "setting">;

/** The stored values over defaults, read now from `db` (a transaction's client, say), not the cache. */
export async function readSettings(services: Services, db: SettingsDb = services.prisma): Promise<Settings> {
  const rows = await db.setting.findMany();
  const stored = Object.fromEntries(rows.map((row) => [row.key, row.value]));
  const merged = settingsSchema.safeParse({ ...defaultSettings(services), ...stored });
  const settings = merged.success ? merged.data : defaultSettings(services);
  settings.maxFileSize = Math.min(settings.maxFileSize, services.config.uploads.maxSize);
  return settings;
}

/** This process reads the settings again on its next use (after a change committed elsewhere). */
export function forgetCachedSettings(services: Services): void {
  cached.delete(services);
}

/** Writes the changed settings inside a transaction (its client `tx`); returns them as stored there. */
export async function updateSettingsIn(services: Services, tx: SettingsDb, patch: Partial<Settings>): Promise<Settings> {
  const next = settingsSchema.parse({ ...(await readSettings(services, tx)), ...patch });
  for (const key of Object.keys(patch) as Array<keyof Settings>) {
    await tx.setting.upsert({ where: { key }, update: { value: next[key] as never }, create: { key, value: next[key] as never } });
  }
  return readSettings(services, tx);
}

export async function updateSettings(services: Services, patch: Partial<Settings>): Promise<Settings> {
  const next = settingsSchema.parse({ ...(await getSettings(services)), ...patch });
  await services.prisma.$transaction(
    Object.entries(patch).map(([key, _]) =>
      services.prisma.setting.upsert({
        where: { key },
        update: { value: next[key as keyof Settings] as never },
        create: { key, value: next[key as keyof Settings] as never },
      }),
    ),
  );
  cached.delete(services);
  return getSettings(services);
}
