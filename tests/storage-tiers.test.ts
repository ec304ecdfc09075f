import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import pg from "pg";
import { getSettings, updateSettings } from "~/domain/admin/settings.server";
import { deleteObjectsQuietly } from "~/domain/files/versions.server";
import { checkStorage } from "~/domain/storage-check/storage-check.server";
import { moveUnreadToCold } from "~/domain/storage-tiers/cold-tier.server";
import { migrateStorage, migrationProgress } from "~/domain/storage-tiers/migration.server";
import { metrics } from "~/services/metrics.server";
import { createObjectStore } from "~/services/storage/index.server";
import { ObjectVerifyError, TIER_MOVE_LOCK } from "~/services/storage/move.server";
import { TieredObjectStore } from "~/services/storage/tiered.server";
import type { ObjectStore } from "~/services/storage/types";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { s3Config } from "./support/s3";
import { createUpload, patchUpload } from "./support/tus";

const ROOT = path.resolve(import.meta.dirname, "..");
const MASTER_KEY = randomBytes(32).toString("base64");

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function keysOf(store: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of store.list()) keys.push(info.key);
  return keys.sort();
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "coffer-tier-"));
}

/** A tus upload of `bytes` as `name`; the new file's id. */
async function uploadFile(app: TestApp, client: TestClient, name: string, bytes: Buffer): Promise<string> {
  const url = await createUpload(app, client, { name, size: bytes.length });
  const patch = await patchUpload(client, url, 0, new Uint8Array(bytes));
  expect(patch.status).toBe(204);
  const file = await app.services.prisma.file.findFirstOrThrow({ where: { name, trashedAt: null }, select: { id: true } });
  return file.id;
}

async function download(client: TestClient, fileId: string, range?: string): Promise<{ status: number; body: Buffer }> {
  const response = await client.request(`/download/${fileId}`, range ? { headers: { range } } : {});
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}

function counter(name: "storageTierMovedObjects" | "storageTierMoveFailures", move: string): Promise<number> {
  return metrics()
    [name].get()
    .then((metric) => metric.values.find((v) => v.labels.move === move)?.value ?? 0);
}

/** A store that changes one byte of everything written to it: a destination that corrupts. */
function corrupting(inner: ObjectStore): ObjectStore {
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property !== "put") return Reflect.get(target, property, receiver);
      return (key: string, body: Readable, options?: { size?: number }) => {
        let flipped = false;
        const flip = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            if (!flipped && chunk.length > 0) {
              chunk = Buffer.from(chunk);
              chunk[0] = chunk[0]! ^ 0xff;
              flipped = true;
            }
            callback(null, chunk);
          },
        });
        return target.put(key, body.pipe(flip), options);
      };
    },
  });
}

