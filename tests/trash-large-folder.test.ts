import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_ACTOR } from "~/domain/audit/audit.server";
import { runBulkOperation } from "~/domain/files/bulk-operations.server";
import { contentIndexingSettled } from "~/domain/search/content-index.server";
import { createFolder, getRootFolder } from "~/domain/files/folders.server";
import { emptyTrash } from "~/domain/files/trash-purge.server";
import { restoreItem, trashItem } from "~/domain/files/trash.server";
import type { Services } from "~/services/index.server";
import { startTestApp, type TestApp } from "./support/app";
import { DRIVER_SETS, type Person, putFile, registerPerson } from "./support/people";

/**
 * Trashing and restoring a large folder (trash.server.ts, subtree-batches.server.ts): its folders
 * change at once, its files a batch at a time in the bulk-operation job with progress on the trash
 * page, and search follows each batch. An interrupted operation carries on, or stops when the
 * folder was restored (or purged) meanwhile.
 */
describe("trashing and restoring a large folder", () => {
  let app: TestApp;
  let services: Services;
  let lars: Person;
  let root: string;
  const actor = () => ({ id: lars.id, role: "USER" as const });
  const small = { inlineLimit: 3 };

  beforeAll(async () => {
    app = await startTestApp(DRIVER_SETS[0]!.drivers);
    services = app.services;
    lars = await registerPerson(app, "Lars Large", "lars@example.com");
    root = (await getRootFolder(services, lars.id)).id;
  });
  afterAll(() => app?.close());

  /** A folder with a subfolder and 7 files (more than the inline limit of these tests). */
  async function album(name: string) {
    const top = await createFolder(services, actor(), root, name);
    const inner = await createFolder(services, actor(), top.id, "Inner");
    const files = [];
    for (const [folderId, i] of [top.id, top.id, top.id, inner.id, inner.id, inner.id, inner.id].map((f, i) => [f, i] as const)) {
      files.push(await putFile(services, lars.id, folderId, `${name.toLowerCase()}-zebu-${i}.txt`, randomBytes(100)));
    }
    return { top, inner, ids: files.map((f) => f.id) };
  }
  /** Waits for the job to finish the operation: its row goes then. */
  async function finished(operationId: string): Promise<boolean> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (!(await services.prisma.bulkOperation.findUnique({ where: { id: operationId } }))) return true;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return false;
  }
  const liveFiles = (ids: string[]) => services.prisma.file.count({ where: { id: { in: ids }, trashedAt: null } });
  const hits = async (query: string) => (await services.search.search(lars.id, query)).hits.length;

  it("trashes and restores a folder larger than the inline limit in the background, search following", async () => {
    const { top, inner, ids } = await album("Holiday");
    expect(await hits("holiday-zebu-5")).toBe(1);

    const trashed = await trashItem(services, actor(), "folder", top.id, new Date(), small);
    expect(trashed).toMatchObject({ folders: 2, files: 7 });
    expect(trashed.queued).not.toBeNull();
    expect(await finished(trashed.queued!)).toBe(true);
    const rows = await services.prisma.file.findMany({ where: { id: { in: ids } } });
    const folder = await services.prisma.folder.findUniqueOrThrow({ where: { id: top.id } });
    for (const row of rows) expect(row).toMatchObject({ trashRootId: top.id, trashedAt: folder.trashedAt });
    expect(await services.prisma.folder.findUniqueOrThrow({ where: { id: inner.id } })).toMatchObject({ trashRootId: top.id });
    expect(await hits("holiday-zebu-5")).toBe(0);
    expect(await services.prisma.activity.findFirst({ where: { action: "folder.trashed", subjectId: top.id } })).toMatchObject({
      details: { folders: 2, files: 7 },
    });

    const restored = await restoreItem(services, actor(), "folder", top.id, small);
    expect(restored).toMatchObject({ parentId: root, movedToRoot: false });
    expect(restored.queued).not.toBeNull();
    expect(await finished(restored.queued!)).toBe(true);
    expect(await liveFiles(ids)).toBe(7);
    expect(await services.prisma.file.count({ where: { id: { in: ids }, trashRootId: { not: null } } })).toBe(0);
    expect(await hits("holiday-zebu-5")).toBe(1);
    expect(await (await lars.client.get("/trash")).text()).not.toContain("Restoring");
    // Their text is extracted again: a batch of durable jobs, queued with each batch.
    await contentIndexingSettled();
    const indexed = await services.prisma.$queryRaw<Array<{ n: bigint }>>`
      SELECT count(*) AS n FROM files WHERE id = ANY(${ids}::text[]) AND content_indexed_key = storage_key`;
    expect(Number(indexed[0]!.n)).toBe(7);
  });

  /** A trashing whose job died after its folders were trashed: the test runs the job. */
  async function interruptedTrashing(name: string) {
    const made = await album(name);
    const now = new Date();
    await services.prisma.folder.updateMany({
      where: { id: { in: [made.top.id, made.inner.id] } },
      data: { trashedAt: now, trashRootId: made.top.id },
    });
    const operation = await services.prisma.bulkOperation.create({
      data: {
        ownerId: lars.id,
        kind: "trash-folder",
        targetKind: "folder",
        targetId: made.top.id,
        targetName: name,
        cutoff: now,
        total: 7,
        auditActor: {},
        actorId: lars.id,
      },
    });
    let batches = 0;
    const crash = async () => {
      if (++batches === 2) throw new Error("killed between batches");
    };
    await expect(runBulkOperation(services, operation.id, { batchSize: 2, afterBatch: crash })).rejects.toThrow("killed between batches");
    return { ...made, operation };
  }

  it("shows an interrupted trashing's progress, and stops it when the folder is restored meanwhile", async () => {
    const { top, ids, operation } = await interruptedTrashing("Garden");
    // Two batches of at most 2 files committed before the crash; the rest is still live.
    const partial = await services.prisma.bulkOperation.findUniqueOrThrow({ where: { id: operation.id } });
    expect(partial.finishedAt).toBeNull();
    expect(partial.done).toBeGreaterThanOrEqual(2);
    expect(partial.done).toBeLessThanOrEqual(4);
    expect(await liveFiles(ids)).toBe(7 - partial.done);
    const page = await (await lars.client.get("/trash")).text();
    expect(page).toContain(`Moving “Garden” to the trash: ${partial.done} of 7 files`);
    expect(page).toMatch(/<meta http-equiv="refresh"/i);

    // Restored before the job carried on: everything is back, and the job then trashes nothing.
    await restoreItem(services, actor(), "folder", top.id);
    expect(await liveFiles(ids)).toBe(7);
    await runBulkOperation(services, operation.id, { batchSize: 2 });
    expect(await services.prisma.bulkOperation.findUnique({ where: { id: operation.id } })).toBeNull();
    expect(await liveFiles(ids)).toBe(7);
    expect(await services.prisma.folder.count({ where: { id: top.id, trashedAt: null } })).toBe(1);
  });

  it("finishes an unfinished trashing before emptying the trash, so nothing is taken for a stray", async () => {
    const { top, ids } = await interruptedTrashing("Attic");
    await emptyTrash(services, actor(), { ...SYSTEM_ACTOR, actorId: lars.id });
    // Without that, the files not trashed yet would have been moved to My files.
    expect(await services.prisma.file.count({ where: { id: { in: ids } } })).toBe(0);
    expect(await services.prisma.bulkOperation.count({ where: { ownerId: lars.id, kind: "trash-folder" } })).toBe(0);
    expect(await services.prisma.folder.findUnique({ where: { id: top.id } })).toBeNull();
  });
});
