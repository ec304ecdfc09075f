// What a backup holds, as written last into the target (`backup-<id>-manifest`, sealed): a
// backup exists only once its manifest does. See docs/backups.md and the decision record
// docs/decisions (logical COPY format and target layout).
import { randomBytes } from "node:crypto";
import { z } from "zod";

export const MANIFEST_FORMAT = 1;

/**
 * `YYYYMMDDTHHMMSSmmmZ-<6 hex>`: the UTC start time to the millisecond first, so ids sort by time
 * (compareBackupIds). Earlier releases wrote whole seconds (`YYYYMMDDTHHMMSSZ-<6 hex>`): still read.
 */
const ID = String.raw`\d{8}T\d{6}(?:\d{3})?Z-[0-9a-f]{6}`;
export const BACKUP_ID = new RegExp(`^${ID}$`);

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be a hex SHA-256");
const count = z.number().int().min(0);
const instant = z.iso.datetime();

export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  id: z.string().regex(BACKUP_ID),
  startedAt: instant,
  finishedAt: instant,
  appVersion: z.string(),
  /** Migrations applied to the database, in order (restore migrates to exactly these first). */
  migrations: z.array(z.string()),
  database: z.object({
    embedded: z.boolean(),
    /** When the snapshot every table was read in began. */
    snapshotAt: instant,
    /** Every table of the public schema, its COPY dump described (plaintext). */
    tables: z.array(
      z.object({
        name: z.string(),
        /** The columns dumped, in order (generated columns are left out: PostgreSQL recomputes them). */
        columns: z.array(z.string()),
        rows: count,
        bytes: count,
        sha256,
      }),
    ),
  }),
  /** Every object the database references, as stored in the primary store (encrypted at rest or not). */
  objects: z.array(z.object({ key: z.string(), bytes: count, sha256 })),
  counts: z.object({
    users: count,
    folders: count,
    files: count,
    versions: count,
    shares: count,
    auditEvents: count,
    objects: count,
    objectBytes: count,
  }),
  /** The physical base backup of the embedded cluster (point-in-time recovery), when taken. */
  physical: z
    .object({
      startLsn: z.string(),
      stopLsn: z.string(),
      startedAt: instant,
      finishedAt: instant,
      timeline: z.number().int().min(1),
      /** The cluster's system identifier (pg_control_system()), which names its WAL in the target; absent before. */
      systemId: z
        .string()
        .regex(/^\d{1,20}$/)
        .optional(),
      bytes: count,
      sha256,
    })
    .optional(),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestTable = Manifest["database"]["tables"][number];
export type ManifestObject = Manifest["objects"][number];

export function newBackupId(at: Date = new Date()): string {
  return `${at.toISOString().replace(/[-:.]/g, "")}-${randomBytes(3).toString("hex")}`;
}

/**
 * The id of a backup starting at `at`, later than `latest` (the newest in the target): one
 * millisecond after it when the clock has not moved on (two runs in one millisecond, or a clock
 * set back), so the newest backup is always the one with the latest id.
 */
export function nextBackupId(at: Date, latest: string | undefined): { id: string; startedAt: Date } {
  const floor = latest ? backupIdTime(latest).getTime() + 1 : -Infinity;
  const startedAt = at.getTime() >= floor ? at : new Date(floor);
  return { id: newBackupId(startedAt), startedAt };
}

/** When the backup with this id started (to the millisecond; to the second for ids of earlier releases). */
export function backupIdTime(id: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})?Z/.exec(id);
  if (!m) throw new Error(`not a backup id: ${id}`);
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +(m[7] ?? 0)));
}

/** Oldest first: by start time, then by id (an id of an earlier release has no milliseconds). */
export function compareBackupIds(a: string, b: string): number {
  return backupIdTime(a).getTime() - backupIdTime(b).getTime() || (a < b ? -1 : a > b ? 1 : 0);
}

/** The flat keys of the target. Every byte under them is sealed with the backup key. */
export const targetKeys = {
  /** Everything one backup wrote under its own id (its leftovers when it died). */
  backupPrefix: (id: string) => `backup-${id}-`,
  manifest: (id: string) => `backup-${id}-manifest`,
  table: (id: string, table: string) => `backup-${id}-db-${table}`,
  base: (id: string) => `backup-${id}-base`,
  baseLabel: (id: string) => `backup-${id}-base-label`,
  object: (storageKey: string) => `object-${storageKey}`,
  /**
   * An archived WAL file under its cluster's system identifier: a new cluster (initdb, a logical
   * restore) names its WAL from 000000010000000000000001 again, into the same target.
   */
  wal: (systemId: string, name: string) => `wal-${systemId}-${name}`,
  /** Earlier releases' layout, of whichever cluster shipped it: still read. */
  legacyWal: (name: string) => `wal-${name}`,
};

/** A `wal-…` key: the WAL file's name and its cluster's system identifier (null in the earlier layout). */
export function walOf(key: string): { systemId: string | null; name: string } | null {
  const m = /^wal-(?:(\d+)-)?([0-9A-F][0-9A-F.a-z]*)$/.exec(key);
  return m ? { systemId: m[1] ?? null, name: m[2]! } : null;
}

export const OBJECT_PREFIX = "object-";
const MANIFEST_KEY = new RegExp(`^backup-(${ID})-manifest$`);
const BACKUP_KEY = new RegExp(`^backup-(${ID})-`);

/** The backup id of a manifest key; null for any other key. */
export function manifestIdOf(key: string): string | null {
  return MANIFEST_KEY.exec(key)?.[1] ?? null;
}

/** The backup id any `backup-<id>-…` key belongs to; null for other keys. */
export function backupIdOf(key: string): string | null {
  return BACKUP_KEY.exec(key)?.[1] ?? null;
}

/** The storage key an `object-…` key holds; null for other keys. */
export function storageKeyOf(key: string): string | null {
  return key.startsWith(OBJECT_PREFIX) ? key.slice(OBJECT_PREFIX.length) : null;
}
