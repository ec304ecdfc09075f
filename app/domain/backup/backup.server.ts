// One backup run: the database as a consistent logical export, the objects it references
// (incrementally), then the manifest, written last. See docs/backups.md.
import type pg from "pg";
import type { Services } from "~/services/index.server";
import type { Logger } from "~/services/logger.server";
import { buildInfo } from "~/services/build-info.server";
import { encryptForBackup } from "~/services/backup/backup-crypto.server";
import { appliedMigrations, connect, copyOut, tableShapes } from "~/services/backup/postgres-copy.server";
import { createBackupTarget } from "~/services/backup/target.server";
import { isEncryptedStore } from "~/services/storage/encrypted.server";
import { TIER_MOVE_LOCK } from "~/services/storage/move.server";
import type { ObjectStore } from "~/services/storage/types";
import { OBJECT_DELETION_LOCK } from "../files/shared-objects.server";
import { referencedObjectKeys } from "../storage-check/storage-check.server";
import { listBackupIds, readManifest, writeManifest } from "./catalog.server";
import { type Manifest, type ManifestObject, type ManifestTable, backupIdOf, MANIFEST_FORMAT, nextBackupId, targetKeys } from "./manifest";
import { copyObjects, listTargetObjects } from "./objects.server";
import { chain, Digest } from "./streams.server";

/** What a step run inside a backup (pitr's physical base backup) is given. */
export interface BackupStepContext {
  id: string;
  startedAt: Date;
  target: ObjectStore;
  /** The backup key: everything the step writes goes through encryptForBackup(key). */
  key: Buffer;
  services: Services;
  log: Logger;
}

export interface RunBackupOptions {
  /** The physical base backup of the embedded cluster (point-in-time recovery), provided by pitr. */
  physical?: (ctx: BackupStepContext) => Promise<Manifest["physical"]>;
  /** Another target than config.backup's (tests: a store that fills up). */
  target?: ObjectStore;
  now?: () => Date;
  /** Test seams: after the objects copied before the snapshot, and before the objects it added are copied. */
  hooks?: { afterEarlyCopy?: () => Promise<void>; beforeLastCopy?: () => Promise<void> };
}

export interface BackupResult {
  manifest: Manifest;
  /** Objects copied by this run (the others were in the target already). */
  objectsCopied: number;
  /** Sealed bytes this run wrote to the target (dumps, objects, manifest). */
  bytesWritten: number;
  /** Keys the database references that the primary store does not hold: not in this backup. */
  missingObjects: string[];
  durationMs: number;
}

export class BackupNotConfiguredError extends Error {
  constructor() {
    super("no backup target is configured: set BACKUP_DIR or BACKUP_S3_BUCKET, and BACKUP_KEY (docs/backups.md)");
    this.name = "BackupNotConfiguredError";
  }
}

export class BackupBusyError extends Error {
  constructor() {
    super("another backup of this instance is running; try again when it has finished");
    this.name = "BackupBusyError";
  }
}

/** The target refused a write for lack of room; the run's partial files are removed again. */
export class BackupTargetFullError extends Error {
  constructor(id: string, cause: unknown) {
    super(
      `the backup target is full (${(cause as Error).message}); backup ${id} was not recorded and its partial files were removed. ` +
        "Earlier backups are intact. Free space on the target (or prune old backups) and run the backup again.",
      { cause },
    );
    this.name = "BackupTargetFullError";
  }
}

/**
 * An S3 target answered a write with 503. Swift's proxy does when the disk an object was to go to
 * is full (its object server fails, and there is no other copy to write), as does any S3 server
 * that is overloaded: the cause cannot be told apart, so the message names both.
 */
export class BackupTargetRefusedError extends Error {
  constructor(id: string, cause: unknown) {
    super(
      `the backup target refused a write (${refusalText(cause)}): the S3 server is out of room or overloaded; ` +
        `backup ${id} was not recorded and its partial files were removed. Earlier backups are intact. ` +
        "Check the target's free space and health, and run the backup again.",
      { cause },
    );
    this.name = "BackupTargetRefusedError";
  }
}

