import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_ACTOR } from "~/domain/audit/audit.server";
import { runBulkOperation } from "~/domain/files/bulk-operations.server";
import { createFolder, getRootFolder } from "~/domain/files/folders.server";
import { deleteForever, emptyTrash, purgeExpiredTrash } from "~/domain/files/trash-purge.server";
import { restoreItem, trashItem } from "~/domain/files/trash.server";
import type { Services } from "~/services/index.server";
import { startTestApp, type TestApp } from "./support/app";
import { DRIVER_SETS, type Person, putFile, registerPerson } from "./support/people";

/**
 * Emptying the trash and deleting for good in batches (app/domain/files/trash-batches.server.ts),
 * and as a background job with progress on the trash page (bulk-operations.server.ts): with more
 * rows than one batch, after an interruption between batches, and keeping what must stay.
 */
describe.each(DRIVER_SETS)("bulk deletion from the trash ($label)", ({ drivers }) => {
  let app: TestApp;
  let services: Services;
  let tess: Person;
  let root: string;
  const actor = () => ({ id: tess.id, role: "USER" as const });

  beforeAll(async () => {
    app = await startTestApp(drivers);
    services = app.services;
    tess = await registerPerson(app, "Tess Trash", "tess@example.com");
    root = (await getRootFolder(services, tess.id)).id;
  });
  afterAll(() => app?.close());

  async function objectKeys(): Promise<Set<string>> {
    const keys = new Set<string>();
    for await (const object of services.storage.list()) keys.add(object.key);
    return keys;
  }
  const file = (folderId: string, name: string) =>
    putFile(services, tess.id, folderId, name, randomBytes(100 + Math.floor(Math.random() * 900)));
  /** Storage counter against the sum of the rows it counts. */
  async function counterMatches() {
    const [row] = await services.prisma.$queryRaw<Array<{ counter: bigint; actual: bigint }>>`
      SELECT u.storage_used AS counter,
        COALESCE((SELECT SUM(size) FROM files WHERE owner_id = u.id), 0)
      + COALESCE((SELECT SUM(v.size) FROM file_versions v JOIN files f ON f.id = v.file_id WHERE f.owner_id = u.id), 0) AS actual
      FROM users u WHERE u.id = ${tess.id}`;
    expect(BigInt(row!.counter)).toBe(BigInt(row!.actual));
  }
  /** Every file row of the person names an object that exists. */
  async function noRowWithoutBytes() {
    const keys = await objectKeys();
    const rows = await services.prisma.file.findMany({ where: { ownerId: tess.id }, select: { storageKey: true } });
    for (const row of rows) expect(keys.has(row.storageKey)).toBe(true);
  }
  const audits = (action: string) => services.prisma.auditEvent.count({ where: { action, actorId: tess.id } });

  it("empties a trash of more items than one batch, keeping a live item found in a trashed folder", async () => {
    const loose = await Promise.all([1, 2, 3, 4, 5].map((i) => file(root, `loose-${i}.txt`)));
    const album = await createFolder(services, actor(), root, "Album");
    const inner = await createFolder(services, actor(), album.id, "Inner");
    const photos = await Promise.all([1, 2, 3, 4].map((i) => file(inner.id, `photo-${i}.jpg`)));
    for (const f of loose) await trashItem(services, actor(), "file", f.id);
    await trashItem(services, actor(), "folder", album.id);
    // A live file inside a trashed folder (an upload that landed meanwhile): it is rescued.
    const stray = await file(root, "stray.txt");
    await services.prisma.file.update({ where: { id: stray.id }, data: { folderId: inner.id } });
    const keep = await file(root, "keep.txt");
    const doomedKeys = [...loose, ...photos].map((f) => f.storageKey);
    const trashedBefore = await audits("data.trash_emptied");
    const deletedBefore = await audits("data.deleted");

    const emptied = await emptyTrash(services, actor(), { ...SYSTEM_ACTOR, actorId: tess.id }, { batchSize: 2 });
    expect(emptied).toMatchObject({ items: 6, queued: null });
    expect(await services.prisma.file.count({ where: { ownerId: tess.id, trashedAt: { not: null } } })).toBe(0);
    expect(await services.prisma.folder.count({ where: { id: { in: [album.id, inner.id] } } })).toBe(0);
    const keys = await objectKeys();
    for (const key of doomedKeys) expect(keys.has(key)).toBe(false);
    expect(keys.has(keep.storageKey)).toBe(true);
    const rescued = await services.prisma.file.findUniqueOrThrow({ where: { id: stray.id } });
    expect(rescued).toMatchObject({ folderId: root, trashedAt: null });
    expect(keys.has(stray.storageKey)).toBe(true);
    await counterMatches();
    // A small trash goes item by item (an event for each of the 6), then one for the whole trash.
    expect(await audits("data.trash_emptied")).toBe(trashedBefore + 1);
    expect(await audits("data.deleted")).toBe(deletedBefore + 6);
  });

  it("deletes forever a folder tree larger than a batch, rescuing what was trashed separately", async () => {
    const top = await createFolder(services, actor(), root, "Doomed");
    const mid = await createFolder(services, actor(), top.id, "Mid");
    const low = await createFolder(services, actor(), mid.id, "Low");
    const doomed = [
      ...(await Promise.all([1, 2, 3].map((i) => file(top.id, `t${i}.txt`)))),
      ...(await Promise.all([1, 2, 3].map((i) => file(low.id, `l${i}.txt`)))),
    ];
    const keptFolder = await createFolder(services, actor(), mid.id, "Keepsake");
    const kept = await file(keptFolder.id, "kept.txt");
    const keptLoose = await file(low.id, "kept-loose.txt");
    await trashItem(services, actor(), "folder", keptFolder.id);
    await trashItem(services, actor(), "file", keptLoose.id);
    await trashItem(services, actor(), "folder", top.id);

    const result = await deleteForever(services, actor(), "folder", top.id, SYSTEM_ACTOR, { batchSize: 2 });
    expect(result).toMatchObject({ rescued: 2, queued: null });
    expect(await services.prisma.folder.count({ where: { id: { in: [top.id, mid.id, low.id] } } })).toBe(0);
    const keys = await objectKeys();
    for (const f of doomed) expect(keys.has(f.storageKey)).toBe(false);
    expect(keys.has(kept.storageKey) && keys.has(keptLoose.storageKey)).toBe(true);
    // Still in the trash, now at the top of My files.
    expect(await services.prisma.folder.findUniqueOrThrow({ where: { id: keptFolder.id } })).toMatchObject({ parentId: root });
    expect(await services.prisma.file.findUniqueOrThrow({ where: { id: keptLoose.id } })).toMatchObject({ folderId: root });
    expect(await services.prisma.activity.findFirst({ where: { action: "folder.deleted", subjectId: top.id } })).toMatchObject({
      details: { folders: 3, files: 6, rescued: 2 },
    });
    await counterMatches();
    await emptyTrash(services, actor(), SYSTEM_ACTOR);
  });

  it("carries on after an interruption between batches, with consistent partial progress and one audit event", async () => {
    const files = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((i) => file(root, `resume-${i}.txt`)));
    for (const f of files) await trashItem(services, actor(), "file", f.id);
    // An operation whose job died: no job is queued for it, the test runs it.
    const operation = await services.prisma.bulkOperation.create({
      data: {
        ownerId: tess.id,
        kind: "empty-trash",
        cutoff: new Date(),
        total: 7,
        roots: 7,
        auditActor: { ...SYSTEM_ACTOR, actorId: tess.id },
        actorId: tess.id,
      },
    });
    let batches = 0;
    const crash = async () => {
      if (++batches === 2) throw new Error("killed between batches");
    };
    await expect(runBulkOperation(services, operation.id, { batchSize: 3, afterBatch: crash })).rejects.toThrow("killed between batches");
    const partial = await services.prisma.bulkOperation.findUniqueOrThrow({ where: { id: operation.id } });
    const left = await services.prisma.file.count({ where: { id: { in: files.map((f) => f.id) } } });
    expect(partial).toMatchObject({ done: 6, files: 6, finishedAt: null });
    expect(left).toBe(1);
    await counterMatches();
    await noRowWithoutBytes();
    expect(
      await services.prisma.auditEvent.count({
        where: { action: "data.trash_emptied", targetId: tess.id, createdAt: { gte: operation.createdAt } },
      }),
    ).toBe(0);

    // The page shows how far it got, also without JavaScript.
    const page = await (await tess.client.get("/trash")).text();
    expect(page).toContain("Emptying trash: 6 of 7 items");
    expect(page).toMatch(/<meta http-equiv="refresh"/i);
    // What it is deleting cannot be restored meanwhile.
    const remaining = await services.prisma.file.findFirstOrThrow({ where: { id: { in: files.map((f) => f.id) } } });
    await expect(restoreItem(services, actor(), "file", remaining.id)).rejects.toMatchObject({ status: 409 });

    await runBulkOperation(services, operation.id, { batchSize: 3 });
    expect(await services.prisma.file.count({ where: { id: { in: files.map((f) => f.id) } } })).toBe(0);
    expect(await services.prisma.bulkOperation.findUniqueOrThrow({ where: { id: operation.id } })).toMatchObject({ done: 7 });
    // Run again (a retried job): nothing more happens, and still one audit event, none per item.
    await runBulkOperation(services, operation.id, { batchSize: 3 });
    expect(await services.prisma.auditEvent.count({ where: { action: "data.deleted", targetId: { in: files.map((f) => f.id) } } })).toBe(0);
    expect(
      await services.prisma.auditEvent.count({
        where: { action: "data.trash_emptied", targetId: tess.id, createdAt: { gte: operation.createdAt } },
      }),
    ).toBe(1);
    const keys = await objectKeys();
    for (const f of files) expect(keys.has(f.storageKey)).toBe(false);
    expect(await (await tess.client.get("/trash")).text()).not.toContain("Emptying trash:");
  });

  it("hands a large deletion to the background job from the form, and the job finishes it", async () => {
    const big = await createFolder(services, actor(), root, "Big");
    const real = await file(big.id, "real.txt");
    // More rows than the request deletes itself (2,000): seeded straight into the database.
    await services.prisma.$executeRaw`
      INSERT INTO files (id, owner_id, folder_id, name, name_key, size, mime_type, storage_key, created_at, updated_at)
      SELECT ${big.id} || '-' || i, ${tess.id}, ${big.id}, 'seed ' || i, 'seed ' || i, 10, 'text/plain', ${big.id} || '-key-' || i, now(), now()
      FROM generate_series(1, 2100) AS i`;
    await trashItem(services, actor(), "folder", big.id);
    const posted = await tess.client.postForm("/trash", { intent: "delete", kind: "folder", id: big.id, confirmed: "yes" });
    expect(posted.status).toBe(302);
    expect(posted.headers.get("location")).toBe("/trash");
    const operation = await services.prisma.bulkOperation.findFirstOrThrow({ where: { ownerId: tess.id, targetId: big.id } });
    expect(operation).toMatchObject({ kind: "delete-forever", total: 2102 });
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && !(await services.prisma.bulkOperation.findUniqueOrThrow({ where: { id: operation.id } })).finishedAt) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(await services.prisma.bulkOperation.findUniqueOrThrow({ where: { id: operation.id } })).toMatchObject({
      done: 2102,
      files: 2101,
    });
    expect(await services.prisma.folder.findUnique({ where: { id: big.id } })).toBeNull();
    expect((await objectKeys()).has(real.storageKey)).toBe(false);
    expect(await services.prisma.auditEvent.count({ where: { action: "data.deleted", targetId: big.id } })).toBe(1);
    await counterMatches();
  }, 180_000);

  it("purges expired trash in batches", async () => {
    const folder = await createFolder(services, actor(), root, "Old");
    const files = await Promise.all([1, 2, 3, 4, 5].map((i) => file(folder.id, `old-${i}.txt`)));
    await trashItem(services, actor(), "folder", folder.id);
    const later = new Date(Date.now() + 400 * 24 * 60 * 60 * 1000);
    const purged = await purgeExpiredTrash(services, later, { batchSize: 2 });
    expect(purged.items).toBeGreaterThanOrEqual(1);
    expect(await services.prisma.file.count({ where: { id: { in: files.map((f) => f.id) } } })).toBe(0);
    await counterMatches();
  });
});
