import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { buffer } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "~/config.server";
import { SYSTEM_ACTOR } from "~/domain/audit/audit.server";
import { deleteDeferredObjects } from "~/domain/files/deferred-deletions.server";
import { getRootFolder } from "~/domain/files/folders.server";
import { deleteForever } from "~/domain/files/trash-purge.server";
import { trashItem } from "~/domain/files/trash.server";
import { runBackup, shipNewObjects } from "~/domain/backup/backup.server";
import { refreshPitrGauges, shippedObjectKeys } from "~/domain/pitr/pitr-jobs.server";
import { physicalStep } from "~/domain/pitr/physical.server";
import { restoreToTime } from "~/domain/pitr/restore-to-time.server";
import { shipWal } from "~/domain/pitr/wal-shipper.server";
import { controlFileSystemId } from "~/services/backup/base-backup.server";
import { createBackupTarget } from "~/services/backup/target.server";
import { walStagingDir } from "~/services/backup/wal-archive.server";
import { closeServices, createServices, type Services } from "~/services/index.server";
import { createLogger } from "~/services/logger.server";
import { metrics } from "~/services/metrics.server";
import { createObjectStore } from "~/services/storage/index.server";
import type { ObjectStore } from "~/services/storage/types";
import { freePort } from "./setup/free-port";
import { backupTargetEnv, runCoffer } from "./support/backups";
import { s3Config } from "./support/s3";
import { putFile } from "./support/people";

const backupKey = randomBytes(32);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Drivers = { storage: "local" | "s3" };

/**
 * Local disk with a directory target, and S3 with a second bucket on the test S3 server as the
 * target; each instance (the original, the restored one) has its own DATA_DIR and, on S3, its own bucket.
 */