describe("moving objects between stores (local disk and S3)", () => {
  it("detects a copy whose SHA-256 differs and keeps the original", async () => {
    const source = await createObjectStore({ driver: "local", directory: tempDir() });
    const target = await createObjectStore(s3Config());
    await source.init();
    await target.init();
    const bytes = randomBytes(300_000);
    await source.put("object-1", Readable.from([bytes]));
    const failuresBefore = await counter("storageTierMoveFailures", "migration");

    const tiered = new TieredObjectStore(corrupting(target), source);
    await expect(tiered.promote("object-1")).rejects.toThrow(ObjectVerifyError);
    // The original is still there, whole.
    expect(sha256(await readAll(await source.get("object-1")))).toBe(sha256(bytes));
    // Without the corruption the same move succeeds and removes the original.
    const honest = new TieredObjectStore(target, source);
    expect(await honest.promote("object-1")).toMatchObject({ size: bytes.length, sha256: sha256(bytes) });
    expect(await source.stat("object-1")).toBeNull();
    expect(sha256(await readAll(await target.get("object-1")))).toBe(sha256(bytes));
    expect(await counter("storageTierMoveFailures", "migration")).toBe(failuresBefore);
  });

  it("reads through to the second store, lists each key once, and deletes from both", async () => {
    const primary = await createObjectStore(s3Config());
    const secondary = await createObjectStore({ driver: "local", directory: tempDir() });
    const tiered = new TieredObjectStore(primary, secondary);
    await tiered.init();
    const old = randomBytes(50_000);
    await secondary.put("old", Readable.from([old]));
    await tiered.put("new", Readable.from([Buffer.from("fresh")]));
    expect(await secondary.stat("new")).toBeNull();
    expect(await readAll(await tiered.get("old", { start: 100, end: 199 }))).toEqual(old.subarray(100, 200));
    // Both stores holding a key (a move under way) still lists it once.
    await primary.put("old", Readable.from([old]));
    expect(await keysOf(tiered)).toEqual(["new", "old"]);
    await tiered.copy("old", "copy-of-old");
    await primary.delete("old");
    await tiered.copy("old", "copy-from-secondary");
    expect(await readAll(await primary.get("copy-from-secondary"))).toEqual(old);
    await tiered.deleteMany(["old", "copy-of-old"]);
    expect(await tiered.stat("old")).toBeNull();
    expect(await secondary.stat("old")).toBeNull();
  });

  it("leaves nothing in either store when the object is deleted while it moves", async () => {
    const primary = await createObjectStore({ driver: "local", directory: tempDir() });
    const secondary = await createObjectStore(s3Config());
    const tiered = new TieredObjectStore(primary, secondary);
    await tiered.init();
    await secondary.put("big", Readable.from([randomBytes(8 * 2 ** 20)]));
    const moving = tiered.promote("big");
    await new Promise((resolve) => setTimeout(resolve, 20));
    await tiered.delete("big");
    await moving;
    expect(await primary.stat("big")).toBeNull();
    expect(await secondary.stat("big")).toBeNull();
  });
});

