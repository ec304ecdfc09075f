import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackupTargetFullError, runBackup } from "~/domain/backup/backup.server";
import { listBackupIds, readManifest } from "~/domain/backup/catalog.server";
import { createBackupTarget } from "~/services/backup/target.server";
import type { ObjectStore } from "~/services/storage/types";
import { startTestApp, type TestApp } from "./support/app";
import { newBackupKey } from "./support/backups";
import { registerPerson, uploadForm } from "./support/people";

/**
 * A backup directory on a really full file system: a 2 MiB tmpfs mounted for the test. Mounting
 * needs root with CAP_SYS_ADMIN, as this machine and CI have; where it is refused the test is
 * reported as skipped (never as passed), and backup-faults.test.ts still covers the error path
 * with a simulated ENOSPC.
 */
const mountDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-full-disk-"));
const mounted = (() => {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mountDir], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe("backup onto a full disk", () => {
  let app: TestApp;
  let target: ObjectStore;

  beforeAll(async () => {
    if (!mounted) return;
    app = await startTestApp(
      { storage: "local", cache: "memory" },
      { BACKUP_DIR: mountDir, BACKUP_KEY: newBackupKey(), SEARCH_CONTENT: "false" },
    );
    target = await createBackupTarget(app.services.config.backup!.target);
  });

  afterAll(async () => {
    await app?.close();
    if (mounted) execFileSync("umount", [mountDir]);
    fs.rmSync(mountDir, { recursive: true, force: true });
  });

  it.skipIf(!mounted)(
    "fails clearly, keeps the earlier backup and the data, and completes once there is room",
    async () => {
      const person = await registerPerson(app, "Fay", "fay@example.com");
      const root = await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId: person.id, parentId: null } });
      expect((await uploadForm(person.client, root.id, "small.txt", randomBytes(10_000))).status).toBeLessThan(400);
      const first = await runBackup(app.services);

      expect((await uploadForm(person.client, root.id, "large.bin", randomBytes(3 * 2 ** 20))).status).toBeLessThan(400);
      const failure = await runBackup(app.services).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(BackupTargetFullError);
      expect((failure as Error).message).toMatch(/^the backup target is full \(.*ENOSPC.*\); .* Earlier backups are intact\./);
      expect(await listBackupIds(target)).toEqual([first.manifest.id]);
      expect((await readManifest(target, app.services.config.backup!.key, first.manifest.id)).counts.files).toBe(1);
      expect(await app.services.prisma.file.count({ where: { ownerId: person.id } })).toBe(2);

      execFileSync("mount", ["-o", "remount,size=16m", mountDir]);
      const next = await runBackup(app.services);
      expect(next.manifest.counts.files).toBe(2);
      // Both may start within one second, where ids do not sort by time.
      expect((await listBackupIds(target)).sort()).toEqual([first.manifest.id, next.manifest.id].sort());
    },
    120_000,
  );
});
