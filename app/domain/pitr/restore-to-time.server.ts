import fs from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { buffer } from "node:stream/consumers";
import type { Config } from "~/config.server";
import { decryptFromBackup } from "~/services/backup/backup-crypto.server";
import { createBackupTarget } from "~/services/backup/target.server";
import type { Logger } from "~/services/logger.server";
import { createObjectStore } from "~/services/storage/index.server";
import { chownTree, clusterOwner, unpackBaseBackup } from "~/services/backup/base-restore.server";
import { controlFileSystemId } from "~/services/backup/base-backup.server";
import { walStagingDir } from "~/services/backup/wal-archive.server";
import { startEmbeddedPostgres } from "~/services/embedded-postgres.server";
import type { ObjectStore } from "~/services/storage/types";
import { targetKeys, walOf } from "../backup/manifest";
import { firstObjects } from "../backup/objects.server";
import { referencedKeysAt, restoreObjectsByKey } from "./recovered-objects.server";
import { listBaseBackups, type BaseBackup } from "./physical.server";
import { readArchivedWalCompressed } from "./wal-shipper.server";
import { freePort } from "~/services/free-port.server";
import { queueSearchRebuild } from "../search/search-resync.server";

/** A point-in-time restore that cannot be done as asked; the message says why and what is possible. */
export class PointInTimeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PointInTimeError";
  }
}

export interface RestoreToTimeOptions {
  target: ObjectStore;
  key: Buffer;
  /** The new instance's DATA_DIR; its `postgres` directory must be empty or absent. */
  dataDir: string;
  to: Date;
  /**
   * The new instance's object store as it holds objects (no encryption wrapper); must be empty.
   * The objects the recovered database references are copied into it from the target.
   */
  store?: ObjectStore;
  /** Port for the recovering server (default: any free port). */
  port?: number;
  log?: (line: string) => void;
  /** Runs on the recovered database before it stops (e.g. queueing the search rebuild). */
  onRecovered?: (databaseUrl: string) => Promise<void>;
}

export interface RestoreToTimeResult {
  /** The backup whose base the database was recovered from. */
  backupId: string;
  /** WAL files fetched from the target. */
  walFiles: number;
  /** Objects copied into the store. */
  objects: number;
  /** Objects the recovered database references that the target does not hold (shipped too late). */
  missingObjects: string[];
}

const SEGMENT = /^[0-9A-F]{24}$/;
const CLOCK_MARGIN_MS = 60_000;
const HISTORY = /^[0-9A-F]{8}\.history$/;

/**
 * Recovers the embedded database to the moment `to`: the newest base backup finished by then is
 * unpacked into DATA_DIR/postgres, the archived WAL since its start is fetched beside it, and the
 * cluster is started in archive recovery (restore_command, recovery_target_time, promote) until it
 * has replayed everything committed up to `to` and promoted; the objects the recovered database
 * references are copied from the target into `store`, and the cluster is stopped again. A failure
 * removes the cluster it unpacked, so the restore can be retried.
 */