describe.each<{ label: string; storage: "local" | "s3"; cold: () => string; env: Record<string, string> }>([
  { label: "local disk, cold tier in a directory", storage: "local", cold: () => tempDir(), env: {} },
  {
    label: "S3 encrypted at rest, cold tier in a second bucket",
    storage: "s3",
    cold: () => `s3://coffer-cold-${randomBytes(4).toString("hex")}`,
    env: { ENCRYPTION_MASTER_KEY: MASTER_KEY },
  },
])("cold tier ($label)", ({ storage, cold, env }) => {
  let app: TestApp;
  let user: TestClient;

  beforeAll(async () => {
    app = await startTestApp({ storage, cache: "memory" }, { COLD_STORAGE: cold(), ...env });
    user = new TestClient(app.url);
    await user.register("Cora", "cora@example.com");
  });
  afterAll(() => app?.close());

  it("moves files unread for the set days to the cold tier and serves them from there until they are back", async () => {
    const tiers = app.services.storageTiers;
    const coldStore = (tiers.cold as TieredObjectStore).secondary;
    const bytes = randomBytes(700_000);
    const unreadId = await uploadFile(app, user, "unread.bin", bytes);
    const recentId = await uploadFile(app, user, "recent.bin", randomBytes(1000));
    const unread = await app.services.prisma.file.findUniqueOrThrow({ where: { id: unreadId } });
    await app.services.prisma.$executeRaw`UPDATE files SET updated_at = now() - interval '40 days' WHERE id = ${unreadId}`;
    // Tiering is the store's business: the file's modified time (and so its API ETag) never moves.
    const modified = (await app.services.prisma.file.findUniqueOrThrow({ where: { id: unreadId } })).updatedAt;

    // Off until an administrator sets the days (the first account is the administrator).
    expect(await moveUnreadToCold(app.services)).toEqual({ moved: 0, bytes: 0, failed: 0 });
    const form = (coldTierAfterDays: string) => ({
      defaultQuota: "",
      maxFileSize: "1GiB",
      blockedExtensions: "",
      trashRetentionDays: "30",
      auditRetentionDays: "365",
      versionsKept: "10",
      versionRetentionDays: "",
      deletedAccountRetentionDays: "30",
      coldTierAfterDays,
      sessionIdleDays: "14",
      sessionAbsoluteDays: "30",
      tokenMaxDays: "365",
    });
    expect(await (await user.request("/admin/settings")).text()).toContain('name="coldTierAfterDays"');
    const refused = await user.postForm("/admin/settings", form("0"));
    expect(refused.status).toBe(400);
    expect(await refused.text()).toMatch(/aria-invalid="true"[^>]*aria-describedby="field-coldTierAfterDays-error/);
    const saved = await user.postForm("/admin/settings", form("30"));
    expect(saved.status).toBe(200);
    expect((await getSettings(app.services)).coldTierAfterDays).toBe(30);
    const movedBefore = await counter("storageTierMovedObjects", "to_cold");
    const report = await moveUnreadToCold(app.services);
    expect(report).toMatchObject({ moved: 1, failed: 0 });
    expect(await counter("storageTierMovedObjects", "to_cold")).toBe(movedBefore + 1);
    expect(await tiers.primary.stat(unread.storageKey)).toBeNull();
    expect(await coldStore.stat(unread.storageKey)).not.toBeNull();
    expect((await app.services.prisma.file.findUniqueOrThrow({ where: { id: unreadId } })).coldAt).not.toBeNull();
    expect((await app.services.prisma.file.findUniqueOrThrow({ where: { id: unreadId } })).updatedAt).toEqual(modified);
    expect((await app.services.prisma.file.findUniqueOrThrow({ where: { id: recentId } })).coldAt).toBeNull();
    const audit = await app.services.prisma.auditEvent.findFirstOrThrow({ where: { action: "storage.moved_to_cold" } });
    expect(audit.details).toMatchObject({ objects: 1, keys: [unread.storageKey] });
    // The first account is the administrator.
    expect(await (await user.request("/admin/jobs")).text()).toContain("Cold tier: 1 files and 0 versions.");

    // A Range read and a whole download straight from the cold tier.
    const part = await download(user, unreadId, "bytes=1000-1999");
    expect(part.status).toBe(206);
    expect(part.body).toEqual(bytes.subarray(1000, 2000));
    const whole = await download(user, unreadId);
    expect(whole.status).toBe(200);
    expect(sha256(whole.body)).toBe(sha256(bytes));

    // Brought back in the background: hot again, unmarked, its read recorded.
    await expect.poll(() => tiers.primary.stat(unread.storageKey), { timeout: 30_000 }).not.toBeNull();
    await expect.poll(async () => (await app.services.prisma.file.findUniqueOrThrow({ where: { id: unreadId } })).coldAt).toBeNull();
    expect(await coldStore.stat(unread.storageKey)).toBeNull();
    const after = await app.services.prisma.file.findUniqueOrThrow({ where: { id: unreadId } });
    expect(after.lastReadAt).not.toBeNull();
    expect(after.updatedAt).toEqual(modified);
    expect(sha256((await download(user, unreadId)).body)).toBe(sha256(bytes));
    expect(await app.services.prisma.auditEvent.count({ where: { action: "storage.restored_from_cold" } })).toBe(1);
    // Read just now: the next run leaves it hot.
    expect((await moveUnreadToCold(app.services)).moved).toBe(0);
  }, 120_000);

  it("moves every unread content, past the first page, kept versions too", async () => {
    const { prisma } = app.services;
    const tiers = app.services.storageTiers;
    const template = await prisma.file.findUniqueOrThrow({ where: { id: await uploadFile(app, user, "template.bin", randomBytes(10)) } });
    const keys = Array.from({ length: 110 }, (_, i) => `many-${i}-${randomBytes(6).toString("hex")}`);
    await Promise.all(keys.map((key) => tiers.primary.put(key, Readable.from([Buffer.from(key)]))));
    await prisma.file.createMany({
      data: keys.slice(0, 109).map((key) => ({
        ownerId: template.ownerId,
        folderId: template.folderId,
        name: `${key}.txt`,
        nameKey: `${key}.txt`,
        size: BigInt(key.length),
        mimeType: "text/plain",
        storageKey: key,
      })),
    });
    await prisma.fileVersion.create({
      data: {
        fileId: template.id,
        storageKey: keys[109]!,
        size: BigInt(keys[109]!.length),
        mimeType: "text/plain",
        createdAt: new Date(0),
      },
    });
    await prisma.$executeRaw`UPDATE files SET updated_at = now() - interval '40 days' WHERE storage_key LIKE 'many-%'`;
    await prisma.$executeRaw`UPDATE file_versions SET replaced_at = now() - interval '40 days' WHERE storage_key LIKE 'many-%'`;

    await updateSettings(app.services, { coldTierAfterDays: 30 });
    expect(await moveUnreadToCold(app.services)).toMatchObject({ moved: 110, failed: 0 });
    for (const key of keys) expect(await tiers.primary.stat(key), key).toBeNull();
    expect(await prisma.fileVersion.count({ where: { storageKey: keys[109], coldAt: { not: null } } })).toBe(1);
    expect(await prisma.file.count({ where: { storageKey: { startsWith: "many-" }, coldAt: null } })).toBe(0);

    // The storage check sees cold objects as present: nothing missing, nothing of another size.
    const report = await checkStorage(app.services);
    expect(report.problems).toMatchObject({ missing: 0, size_mismatch: 0 });
    expect(report.objects).toBeGreaterThanOrEqual(111);
  }, 120_000);
});

function runCli(env: Record<string, string>, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, "bin/coffer.mjs"), ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, ...env } as unknown as NodeJS.ProcessEnv, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

