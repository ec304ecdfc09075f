import type { BackupConfig } from "~/config.server";
import type { Logger } from "../logger.server";
import { LocalObjectStore } from "../storage/local.server";
import type { ObjectStore } from "../storage/types";

/**
 * The backup target as an object store: a directory or a bucket, reached with the same drivers as
 * the primary store but never through its breaker, metrics or encryption at rest (backups seal
 * their own bytes; see backup-crypto.server.ts). Keys are flat, so backup files are named by
 * prefix (for example `backup-<id>-manifest`). Call `init()` before use.
 */
export async function createBackupTarget(target: BackupConfig["target"], log?: Logger): Promise<ObjectStore> {
  if (target.driver === "local") return new LocalObjectStore(target.directory);
  const { S3ObjectStore } = await import("../storage/s3.server");
  return new S3ObjectStore(target, {}, log);
}
