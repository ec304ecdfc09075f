// A backup and the cold tier: no object moves between the hot store and the cold tier while a
// backup runs (TIER_MOVE_LOCK), so the backup reads every object where it was, verifies, and restores.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getSettings, updateSettings } from "~/domain/admin/settings.server";
import { runBackup } from "~/domain/backup/backup.server";
import { verifyBackup } from "~/domain/backup/verify.server";
import { getRootFolder } from "~/domain/files/folders.server";
import { moveUnreadToCold, restoreFromCold } from "~/domain/storage-tiers/cold-tier.server";
import { createBackupTarget } from "~/services/backup/target.server";
import type { TieredObjectStore } from "~/services/storage/tiered.server";
import { startTestApp, type TestApp } from "./support/app";
import { backupTargetEnv } from "./support/backups";
import { putFile } from "./support/people";

describe.each<{ label: string; storage: "local" | "s3"; cold: () => string }>([
  { label: "local disk, cold tier in a directory", storage: "local", cold: () => fs.mkdtempSync(path.join(os.tmpdir(), "coffer-cold-")) },
  { label: "S3, cold tier in a second bucket", storage: "s3", cold: () => `s3://coffer-cold-${randomBytes(4).toString("hex")}` },
])("a backup while objects move between tiers ($label)", ({ storage, cold }) => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ storage, cache: "memory" }, { COLD_STORAGE: cold(), ...backupTargetEnv("directory") });
  });
  afterAll(() => app?.close());

  it("pauses moves to and from the cold tier until the backup ends; the backup verifies", async () => {
    const { services } = app;
    const coldStore = (services.storageTiers.cold as TieredObjectStore).secondary;
    const hot = services.storageTiers.primary;
    const user = await services.prisma.user.create({ data: { email: "cy@example.com", name: "cy", passwordHash: "x" } });
    const root = (await getRootFolder(services, user.id)).id;
    await updateSettings(services, { ...(await getSettings(services)), coldTierAfterDays: 30 });
    // The app's own hourly move-to-cold job may run in between (at :52), so these check where the
    // objects are rather than how many a call moved.
    const moveToCold = async (key: string) => {
      expect((await moveUnreadToCold(services)).failed).toBe(0);
      expect(await coldStore.stat(key)).not.toBeNull();
      expect(await hot.stat(key)).toBeNull();
    };
    const age = (id: string) => services.prisma.$executeRaw`UPDATE files SET updated_at = now() - interval '40 days' WHERE id = ${id}`;
    const wasCold = await putFile(services, user.id, root, "was-cold.bin", randomBytes(200_000));
    await age(wasCold.id);
    await moveToCold(wasCold.storageKey);
    const goesCold = await putFile(services, user.id, root, "goes-cold.bin", randomBytes(200_000));
    await age(goesCold.id);

    const target = await createBackupTarget(services.config.backup!.target);
    await target.init();
    const during = async () => {
      expect(await moveUnreadToCold(services)).toMatchObject({ moved: 0, failed: 0 });
      expect(await restoreFromCold(services, wasCold.storageKey)).toBe(false);
      expect(await hot.stat(goesCold.storageKey)).not.toBeNull();
      expect(await coldStore.stat(wasCold.storageKey)).not.toBeNull();
      expect(await hot.stat(wasCold.storageKey)).toBeNull();
    };
    const result = await runBackup(services, { target, hooks: { afterEarlyCopy: during, beforeLastCopy: during } });
    expect(result.missingObjects).toEqual([]);
    expect(result.manifest.objects.map((o) => o.key)).toEqual(expect.arrayContaining([wasCold.storageKey, goesCold.storageKey]));
    // verify restores the backup into a scratch instance and compares it with the manifest.
    expect((await verifyBackup({ target, key: services.config.backup!.key, backupId: result.manifest.id })).problems).toEqual([]);

    // The backup over, the moves go on.
    await moveToCold(goesCold.storageKey);
    expect(await restoreFromCold(services, wasCold.storageKey)).toBe(true);
    expect(await hot.stat(wasCold.storageKey)).not.toBeNull();
  }, 180_000);
});