/**
 * Held for the whole run, so two runs never delete each other's files as "leftovers". Not
 * 72707370 (earlier releases): sign-ups serialise on that one and must not wait for a backup.
 */
const BACKUP_LOCK = 72707373;

/**
 * Writes one backup: every table of the public schema through COPY inside one REPEATABLE READ
 * READ ONLY transaction (rows and object list from the same snapshot), each object those rows
 * reference that the target does not hold yet, and the manifest last. A run that dies leaves no
 * manifest, so it is no backup; the next run removes what it left.
 */
export async function runBackup(services: Services, options: RunBackupOptions = {}): Promise<BackupResult> {
  const config = services.config.backup;
  if (!config) throw new BackupNotConfiguredError();
  const log = services.log;
  const now = options.now ?? (() => new Date());
  const target = options.target ?? (await createBackupTarget(config.target, log));
  await target.init();
  const lock = await connect(services.db.url);
  try {
    const { rows } = await lock.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [BACKUP_LOCK]);
    if (!rows[0]?.locked) throw new BackupBusyError();
    // No object moves between the hot store and the cold tier until this session ends; waits
    // only for a move under way.
    await lock.query("SELECT pg_advisory_lock($1)", [TIER_MOVE_LOCK]);
    const { id, startedAt } = nextBackupId(now(), (await listBackupIds(target)).at(-1));
    await removeLeftovers(target, log);
    try {
      return await writeBackup({
        services,
        lock,
        target,
        key: config.key,
        id,
        startedAt,
        now,
        log,
        physical: options.physical,
        hooks: options.hooks ?? {},
      });
    } catch (error) {
      await removeBackupFiles(target, id).catch((cleanup: unknown) =>
        log.warn("backup: could not remove the failed run's files; the next run will", { id, error: String(cleanup) }),
      );
      if (isFull(error)) throw new BackupTargetFullError(id, error);
      if (isRefused(error)) throw new BackupTargetRefusedError(id, error);
      throw error;
    }
  } finally {
    await lock.end().catch(() => {});
  }
}

async function writeBackup(run: {
  services: Services;
  /** The session holding the backup lock; it also pauses object deletions. */
  lock: pg.Client;
  target: ObjectStore;
  key: Buffer;
  id: string;
  startedAt: Date;
  now: () => Date;
  log: Logger;
  physical: RunBackupOptions["physical"];
  hooks: NonNullable<RunBackupOptions["hooks"]>;
}): Promise<BackupResult> {
  const { services, target, key, id, log } = run;
  let bytesWritten = 0;
  log.info("backup: started", { id });

  // Objects first, outside the snapshot: a file deleted forever while the tables are exported
  // then still has its bytes in the target. After the snapshot only what it adds is copied.
  const known = await previousObjects(target, key, log);
  const early = await copyObjects({
    source: rawStore(services),
    target,
    key,
    keys: await currentObjectKeys(services),
    present: await listTargetObjects(target),
    known,
    log,
  });
  bytesWritten += early.bytesWritten;
  for (const object of early.objects) known.set(object.key, object);
  await run.hooks.afterEarlyCopy?.();

  // From before the snapshot until its objects are copied, no object is deleted (on any
  // instance): deletions are deferred instead, so every row of the snapshot keeps its object.
  // Waits only for deletions under way; nobody waits for the backup.
  await run.lock.query("SELECT pg_advisory_lock($1)", [OBJECT_DELETION_LOCK]);
  const dump = await dumpDatabase(services.db.url, target, key, id);
  bytesWritten += dump.bytesWritten;
  log.info("backup: database exported", { id, tables: dump.tables.length });

  const physical = run.physical ? await run.physical({ id, startedAt: run.startedAt, target, key, services, log }) : undefined;

  await run.hooks.beforeLastCopy?.();
  const present = await listTargetObjects(target);
  const copy = await copyObjects({ source: rawStore(services), target, key, keys: dump.objectKeys, present, known, log });
  await run.lock.query("SELECT pg_advisory_unlock($1)", [OBJECT_DELETION_LOCK]);
  copy.copied += early.copied;
  bytesWritten += copy.bytesWritten;
  if (copy.missing.length > 0)
    log.warn("backup: objects the database references are missing from the store (run coffer fsck)", {
      id,
      missing: copy.missing.slice(0, 20),
    });

  const rows = (name: string) => dump.tables.find((t) => t.name === name)?.rows ?? 0;
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    id,
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.now().toISOString(),
    appVersion: buildInfo().version,
    migrations: dump.migrations,
    database: { embedded: services.db.embedded, snapshotAt: dump.snapshotAt.toISOString(), tables: dump.tables },
    objects: copy.objects,
    counts: {
      users: rows("users"),
      folders: rows("folders"),
      files: rows("files"),
      versions: rows("file_versions"),
      shares: rows("share_links") + rows("user_shares"),
      auditEvents: rows("audit_events"),
      objects: copy.objects.length,
      objectBytes: copy.objects.reduce((sum, o) => sum + o.bytes, 0),
    },
    ...(physical ? { physical } : {}),
  };
  bytesWritten += await writeManifest(target, key, manifest);
  const durationMs = Date.now() - run.startedAt.getTime();
  log.info("backup: finished", { id, objectsCopied: copy.copied, objects: copy.objects.length, bytesWritten, durationMs });
  return { manifest, objectsCopied: copy.copied, bytesWritten, missingObjects: copy.missing, durationMs };
}

