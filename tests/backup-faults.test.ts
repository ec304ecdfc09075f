import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { BackupTargetFullError, type RunBackupOptions, runBackup, shipNewObjects } from "~/domain/backup/backup.server";
import { listBackupIds, readManifest } from "~/domain/backup/catalog.server";
import { backupIdOf, storageKeyOf, targetKeys } from "~/domain/backup/manifest";
import { describeSealed } from "~/domain/backup/objects.server";
import { restoreBackup } from "~/domain/backup/restore.server";
import { verifyBackup } from "~/domain/backup/verify.server";
import { flushUsage } from "~/domain/analytics/usage.server";
import { SYSTEM_ACTOR } from "~/domain/audit/audit.server";
import { deleteDeferredObjects } from "~/domain/files/deferred-deletions.server";
import { deleteForever } from "~/domain/files/trash-purge.server";
import { trashItem } from "~/domain/files/trash.server";
import { createBackupTarget } from "~/services/backup/target.server";
import { LocalObjectStore } from "~/services/storage/local.server";
import { S3ObjectStore } from "~/services/storage/s3.server";
import type { ObjectStore } from "~/services/storage/types";
import { type DriverSet, startTestApp, type TestApp } from "./support/app";
import { backupTargetEnv, rowHashes, runCoffer } from "./support/backups";
import { createTestDatabase } from "./support/database";
import { registerPerson, type Person, uploadForm } from "./support/people";
import { s3Config, setBucketQuota } from "./support/s3";

const ROOT = path.resolve(import.meta.dirname, "..");

/**
 * A directory target that runs out of room after `limit` bytes, as a full disk does (ENOSPC in the
 * middle of a write). A simulation that runs everywhere, at an exact point of the run; the real
 * full file system (a mounted tmpfs, where mounting is allowed) is tests/backup-full-disk.test.ts.
 * (The bucket target fills up for real: Swift's quota on the bucket refuses the write.)
 */
class FillingStore extends LocalObjectStore {
  written = 0;
  constructor(
    directory: string,
    private readonly limit: number,
  ) {
    super(directory);
  }

  override put(key: string, body: Readable, options?: { size?: number }) {
    const meter = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.written += chunk.length;
        if (this.written > this.limit)
          callback(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28 }));
        else callback(null, chunk);
      },
    });
    body.on("error", (error) => meter.destroy(error));
    return super.put(key, body.pipe(meter), options);
  }
}

/** A target that has room for `room` more bytes, for one run; `makeRoom` lifts the limit again. */
interface FilledTarget {
  options: RunBackupOptions;
  /** What the driver says when it refuses the write. */
  cause: RegExp;
  /** The refusal came from the limit (not from anything else). */
  refused(): Promise<void>;
  makeRoom(): Promise<void>;
}

interface Variant {
  label: string;
  drivers: DriverSet;
  target: "directory" | "s3";
  /** With encryption at rest, backups copy (and restores bring back) the ciphertext as stored. */
  encrypted: boolean;
  /** A store of the primary's kind, empty, to restore into. */
  emptyStore(): Promise<ObjectStore>;
  fill(target: ObjectStore, env: Record<string, string>, room: number): Promise<FilledTarget>;
}

const bytesIn = async (store: ObjectStore) => {
  let bytes = 0;
  for await (const info of store.list()) bytes += info.size;
  return bytes;
};

const VARIANTS: Variant[] = [
  {
    label: "local disk, directory target",
    drivers: { storage: "local", cache: "memory" },
    target: "directory",
    encrypted: false,
    emptyStore: async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-restore-into-"));
      onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
      return new LocalObjectStore(dir);
    },
    fill: async (_target, env, room) => {
      const full = new FillingStore(env.BACKUP_DIR!, room);
      return {
        options: { target: full },
        cause: /ENOSPC: no space left on device, write/,
        refused: async () => expect(full.written).toBeGreaterThan(room),
        makeRoom: async () => {},
      };
    },
  },
  {
    label: "S3 encrypted at rest, a second bucket as the target",
    drivers: { storage: "s3", cache: "memory" },
    target: "s3",
    encrypted: true,
    emptyStore: async () => new S3ObjectStore(s3Config()),
    // A real refusal: the bucket's quota on the S3 server (Swift answers 413 EntityTooLarge).
    fill: async (target, env, room) => {
      const quota = (await bytesIn(target)) + room;
      await setBucketQuota(env.BACKUP_S3_BUCKET!, quota);
      return {
        options: {},
        cause: /Upload exceeds quota\./,
        refused: async () => expect(await bytesIn(target)).toBeLessThanOrEqual(quota),
        makeRoom: () => setBucketQuota(env.BACKUP_S3_BUCKET!, 2 ** 40),
      };
    },
  },
];