export async function restoreToTime(options: RestoreToTimeOptions): Promise<RestoreToTimeResult> {
  const { target, key, dataDir, to } = options;
  const clusterDir = path.join(dataDir, "postgres");
  if (Number.isNaN(to.getTime())) throw new PointInTimeError("the time to restore to is not a valid date");
  if (fs.existsSync(clusterDir) && fs.readdirSync(clusterDir).length > 0) {
    throw new PointInTimeError(`${clusterDir} is not empty: a point-in-time restore needs an empty DATA_DIR`);
  }
  if (to.getTime() > Date.now()) throw new PointInTimeError(`${to.toISOString()} is in the future`);
  const occupied = options.store ? await firstObjects(options.store, 1) : [];
  if (occupied.length > 0)
    throw new PointInTimeError(`the object store is not empty (it holds ${occupied[0]!.key}): restore into an empty one`);
  const base = chooseBase(await listBaseBackups(target, key), to);
  // An earlier release's base backup does not record its cluster: its pg_control, once unpacked, does.
  const known = base.physical.systemId;
  let wal = known ? await walToFetch(target, base, to, { systemId: known, legacy: false }) : null;

  const owner = clusterOwner();
  const walDir = path.join(dataDir, ".pitr-wal");
  const passwordFile = path.join(dataDir, ".postgres-password");
  fs.mkdirSync(dataDir, { recursive: true });
  // The server runs as the cluster's owner (`postgres` under root) and must reach its files.
  if (owner) fs.chmodSync(dataDir, 0o777);
  try {
    const label = (
      await buffer(decryptFromBackup(key, await target.get(targetKeys.baseLabel(base.id)), targetKeys.baseLabel(base.id)))
    ).toString("utf8");
    await unpackBaseBackup({ target, key, baseKey: targetKeys.base(base.id), labelFile: label, clusterDir, owner });
    wal ??= await walToFetch(target, base, to, { systemId: await controlFileSystemId(clusterDir), legacy: true });
    fs.mkdirSync(walDir, { recursive: true, mode: 0o700 });
    for (const { name, objectKey } of wal) {
      await pipeline(await readArchivedWalCompressed(target, key, objectKey), fs.createWriteStream(path.join(walDir, `${name}.gz`)));
    }
    if (owner) await chownTree(walDir, owner);
    fs.writeFileSync(path.join(clusterDir, "recovery.signal"), "");
    if (owner) fs.chownSync(path.join(clusterDir, "recovery.signal"), owner.uid, owner.gid);
    const store = options.store;
    let objects = 0;
    let missingObjects: string[] = [];
    await recover({ clusterDir, walDir, dataDir, to, port: options.port ?? (await freePort()), log: options.log }, async (url) => {
      await options.onRecovered?.(url);
      if (!store) return;
      const keys = await referencedKeysAt(url);
      missingObjects = await restoreObjectsByKey({ target, key, keys, store });
      objects = keys.length - missingObjects.length;
    });
    return { backupId: base.id, walFiles: wal.length, objects, missingObjects };
  } catch (error) {
    fs.rmSync(clusterDir, { recursive: true, force: true });
    fs.rmSync(passwordFile, { force: true });
    throw error;
  } finally {
    fs.rmSync(walDir, { recursive: true, force: true });
  }
}

function chooseBase(bases: BaseBackup[], to: Date): BaseBackup {
  if (bases.length === 0) {
    throw new PointInTimeError(
      "the backup target holds no base backup of the embedded database: take a backup with WAL archiving on first",
    );
  }
  const before = bases.filter((b) => new Date(b.physical.finishedAt) <= to);
  if (before.length === 0) {
    throw new PointInTimeError(
      `${to.toISOString()} is before the oldest base backup, which finished at ${bases[0]!.physical.finishedAt}: choose a later time`,
    );
  }
  return before.at(-1)!;
}

/** LSN "X/Y" → the segment part of a WAL file name (16 MiB segments, the embedded cluster's). */
function segmentPosition(lsn: string): string {
  const [high, low] = lsn.split("/").map((part) => Number.parseInt(part, 16)) as [number, number];
  return `${high.toString(16).toUpperCase().padStart(8, "0")}${Math.floor(low / 0x1000000)
    .toString(16)
    .toUpperCase()
    .padStart(8, "0")}`;
}

/**
 * The archived WAL a recovery from `base` may ask for: its cluster's (`systemId`) histories of
 * every timeline, and its segments from the base's start on (of any timeline: recovery follows
 * the latest). Files of another cluster (one made by initdb, e.g. a logical restore, ships into the
 * same target under its own id) are never taken. `legacy`, for a base backup of an earlier
 * release: the flat `wal-<name>` files it shipped count too, where its cluster has no file of that
 * name. Refuses a `to` later than the newest shipped WAL, which cannot hold what was committed then.
 */
