import fs from "node:fs";
import path from "node:path";

/**
 * WAL archiving of the embedded PostgreSQL into a staging directory beside its data: PostgreSQL's
 * archiver copies each finished segment there with a plain shell command (it runs as the server's
 * OS user, without node), and the WAL shipper (domain/pitr) seals and uploads it to the backup target.
 */

/** Closes a segment at least this often when anything was written, so an idle instance still ships. */
export const ARCHIVE_TIMEOUT_SECONDS = 60;

/** What the archiver hands over: segments, timeline histories, backup history files, a promoted timeline's last partial segment. */
export const WAL_FILE_NAME = /^(?:[0-9A-F]{24}(?:\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)$/;

/** DATA_DIR/wal-staging: inside DATA_DIR (restored with it, never shared), outside the cluster's own directory. */
export function walStagingDir(dataDir: string): string {
  return path.join(dataDir, "wal-staging");
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The archive_command: copies `%p` to a temporary name, flushes it, and renames it into place, so
 * the shipper never sees half a segment. A file of that name already there is never replaced:
 * the command succeeds only when it holds the same bytes (the archiver retrying after a crash),
 * and fails otherwise, which keeps the segment in pg_wal and shows in the server's log.
 */
export function archiveCommand(stagingDir: string): string {
  const final = shellQuote(`${stagingDir}/`) + "%f";
  const temp = shellQuote(`${stagingDir}/.`) + "%f.tmp";
  return `if test -e ${final}; then cmp -s %p ${final}; else cp %p ${temp} && sync ${temp} && mv ${temp} ${final}; fi`;
}

/** Server flags that turn archiving on (they override postgresql.conf, also after a restore). */
export function archiveFlags(stagingDir: string): string[] {
  return [
    "-c",
    "wal_level=replica",
    "-c",
    "archive_mode=on",
    "-c",
    `archive_command=${archiveCommand(stagingDir)}`,
    "-c",
    `archive_timeout=${ARCHIVE_TIMEOUT_SECONDS}`,
  ];
}

/**
 * Creates the staging directory, owned by the cluster's OS user (the owner of its data directory:
 * `postgres` when Coffer runs as root), readable by nobody else.
 */
export function prepareStagingDir(stagingDir: string, clusterDir: string): void {
  fs.mkdirSync(stagingDir, { recursive: true, mode: 0o700 });
  const owner = fs.statSync(clusterDir);
  const current = fs.statSync(stagingDir);
  if (current.uid !== owner.uid || current.gid !== owner.gid) fs.chownSync(stagingDir, owner.uid, owner.gid);
  fs.chmodSync(stagingDir, 0o700);
}