describe.each<Drivers>([{ storage: "local" }, { storage: "s3" }])(
  "point-in-time recovery of the embedded database ($storage)",
  ({ storage }) => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-pitr-"));
    fs.chmodSync(work, 0o755);
    let targetEnv: Record<string, string>;
    let services: Services;
    let target: ObjectStore;
    const dataDir = path.join(work, "data");

    function environment(instanceDir: string): Record<string, string> {
      const env: Record<string, string> = {
        NODE_ENV: "production",
        DATA_DIR: instanceDir,
        BACKUP_KEY: backupKey.toString("base64"),
        LOG_LEVEL: "error",
        SESSION_SECRET: "test-secret-that-is-at-least-32-characters-long",
        ...targetEnv,
      };
      if (storage === "s3") {
        const s3 = s3Config();
        Object.assign(env, {
          S3_ENDPOINT: s3.endpoint,
          S3_ACCESS_KEY: s3.accessKey,
          S3_SECRET_KEY: s3.secretKey,
          S3_REGION: s3.region,
          S3_BUCKET: s3.bucket,
          S3_FORCE_PATH_STYLE: "true",
        });
      }
      return env;
    }

    async function open(env: Record<string, string>): Promise<Services> {
      return createServices(loadConfig({ ...env, EMBEDDED_PG_PORT: String(await freePort()) }), createLogger("error"));
    }

    beforeAll(async () => {
      targetEnv = storage === "s3" ? backupTargetEnv("s3") : { BACKUP_DIR: path.join(work, "backup") };
      targetEnv.BACKUP_KEY = backupKey.toString("base64");
      services = await open(environment(dataDir));
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
      const shipObjects = async () => (await shipNewObjects(services, { target })).copied;

      const a = await putFile(services, user.id, root, "a.txt", Buffer.from("contents of A"));
      expect(await shipObjects()).toBe(1);
      await pause(100);
      const t = new Date();
      await pause(100);
      const b = await putFile(services, user.id, root, "b.txt", Buffer.from("contents of B"));
      await services.prisma.$queryRaw`SELECT pg_switch_wal()::text`;
      const staging = walStagingDir(services.config.dataDir);
      for (let i = 0; i < 50 && fs.readdirSync(staging).filter((n) => /^[0-9A-F]{24}$/.test(n)).length === 0; i++) await pause(100);
      await shipWal({ stagingDir: staging, target, key: backupKey, systemId: manifest.physical!.systemId! });
      expect(await shipObjects()).toBe(1);

      // Through the command line, as an operator restores onto a new machine: an empty DATA_DIR and store.
      const restored = path.join(work, "restored");
      const restoredEnv = environment(restored);
      const cli = await runCoffer(restoredEnv, ["restore", "--to", t.toISOString()]);
      expect(cli.stderr).toBe("");
      expect(cli.code).toBe(0);
      expect(cli.stdout).toContain(`from base backup ${manifest.id}`);
      expect(cli.stdout).toContain("with 1 object(s)");

      const after = await open(restoredEnv);
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

    it("restores to T a file written and deleted forever before the next object ship", async () => {
      const user = await services.prisma.user.findUniqueOrThrow({ where: { email: "ana@example.com" } });
      const actor = { id: user.id, role: "ADMIN" as const };
      const root = (await getRootFolder(services, user.id)).id;
      const bytes = randomBytes(50_000);
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      const brief = await putFile(services, user.id, root, "brief.bin", bytes);
      await pause(100);
      const t = new Date();
      await pause(100);
      await trashItem(services, actor, "file", brief.id);
      await deleteForever(services, actor, "file", brief.id, SYSTEM_ACTOR);
      // Not shipped yet: its deletion waits, and the deferred-deletion job keeps it.
      expect(await services.storage.stat(brief.storageKey)).not.toBeNull();
      const shippedKeys = shippedObjectKeys(services);
      expect(await deleteDeferredObjects(services, { shippedKeys })).toMatchObject({ deleted: 0, waiting: 1 });
      expect(await services.storage.stat(brief.storageKey)).not.toBeNull();

      await services.prisma.$queryRaw`SELECT pg_switch_wal()::text`;
      const staging = walStagingDir(services.config.dataDir);
      for (let i = 0; i < 50 && fs.readdirSync(staging).filter((n) => /^[0-9A-F]{24}$/.test(n)).length === 0; i++) await pause(100);
      const systemId = (
        await services.prisma.$queryRaw<Array<{ id: string }>>`SELECT system_identifier::text AS id FROM pg_control_system()`
      )[0]!.id;
      await shipWal({ stagingDir: staging, target, key: backupKey, systemId });
      expect(await shipNewObjects(services, { target })).toMatchObject({ copied: 1, missing: [] });
      // Shipped: the next run deletes it, so deferred keys do not pile up.
      expect(await deleteDeferredObjects(services, { shippedKeys })).toMatchObject({ deleted: 1, waiting: 0 });
      expect(await services.storage.stat(brief.storageKey)).toBeNull();

      const restoredEnv = environment(path.join(work, "restored-brief"));
      const cli = await runCoffer(restoredEnv, ["restore", "--to", t.toISOString()]);
      expect(cli.stderr).toBe("");
      expect(cli.code).toBe(0);
      const after = await open(restoredEnv);
      try {
        const file = await after.prisma.file.findUniqueOrThrow({ where: { id: brief.id } });
        const restored = await buffer(await after.storage.get(file.storageKey));
        expect(createHash("sha256").update(restored).digest("hex")).toBe(sha256);
      } finally {
        await closeServices(after);
      }
    });

    it("a logically restored instance ships its WAL into the same target, and recovers from its own base", async () => {
      const original = (
        await services.prisma.$queryRaw<Array<{ id: string }>>`SELECT system_identifier::text AS id FROM pg_control_system()`
      )[0]!.id;
      const ownWal = async (systemId: string) => {
        const keys: string[] = [];
        for await (const info of target.list(`wal-${systemId}-`)) keys.push(info.key);
        return keys;
      };
      const originalWal = await ownWal(original);
      expect(originalWal.length).toBeGreaterThan(0);

      // A new machine: the newest backup restored logically, into a cluster initdb makes anew.
      const logicalEnv = environment(path.join(work, "logical"));
      const cli = await runCoffer(logicalEnv, ["restore", "--backup", "latest"]);
      expect(cli.stderr).toBe("");
      expect(cli.code).toBe(0);
      const second = await open(logicalEnv);
      try {
        const user = await second.prisma.user.findUniqueOrThrow({ where: { email: "ana@example.com" } });
        const root = (await getRootFolder(second, user.id)).id;
        const { manifest } = await runBackup(second, { physical: physicalStep(second), target });
        const systemId = manifest.physical!.systemId!;
        expect(systemId).not.toBe(original);
        const c = await putFile(second, user.id, root, "c.txt", Buffer.from("contents of C"));
        await shipNewObjects(second, { target });
        await pause(100);
        const t = new Date();
        await pause(100);
        const d = await putFile(second, user.id, root, "d.txt", Buffer.from("contents of D"));
        await second.prisma.$queryRaw`SELECT pg_switch_wal()::text`;
        const staging = walStagingDir(second.config.dataDir);
        for (let i = 0; i < 50 && fs.readdirSync(staging).filter((n) => /^[0-9A-F]{24}$/.test(n)).length === 0; i++) await pause(100);
        // Its WAL names start again at 000000010000000000000001: beside the first cluster's, no conflict.
        expect(await shipWal({ stagingDir: staging, target, key: backupKey, systemId })).toMatchObject({ waiting: 0 });
        expect((await ownWal(systemId)).length).toBeGreaterThan(0);
        expect(await ownWal(original)).toEqual(originalWal);

        const recoveredDir = path.join(work, "recovered-from-logical");
        const recoveredEnv = environment(recoveredDir);
        const store = await createObjectStore(loadConfig(recoveredEnv).storage);
        await store.init();
        const result = await restoreToTime({ target, key: backupKey, dataDir: recoveredDir, to: t, store });
        expect(result.backupId).toBe(manifest.id);
        expect(result.missingObjects).toEqual([]);
        // A base backup of an earlier release names its cluster only in its pg_control: read the same way.
        expect(await controlFileSystemId(path.join(recoveredDir, "postgres"))).toBe(systemId);
        const recovered = await open(recoveredEnv);
        try {
          const names = (await recovered.prisma.file.findMany({ where: { ownerId: user.id }, select: { id: true } })).map((f) => f.id);
          expect(names).toContain(c.id);
          expect(names).not.toContain(d.id);
        } finally {
          await closeServices(recovered);
        }
      } finally {
        await closeServices(second);
      }
    });

    it("refuses a time before the oldest base backup or after the newest WAL, clearly", async () => {
      const empty = path.join(work, "refused");
      await expect(restoreToTime({ target, key: backupKey, dataDir: empty, to: new Date(Date.now() - 86_400_000) })).rejects.toThrow(
        /is before the oldest base backup, which finished at/,
      );
      await expect(restoreToTime({ target, key: backupKey, dataDir: empty, to: new Date(Date.now() + 60_000) })).rejects.toThrow(
        /is in the future/,
      );
      // Later than anything shipped: recovery runs out of WAL before the moment, and says so.
      await expect(restoreToTime({ target, key: backupKey, dataDir: empty, to: new Date(Date.now() - 10) })).rejects.toThrow(
        /the archived WAL ends before .*: choose an earlier time, or wait for the WAL shipper/,
      );
      expect(fs.existsSync(path.join(empty, "postgres"))).toBe(false);
    });

    it("shows a failing archive_command in the metrics", async () => {
      const staging = walStagingDir(services.config.dataDir);
      await refreshPitrGauges(services);
      expect((await metrics().walArchiverFailing.get()).values[0]?.value).toBe(0);
      // The server's OS user may no longer write into staging: every archiving attempt fails.
      fs.chmodSync(staging, 0o500);
      try {
        // Something to archive: a switch right after another (archive_timeout's) closes no segment.
        await services.prisma.user.create({ data: { email: "wal@example.com", name: "wal", passwordHash: "x" } });
        await services.prisma.$queryRaw`SELECT pg_switch_wal()::text`;
        for (let i = 0; i < 50; i++) {
          await refreshPitrGauges(services);
          if ((await metrics().walArchiverFailing.get()).values[0]?.value === 1) break;
          await pause(100);
        }
        expect((await metrics().walArchiverFailing.get()).values[0]?.value).toBe(1);
      } finally {
        fs.chmodSync(staging, 0o700);
      }
    });
  },
);