export async function walToFetch(
  target: ObjectStore,
  base: BaseBackup,
  to: Date,
  cluster: { systemId: string; legacy: boolean },
): Promise<Array<{ name: string; objectKey: string }>> {
  const start = segmentPosition(base.physical.startLsn);
  const chosen = new Map<string, { objectKey: string; modifiedAt: Date; own: boolean }>();
  for await (const info of target.list("wal-")) {
    const wal = walOf(info.key);
    if (!wal || !(HISTORY.test(wal.name) || (SEGMENT.test(wal.name) && wal.name.slice(8) >= start))) continue;
    const own = wal.systemId === cluster.systemId;
    if (!own && !(cluster.legacy && wal.systemId === null)) continue;
    if (chosen.get(wal.name)?.own) continue;
    chosen.set(wal.name, { objectKey: info.key, modifiedAt: info.modifiedAt, own });
  }
  let newest: Date | null = null;
  for (const [name, file] of chosen) if (SEGMENT.test(name) && (!newest || file.modifiedAt > newest)) newest = file.modifiedAt;
  // The target's clock and its timestamps' precision (whole seconds on some S3 servers) are not
  // this machine's: only a clear case is refused here; recovery itself finds the exact end.
  if (!newest || newest.getTime() + CLOCK_MARGIN_MS < to.getTime()) {
    throw new PointInTimeError(
      `${to.toISOString()} is after the newest archived WAL (${newest ? `shipped at ${newest.toISOString()}` : "none since the base backup"}): choose an earlier time, or wait for the WAL shipper`,
    );
  }
  return [...chosen]
    .map(([name, file]) => ({ name, objectKey: file.objectKey }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Starts the cluster in archive recovery (it reports ready only once it has promoted), runs `recovered`, stops it. */
async function recover(
  options: { clusterDir: string; walDir: string; dataDir: string; to: Date; port: number; log?: (line: string) => void },
  recovered: (url: string) => Promise<void>,
) {
  const archived = `'${options.walDir.replace(/'/g, `'\\''`)}/%f.gz'`;
  const restoreCommand = `test -f ${archived} && gzip -dc ${archived} > "%p"`;
  let server: Awaited<ReturnType<typeof startEmbeddedPostgres>>;
  try {
    server = await startEmbeddedPostgres({
      dataDir: options.clusterDir,
      port: options.port,
      log: options.log,
      // The new timeline's first files (its history, the old timeline's last partial segment) are archived as usual.
      walStagingDir: walStagingDir(options.dataDir),
      postgresFlags: [
        "-c",
        `restore_command=${restoreCommand}`,
        "-c",
        `recovery_target_time=${options.to.toISOString().replace("T", " ").replace("Z", "+00")}`,
        "-c",
        "recovery_target_action=promote",
        "-c",
        "recovery_target_timeline=latest",
      ],
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (/recovery ended before configured recovery target was reached/.test(reason)) {
      throw new PointInTimeError(
        `the archived WAL ends before ${options.to.toISOString()}: choose an earlier time, or wait for the WAL shipper to ship the rest`,
      );
    }
    throw new Error(`the recovering database did not start: ${reason}`);
  }
  try {
    await recovered(server.url);
  } finally {
    await server.stop();
  }
}

/**
 * `coffer restore --to <time>`: restoreToTime into this configuration's DATA_DIR and object store
 * (the store as it holds objects, without the encryption wrapper: objects are copied as stored).
 */
export async function restoreInstanceToTime(config: Config, to: Date, log?: Logger): Promise<RestoreToTimeResult> {
  if (!config.backup) throw new PointInTimeError("no backup target is configured: set BACKUP_DIR or BACKUP_S3_BUCKET, and BACKUP_KEY");
  if (!config.database.embedded) {
    throw new PointInTimeError(
      "point-in-time recovery covers the embedded database; with DATABASE_URL use your PostgreSQL's own tools (pgBackRest, WAL-G)",
    );
  }
  const target = await createBackupTarget(config.backup.target, log);
  await target.init();
  const store = await createObjectStore(config.storage, log);
  await store.init();
  return restoreToTime({
    target,
    key: config.backup.key,
    dataDir: config.dataDir,
    to,
    store,
    log: log ? (line) => log.debug(line) : undefined,
    // Meilisearch holds nothing of the recovered data: the jobs rebuild it from the database.
    onRecovered: config.search.driver === "meilisearch" ? async (url) => void (await queueSearchRebuild(url)) : undefined,
  });
}
