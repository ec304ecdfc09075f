import { createHash } from "node:crypto";
import type { Dirent } from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { pipeline as chain, Transform } from "node:stream";
import pg from "pg";
import tar from "tar-stream";
import { encryptForBackup } from "./backup-crypto.server";
import type { ObjectStore } from "../storage/types";

/** The physical part of a backup, as the manifest records it. */
export interface PhysicalBackup {
  startLsn: string;
  stopLsn: string;
  startedAt: string;
  finishedAt: string;
  timeline: number;
  /** The cluster's system identifier, which names its WAL in the target. */
  systemId: string;
  /** Size and SHA-256 of the tar (before sealing). */
  bytes: number;
  sha256: string;
}

/** The tar entry that carries the embedded cluster's password file (it lives beside the cluster). */
export const PASSWORD_ENTRY = "coffer-postgres-password";

/** Their contents are rebuilt at start (docs: "Making a Base Backup Using the Low Level API"); the directories are kept. */
const CONTENTS_SKIPPED = new Set([
  "pg_wal",
  "pg_replslot",
  "pg_dynshmem",
  "pg_notify",
  "pg_serial",
  "pg_snapshots",
  "pg_stat_tmp",
  "pg_subtrans",
]);
const FILES_SKIPPED = new Set([
  "postmaster.pid",
  "postmaster.opts",
  "backup_label",
  "tablespace_map",
  "backup_label.old",
  "current_logfiles",
]);

/**
 * A physical base backup of a running cluster through PostgreSQL's low-level API: on one session,
 * pg_backup_start, a tar of the data directory streamed through the backup key into `baseKey`,
 * then pg_backup_stop, whose label file is returned (a restore writes it as backup_label). Files
 * change while they are copied; that is expected, as replaying the WAL from the start LSN repairs
 * them (full-page writes), which is why the WAL up to the stop LSN must be archived too.
 */
export async function takeBaseBackup(options: {
  url: string;
  clusterDir: string;
  target: ObjectStore;
  key: Buffer;
  baseKey: string;
  label: string;
}): Promise<{ physical: PhysicalBackup; labelFile: string }> {
  const client = new pg.Client({ connectionString: options.url });
  await client.connect();
  try {
    const startedAt = new Date();
    const started = await client.query<{ lsn: string; wal: string }>(
      "SELECT lsn::text AS lsn, pg_walfile_name(lsn) AS wal FROM pg_backup_start($1, true) AS lsn",
      [options.label],
    );
    const { lsn: startLsn, wal } = started.rows[0]!;
    const systemId = await clusterSystemId(client);
    const tarred = new Measure();
    const pack = tar.pack();
    const filled = packDirectory(pack, options.clusterDir).then(
      () => pack.finalize(),
      (error: unknown) => pack.destroy(error as Error),
    );
    await options.target.put(
      options.baseKey,
      chain(pack, tarred, encryptForBackup(options.key), () => {}),
    );
    await filled;
    const stopped = await client.query<{ lsn: string; labelfile: string }>("SELECT lsn::text AS lsn, labelfile FROM pg_backup_stop(true)");
    const { lsn: stopLsn, labelfile } = stopped.rows[0]!;
    return {
      physical: {
        startLsn,
        stopLsn,
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        timeline: Number.parseInt(wal.slice(0, 8), 16),
        systemId,
        bytes: tarred.bytes,
        sha256: tarred.hash.digest("hex"),
      },
      labelFile: labelfile,
    };
  } finally {
    // Ending the session also aborts a backup that did not reach pg_backup_stop.
    await client.end().catch(() => {});
  }
}

/** The running cluster's system identifier (initdb picks it; a physical copy keeps it), as decimal text. */
export async function clusterSystemId(client: Pick<pg.Client, "query">): Promise<string> {
  const { rows } = await client.query<{ id: string }>("SELECT system_identifier::text AS id FROM pg_control_system()");
  return rows[0]!.id;
}

/** The system identifier of a cluster directory that is not running: the first field of global/pg_control. */
export async function controlFileSystemId(clusterDir: string): Promise<string> {
  const handle = await fsp.open(path.join(clusterDir, "global", "pg_control"), "r");
  try {
    const { buffer } = await handle.read(Buffer.alloc(8), 0, 8, 0);
    return buffer.readBigUInt64LE(0).toString();
  } finally {
    await handle.close();
  }
}

class Measure extends Transform {
  bytes = 0;
  readonly hash = createHash("sha256");
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: () => void) {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    this.push(chunk);
    callback();
  }
}

async function packDirectory(pack: tar.Pack, clusterDir: string): Promise<void> {
  const passwordFile = path.join(path.dirname(clusterDir), `.${path.basename(clusterDir)}-password`);
  await addFile(pack, passwordFile, PASSWORD_ENTRY);
  await addTree(pack, clusterDir, "");
  // Rebuilt by the server too, but a restore must not depend on it.
  for (const dir of ["pg_wal/archive_status", "pg_wal/summaries"]) pack.entry({ name: dir, type: "directory", mode: 0o700 });
}

async function addTree(pack: tar.Pack, root: string, relative: string): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await fsp.readdir(path.join(root, relative), { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return; // Dropped meanwhile (a table's directory).
    throw error;
  }
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const name = relative ? `${relative}/${entry.name}` : entry.name;
    if (entry.name.startsWith("pgsql_tmp") || entry.name === "pg_internal.init") continue;
    if (entry.isDirectory()) {
      pack.entry({ name, type: "directory", mode: 0o700 });
      if (!(relative === "" && CONTENTS_SKIPPED.has(entry.name))) await addTree(pack, root, name);
    } else if (entry.isFile()) {
      if (relative === "" && FILES_SKIPPED.has(entry.name)) continue;
      await addFile(pack, path.join(root, name), name);
    }
    // Symbolic links would be tablespaces (pg_tblspc): the embedded cluster has none.
  }
}

/** Adds the file as long as it was when stat'ed: a file that grows is cut there, one that shrinks is padded (WAL replay repairs both). */
async function addFile(pack: tar.Pack, file: string, name: string): Promise<void> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  try {
    const stat = await handle.stat();
    const size = stat.size;
    let done!: (error?: Error | null) => void;
    const written = new Promise<void>((resolve, reject) => {
      done = (error) => (error ? reject(error) : resolve());
    });
    written.catch(() => {}); // Awaited below; this only keeps an early failure from counting as unhandled.
    const entry = pack.entry({ name, size, mode: 0o600, mtime: stat.mtime }, (error) => done(error));
    const buffer = Buffer.alloc(256 * 1024);
    let position = 0;
    while (position < size) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - position), position);
      if (bytesRead === 0) break;
      await write(entry, Buffer.from(buffer.subarray(0, bytesRead)), written);
      position += bytesRead;
    }
    if (position < size) await write(entry, Buffer.alloc(size - position), written);
    (entry as unknown as { end(): void }).end();
    await written;
  } finally {
    await handle.close();
  }
}

interface Sink {
  write(chunk: Buffer): boolean;
  once(event: "drain", listener: () => void): unknown;
}

/** Resolves when the entry can take more; `failed` (the entry's own callback) rejects on its error. */
async function write(stream: Sink, chunk: Buffer, failed: Promise<void>): Promise<void> {
  if (stream.write(chunk)) return;
  await Promise.race([new Promise<void>((resolve) => stream.once("drain", resolve)), failed]);
}
