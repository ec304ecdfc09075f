// The storage check (fsck): the object store and the database compared, and what can be repaired.
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import type { Services, UploadTerminator } from "~/services/index.server";
import { isEncryptedStore } from "~/services/storage/encrypted.server";
import { cipherSize } from "~/services/storage/encryption-format.server";
import { ObjectNotFoundError, type ObjectInfo, type ObjectStore } from "~/services/storage/types";
import { recordAudit, SYSTEM_ACTOR, type AuditActor } from "../audit/audit.server";
import { cleanupAbandonedUploads } from "../uploads/upload-cleanup.server";
import { lockObjectKeys, objectDeletionAllowed } from "../files/shared-objects.server";

export const PROBLEM_KINDS = ["orphan", "missing", "size_mismatch", "hash_mismatch", "expired_upload"] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];

export interface StorageProblem {
  kind: ProblemKind;
  /** The object key, or the upload id of an expired upload. */
  key: string;
  detail: string;
}

export interface StorageCheckOptions {
  /** Re-read every object with a recorded SHA-256 and compare. */
  hash?: boolean;
  /** Move orphans into quarantine, and delete those quarantined longer than the grace period. */
  repairOrphans?: boolean;
  /** Given: expired pending uploads are removed through the upload cleanup. */
  uploads?: UploadTerminator;
  /** Who the repairs are audited as (default: the system actor of scheduled jobs). */
  actor?: AuditActor;
  now?: Date;
  /** Each problem as it is found (the report keeps at most MAX_LISTED_PROBLEMS of them). */
  onProblem?: (problem: StorageProblem) => void;
}

export interface StorageCheckReport {
  startedAt: string;
  finishedAt: string;
  /** Objects listed (quarantine excluded) and database rows checked against the store. */
  objects: number;
  rows: number;
  /** Problems that remain after this run's repairs, by kind. */
  problems: Record<ProblemKind, number>;
  /** The first MAX_LISTED_PROBLEMS remaining problems. */
  listed: StorageProblem[];
  repaired: { quarantined: number; purged: number; uploadsRemoved: number };
  /** Orphans waiting in quarantine for their grace period to end. */
  inQuarantine: number;
}

/** Quarantined objects are kept this long (restorable by copying back), then deleted. */
export const QUARANTINE_GRACE_MS = 7 * 24 * 60 * 60 * 1000;
/** `quarantine-<unix seconds>-<original key>`: keys are flat, so the area is a prefix. */
export const QUARANTINE_PREFIX = "quarantine-";
/** Objects younger than this may belong to a row being written right now: never called orphans. */
const YOUNG_OBJECT_MS = 60 * 60 * 1000;
/** Keys looked up in the database at once, and rows read per page: bounds the memory at any size. */
const BATCH = 500;
const STAT_CONCURRENCY = 8;
const MAX_LISTED_PROBLEMS = 1000;
const THUMBNAIL_SUFFIX = ".thumb.webp";
/** Side objects the tus stores keep beside an upload (S3 .info/.part, file store .json). */
const UPLOAD_SIDE_SUFFIXES = [".info", ".json", ".part"];

export function quarantineKeyFor(key: string, at: Date): string {
  return `${QUARANTINE_PREFIX}${Math.floor(at.getTime() / 1000)}-${key}`;
}

/** The original key and the time of quarantine of a quarantined object; null for any other key. */
export function parseQuarantineKey(key: string): { key: string; at: Date } | null {
  const match = /^quarantine-(\d{1,12})-(.+)$/.exec(key);
  return match ? { key: match[2]!, at: new Date(Number(match[1]) * 1000) } : null;
}

/**
 * Compares the object store with the database: objects no row names (orphans: file contents,
 * kept versions, thumbnails, upload side objects), rows whose object is missing or has another
 * size (optionally another SHA-256), and pending uploads past their expiry. The listing and the
 * rows are both read in batches, so memory stays bounded whatever the number of files.
 * Repairs (orphans quarantined, then deleted after QUARANTINE_GRACE_MS; expired uploads removed)
 * are audited; missing objects and mismatches are only reported.
 */
