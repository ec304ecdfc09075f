import fs from "node:fs";
import { dispatchEvents, pendingEvents } from "~/domain/events/dispatcher.server";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { updateSettings } from "~/domain/admin/settings.server";
import { runBackup } from "~/domain/backup/backup.server";
import { readManifest } from "~/domain/backup/catalog.server";
import { restoreBackup } from "~/domain/backup/restore.server";
import { verifyBackup } from "~/domain/backup/verify.server";
import { createBackupTarget } from "~/services/backup/target.server";
import { startEmbeddedPostgres } from "~/services/embedded-postgres.server";
import { freePort } from "~/services/free-port.server";
import { createObjectStore } from "~/services/storage/index.server";
import { startTestApp, type DriverSet, type TestApp } from "./support/app";
import { envWithout, newBackupKey, rowHashes, runCoffer, sha256 } from "./support/backups";
import { TestClient } from "./support/client";
import { createTestDatabase } from "./support/database";
import { PASSWORD, registerPerson, type Person, uploadForm } from "./support/people";

/** expect.poll outside a test: waits up to 20 s for `done`. */
async function until(done: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`still not done after 20 s: ${done.toString()}`);
}

const MASTER_KEY = randomBytes(32).toString("base64");

interface Run {
  label: string;
  drivers: DriverSet;
  encrypted: boolean;
  /** The backup target's variables. */
  target: () => Record<string, string>;
  /** Backs up, restores into an empty database and store, and starts an app on the result. */
  via: "cli, embedded DATA_DIR" | "functions, external database";
}

const RUNS: Run[] = [
  {
    label: "local disk, directory target, CLI into an empty embedded DATA_DIR",
    drivers: { storage: "local", cache: "memory" },
    encrypted: false,
    target: () => ({ BACKUP_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "coffer-backup-target-")) }),
    via: "cli, embedded DATA_DIR",
  },
  {
    label: "S3 encrypted at rest, a second bucket as the target",
    drivers: { storage: "s3", cache: "redis" },
    encrypted: true,
    target: () => {
      const { s3 } = inject("services");
      // Given as its own endpoint, as a bucket in another region would be.
      return {
        BACKUP_S3_BUCKET: `coffer-backup-${randomBytes(5).toString("hex")}`,
        BACKUP_S3_ENDPOINT: s3.endpoint,
        BACKUP_S3_ACCESS_KEY: s3.accessKey,
        BACKUP_S3_SECRET_KEY: s3.secretKey,
        BACKUP_S3_REGION: s3.region,
      };
    },
    via: "functions, external database",
  },
];