/** Runs the command and kills it (SIGKILL) as soon as its output matches `until`. */
function runCliUntil(
  env: Record<string, string>,
  args: string[],
  until: RegExp,
): Promise<{ signal: NodeJS.Signals | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [path.join(ROOT, "bin/coffer.mjs"), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env } as unknown as NodeJS.ProcessEnv,
      timeout: 120_000,
    });
    let stdout = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      // A moment after the first progress line, while the first batch is being moved.
      if (until.test(stdout)) setTimeout(() => child.kill("SIGKILL"), 400);
    });
    child.on("exit", (_code, signal) => resolve({ signal, stdout }));
  });
}

describe.each([
  { label: "local disk to S3", from: "local" as const, to: "s3" as const },
  { label: "S3 to local disk", from: "s3" as const, to: "local" as const },
])("online storage migration ($label)", ({ from, to }) => {
  let before: TestApp;
  let app: TestApp;
  let user: TestClient;
  const contents = new Map<string, Buffer>();

  beforeAll(async () => {
    // Its own directory: the old objects must outlive the first instance.
    const dataDir = tempDir();
    before = await startTestApp({ storage: from, cache: "memory" }, { DATA_DIR: dataDir });
    user = new TestClient(before.url);
    await user.register("Mia", "mia@example.com");
    for (let i = 0; i < 6; i++) {
      const bytes = randomBytes(20_000 + i * 50_000);
      contents.set(await uploadFile(before, user, `file-${i}.bin`, bytes), bytes);
    }
    // Every upload hashed (in the background) before the store changes.
    for (let tries = 0; (await before.services.prisma.file.count({ where: { sha256: null } })) > 0; tries++) {
      if (tries > 100) throw new Error("uploads were not hashed");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const { s3 } = inject("services");
    const oldLocation =
      from === "local"
        ? path.join(dataDir, "objects")
        : `s3+${s3.endpoint.replace("://", `://${encodeURIComponent(s3.accessKey)}:${encodeURIComponent(s3.secretKey)}@`)}/${before.env.S3_BUCKET}`;
    await before.close();
    // The same database and data directory, the other store configured, the old one to move from.
    app = await startTestApp(
      { storage: to, cache: "memory" },
      {
        DATABASE_URL: before.env.DATABASE_URL!,
        DATA_DIR: tempDir(),
        SESSION_SECRET: before.env.SESSION_SECRET!,
        STORAGE_MIGRATE_FROM: oldLocation,
      },
    );
    // The test plays the storage-migration job's part, step by step: the instance's own job
    // (every minute) must not move objects between the steps.
    const jobs = app.services.jobs;
    delete app.services.jobs;
    await jobs?.stop();
    user = new TestClient(app.url);
    await user.login("mia@example.com");
  }, 180_000);
  afterAll(() => app?.close());

  it("moves every object while files keep downloading and uploading, and resumes after an interruption", async () => {
    const migration = app.services.storageTiers.migration!;
    const oldStore = migration.secondary;
    const newStore = app.services.storageTiers.primary;
    const objectsBefore = (await keysOf(oldStore)).length;
    expect(
      objectsBefore,
      "nothing may have moved before the test's first step (the instance's job runs every minute)",
    ).toBeGreaterThanOrEqual(6);

    // Served from the old store before anything moved.
    for (const [id, bytes] of contents) expect(sha256((await download(user, id)).body)).toBe(sha256(bytes));

    // A delete before its object moved removes it from the old store too.
    const [deletedId] = [...contents.keys()];
    const deleted = await app.services.prisma.file.delete({ where: { id: deletedId! } });
    contents.delete(deletedId!);
    await deleteObjectsQuietly(app.services, [deleted.storageKey]);
    expect(await oldStore.stat(deleted.storageKey)).toBeNull();
    expect(await newStore.stat(deleted.storageKey)).toBeNull();

    // While a backup runs (it holds TIER_MOVE_LOCK), a run moves nothing and stops, unfinished.
    const backup = new pg.Client({ connectionString: app.env.DATABASE_URL });
    await backup.connect();
    try {
      await backup.query("SELECT pg_advisory_lock($1)", [TIER_MOVE_LOCK]);
      expect(await migrateStorage(app.services)).toMatchObject({ movedObjects: 0, finishedAt: null });
      expect((await keysOf(oldStore)).length).toBe(objectsBefore - 1);
    } finally {
      await backup.end();
    }

    // An interrupted run (stopped after two objects): it recorded what it did.
    const first = await migrateStorage(app.services, { limit: 2 });
    expect(first).toMatchObject({ movedObjects: 2, finishedAt: null });
    expect((await migrationProgress(app.services))?.movedObjects).toBe(2);
    expect((await keysOf(oldStore)).length).toBe(objectsBefore - 3);

    // Downloads and a new upload during the rest of the move.
    const added = randomBytes(123_456);
    const downloads = (async () => {
      for (let round = 0; round < 3; round++)
        for (const [id, bytes] of contents) {
          const { status, body } = await download(user, id);
          expect(status).toBe(200);
          expect(sha256(body)).toBe(sha256(bytes));
        }
    })();
    const [rest] = await Promise.all([
      migrateStorage(app.services),
      downloads,
      uploadFile(app, user, "during.bin", added).then((id) => contents.set(id, added)),
    ]);
    expect(rest?.finishedAt).not.toBeNull();
    expect(rest).toMatchObject({ remainingObjects: 0, failedObjects: 0 });
    expect(rest!.movedObjects).toBe(objectsBefore - 1);
    expect(await keysOf(oldStore)).toEqual([]);

    // Every file, from the new store alone, with its original SHA-256.
    for (const [id, bytes] of contents) {
      const file = await app.services.prisma.file.findUniqueOrThrow({ where: { id } });
      expect(await newStore.stat(file.storageKey)).not.toBeNull();
      const { body } = await download(user, id);
      expect(sha256(body)).toBe(sha256(bytes));
      expect(file.sha256).toBe(sha256(bytes));
    }
    expect(await app.services.prisma.auditEvent.count({ where: { action: "storage.migration_finished" } })).toBe(1);
    // The first account is the administrator.
    const page = await user.request("/admin/jobs");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Remove STORAGE_MIGRATE_FROM");

    // The command reports the same, with nothing left to do.
    const cli = await runCli(app.env, ["migrate-storage"]);
    expect(cli.stdout).toContain("Done: every object has moved.");
    expect(cli.code).toBe(0);
  }, 180_000);

  it("resumes after the command is killed with SIGKILL mid-move, losing nothing", async () => {
    const oldStore = app.services.storageTiers.migration!.secondary;
    const newStore = app.services.storageTiers.primary;
    const objects = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const bytes = randomBytes(100_000 + i * 10_000);
      const key = `killed-${i}-${randomBytes(4).toString("hex")}`;
      await oldStore.put(key, Readable.from([bytes]));
      objects.set(key, sha256(bytes));
    }
    const killed = await runCliUntil(app.env, ["migrate-storage"], /moved \d+\/\d+/);
    expect(killed.signal).toBe("SIGKILL");
    expect((await keysOf(oldStore)).length).toBeGreaterThan(0);

    const resumed = await runCli(app.env, ["migrate-storage"]);
    expect(resumed.stdout).toContain("Done: every object has moved.");
    expect(resumed.code).toBe(0);
    expect(await keysOf(oldStore)).toEqual([]);
    for (const [key, hash] of objects) expect(sha256(await readAll(await newStore.get(key)))).toBe(hash);
  }, 180_000);
});