export async function checkStorage(services: Services, options: StorageCheckOptions = {}): Promise<StorageCheckReport> {
  const now = options.now ?? new Date();
  const actor = options.actor ?? SYSTEM_ACTOR;
  const report: StorageCheckReport = {
    startedAt: now.toISOString(),
    finishedAt: "",
    objects: 0,
    rows: 0,
    problems: Object.fromEntries(PROBLEM_KINDS.map((kind) => [kind, 0])) as Record<ProblemKind, number>,
    listed: [],
    repaired: { quarantined: 0, purged: 0, uploadsRemoved: 0 },
    inQuarantine: 0,
  };
  const problem = (found: StorageProblem) => {
    report.problems[found.kind]++;
    if (report.listed.length < MAX_LISTED_PROBLEMS) report.listed.push(found);
    options.onProblem?.(found);
  };
  // Sizes as stored: with encryption at rest the listing would otherwise read every object's header.
  const raw = isEncryptedStore(services.storage) ? services.storage.inner : services.storage;

  await checkObjects(services, raw, now, actor, options, report, problem);
  await checkRows(services, raw, options, report, problem);
  await checkUploads(services, now, actor, options, report, problem);

  report.finishedAt = new Date().toISOString();
  await recordAudit(services.prisma, actor, {
    action: "storage.checked",
    details: {
      mode: options.repairOrphans || options.uploads ? "repair" : "report",
      hash: options.hash === true,
      objects: report.objects,
      rows: report.rows,
      problems: { ...report.problems },
      repaired: { ...report.repaired },
    },
  });
  return report;
}

type Report = (problem: StorageProblem) => void;

async function checkObjects(
  services: Services,
  raw: ObjectStore,
  now: Date,
  actor: AuditActor,
  options: StorageCheckOptions,
  report: StorageCheckReport,
  problem: Report,
) {
  let batch: ObjectInfo[] = [];
  // What this run moved: the listing may come across it again.
  const movedNow = new Set<string>();
  const flush = async () => {
    const owned = await ownedKeys(
      services,
      batch.map((info) => info.key),
    );
    for (const info of batch) {
      if (owned.has(info.key) || now.getTime() - info.modifiedAt.getTime() < YOUNG_OBJECT_MS) continue;
      const moved = options.repairOrphans ? await quarantine(services, info, now, actor) : null;
      if (moved) {
        movedNow.add(moved);
        report.repaired.quarantined++;
        report.inQuarantine++;
        continue;
      }
      problem({ kind: "orphan", key: info.key, detail: `${info.size} bytes that no file, version, thumbnail or upload names` });
    }
    batch = [];
  };
  for await (const info of raw.list()) {
    const quarantined = parseQuarantineKey(info.key);
    if (quarantined) {
      if (movedNow.has(info.key)) continue;
      if (now.getTime() - quarantined.at.getTime() < QUARANTINE_GRACE_MS || !options.repairOrphans) {
        report.inQuarantine++;
        continue;
      }
      await services.storage.delete(info.key);
      await recordAudit(services.prisma, actor, {
        action: "storage.orphan_deleted",
        details: { key: quarantined.key, quarantinedAt: quarantined.at.toISOString(), size: info.size },
      });
      report.repaired.purged++;
      continue;
    }
    report.objects++;
    batch.push(info);
    if (batch.length >= BATCH) await flush();
  }
  await flush();
}

/**
 * Every object key a row references for good (a file's content or thumbnail, a kept version),
 * each once; pending uploads are left out, their objects are still being written. Plain SQL, so
 * that a caller reads it inside its own transaction (a backup's snapshot). Keep it in step with
 * ownedKeys below.
 */
export const REFERENCED_OBJECT_KEYS_SQL = `SELECT storage_key AS key FROM files
  UNION SELECT thumbnail_key FROM files WHERE thumbnail_key IS NOT NULL
  UNION SELECT storage_key FROM file_versions`;

/** What referencedObjectKeys needs of a database connection (a `pg` client). */
export interface SqlClient {
  query(sql: string): Promise<{ rows: Array<Record<string, unknown>> }>;
}

/**
 * The keys of REFERENCED_OBJECT_KEYS_SQL, read through a cursor in batches so memory stays
 * bounded. Must run inside a transaction (the cursor lives in it).
 */