describe.each(RUNS)("backup and restore ($label)", (run) => {
  let source: TestApp;
  let restored: TestApp;
  let ada: Person;
  let bob: Person;
  const contents = new Map<string, Buffer>();
  let versionId: string;
  let versionBytes: Buffer;
  let before: Record<string, string>;
  let stopRestoredDatabase: (() => Promise<void>) | undefined;
  let restoredDataDir: string | undefined;
  let emptyDatabase: { url: string } | undefined;

  beforeAll(async () => {
    // Made first, so that it is dropped last, after the app restored into it has stopped.
    if (run.via === "functions, external database") emptyDatabase = await createTestDatabase();
    const env = { BACKUP_KEY: newBackupKey(), ...run.target(), ...(run.encrypted ? { ENCRYPTION_MASTER_KEY: MASTER_KEY } : {}) };
    source = await startTestApp(run.drivers, env);
    ada = await registerPerson(source, "Ada", "ada@example.com");
    bob = await registerPerson(source, "Bob", "bob@example.com");
    const root = (id: string) => source.services.prisma.folder.findFirstOrThrow({ where: { ownerId: id, parentId: null } });
    const adaRoot = (await root(ada.id)).id;
    const made = await ada.client.postForm(`/files/${adaRoot}`, { intent: "create-folder", name: "Reports", open: "1" });
    const reportsId = made.headers.get("location")!.split("/").pop()!;

    const upload = async (person: Person, folderId: string, name: string, bytes: Buffer, onConflict?: string) => {
      expect((await uploadForm(person.client, folderId, name, bytes, onConflict)).status).toBeLessThan(400);
      contents.set(`${person.id}/${name}`, bytes);
    };
    versionBytes = randomBytes(30_000);
    await upload(ada, adaRoot, "notes.txt", versionBytes);
    await upload(ada, adaRoot, "notes.txt", randomBytes(20_000), "replace");
    await upload(ada, reportsId, "q4.bin", randomBytes(1024 * 1024 + 3));
    await upload(ada, reportsId, "empty.txt", Buffer.alloc(0));
    const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 200, g: 40, b: 40 } } })
      .png()
      .toBuffer();
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(png)], { type: "image/png" }), "red.png");
    expect((await ada.client.postMultipart(`/files/${adaRoot}`, form)).status).toBeLessThan(400);
    contents.set(`${ada.id}/red.png`, png);
    await upload(bob, (await root(bob.id)).id, "bob.txt", randomBytes(5000));

    const q4 = await source.services.prisma.file.findFirstOrThrow({ where: { name: "q4.bin" } });
    expect((await ada.client.postForm("/shares", { intent: "create-link", item: `file:${q4.id}` })).status).toBe(200);
    expect(
      (await ada.client.postForm("/shares", { intent: "share-user", item: `folder:${reportsId}`, email: bob.email, permission: "READ" }))
        .status,
    ).toBeLessThan(400);
    await updateSettings(source.services, { versionsKept: 4, trashRetentionDays: 12 });

    // What finishing an upload leaves to the background: the hash and the thumbnail.
    await until(async () => (await source.services.prisma.file.count({ where: { sha256: null } })) === 0);
    await until(async () => (await source.services.prisma.file.findFirstOrThrow({ where: { name: "red.png" } })).thumbnailKey !== null);
    const version = await source.services.prisma.fileVersion.findFirstOrThrow({ where: { file: { name: "notes.txt" } } });
    versionId = version.id;
  });

  afterAll(async () => {
    await restored?.close();
    await stopRestoredDatabase?.();
  });

  it("backs up, restores into an empty database and store, and every row and file comes back", async () => {
    const counts = {
      users: await source.services.prisma.user.count(),
      files: await source.services.prisma.file.count(),
      versions: await source.services.prisma.fileVersion.count(),
      audit: await source.services.prisma.auditEvent.count(),
      settings: await source.services.prisma.setting.count(),
    };
    expect(counts).toMatchObject({ users: 2, files: 5, versions: 1, settings: expect.any(Number) });
    expect(counts.audit).toBeGreaterThan(0);
    if (run.encrypted) expect(await source.services.prisma.encryptionKey.count()).toBeGreaterThan(0);

    // The outbox's dispatcher delivers in the background: let it finish, so that the backup and the
    // rows compared below are of the same moment.
    for (const deadline = Date.now() + 30_000; (await pendingEvents(source.services)) > 0; ) {
      if (Date.now() > deadline) throw new Error("events still undelivered after 30 s");
      await dispatchEvents(source.services);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    let backupId: string;
    if (run.via === "cli, embedded DATA_DIR") {
      const backup = await runCoffer(source.env, ["backup"]);
      expect(backup.stderr.split("\n").filter((l) => /error|fail/i.test(l))).toEqual([]);
      expect(backup.code, backup.stdout + backup.stderr).toBe(0);
      backupId = /Backup (\S+) written/.exec(backup.stdout)![1]!;
    } else {
      backupId = (await runBackup(source.services)).manifest.id;
    }
    before = await rowHashes(source.env.DATABASE_URL!);
    expect(Object.keys(before)).toEqual(
      expect.arrayContaining(["users", "files", "file_versions", "settings", "audit_events", "share_links"]),
    );

    let restoredEnv: Record<string, string>;
    if (run.via === "cli, embedded DATA_DIR") {
      // A new machine: an empty DATA_DIR, the embedded database, the same keys and target.
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-restored-"));
      restoredDataDir = dataDir;
      const cli = await runCoffer({ ...envWithout(source, "DATABASE_URL"), DATA_DIR: dataDir }, ["restore"]);
      expect(cli.code, cli.stdout + cli.stderr).toBe(0);
      expect(cli.stdout).toContain(`Restored backup ${backupId}`);
      const embedded = await startEmbeddedPostgres({ dataDir: path.join(dataDir, "postgres"), port: await freePort() });
      stopRestoredDatabase = async () => {
        await embedded.stop();
        fs.rmSync(dataDir, { recursive: true, force: true });
      };
      restoredEnv = { DATABASE_URL: embedded.url, DATA_DIR: dataDir };
    } else {
      const database = emptyDatabase!;
      const bucket = `coffer-restored-${randomBytes(5).toString("hex")}`;
      const config = source.services.config;
      if (config.storage.driver !== "s3") throw new Error("expected S3");
      const storage = await createObjectStore({ ...config.storage, bucket });
      await storage.init();
      const target = await createBackupTarget(config.backup!.target);
      await restoreBackup({ databaseUrl: database.url, storage }, { target, key: config.backup!.key });
      restoredEnv = { DATABASE_URL: database.url, S3_BUCKET: bucket };
    }

    expect(await rowHashes(restoredEnv.DATABASE_URL!)).toEqual(before);

    restored = await startTestApp(run.drivers, { ...envWithout(source, "DATA_DIR", "DATABASE_URL", "S3_BUCKET"), ...restoredEnv });
    for (const person of [ada, bob]) {
      const client = new TestClient(restored.url);
      expect((await client.login(person.email, PASSWORD)).status).toBe(302);
      const files = await restored.services.prisma.file.findMany({ where: { ownerId: person.id } });
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        const response = await client.get(`/download/${file.id}`);
        expect(response.status, file.name).toBe(200);
        const bytes = new Uint8Array(await response.arrayBuffer());
        expect(sha256(bytes), file.name).toBe(sha256(contents.get(`${person.id}/${file.name}`)!));
        expect(sha256(bytes)).toBe(file.sha256);
      }
      if (person === ada) {
        const old = await client.get(`/download/version/${versionId}`);
        expect(old.status).toBe(200);
        expect(sha256(new Uint8Array(await old.arrayBuffer()))).toBe(sha256(versionBytes));
        const png = await restored.services.prisma.file.findFirstOrThrow({ where: { name: "red.png" } });
        expect((await client.get(`/thumbnail/${png.id}`)).status).toBe(200);
      }
    }
  });

  it("verifies the backup, and a second backup copies no object again", async () => {
    const config = source.services.config.backup!;
    const target = await createBackupTarget(config.target);
    if (run.via === "cli, embedded DATA_DIR") {
      const cli = await runCoffer(source.env, ["verify"]);
      expect(cli.code, cli.stdout + cli.stderr).toBe(0);
      expect(cli.stdout).toMatch(/verified: \d+ tables and 7 objects/);
    } else {
      const report = await verifyBackup({ target, key: config.key });
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.objects).toBe(7);
    }

    if (restoredDataDir) {
      // The restored instance's embedded database is served by a running process: the command uses it.
      const live = await runCoffer({ ...envWithout(source, "DATABASE_URL"), DATA_DIR: restoredDataDir }, ["backup", "--json"]);
      expect(live.code, live.stdout + live.stderr).toBe(0);
      const { id, objectsCopied } = JSON.parse(live.stdout) as { id: string; objectsCopied: number };
      expect(objectsCopied).toBe(0);
      const manifest = await readManifest(target, config.key, id);
      expect(manifest.database.embedded).toBe(true);
      expect(manifest.objects).toHaveLength(7);
    }

    const second = await runBackup(source.services);
    expect(second.objectsCopied).toBe(0);
    expect(second.manifest.objects).toHaveLength(7);
    const list = await runCoffer(source.env, ["list"]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.trim().split("\n")).toHaveLength(restoredDataDir ? 3 : 2);
    expect(list.stdout).toContain(second.manifest.id);
  });
});