/** Every table and the referenced object keys, read in one snapshot; each table sealed into the target. */
async function dumpDatabase(url: string, target: ObjectStore, key: Buffer, id: string) {
  const client = await connect(url);
  try {
    return await dumpInSnapshot(client, target, key, id);
  } finally {
    await client.end().catch(() => {});
  }
}

async function dumpInSnapshot(client: pg.Client, target: ObjectStore, key: Buffer, id: string) {
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  try {
    // The first statement takes the snapshot: its time is the backup's point in time.
    const { rows } = await client.query<{ at: Date }>("SELECT clock_timestamp() AS at");
    const snapshotAt = rows[0]!.at;
    const migrations = await appliedMigrations(client);
    const tables: ManifestTable[] = [];
    let bytesWritten = 0;
    for (const shape of await tableShapes(client)) {
      const digest = new Digest();
      const { size } = await target.put(targetKeys.table(id, shape.name), chain(copyOut(client, shape), digest, encryptForBackup(key)));
      bytesWritten += size;
      tables.push({ name: shape.name, columns: shape.columns, rows: digest.lines, bytes: digest.bytes, sha256: digest.sha256() });
    }
    const objectKeys: string[] = [];
    for await (const objectKey of referencedObjectKeys(client)) objectKeys.push(objectKey);
    await client.query("COMMIT");
    return { snapshotAt, migrations, tables, objectKeys, bytesWritten };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/**
 * Copies the objects the database references now (and those whose deletion is deferred) that
 * the target does not hold yet, outside any backup: point-in-time recovery needs the objects
 * written since the last backup (pitr runs this often). Objects already in the target are not read.
 */
export async function shipNewObjects(
  services: Services,
  options: { target?: ObjectStore } = {},
): Promise<{ copied: number; bytesWritten: number; missing: string[] }> {
  const config = services.config.backup;
  if (!config) throw new BackupNotConfiguredError();
  const target = options.target ?? (await createBackupTarget(config.target, services.log));
  await target.init();
  const keys = await currentObjectKeys(services);
  // Deferred deletions too: with WAL archiving on, an object deleted since the last ship is still
  // in the store (deletionsWaitForShipping), and a restore to a moment before its deletion needs it.
  const deferred = await services.prisma.deferredObjectDeletion.findMany({ select: { key: true } });
  const present = await listTargetObjects(target);
  const result = await copyObjects({
    source: rawStore(services),
    target,
    key: config.key,
    keys: [...keys, ...deferred.map((row) => row.key)].filter((key) => !present.has(key)),
    present,
    log: services.log,
  });
  // A deferred key whose object is gone is no loss: only what the database names counts as missing.
  const named = new Set(keys);
  return { copied: result.copied, bytesWritten: result.bytesWritten, missing: result.missing.filter((key) => named.has(key)) };
}

/** The object keys the database references now, read in one snapshot. */
async function currentObjectKeys(services: Services): Promise<string[]> {
  const client = await connect(services.db.url);
  const keys: string[] = [];
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    for await (const key of referencedObjectKeys(client)) keys.push(key);
    await client.query("COMMIT");
  } finally {
    await client.end().catch(() => {});
  }
  return keys;
}

/** What the newest readable manifest says of each object, so objects already copied are not read again. */
async function previousObjects(target: ObjectStore, key: Buffer, log: Logger): Promise<Map<string, ManifestObject>> {
  const latest = (await listBackupIds(target)).at(-1);
  if (!latest) return new Map();
  try {
    return new Map((await readManifest(target, key, latest)).objects.map((o) => [o.key, o]));
  } catch (error) {
    log.warn("backup: the newest manifest cannot be read; objects in the target are read back instead", {
      id: latest,
      error: (error as Error).message,
    });
    return new Map();
  }
}

/**
 * Removes what runs that died before their manifest left behind. Called under the backup lock,
 * so no other run is writing: every id without a manifest is a dead run's.
 */
async function removeLeftovers(target: ObjectStore, log: Logger): Promise<void> {
  const byId = new Map<string, string[]>();
  const finished = new Set<string>();
  for await (const info of target.list("backup-")) {
    const id = backupIdOf(info.key);
    if (!id) continue;
    if (info.key === targetKeys.manifest(id)) finished.add(id);
    byId.set(id, [...(byId.get(id) ?? []), info.key]);
  }
  for (const [id, keys] of byId) {
    if (finished.has(id)) continue;
    log.info("backup: removing the files of a run that did not finish", { id, files: keys.length });
    await target.deleteMany(keys);
  }
}

async function removeBackupFiles(target: ObjectStore, id: string): Promise<void> {
  const keys: string[] = [];
  for await (const info of target.list(targetKeys.backupPrefix(id))) keys.push(info.key);
  if (keys.length > 0) await target.deleteMany(keys);
}

/** The primary store without encryption at rest: objects are backed up exactly as stored. */
function rawStore(services: Services): ObjectStore {
  return isEncryptedStore(services.storage) ? services.storage.inner : services.storage;
}

/**
 * The S3 error code of an error or of one of its causes: minio's clients put it in `code`, the
 * AWS SDK's (puts through the part streamer) in `name`, with the HTTP status in `$metadata`.
 */
function causes(error: unknown): Array<{ code?: unknown; name?: unknown; message?: unknown; status?: number }> {
  const found = [];
  for (let e = error as Record<string, unknown> | undefined, depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    const metadata = e.$metadata as { httpStatusCode?: number } | undefined;
    found.push({ code: e.code, name: e.name, message: e.message, status: metadata?.httpStatusCode });
    e = e.cause as typeof e;
  }
  return found;
}

const FULL_CODES = new Set(["ENOSPC", "EDQUOT", "QuotaExceeded", "EntityTooLarge"]);

function isFull(error: unknown): boolean {
  return causes(error).some((e) => FULL_CODES.has(String(e.code)) || FULL_CODES.has(String(e.name)));
}

/** The status beside the server's words: the AWS SDK's message ("Please reduce your request rate.") has no number. */
function refusalText(error: unknown): string {
  const message = (error as Error).message;
  return /\b503\b/.test(message) ? message : `HTTP 503: ${message}`;
}

/** A 503 from S3: minio retries it once, then throws an error that names only the status. */
function isRefused(error: unknown): boolean {
  return causes(error).some(
    (e) =>
      e.code === "ServiceUnavailable" ||
      e.name === "ServiceUnavailable" ||
      e.status === 503 ||
      /\bRetryable HTTP status: 503\b/.test(String(e.message)),
  );
}