export async function* referencedObjectKeys(client: SqlClient): AsyncGenerator<string> {
  const cursor = `coffer_referenced_keys_${process.pid}`;
  await client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${REFERENCED_OBJECT_KEYS_SQL}`);
  try {
    for (;;) {
      const { rows } = await client.query(`FETCH ${BATCH} FROM ${cursor}`);
      if (rows.length === 0) return;
      for (const row of rows) yield String(row.key);
    }
  } finally {
    await client.query(`CLOSE ${cursor}`).catch(() => {});
  }
}

/** Which of `keys` a row names: a file's content or thumbnail, a kept version, a pending upload's data. */
async function ownedKeys(services: Services, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  // thumbnail_key has no index: asked only about the keys that look like thumbnails.
  const thumbnailKeys = keys.filter((key) => key.endsWith(THUMBNAIL_SUFFIX));
  const uploadIds = [...new Set(keys.map(uploadIdOf))];
  const [files, versions, thumbnails, uploads, deferred] = await Promise.all([
    services.prisma.file.findMany({ where: { storageKey: { in: keys } }, select: { storageKey: true } }),
    services.prisma.fileVersion.findMany({ where: { storageKey: { in: keys } }, select: { storageKey: true } }),
    thumbnailKeys.length === 0
      ? []
      : services.prisma.file.findMany({ where: { thumbnailKey: { in: thumbnailKeys } }, select: { thumbnailKey: true } }),
    services.prisma.upload.findMany({ where: { id: { in: uploadIds } }, select: { id: true } }),
    // Deletions held back for a backup or WAL shipping: the delete-deferred-objects job owns them,
    // and quarantining one would take it from under a point-in-time restore.
    services.prisma.deferredObjectDeletion.findMany({ where: { key: { in: keys } }, select: { key: true } }),
  ]);
  const owned = new Set<string>([...files.map((f) => f.storageKey), ...versions.map((v) => v.storageKey), ...deferred.map((d) => d.key)]);
  for (const t of thumbnails) if (t.thumbnailKey) owned.add(t.thumbnailKey);
  const pending = new Set(uploads.map((u) => u.id));
  for (const key of keys) if (pending.has(uploadIdOf(key))) owned.add(key);
  return owned;
}

function uploadIdOf(key: string): string {
  const suffix = UPLOAD_SIDE_SUFFIXES.find((s) => key.endsWith(s));
  return suffix ? key.slice(0, -suffix.length) : key;
}

/**
 * Moves an orphan into quarantine, after looking once more that no row took it meanwhile; its new
 * key. Under the key's lock, as every deletion of an object is: a thumbnail may be written again
 * under this key and recorded at this moment (see shared-objects.server.ts).
 */
async function quarantine(services: Services, info: ObjectInfo, now: Date, actor: AuditActor): Promise<string | null> {
  return services.prisma.$transaction(
    async (tx) => {
      await lockObjectKeys(tx, [info.key]);
      // A running backup's snapshot may still name it: reported this time, moved by a later check.
      if (!(await objectDeletionAllowed(tx))) return null;
      return quarantineLocked(services, info, now, actor);
    },
    { maxWait: 10_000, timeout: 15 * 60_000 },
  );
}

async function quarantineLocked(services: Services, info: ObjectInfo, now: Date, actor: AuditActor): Promise<string | null> {
  if ((await ownedKeys(services, [info.key])).size > 0) return null;
  const target = quarantineKeyFor(info.key, now);
  if (target.length > 255) return null;
  try {
    await services.storage.copy(info.key, target);
  } catch (error) {
    // Gone meanwhile (another run, or its row's own cleanup): nothing left to quarantine.
    if (error instanceof ObjectNotFoundError) return null;
    throw error;
  }
  await services.storage.delete(info.key);
  await recordAudit(services.prisma, actor, {
    action: "storage.orphan_quarantined",
    details: { key: info.key, quarantineKey: target, size: info.size },
  });
  return target;
}

async function checkRows(services: Services, raw: ObjectStore, options: StorageCheckOptions, report: StorageCheckReport, problem: Report) {
  const encrypted = isEncryptedStore(services.storage);
  const check = async (row: { storageKey: string; size: bigint; sha256: string | null }) => {
    const info = await raw.stat(row.storageKey);
    if (!info) {
      problem({ kind: "missing", key: row.storageKey, detail: `the object of a ${row.size}-byte content is missing` });
      return;
    }
    const size = Number(row.size);
    // Encrypted objects are larger by a known amount; one begun before encryption was on is plaintext.
    let sizeOk = info.size === size || (encrypted && info.size === cipherSize(size));
    // Another segment size: the header says. A damaged header (no size fits) is a mismatch too.
    if (!sizeOk && encrypted) sizeOk = (await services.storage.stat(row.storageKey).catch(() => null))?.size === size;
    if (!sizeOk) {
      problem({
        kind: "size_mismatch",
        key: row.storageKey,
        detail: `recorded ${size} bytes${encrypted ? ` (${cipherSize(size)} encrypted)` : ""}, stored ${info.size}`,
      });
      return;
    }
    if (!options.hash || !row.sha256) return;
    const actual = await sha256Of(await services.storage.get(row.storageKey)).catch(
      (error: unknown) => `unreadable (${(error as Error).message})`,
    );
    if (actual !== row.sha256) problem({ kind: "hash_mismatch", key: row.storageKey, detail: `recorded ${row.sha256}, read ${actual}` });
  };
  const checkThumbnail = async (key: string) => {
    if (!(await raw.stat(key))) problem({ kind: "missing", key, detail: "a thumbnail's object is missing" });
  };

  let cursor: string | undefined;
  for (;;) {
    const files: Array<{ id: string; storageKey: string; size: bigint; sha256: string | null; thumbnailKey: string | null }> =
      await services.prisma.file.findMany({
        select: { id: true, storageKey: true, size: true, sha256: true, thumbnailKey: true },
        orderBy: { id: "asc" },
        take: BATCH,
        ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
      });
    if (files.length === 0) break;
    cursor = files.at(-1)!.id;
    report.rows += files.length;
    await inParallel(files, async (file) => {
      await check(file);
      if (file.thumbnailKey) await checkThumbnail(file.thumbnailKey);
    });
  }
  cursor = undefined;
  for (;;) {
    const versions: Array<{ id: string; storageKey: string; size: bigint; sha256: string | null }> =
      await services.prisma.fileVersion.findMany({
        select: { id: true, storageKey: true, size: true, sha256: true },
        orderBy: { id: "asc" },
        take: BATCH,
        ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
      });
    if (versions.length === 0) break;
    cursor = versions.at(-1)!.id;
    report.rows += versions.length;
    await inParallel(versions, check);
  }
}

async function checkUploads(
  services: Services,
  now: Date,
  actor: AuditActor,
  options: StorageCheckOptions,
  report: StorageCheckReport,
  problem: Report,
) {
  const cutoff = new Date(now.getTime() - services.config.uploads.expiryMs);
  if (options.uploads) {
    const { removed } = await cleanupAbandonedUploads(services, options.uploads, now);
    report.repaired.uploadsRemoved = removed;
    if (removed > 0) await recordAudit(services.prisma, actor, { action: "storage.expired_uploads_removed", details: { removed } });
  }
  let cursor: string | undefined;
  for (;;) {
    const stale: Array<{ id: string; createdAt: Date; size: bigint }> = await services.prisma.upload.findMany({
      where: { createdAt: { lt: cutoff } },
      select: { id: true, createdAt: true, size: true },
      orderBy: { id: "asc" },
      take: BATCH,
      ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
    });
    if (stale.length === 0) break;
    cursor = stale.at(-1)!.id;
    for (const upload of stale)
      problem({
        kind: "expired_upload",
        key: upload.id,
        detail: `a ${upload.size}-byte upload begun ${upload.createdAt.toISOString()}, past its expiry`,
      });
  }
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function inParallel<T>(items: T[], run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(STAT_CONCURRENCY, items.length) }, worker));
}

/** The last run's remaining problems and time, from its audit event (all instances and the CLI agree). */
export async function lastStorageCheck(services: Services): Promise<{ at: Date; problems: Record<ProblemKind, number> } | null> {
  const event = await services.prisma.auditEvent.findFirst({
    where: { action: "storage.checked" },
    orderBy: { createdAt: "desc" },
    select: { createdAt: true, details: true },
  });
  if (!event) return null;
  const stored = ((event.details as { problems?: Record<string, unknown> } | null)?.problems ?? {}) as Record<string, unknown>;
  const problems = Object.fromEntries(PROBLEM_KINDS.map((kind) => [kind, Number(stored[kind] ?? 0) || 0])) as Record<ProblemKind, number>;
  return { at: event.createdAt, problems };
}
