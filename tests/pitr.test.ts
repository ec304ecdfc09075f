import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { buffer } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "~/config.server";
import { getRootFolder } from "~/domain/files/folders.server";
import { runBackup } from "~/domain/backup/backup.server";
import { shipNewObjects } from "~/domain/pitr/object-shipper.server";
import { physicalStep } from "~/domain/pitr/physical.server";
import { restoreToTime } from "~/domain/pitr/restore-to-time.server";
import { shipWal } from "~/domain/pitr/wal-shipper.server";
import { createBackupTarget } from "~/services/backup/target.server";
import { walStagingDir } from "~/services/backup/wal-archive.server";
import { closeServices, createServices, type Services } from "~/services/index.server";
import { createLogger } from "~/services/logger.server";
import type { ObjectStore } from "~/services/storage/types";
import { freePort } from "./setup/free-port";
import { runCoffer } from "./support/backups";
import { putFile } from "./support/people";

const backupKey = randomBytes(32);
const work = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-pitr-"));
fs.chmodSync(work, 0o755);
const backupDir = path.join(work, "backup");

function environment(dataDir: string): Record<string, string> {
  return {
    NODE_ENV: "production",
    DATA_DIR: dataDir,
    BACKUP_DIR: backupDir,
    BACKUP_KEY: backupKey.toString("base64"),
    LOG_LEVEL: "error",
    SESSION_SECRET: "test-secret-that-is-at-least-32-characters-long",
  };
}

async function open(dataDir: string): Promise<Services> {
  const env = { ...environment(dataDir), EMBEDDED_PG_PORT: String(await freePort()) };
  return createServices(loadConfig(env), createLogger("error"));
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("point-in-time recovery of the embedded database", () => {
  let services: Services;
  let target: ObjectStore;
  const dataDir = path.join(work, "data");

  beforeAll(async () => {
    services = await open(dataDir);
    target = await createBackupTarget(services.config.backup!.target);
    await target.init();
  });
  afterAll(async () => {
    await closeServices(services).catch(() => {});
    fs.rmSync(work, { recursive: true, force: true });
  });

  it("restores to T: what was written before is there, what came after is not", async () => {
    const user = await services.prisma.user.create({ data: { email: "ana@example.com", name: "ana", passwordHash: "x" } });
    const root = (await getRootFolder(services, user.id)).id;
    const { manifest } = await runBackup(services, { physical: physicalStep(services), target });
    expect(manifest.physical).toBeDefined();
    const shipObjects = () => shipNewObjects({ databaseUrl: services.db.url, store: services.storage, target, key: backupKey });

    const a = await putFile(services, user.id, root, "a.txt", Buffer.from("contents of A"));
    expect(await shipObjects()).toEqual({ copied: 1, missing: 0 });
    await pause(100);
    const t = new Date();
    await pause(100);
    const b = await putFile(services, user.id, root, "b.txt", Buffer.from("contents of B"));
    await services.prisma.$queryRaw`SELECT pg_switch_wal()::text`;
    const staging = walStagingDir(services.config.dataDir);
    for (let i = 0; i < 50 && fs.readdirSync(staging).filter((n) => /^[0-9A-F]{24}$/.test(n)).length === 0; i++) await pause(100);
    await shipWal({ stagingDir: staging, target, key: backupKey });
    expect(await shipObjects()).toEqual({ copied: 1, missing: 0 });

    // Through the command line, as an operator restores onto a new machine: an empty DATA_DIR and store.
    const restored = path.join(work, "restored");
    const cli = await runCoffer({ ...environment(restored), LOG_LEVEL: "error" }, ["restore", "--to", t.toISOString()]);
    expect(cli.stderr).toBe("");
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain(`from base backup ${manifest.id}`);
    expect(cli.stdout).toContain("with 1 object(s)");

    const after = await open(restored);
    try {
      const ids = (await after.prisma.file.findMany({ where: { ownerId: user.id }, select: { id: true } })).map((f) => f.id);
      expect(ids).toContain(a.id);
      expect(ids).not.toContain(b.id);
      expect((await buffer(await after.storage.get(a.storageKey))).toString()).toBe("contents of A");
      expect(await after.storage.stat(b.storageKey)).toBeNull();
    } finally {
      await closeServices(after);
    }
  });

  it("refuses a time before the oldest base backup or after the newest WAL, clearly", async () => {
    const empty = path.join(work, "refused");
    await expect(restoreToTime({ target, key: backupKey, dataDir: empty, to: new Date(Date.now() - 86_400_000) })).rejects.toThrow(
      /is before the oldest base backup, which finished at/,
    );
    await expect(restoreToTime({ target, key: backupKey, dataDir: empty, to: new Date(Date.now() - 10) })).rejects.toThrow(
      /is after the newest archived WAL \(shipped at/,
    );
    expect(fs.existsSync(path.join(empty, "postgres"))).toBe(false);
  });
});
