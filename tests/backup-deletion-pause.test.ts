import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "~/config.server";
import { registerUser } from "~/domain/accounts/users.server";
import { SYSTEM_ACTOR } from "~/domain/audit/audit.server";
import { runBackup } from "~/domain/backup/backup.server";
import { verifyBackup } from "~/domain/backup/verify.server";
import { countDeferredDeletions, deleteDeferredObjects } from "~/domain/files/deferred-deletions.server";
import { getRootFolder } from "~/domain/files/folders.server";
import { deleteForever } from "~/domain/files/trash-purge.server";
import { trashItem } from "~/domain/files/trash.server";
import { checkStorage } from "~/domain/storage-check/storage-check.server";
import { createBackupTarget } from "~/services/backup/target.server";
import { closeServices, createServices, type Services } from "~/services/index.server";
import { createLogger } from "~/services/logger.server";
import type { ObjectStore } from "~/services/storage/types";
import { startTestApp, type DriverSet, type TestApp } from "./support/app";
import { newBackupKey } from "./support/backups";
import { PASSWORD, putFile, registerPerson, type Person } from "./support/people";

/**
 * A backup pauses object deletions from before its snapshot until its last object copy, on every
 * instance: a file uploaded after the backup's first object copy and deleted forever before its
 * last one keeps its object in the backup, and the deletion is done after the backup instead.
 * The race is made deterministic with the backup's hooks.
 */
describe.each<{ label: string; drivers: DriverSet }>([
  { label: "local disk", drivers: { storage: "local", cache: "memory" } },
  { label: "S3", drivers: { storage: "s3", cache: "memory" } },
])("object deletions during a backup ($label)", ({ drivers }) => {
  let app: TestApp;
  /** A second instance on the same database and store. */
  let twin: Services;
  let ada: Person;
  let rootId: string;
  let target: ObjectStore;
  let backupDir: string;

  const actor = () => ({ id: ada.id, role: "ADMIN" as const });
  const exists = async (key: string) => (await app.services.storage.stat(key)) !== null;

  beforeAll(async () => {
    backupDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-backup-pause-"));
    app = await startTestApp(drivers, { BACKUP_DIR: backupDir, BACKUP_KEY: newBackupKey(), SEARCH_CONTENT: "false" });
    twin = await createServices(loadConfig(app.env), createLogger("error"));
    ada = await registerPerson(app, "Ada", "ada@example.com");
    rootId = (await getRootFolder(app.services, ada.id)).id;
    target = await createBackupTarget(app.services.config.backup!.target);
    await target.init();
    await putFile(app.services, ada.id, rootId, "before.txt", randomBytes(2000));
  });
  afterAll(async () => {
    await closeServices(twin).catch(() => {});
    fs.rmSync(backupDir, { recursive: true, force: true });
  });

  it("a file uploaded and deleted forever during a backup keeps its object in it; the deletion follows the backup", async () => {
    let victim: Awaited<ReturnType<typeof putFile>> | undefined;
    const result = await runBackup(app.services, {
      target,
      hooks: {
        // Uploaded after the objects copied before the snapshot: only the last copy can take it.
        afterEarlyCopy: async () => {
          victim = await putFile(app.services, ada.id, rootId, "brief.txt", randomBytes(3000));
        },
        // Deleted forever by another instance after the snapshot, before the last copy.
        beforeLastCopy: async () => {
          await trashItem(twin, actor(), "file", victim!.id);
          await deleteForever(twin, actor(), "file", victim!.id, SYSTEM_ACTOR);
          expect(await twin.prisma.file.findUnique({ where: { id: victim!.id } })).toBeNull();
          expect(await exists(victim!.storageKey)).toBe(true);
          expect(await countDeferredDeletions(twin)).toBe(1);
          // The job waits for the backup too, and the storage check moves no orphan meanwhile.
          expect(await deleteDeferredObjects(twin)).toEqual({ deleted: 0, kept: 0, waiting: 1 });
          const check = await checkStorage(twin, { repairOrphans: true, now: new Date(Date.now() + 30 * 24 * 3600 * 1000) });
          expect(check.repaired.quarantined).toBe(0);
          expect(await exists(victim!.storageKey)).toBe(true);
        },
      },
    });
    expect(result.missingObjects).toEqual([]);
    expect(result.manifest.objects.map((o) => o.key)).toContain(victim!.storageKey);
    expect((await verifyBackup({ target, key: app.services.config.backup!.key, backupId: result.manifest.id })).problems).toEqual([]);

    // The backup over, the job deletes what waited.
    expect(await deleteDeferredObjects(app.services)).toEqual({ deleted: 1, kept: 0, waiting: 0 });
    expect(await exists(victim!.storageKey)).toBe(false);
  });

  it("the job keeps an object a row names again, and only drops it from the list", async () => {
    const file = await putFile(app.services, ada.id, rootId, "named.txt", randomBytes(1000));
    await app.services.prisma.deferredObjectDeletion.create({ data: { key: file.storageKey } });
    expect(await deleteDeferredObjects(app.services)).toEqual({ deleted: 0, kept: 1, waiting: 0 });
    expect(await exists(file.storageKey)).toBe(true);
  });

  it("lets people sign up while a backup runs", async () => {
    const withinSeconds = <T>(work: Promise<T>) =>
      Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("waited for the backup")), 10_000))]);
    let registered = "";
    await runBackup(app.services, {
      target,
      hooks: {
        afterEarlyCopy: async () => {
          const user = await withinSeconds(registerUser(twin, { email: "bo@example.com", name: "Bo", password: PASSWORD }));
          registered = user.email;
        },
      },
    });
    expect(registered).toBe("bo@example.com");
  });

  it("deletes at once when no backup runs", async () => {
    const file = await putFile(app.services, ada.id, rootId, "gone.txt", randomBytes(1000));
    await trashItem(app.services, actor(), "file", file.id);
    await deleteForever(app.services, actor(), "file", file.id, SYSTEM_ACTOR);
    expect(await exists(file.storageKey)).toBe(false);
    expect(await countDeferredDeletions(app.services)).toBe(0);
  });
});
