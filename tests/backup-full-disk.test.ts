import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackupTargetFullError, BackupTargetRefusedError, runBackup } from "~/domain/backup/backup.server";
import { listBackupIds, readManifest } from "~/domain/backup/catalog.server";
import { createBackupTarget } from "~/services/backup/target.server";
import type { ObjectStore } from "~/services/storage/types";
import { type DriverSet, startTestApp, type TestApp } from "./support/app";
import { newBackupKey } from "./support/backups";
import { registerPerson, uploadForm } from "./support/people";
import { type RunningS3, startS3 } from "./setup/s3";

/**
 * A backup target on a really full file system: a 2 MiB tmpfs mounted for the test, either as the
 * backup directory or as the only disk of a second Swift server whose bucket is the target.
 * Mounting needs root with CAP_SYS_ADMIN, as this machine and CI have; where it is refused the test
 * is reported as skipped (never as passed), and backup-faults.test.ts still covers the error path
 * (a simulated ENOSPC for a directory, a real bucket quota on S3).
 */
const mountable = (() => {
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-mount-probe-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", probe], { stdio: "ignore" });
    execFileSync("umount", [probe]);
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(probe, { recursive: true, force: true });
  }
})();

interface Variant {
  label: string;
  drivers: DriverSet;
  /** The target's variables, with `disk` (a mounted tmpfs) under it. */
  target(disk: string): Promise<Record<string, string>>;
  /** How the backup reports the full disk. */
  error: typeof BackupTargetFullError | typeof BackupTargetRefusedError;
  message: RegExp;
}

let swift: RunningS3 | undefined;

const VARIANTS: Variant[] = [
  {
    label: "a directory on a full disk",
    drivers: { storage: "local", cache: "memory" },
    target: async (disk) => ({ BACKUP_DIR: disk }),
    error: BackupTargetFullError,
    message: /^the backup target is full \(.*ENOSPC.*\); .* Earlier backups are intact\./,
  },
  {
    label: "a bucket on a second S3 server whose disk is full",
    drivers: { storage: "s3", cache: "memory" },
    // Swift keeps objects (and its account and container databases) under <dir>/srv.
    target: async (disk) => {
      swift = await startS3(path.dirname(disk));
      return {
        BACKUP_S3_BUCKET: "coffer-backup-full",
        BACKUP_S3_ENDPOINT: swift.endpoint,
        BACKUP_S3_ACCESS_KEY: swift.accessKey,
        BACKUP_S3_SECRET_KEY: swift.secretKey,
        BACKUP_S3_REGION: swift.region,
      };
    },
    // An object server out of room fails the write, and Swift's proxy answers 503 (no other copy to
    // write), which an S3 client cannot tell from an overloaded server.
    error: BackupTargetRefusedError,
    message:
      /^the backup target refused a write \(.*\b503\b.*\): the S3 server is out of room or overloaded; .* Earlier backups are intact\./,
  },
];

describe.each(VARIANTS)("backup onto $label", (variant) => {
  let app: TestApp;
  let target: ObjectStore;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-full-disk-"));
  const disk = path.join(root, "srv");
  let mounted = false;

  beforeAll(async () => {
    if (!mountable) return;
    fs.mkdirSync(disk);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", disk]);
    mounted = true;
    app = await startTestApp(variant.drivers, { ...(await variant.target(disk)), BACKUP_KEY: newBackupKey(), SEARCH_CONTENT: "false" });
    target = await createBackupTarget(app.services.config.backup!.target);
  });

  afterAll(async () => {
    await app?.close();
    // Lazily: Swift still has files open on it, and stopping it removes the directory.
    if (mounted) execFileSync("umount", ["-l", disk]);
    await swift?.stop();
    swift = undefined;
    fs.rmSync(root, { recursive: true, force: true });
  });

  it.skipIf(!mountable)(
    "fails clearly, keeps the earlier backup and the data, and completes once there is room",
    async () => {
      const person = await registerPerson(app, "Fay", "fay@example.com");
      const folder = await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId: person.id, parentId: null } });
      expect((await uploadForm(person.client, folder.id, "small.txt", randomBytes(10_000))).status).toBeLessThan(400);
      const first = await runBackup(app.services);

      expect((await uploadForm(person.client, folder.id, "large.bin", randomBytes(3 * 2 ** 20))).status).toBeLessThan(400);
      const failure = await runBackup(app.services).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(variant.error);
      expect((failure as Error).message).toMatch(variant.message);
      expect(await listBackupIds(target)).toEqual([first.manifest.id]);
      expect((await readManifest(target, app.services.config.backup!.key, first.manifest.id)).counts.files).toBe(1);
      expect(await app.services.prisma.file.count({ where: { ownerId: person.id } })).toBe(2);

      execFileSync("mount", ["-o", "remount,size=16m", disk]);
      const next = await runBackup(app.services);
      expect(next.manifest.counts.files).toBe(2);
      // Both may start within one second, where ids do not sort by time.
      expect((await listBackupIds(target)).sort()).toEqual([first.manifest.id, next.manifest.id].sort());
    },
    180_000,
  );
});