describe.each(VARIANTS)("backup faults ($label)", (variant) => {
  let app: TestApp;
  let ada: Person;
  let rootId: string;
  let targetEnv: Record<string, string>;
  let target: ObjectStore;
  let key: Buffer;

  /** The names in the target, read through its driver (a directory and a bucket alike). */
  const targetFiles = async () => {
    const names: string[] = [];
    for await (const info of target.list()) names.push(info.key);
    return names.sort();
  };
  const readTarget = async (name: string) => {
    const chunks: Buffer[] = [];
    for await (const chunk of await target.get(name)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };
  const writeTarget = (name: string, bytes: Buffer) => target.put(name, Readable.from([bytes]), { size: bytes.length });
  /** Flips one bit of a file in the target; resolves with its repair. */
  const flip = async (name: string, at: (size: number) => number, bit = 0x04) => {
    const original = await readTarget(name);
    const bytes = Buffer.from(original);
    bytes[at(bytes.length)]! ^= bit;
    await writeTarget(name, bytes);
    return () => writeTarget(name, original);
  };
  const storeKeys = async () => {
    const keys: string[] = [];
    for await (const info of app.services.storage.list()) keys.push(info.key);
    return keys.sort();
  };
  const upload = async (count: number, size = 50_000) => {
    for (let i = 0; i < count; i++)
      expect((await uploadForm(ada.client, rootId, `file-${randomBytes(4).toString("hex")}.bin`, randomBytes(size))).status).toBeLessThan(
        400,
      );
    for (let i = 0; i < 200 && (await app.services.prisma.file.count({ where: { sha256: null } })) > 0; i++)
      await new Promise((r) => setTimeout(r, 100));
  };

  beforeAll(async () => {
    targetEnv = backupTargetEnv(variant.target);
    app = await startTestApp(variant.drivers, {
      ...targetEnv,
      ...(variant.encrypted ? { ENCRYPTION_MASTER_KEY: randomBytes(32).toString("base64") } : {}),
    });
    ada = await registerPerson(app, "Ada", "ada@example.com");
    rootId = (await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId: ada.id, parentId: null } })).id;
    target = await createBackupTarget(app.services.config.backup!.target);
    await target.init();
    key = app.services.config.backup!.key;
    await upload(4);
  });

  it("a backup killed with kill -9 midway leaves the earlier backups intact, and the next run completes", async () => {
    const first = await runBackup(app.services);
    await upload(3);

    const child = spawn(process.execPath, ["--import", "tsx", "tests/support/backup-child.ts"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...app.env, PAUSE_AFTER_DUMPS: "1" } as unknown as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const exited = new Promise((resolve) => child.once("exit", resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (chunk) => String(chunk).includes("paused") && resolve());
      child.once("exit", () => reject(new Error(`the backup child exited before pausing: ${stderr}`)));
    });
    child.kill("SIGKILL");
    expect(await exited).toBeNull();

    // The dead run left its dumps and objects, but no manifest: it is no backup.
    const deadIds = new Set((await targetFiles()).flatMap((name) => backupIdOf(name) ?? []));
    deadIds.delete(first.manifest.id);
    expect(deadIds.size).toBe(1);
    const [deadId] = [...deadIds];
    expect(await targetFiles()).not.toContain(targetKeys.manifest(deadId!));
    expect(await listBackupIds(target)).toEqual([first.manifest.id]);
    expect((await readManifest(target, key, first.manifest.id)).objects).toEqual(first.manifest.objects);

    const before = new Set(first.manifest.objects.map((o) => targetKeys.object(o.key)));
    const leftObjects = (await targetFiles()).filter((name) => name.startsWith("object-") && !before.has(name));
    const leftByDeadRun = leftObjects.length;
    expect(leftByDeadRun).toBeGreaterThanOrEqual(1);
    // A torn object (a store whose writes are not atomic, killed mid-write) must be copied again.
    // Both drivers' puts are atomic; a half object stands for any damaged copy.
    const torn = await readTarget(leftObjects[0]!);
    await writeTarget(leftObjects[0]!, torn.subarray(0, Math.floor(torn.length / 2)));

    const next = await runBackup(app.services);
    expect(await listBackupIds(target)).toEqual([first.manifest.id, next.manifest.id]);
    expect((await targetFiles()).filter((name) => name.includes(deadId!))).toEqual([]);
    // What the dead run copied whole of the three new objects is reused (checked by reading it back).
    expect(next.objectsCopied).toBe(3 - leftByDeadRun + 1);
    expect(next.manifest.objects).toHaveLength(7);
    const report = await verifyBackup({ target, key });
    expect(report.problems).toEqual([]);
    expect(report.id).toBe(next.manifest.id);
    // And the earlier backup is still whole.
    expect((await verifyBackup({ target, key, backupId: first.manifest.id })).ok).toBe(true);
  });

  it("ships the objects written since the last backup, and only those", async () => {
    const latest = (await readManifest(target, key, (await listBackupIds(target)).at(-1)!)).objects.length;
    await upload(2);
    const shipped = await shipNewObjects(app.services);
    expect(shipped).toMatchObject({ copied: 2, missing: [] });
    expect((await targetFiles()).filter((name) => name.startsWith("object-"))).toHaveLength(latest + 2);
    expect((await shipNewObjects(app.services)).copied).toBe(0);
  });

  it("a backup taken while files are uploaded and trashed is consistent: its rows and objects agree", async () => {
    const busy = (async () => {
      for (let i = 0; i < 6; i++) {
        await upload(1, 30_000);
        const victim = await app.services.prisma.file.findFirst({
          where: { ownerId: ada.id, trashedAt: null },
          orderBy: { createdAt: "asc" },
        });
        if (victim) await trashItem(app.services, { id: ada.id, role: "ADMIN" }, "file", victim.id);
      }
    })();
    const result = await runBackup(app.services);
    await busy;
    expect(result.missingObjects).toEqual([]);
    const report = await verifyBackup({ target, key, backupId: result.manifest.id });
    expect(report.problems).toEqual([]);
  });

  it("keeps the bytes of a file deleted forever while the tables are exported", async () => {
    await upload(1, 40_000);
    const victim = await app.services.prisma.file.findFirstOrThrow({
      where: { ownerId: ada.id, trashedAt: null },
      orderBy: { createdAt: "desc" },
    });
    const actor = { id: ada.id, role: "ADMIN" as const };
    // The physical step runs after the snapshot and before the objects it adds are copied.
    const result = await runBackup(app.services, {
      physical: async () => {
        await trashItem(app.services, actor, "file", victim.id);
        await deleteForever(app.services, actor, "file", victim.id, SYSTEM_ACTOR);
        // Object deletions wait for the backup's end (deferred), whatever the backup holds already.
        expect(await app.services.storage.stat(victim.storageKey)).not.toBeNull();
        return undefined;
      },
    });
    expect(result.missingObjects).toEqual([]);
    expect(result.manifest.objects.map((o) => o.key)).toContain(victim.storageKey);
    expect((await verifyBackup({ target, key, backupId: result.manifest.id })).problems).toEqual([]);
    // Once the backup has ended the deferred deletion goes ahead: here, or already by the
    // instance's own delete-deferred-objects job (every minute), which runs the same function.
    await deleteDeferredObjects(app.services);
    expect(await app.services.storage.stat(victim.storageKey)).toBeNull();
    expect(await app.services.prisma.deferredObjectDeletion.count({ where: { key: victim.storageKey } })).toBe(0);
  });

  it("a restore into a non-empty database or store refuses with a clear message and changes nothing", async () => {
    // Usage counted by the uploads above is written by a periodic flush: now, not during the comparison.
    await flushUsage(app.services);
    const rows = await rowHashes(app.env.DATABASE_URL!);
    const keys = await storeKeys();
    await expect(restoreBackup({ databaseUrl: app.env.DATABASE_URL!, storage: app.services.storage }, { target, key })).rejects.toThrow(
      /^refusing to restore: the database already holds Coffer data \(rows in .*\busers\b.*\); the object store is not empty \(at least 5 object\(s\), e\.g\. .+\)\. Restore into an empty DATA_DIR, database and bucket; nothing was changed\.$/,
    );
    const cli = await runCoffer(app.env, ["restore"]);
    expect(cli.code).toBe(3);
    expect(cli.stderr).toContain("coffer restore: refusing to restore: the database already holds Coffer data");
    expect(await rowHashes(app.env.DATABASE_URL!)).toEqual(rows);
    expect(await storeKeys()).toEqual(keys);

    // An empty database is not enough: the store must be empty too.
    const empty = await createTestDatabase();
    const emptyRows = await rowHashes(empty.url);
    await expect(restoreBackup({ databaseUrl: empty.url, storage: app.services.storage }, { target, key })).rejects.toThrow(
      /^refusing to restore: the object store is not empty/,
    );
    expect(await rowHashes(empty.url)).toEqual(emptyRows);
    expect(await storeKeys()).toEqual(keys);
  });

  it("verify names a flipped byte in an object and in a table dump", async () => {
    const { manifest } = await runBackup(app.services);
    const object = manifest.objects[0]!;
    const repairs = [
      await flip(targetKeys.object(object.key), (size) => Math.floor(size / 2)),
      await flip(targetKeys.table(manifest.id, "files"), (size) => size - 3),
    ];
    try {
      const cli = await runCoffer(app.env, ["verify"]);
      expect(cli.code, cli.stderr).toBe(1);
      const lines = cli.stdout.trim().split("\n");
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(new RegExp(`^${targetKeys.object(object.key)}: `)),
          expect.stringMatching(new RegExp(`^${targetKeys.table(manifest.id, "files")}: `)),
        ]),
      );
      expect(lines.at(-1)).toMatch(`Backup ${manifest.id} FAILED verification`);
    } finally {
      for (const repair of repairs) await repair();
    }
    expect((await verifyBackup({ target, key })).ok).toBe(true);

    // A damaged manifest is named too, and `list` shows that backup as unreadable.
    const repair = await flip(targetKeys.manifest(manifest.id), (size) => size - 1);
    try {
      const report = await verifyBackup({ target, key });
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual([{ what: targetKeys.manifest(manifest.id), detail: expect.stringMatching(/authenticat/) }]);
      const list = await runCoffer(app.env, ["list"]);
      expect(list.code).toBe(1);
      expect(list.stdout).toContain(`${manifest.id}  unreadable: ${targetKeys.manifest(manifest.id)}: `);
    } finally {
      await repair();
    }
    expect((await runCoffer(app.env, ["verify", "--backup", "../manifest"])).code).toBe(2);
  });

  it("a restore that meets a damaged object fails naming it, removes what it wrote, and can be run again", async () => {
    const { manifest } = await runBackup(app.services);
    const database = await createTestDatabase();
    const store = await variant.emptyStore();
    await store.init();
    const keysIn = async () => {
      const keys: string[] = [];
      for await (const info of store.list()) keys.push(info.key);
      return keys.sort();
    };
    const damaged = manifest.objects.at(-1)!;
    const repair = await flip(targetKeys.object(damaged.key), (size) => size - 10, 0x01);
    try {
      await expect(restoreBackup({ databaseUrl: database.url, storage: store }, { target, key })).rejects.toThrow(
        new RegExp(`^${targetKeys.object(damaged.key)}: `),
      );
      expect(await keysIn()).toEqual([]);
      expect(Object.values(await rowHashes(database.url)).every((hash) => hash.startsWith("0 rows"))).toBe(true);
    } finally {
      await repair();
    }
    await restoreBackup({ databaseUrl: database.url, storage: store }, { target, key });
    expect(await keysIn()).toEqual(manifest.objects.map((o) => o.key).sort());
    expect(await rowHashes(database.url)).toEqual(await rowHashes(app.env.DATABASE_URL!));
  });

  it("a full target gives a clear error, records no backup and loses nothing", async () => {
    const before = await listBackupIds(target);
    const filesBefore = await targetFiles();
    const keys = await storeKeys();
    await upload(2, 200_000);
    const full = await variant.fill(target, targetEnv, 150_000);
    const failure = await runBackup(app.services, full.options).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(BackupTargetFullError);
    expect((failure as Error).message).toMatch(
      new RegExp(
        `^the backup target is full \\(${full.cause.source}\\); backup \\S+ was not recorded and its partial files were removed\\. Earlier backups are intact\\.`,
      ),
    );
    await full.refused();
    expect(await listBackupIds(target)).toEqual(before);
    // Only whole objects may stay (the next run reuses them), never a dump of the failed run.
    const added = (await targetFiles()).filter((name) => !filesBefore.includes(name));
    expect(added.every((name) => name.startsWith("object-"))).toBe(true);
    for (const name of added) await describeSealed(target, key, storageKeyOf(name)!);
    expect((await storeKeys()).filter((k) => !keys.includes(k))).toHaveLength(2);
    for (const id of before) expect((await readManifest(target, key, id)).id).toBe(id);

    await full.makeRoom();
    const after = await runBackup(app.services);
    expect(after.manifest.objects.length).toBe(keys.length + 2);
    expect((await verifyBackup({ target, key, backupId: after.manifest.id })).problems).toEqual([]);
  });

  it("restore --to refuses an external database, a time that is none, and --backup beside it", async () => {
    const cli = await runCoffer(app.env, ["restore", "--to", "2026-12-05T10:00:00Z"]);
    expect(cli.code).toBe(3);
    expect(cli.stderr).toContain("point-in-time recovery covers the embedded database");
    expect((await runCoffer(app.env, ["restore", "--to", "yesterday-ish"])).stderr).toContain("is not a time");
    const both = await runCoffer(app.env, ["restore", "--to", "2026-12-05T10:00:00Z", "--backup", "20261205T100000Z-abcdef"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("give --backup or --to, not both");
  });
});
