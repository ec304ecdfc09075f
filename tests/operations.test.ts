import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { SYSTEM_ACTOR } from "~/domain/audit/audit.server";
import { addFile } from "~/domain/files/files.server";
import { createFolder, getRootFolder } from "~/domain/files/folders.server";
import { copyItem } from "~/domain/files/copy.server";
import { moveItem, renameItem } from "~/domain/files/rename-move.server";
import { updateSettings } from "~/domain/admin/settings.server";
import { deleteForever, emptyTrash, purgeExpiredTrash } from "~/domain/files/trash-purge.server";
import { listTrash, restoreItem, trashItem } from "~/domain/files/trash.server";
import { addFileWithPolicy, listVersions, restoreVersion, versionDownloadReply } from "~/domain/files/versions.server";
import { fileResponse } from "~/route-helpers/file-response.server";
import { startJobs } from "~/domain/jobs/jobs.server";
import { contentIndexingSettled } from "~/domain/search/content-index.server";
import type { Services } from "~/services/index.server";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, inject } from "vitest";
import { loadConfig } from "~/config.server";
import { closeServices, createServices } from "~/services/index.server";
import { createLogger } from "~/services/logger.server";
import { startTestApp, type DriverSet, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { createTestDatabase } from "./support/database";
import { expectPayloadsMatchSchemas } from "./support/event-payloads";

const DRIVER_SETS: Array<{ label: string; drivers: DriverSet }> = [
  { label: "embedded defaults (local disk, memory)", drivers: { storage: "local", cache: "memory" } },
  { label: "production drivers (S3, Redis)", drivers: { storage: "s3", cache: "redis" } },
];

type Actor = { id: string; role: "USER" | "ADMIN" };

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

async function readObject(services: Services, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await services.storage.get(key)) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function objectKeys(services: Services): Promise<Set<string>> {
  const keys = new Set<string>();
  for await (const object of services.storage.list()) keys.add(object.key);
  return keys;
}

async function putFile(services: Services, owner: Actor, folderId: string, name: string, bytes: Buffer | string = randomBytes(1000)) {
  const data = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
  const storageKey = randomBytes(16).toString("hex");
  await services.storage.put(storageKey, Readable.from([data]), { size: data.length });
  return addFile(services, {
    ownerId: owner.id,
    folderId,
    name,
    size: data.length,
    mimeType: "application/octet-stream",
    storageKey,
    sha256: sha256(data),
  });
}

async function mkdir(services: Services, owner: Actor, parentId: string, name: string) {
  return createFolder(services, owner, parentId, name);
}

async function searchNames(services: Services, owner: Actor, query: string): Promise<string[]> {
  return (await services.search.search(owner.id, query, { limit: 100 })).hits.map((hit) => hit.name).sort();
}

/** The real services with the chosen drivers on a database of their own (no HTTP server). */
async function startServices(drivers: DriverSet): Promise<Services> {
  const provided = inject("services");
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-ops-"));
  const env: Record<string, string> = {
    NODE_ENV: "production",
    DATA_DIR: dataDir,
    DATABASE_URL: (await createTestDatabase()).url,
    LOG_LEVEL: "error",
    SESSION_SECRET: "test-secret-that-is-at-least-32-characters-long",
    ...(drivers.storage === "s3"
      ? {
          S3_ENDPOINT: provided.s3.endpoint,
          S3_ACCESS_KEY: provided.s3.accessKey,
          S3_SECRET_KEY: provided.s3.secretKey,
          S3_REGION: provided.s3.region,
          S3_BUCKET: `coffer-ops-${randomBytes(4).toString("hex")}`,
          S3_PART_SIZE: "5MiB",
        }
      : {}),
    ...(drivers.cache === "redis" ? { REDIS_URL: provided.redisUrl } : {}),
  };
  const services = await createServices(loadConfig(env), createLogger("error"));
  afterAll(async () => {
    await closeServices(services);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return services;
}

async function createUser(services: Services, email: string): Promise<Actor> {
  const user = await services.prisma.user.create({ data: { email, name: email.split("@")[0], passwordHash: "x" } });
  await getRootFolder(services, user.id);
  return { id: user.id, role: "USER" };
}

describe.each(DRIVER_SETS)("file operations, trash and versions with $label", ({ drivers }) => {
  let services: Services;
  let alice: Actor;
  let mallory: Actor;
  let aliceRoot: string;

  beforeAll(async () => {
    services = await startServices(drivers);
    alice = await createUser(services, "alice@example.com");
    mallory = await createUser(services, "mallory@example.com");
    aliceRoot = (await getRootFolder(services, alice.id)).id;
  });

  describe("rename", () => {
    it("renames files and folders, keeps the search index current and records activity", async () => {
      const folder = await mkdir(services, alice, aliceRoot, "Drafts");
      const file = await putFile(services, alice, folder.id, "zanzibar-plan.txt");
      await renameItem(services, alice, "file", file.id, "Quokka budget.txt");
      await renameItem(services, alice, "folder", folder.id, "Final");
      expect((await services.prisma.file.findUniqueOrThrow({ where: { id: file.id } })).name).toBe("Quokka budget.txt");
      expect((await services.prisma.folder.findUniqueOrThrow({ where: { id: folder.id } })).nameKey).toBe("final");
      expect(await searchNames(services, alice, "quokka")).toEqual(["Quokka budget.txt"]);
      expect(await searchNames(services, alice, "zanzibar")).toEqual([]);
      const actions = await services.prisma.activity.findMany({ where: { subjectId: { in: [file.id, folder.id] } } });
      expect(actions.map((a) => a.action).sort()).toEqual(["file.renamed", "folder.created", "folder.renamed"]);
      expect(actions.find((a) => a.action === "file.renamed")!.details).toMatchObject({
        from: "zanzibar-plan.txt",
        to: "Quokka budget.txt",
      });
    });

    it.each([
      ["a/b", 400, "cannot contain"],
      ["..", 400, 'cannot be "." or ".."'],
      ["   ", 400, "cannot be empty"],
      ["x".repeat(256), 400, "too long"],
      ["bad\u0007", 400, "control characters"],
    ])("refuses the name %j", async (name, status, message) => {
      const file = await putFile(services, alice, aliceRoot, `bad-name-target-${randomBytes(3).toString("hex")}.txt`);
      await expect(renameItem(services, alice, "file", file.id, name)).rejects.toMatchObject({
        status,
        message: expect.stringContaining(message),
      });
    });

    it("applies each conflict policy", async () => {
      const folder = await mkdir(services, alice, aliceRoot, "Conflicts");
      const taken = await putFile(services, alice, folder.id, "report.pdf", "old report");
      const other = await putFile(services, alice, folder.id, "draft.pdf", "new report");
      await expect(renameItem(services, alice, "file", other.id, "REPORT.pdf", "cancel")).rejects.toMatchObject({
        status: 409,
        message: expect.stringContaining("“report.pdf” already exists"),
      });
      const kept = await renameItem(services, alice, "file", other.id, "report.pdf", "keep-both");
      expect(kept.name).toBe("report (1).pdf");
      const replaced = await renameItem(services, alice, "file", other.id, "report.pdf", "replace");
      expect(replaced).toMatchObject({ id: taken.id, replaced: true });
      const survivor = await services.prisma.file.findUniqueOrThrow({ where: { id: taken.id } });
      expect((await readObject(services, survivor.storageKey)).toString()).toBe("new report");
      expect(await services.prisma.file.findUnique({ where: { id: other.id } })).toBeNull();
      const { versions } = await listVersions(services, alice, taken.id);
      expect(versions).toHaveLength(1);
      expect((await readObject(services, versions[0].storageKey)).toString()).toBe("old report");
      expect(await searchNames(services, alice, "report")).toContain("report.pdf");
      expect(await searchNames(services, alice, "report")).not.toContain("report (1).pdf");
      // A case-only rename of the same item is not a conflict.
      await renameItem(services, alice, "file", taken.id, "REPORT.pdf", "cancel");
      // Folders never replace.
      const sub = await mkdir(services, alice, folder.id, "sub");
      await expect(renameItem(services, alice, "folder", sub.id, "report.pdf", "replace")).rejects.toMatchObject({
        status: 400,
        message: expect.stringContaining("Folders cannot replace"),
      });
      // A file cannot replace a folder.
      await expect(renameItem(services, alice, "file", taken.id, "sub", "replace")).rejects.toMatchObject({ status: 409 });
    });
  });

  describe("move", () => {
    it("moves files and folders, refusing a folder into itself or its own subfolder", async () => {
      const a = await mkdir(services, alice, aliceRoot, "MoveA");
      const b = await mkdir(services, alice, a.id, "MoveB");
      const c = await mkdir(services, alice, b.id, "MoveC");
      const target = await mkdir(services, alice, aliceRoot, "MoveTarget");
      await expect(moveItem(services, alice, "folder", a.id, a.id)).rejects.toMatchObject({
        status: 400,
        message: expect.stringContaining("cannot be moved into itself"),
      });
      await expect(moveItem(services, alice, "folder", a.id, c.id)).rejects.toMatchObject({
        status: 400,
        message: expect.stringContaining("its own subfolders"),
      });
      await moveItem(services, alice, "folder", b.id, target.id);
      expect((await services.prisma.folder.findUniqueOrThrow({ where: { id: b.id } })).parentId).toBe(target.id);
      const file = await putFile(services, alice, a.id, "moving.txt");
      await putFile(services, alice, target.id, "moving.txt");
      await expect(moveItem(services, alice, "file", file.id, target.id, "cancel")).rejects.toMatchObject({ status: 409 });
      const moved = await moveItem(services, alice, "file", file.id, target.id, "keep-both");
      expect(moved.name).toBe("moving (1).txt");
      const hit = (await services.search.search(alice.id, "moving", { limit: 10 })).hits.find((h) => h.id === file.id);
      expect(hit?.folderId).toBe(target.id);
      expect(await services.prisma.activity.count({ where: { action: "file.moved", subjectId: file.id } })).toBe(1);
    });

    it("needs a writable destination and notifies both folders", async () => {
      const malloryRoot = await getRootFolder(services, mallory.id);
      const file = await putFile(services, alice, aliceRoot, "stay-home.txt");
      await expect(moveItem(services, alice, "file", file.id, malloryRoot.id)).rejects.toMatchObject({ status: 404 });
      const source = await mkdir(services, alice, aliceRoot, "NotifySource");
      const dest = await mkdir(services, alice, aliceRoot, "NotifyDest");
      const f = await putFile(services, alice, source.id, "n.txt");
      const spy = vi.spyOn(services.notifier, "toUser");
      await moveItem(services, alice, "file", f.id, dest.id);
      const folders = spy.mock.calls.map(([, event]) => (event as { folderId?: string }).folderId);
      spy.mockRestore();
      expect(folders).toEqual(expect.arrayContaining([source.id, dest.id]));
    });
  });

  describe("copy", () => {
    it("copies a file server-side to a new key with the same bytes", async () => {
      const bytes = randomBytes(300_000);
      const file = await putFile(services, alice, aliceRoot, "copy-me.bin", bytes);
      const dest = await mkdir(services, alice, aliceRoot, "CopyDest");
      const copySpy = vi.spyOn(services.storage, "copy");
      const getSpy = vi.spyOn(services.storage, "get");
      const copy = await copyItem(services, alice, "file", file.id, dest.id, "cancel");
      expect(copySpy).toHaveBeenCalledTimes(1);
      expect(getSpy).not.toHaveBeenCalled();
      copySpy.mockRestore();
      getSpy.mockRestore();
      const stored = await services.prisma.file.findUniqueOrThrow({ where: { id: copy.id } });
      expect(stored.storageKey).not.toBe(file.storageKey);
      expect(stored.folderId).toBe(dest.id);
      expect(sha256(await readObject(services, stored.storageKey))).toBe(sha256(bytes));
      // Copy next to itself keeps both.
      const twin = await copyItem(services, alice, "file", file.id, aliceRoot, "keep-both");
      expect(twin.name).toBe("copy-me (1).bin");
      await expect(copyItem(services, alice, "file", file.id, aliceRoot, "cancel")).rejects.toMatchObject({ status: 409 });
      expect(await services.prisma.activity.count({ where: { action: "file.copied", subjectId: file.id } })).toBe(2);
    });

    it("copies a folder subtree with new ids and keys, skipping trashed items", async () => {
      const top = await mkdir(services, alice, aliceRoot, "Tree");
      const inner = await mkdir(services, alice, top.id, "Inner");
      const f1 = await putFile(services, alice, top.id, "one.txt", "one");
      const f2 = await putFile(services, alice, inner.id, "two.txt", "two");
      const gone = await putFile(services, alice, inner.id, "gone.txt", "gone");
      await trashItem(services, alice, "file", gone.id);
      const copy = await copyItem(services, alice, "folder", top.id, aliceRoot, "keep-both");
      expect(copy.name).toBe("Tree (1)");
      expect(copy.id).not.toBe(top.id);
      const copiedInner = await services.prisma.folder.findFirstOrThrow({ where: { parentId: copy.id } });
      expect(copiedInner.name).toBe("Inner");
      const copiedFiles = await services.prisma.file.findMany({ where: { folderId: { in: [copy.id, copiedInner.id] } } });
      expect(copiedFiles.map((f) => f.name).sort()).toEqual(["one.txt", "two.txt"]);
      for (const f of copiedFiles) {
        const original = f.name === "one.txt" ? f1 : f2;
        expect(f.id).not.toBe(original.id);
        expect(f.storageKey).not.toBe(original.storageKey);
        expect((await readObject(services, f.storageKey)).toString()).toBe(f.name === "one.txt" ? "one" : "two");
      }
      await expect(copyItem(services, alice, "folder", top.id, inner.id, "keep-both")).rejects.toMatchObject({ status: 400 });
      await expect(copyItem(services, alice, "folder", top.id, aliceRoot, "replace")).rejects.toMatchObject({ status: 400 });
      expect((await services.search.search(alice.id, "Tree (1)", { limit: 10 })).hits.some((h) => h.id === copy.id)).toBe(true);
    });
  });

  describe("copy and quota", () => {
    it("refuses a copy that would exceed the owner's quota, leaving no object behind", async () => {
      const owner = await createUser(services, `quota-${randomBytes(3).toString("hex")}@example.com`);
      const root = (await getRootFolder(services, owner.id)).id;
      const file = await putFile(services, owner, root, "big.bin", randomBytes(6000));
      await services.prisma.user.update({ where: { id: owner.id }, data: { quotaBytes: 10_000n } });
      const before = await objectKeys(services);
      await expect(copyItem(services, owner, "file", file.id, root, "keep-both")).rejects.toMatchObject({
        status: 413,
        message: expect.stringContaining("Not enough room"),
      });
      const folder = await mkdir(services, owner, root, "Q");
      await moveItem(services, owner, "file", file.id, folder.id);
      await expect(copyItem(services, owner, "folder", folder.id, root, "keep-both")).rejects.toMatchObject({ status: 413 });
      expect(await objectKeys(services)).toEqual(before);
      expect(await services.prisma.file.count({ where: { ownerId: owner.id } })).toBe(1);
    });
  });

  describe("versions", () => {
    it("replace keeps the old content as a version, restores a version and honours versionsKept", async () => {
      const folder = await mkdir(services, alice, aliceRoot, "Versions");
      const file = await putFile(services, alice, folder.id, "doc.txt", "v1");
      const upload = async (text: string) => {
        const key = randomBytes(16).toString("hex");
        await services.storage.put(key, Readable.from([Buffer.from(text)]));
        return addFileWithPolicy(
          services,
          {
            ownerId: alice.id,
            folderId: folder.id,
            name: "doc.txt",
            size: text.length,
            mimeType: "text/plain",
            storageKey: key,
            sha256: null,
          },
          "replace",
        );
      };
      await upload("v2");
      const after = await upload("v3");
      expect(after.id).toBe(file.id);
      let { versions } = await listVersions(services, alice, file.id);
      expect(await Promise.all(versions.map(async (v) => (await readObject(services, v.storageKey)).toString()))).toEqual(["v2", "v1"]);

      const v1 = versions.find((v) => v.storageKey === file.storageKey)!;
      const response = fileResponse(await versionDownloadReply(services, alice, v1.id, new Request("http://x/")));
      expect(response.headers.get("content-disposition")).toContain('filename="doc.txt"');
      expect(await response.text()).toBe("v1");
      const ranged = fileResponse(
        await versionDownloadReply(services, alice, v1.id, new Request("http://x/", { headers: { range: "bytes=1-1" } })),
      );
      expect(ranged.status).toBe(206);
      expect(await ranged.text()).toBe("1");

      const restored = await restoreVersion(services, alice, v1.id);
      expect((await readObject(services, restored.storageKey)).toString()).toBe("v1");
      ({ versions } = await listVersions(services, alice, file.id));
      expect(await Promise.all(versions.map(async (v) => (await readObject(services, v.storageKey)).toString()))).toEqual(["v3", "v2"]);
      expect(await services.prisma.activity.count({ where: { action: "file.version_restored", subjectId: file.id } })).toBe(1);

      await updateSettings(services, { versionsKept: 1 });
      try {
        const oldKeys = versions.map((v) => v.storageKey);
        await upload("v4");
        ({ versions } = await listVersions(services, alice, file.id));
        expect(versions).toHaveLength(1);
        expect((await readObject(services, versions[0].storageKey)).toString()).toBe("v1");
        const keys = await objectKeys(services);
        for (const key of oldKeys) expect(keys.has(key)).toBe(false);
      } finally {
        await updateSettings(services, { versionsKept: 10 });
      }
      await expect(restoreVersion(services, mallory, versions[0].id)).rejects.toMatchObject({ status: 404 });
      await expect(versionDownloadReply(services, mallory, versions[0].id, new Request("http://x/"))).rejects.toMatchObject({
        status: 404,
      });
      await expect(restoreVersion(services, alice, "no-such-version")).rejects.toMatchObject({ status: 404 });
    });

    it("cancel refuses an upload whose name is taken", async () => {
      const key = randomBytes(16).toString("hex");
      await putFile(services, alice, aliceRoot, "unique-upload.txt");
      await expect(
        addFileWithPolicy(
          services,
          {
            ownerId: alice.id,
            folderId: aliceRoot,
            name: "unique-upload.txt",
            size: 1,
            mimeType: "text/plain",
            storageKey: key,
            sha256: null,
          },
          "cancel",
        ),
      ).rejects.toMatchObject({ status: 409 });
    });
  });

  describe("trash", () => {
    it("trashes a subtree, lists only its top, and restores it to its place", async () => {
      const parent = await mkdir(services, alice, aliceRoot, "Wombat Projects");
      const child = await mkdir(services, alice, parent.id, "Wombat Child");
      const file = await putFile(services, alice, child.id, "wombat-notes.txt");
      // Its content indexing writes the search index too: let it end before the trash is checked.
      await contentIndexingSettled();
      await trashItem(services, alice, "folder", parent.id);
      const rows = await services.prisma.folder.findMany({ where: { id: { in: [parent.id, child.id] } } });
      expect(rows.every((r) => r.trashedAt && r.trashRootId === parent.id)).toBe(true);
      expect((await services.prisma.file.findUniqueOrThrow({ where: { id: file.id } })).trashRootId).toBe(parent.id);
      expect(await searchNames(services, alice, "wombat")).toEqual([]);
      const trash = await listTrash(services, alice);
      expect(trash.filter((t) => t.name.startsWith("Wombat")).map((t) => t.name)).toEqual(["Wombat Projects"]);
      expect(trash.find((t) => t.id === parent.id)).toMatchObject({ kind: "folder", size: 1000, originalFolder: { isRoot: true } });
      // The name is free again while it is in the trash.
      const squatter = await mkdir(services, alice, aliceRoot, "Wombat Projects");
      const restored = await restoreItem(services, alice, "folder", parent.id);
      expect(restored.name).toBe("Wombat Projects (1)");
      expect(await services.prisma.folder.count({ where: { id: { in: [parent.id, child.id] }, trashedAt: null } })).toBe(2);
      expect(await searchNames(services, alice, "wombat")).toEqual([
        "Wombat Child",
        "Wombat Projects",
        "Wombat Projects (1)",
        "wombat-notes.txt",
      ]);
      expect(
        await services.prisma.activity.count({ where: { subjectId: parent.id, action: { in: ["folder.trashed", "folder.restored"] } } }),
      ).toBe(2);
      void squatter;
    });

    it("restores to My files when the original folder is gone", async () => {
      const parent = await mkdir(services, alice, aliceRoot, "Ephemeral");
      const file = await putFile(services, alice, parent.id, "orphan.txt");
      await trashItem(services, alice, "file", file.id);
      await trashItem(services, alice, "folder", parent.id);
      const restored = await restoreItem(services, alice, "file", file.id);
      expect(restored).toMatchObject({ parentId: aliceRoot, movedToRoot: true });
      expect((await services.prisma.file.findUniqueOrThrow({ where: { id: file.id } })).folderId).toBe(aliceRoot);
      await deleteForever(services, alice, "folder", parent.id, SYSTEM_ACTOR);
      await expect(restoreItem(services, alice, "folder", parent.id)).rejects.toMatchObject({ status: 404 });
    });

    it("deletes forever every object of the subtree, versions included, but keeps separately trashed items", async () => {
      const top = await mkdir(services, alice, aliceRoot, "Doomed");
      const keep = await mkdir(services, alice, top.id, "Keepsake");
      const kept = await putFile(services, alice, keep.id, "keep.txt", "keep me");
      const loose = await putFile(services, alice, top.id, "loose.txt", "loose");
      const doomed = await putFile(services, alice, top.id, "doomed.txt", "d1");
      const key2 = randomBytes(16).toString("hex");
      await services.storage.put(key2, Readable.from([Buffer.from("d2")]));
      await addFileWithPolicy(
        services,
        { ownerId: alice.id, folderId: top.id, name: "doomed.txt", size: 2, mimeType: "text/plain", storageKey: key2, sha256: null },
        "replace",
      );
      const thumbKey = randomBytes(16).toString("hex");
      await services.storage.put(thumbKey, Readable.from([Buffer.from("thumb")]));
      await services.prisma.file.update({ where: { id: doomed.id }, data: { thumbnailKey: thumbKey } });
      await trashItem(services, alice, "folder", keep.id);
      await trashItem(services, alice, "file", loose.id);
      await trashItem(services, alice, "folder", top.id);
      const before = await objectKeys(services);
      const doomedKeys = [doomed.storageKey, key2, thumbKey];
      for (const key of doomedKeys) expect(before.has(key)).toBe(true);

      const result = await deleteForever(services, alice, "folder", top.id, SYSTEM_ACTOR);
      expect(result.rescued).toBe(2);
      const after = await objectKeys(services);
      for (const key of doomedKeys) expect(after.has(key)).toBe(false);
      expect(after.has(kept.storageKey)).toBe(true);
      expect(after.has(loose.storageKey)).toBe(true);
      expect([...before].filter((k) => !after.has(k)).sort()).toEqual([...doomedKeys].sort());
      expect(await services.prisma.folder.findUnique({ where: { id: top.id } })).toBeNull();
      expect(await services.prisma.fileVersion.count({ where: { fileId: doomed.id } })).toBe(0);
      // The separately trashed items survive, in the trash, and restore to My files.
      const trash = await listTrash(services, alice);
      expect(trash.map((t) => t.id)).toEqual(expect.arrayContaining([keep.id, loose.id]));
      await restoreItem(services, alice, "folder", keep.id);
      expect((await services.prisma.folder.findUniqueOrThrow({ where: { id: keep.id } })).parentId).toBe(aliceRoot);
      expect((await services.prisma.file.findUniqueOrThrow({ where: { id: kept.id } })).trashedAt).toBeNull();
      expect(await services.prisma.activity.count({ where: { action: "folder.deleted", subjectId: top.id } })).toBe(1);
    });

    it("refuses to delete forever or restore what is not in the trash, and other people's items", async () => {
      const file = await putFile(services, alice, aliceRoot, "live.txt");
      await expect(deleteForever(services, alice, "file", file.id, SYSTEM_ACTOR)).rejects.toMatchObject({ status: 404 });
      await trashItem(services, alice, "file", file.id);
      await expect(deleteForever(services, mallory, "file", file.id, SYSTEM_ACTOR)).rejects.toMatchObject({ status: 404 });
      await expect(restoreItem(services, mallory, "file", file.id)).rejects.toMatchObject({ status: 404 });
      await expect(trashItem(services, alice, "file", file.id)).rejects.toMatchObject({ status: 404 });
      await restoreItem(services, alice, "file", file.id);
    });

    it("empties the trash and purges items past the retention period", async () => {
      const a = await putFile(services, alice, aliceRoot, "purge-a.txt");
      const b = await putFile(services, alice, aliceRoot, "purge-b.txt");
      const m = await putFile(services, mallory, (await getRootFolder(services, mallory.id)).id, "mallory.txt");
      await trashItem(services, alice, "file", a.id);
      await trashItem(services, mallory, "file", m.id);
      const now = new Date();
      expect((await purgeExpiredTrash(services, now)).items).toBe(0);
      expect(await services.prisma.file.count({ where: { id: { in: [a.id, m.id] } } })).toBe(2);
      const later = new Date(now.getTime() + 31 * 24 * 60 * 60 * 1000);
      const purged = await purgeExpiredTrash(services, later);
      expect(purged.items).toBeGreaterThanOrEqual(2);
      expect(await services.prisma.file.count({ where: { id: { in: [a.id, m.id] } } })).toBe(0);
      const keys = await objectKeys(services);
      expect(keys.has(a.storageKey)).toBe(false);
      expect(keys.has(m.storageKey)).toBe(false);

      await trashItem(services, alice, "file", b.id);
      const emptied = await emptyTrash(services, alice, SYSTEM_ACTOR);
      expect(emptied.items).toBeGreaterThanOrEqual(1);
      expect(await listTrash(services, alice)).toEqual([]);
      expect((await objectKeys(services)).has(b.storageKey)).toBe(false);
      expect(await services.prisma.activity.count({ where: { action: "trash.emptied", userId: alice.id } })).toBe(1);
    });

    it("the periodic job purges expired trash when its queue runs", async () => {
      const file = await putFile(services, alice, aliceRoot, "job.txt");
      await trashItem(services, alice, "file", file.id);
      await services.prisma.file.update({ where: { id: file.id }, data: { trashedAt: new Date(Date.now() - 40 * 24 * 60 * 60 * 1000) } });
      const stop = startJobs(services, { pollingIntervalSeconds: 0.5 });
      try {
        await stop.ready;
        expect(await services.prisma.file.count({ where: { id: file.id } })).toBe(1);
        await services.jobs!.send("purge-expired-trash");
        await vi.waitFor(async () => expect(await services.prisma.file.count({ where: { id: file.id } })).toBe(0), { timeout: 10_000 });
      } finally {
        await stop();
      }
    });
  });

  describe("authorization", () => {
    it("answers 404 for other people's items on every action", async () => {
      const file = await putFile(services, alice, aliceRoot, "private.txt");
      const folder = await mkdir(services, alice, aliceRoot, "Private");
      const malloryRoot = (await getRootFolder(services, mallory.id)).id;
      const attempts = [
        () => renameItem(services, mallory, "file", file.id, "pwned.txt"),
        () => renameItem(services, mallory, "folder", folder.id, "pwned"),
        () => moveItem(services, mallory, "file", file.id, malloryRoot),
        () => moveItem(services, mallory, "folder", folder.id, malloryRoot),
        () => copyItem(services, mallory, "file", file.id, malloryRoot),
        () => copyItem(services, mallory, "folder", folder.id, malloryRoot),
        () => trashItem(services, mallory, "file", file.id),
        () => trashItem(services, mallory, "folder", folder.id),
        () => listVersions(services, mallory, file.id),
        () => renameItem(services, alice, "file", "missing-id", "x"),
        () => moveItem(services, alice, "file", file.id, "missing-folder"),
      ];
      for (const attempt of attempts) await expect(attempt()).rejects.toMatchObject({ status: 404 });
      expect(await services.prisma.file.findUniqueOrThrow({ where: { id: file.id } })).toMatchObject({
        name: "private.txt",
        trashedAt: null,
      });
    });

    it("follows share grants: READ may look but not change, WRITE may change; the trash stays the owner's", async () => {
      const team = await mkdir(services, alice, aliceRoot, "Team");
      const doc = await putFile(services, alice, team.id, "team-doc.txt");
      const malloryRoot = (await getRootFolder(services, mallory.id)).id;
      const own = await putFile(services, mallory, malloryRoot, "mallory-own.txt");
      const share = await services.prisma.userShare.create({
        data: { ownerId: alice.id, granteeId: mallory.id, folderId: team.id, permission: "READ" },
      });
      await expect(renameItem(services, mallory, "file", doc.id, "x.txt")).rejects.toMatchObject({ status: 403 });
      await expect(trashItem(services, mallory, "file", doc.id)).rejects.toMatchObject({ status: 403 });
      await expect(moveItem(services, mallory, "file", own.id, team.id)).rejects.toMatchObject({ status: 403 });
      expect((await listVersions(services, mallory, doc.id)).file.id).toBe(doc.id);
      await services.prisma.userShare.update({ where: { id: share.id }, data: { permission: "WRITE" } });
      await renameItem(services, mallory, "file", doc.id, "team-doc-v2.txt");
      // Moving one's own file into someone else's folder would change its owner: refused.
      await expect(moveItem(services, mallory, "file", own.id, team.id)).rejects.toMatchObject({ status: 400 });
      await trashItem(services, mallory, "file", doc.id);
      expect((await listTrash(services, alice)).some((t) => t.id === doc.id)).toBe(true);
      expect((await listTrash(services, mallory)).some((t) => t.id === doc.id)).toBe(false);
      await expect(restoreItem(services, mallory, "file", doc.id)).rejects.toMatchObject({ status: 404 });
      await restoreItem(services, alice, "file", doc.id);
      await services.prisma.userShare.delete({ where: { id: share.id } });
    });

    it("refuses to rename, move or trash the root folder", async () => {
      await expect(renameItem(services, alice, "folder", aliceRoot, "x")).rejects.toMatchObject({ status: 400 });
      await expect(trashItem(services, alice, "folder", aliceRoot)).rejects.toMatchObject({ status: 400 });
    });
  });

  it("wrote every event with the payload its kind's schema describes (docs/events.md)", async () => {
    const kinds = await expectPayloadsMatchSchemas(services.prisma);
    console.log(`payload schemas held for ${kinds.join(", ")}`);
    expect(kinds).toEqual(expect.arrayContaining(["file.copied", "file.moved", "file.trashed", "file.restored", "file.deleted"]));
  });
});

describe.each(DRIVER_SETS)("file manager pages without JavaScript with $label", ({ drivers }) => {
  let app: TestApp;
  let services: Services;
  let alice: TestClient;
  let mallory: TestClient;
  let aliceActor: Actor;
  let aliceRoot: string;

  beforeAll(async () => {
    app = await startTestApp(drivers);
    services = app.services;
    await new TestClient(app.url).register("Root Admin", "root@example.com");
    alice = new TestClient(app.url);
    mallory = new TestClient(app.url);
    await alice.register("Alice", "alice@example.com");
    await mallory.register("Mallory", "mallory@example.com");
    const user = await services.prisma.user.findUniqueOrThrow({ where: { email: "alice@example.com" } });
    aliceActor = { id: user.id, role: "USER" };
    aliceRoot = (await getRootFolder(services, user.id)).id;
  });

  const location = (response: Response) => response.headers.get("location") ?? "";

  it("shows the details page with properties, versions, sharing and the action forms", async () => {
    const file = await putFile(services, aliceActor, aliceRoot, "Details Page.txt", "hello details");
    const page = await alice.get(`/details/file/${file.id}`);
    expect(page.status).toBe(200);
    // Info is the default tab; versions and sharing are tabs of their own (?tab=).
    const versionsTab = await (await alice.get(`/details/file/${file.id}?tab=versions`)).text();
    const sharingTab = await (await alice.get(`/details/file/${file.id}?tab=sharing`)).text();
    const html = await page.text();
    for (const text of ["Details Page.txt", "SHA-256", file.sha256!, `/details/file/${file.id}?tab=versions`]) {
      expect(html).toContain(text);
    }
    expect(html).not.toContain("No earlier versions.");
    expect(versionsTab).toContain("No earlier versions.");
    for (const text of ["This file is not shared.", "Manage sharing", `/shares?item=file:${file.id}`]) {
      expect(sharingTab).toContain(text);
    }
    expect(html).toContain('name="intent" value="rename"');
    expect(html).toContain('name="intent" value="move"');
    expect(html).toContain('name="intent" value="copy"');
    expect(html).toContain('name="intent" value="trash"');
    expect(html).toMatch(/<label[^>]*for="rename-name"/);
    expect(html).toContain('aria-label="Location"');
    const folderPage = await alice.get(`/details/folder/${aliceRoot}`);
    expect(folderPage.status).toBe(200);
  });

  it("renames through a plain form post, with errors shown on the page", async () => {
    const file = await putFile(services, aliceActor, aliceRoot, "plain-form.txt");
    await putFile(services, aliceActor, aliceRoot, "taken.txt");
    const ok = await alice.postForm(`/details/file/${file.id}`, { intent: "rename", name: "Renamed by form.txt", policy: "cancel" });
    expect(ok.status).toBe(302);
    expect(location(ok)).toBe(`/details/file/${file.id}?done=renamed`);
    const after = await (await alice.get(location(ok))).text();
    expect(after).toContain("Renamed.");
    expect(after).toContain("Renamed by form.txt");
    const bad = await alice.postForm(`/details/file/${file.id}`, { intent: "rename", name: "a/b", policy: "cancel" });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("cannot contain");
    const conflict = await alice.postForm(`/details/file/${file.id}`, { intent: "rename", name: "TAKEN.txt", policy: "cancel" });
    expect(conflict.status).toBe(409);
    const conflictPage = await conflict.text();
    expect(conflictPage).toContain("“taken.txt” already exists");
    // The page comes back with what was typed and chosen, so nothing is lost without JavaScript.
    expect(conflictPage).toMatch(/id="rename-name"[^>]*value="TAKEN.txt"|value="TAKEN.txt"[^>]*id="rename-name"/);
    const keepBoth = await alice.postForm(`/details/file/${file.id}`, { intent: "rename", name: "taken.txt", policy: "keep-both" });
    expect(keepBoth.status).toBe(302);
    expect((await services.prisma.file.findUniqueOrThrow({ where: { id: file.id } })).name).toBe("taken (1).txt");
    const badPolicy = await alice.postForm(`/details/file/${file.id}`, { intent: "rename", name: "x.txt", policy: "merge" });
    expect(badPolicy.status).toBe(400);
  });

  it("moves and copies through plain form posts, refusing a folder into its own subfolder", async () => {
    const outer = await createFolder(services, aliceActor, aliceRoot, "Outer");
    const inner = await createFolder(services, aliceActor, outer.id, "Inner");
    const file = await putFile(services, aliceActor, aliceRoot, "mover.txt", "move me");
    const details = await (await alice.get(`/details/file/${file.id}`)).text();
    expect(details).toContain(`value="${inner.id}"`);
    expect(details).toContain("Outer / Inner");
    const moved = await alice.postForm(`/details/file/${file.id}`, { intent: "move", destination: inner.id, policy: "cancel" });
    expect(moved.status).toBe(302);
    expect(location(moved)).toBe(`/details/file/${file.id}?done=moved`);
    expect((await services.prisma.file.findUniqueOrThrow({ where: { id: file.id } })).folderId).toBe(inner.id);
    const loop = await alice.postForm(`/details/folder/${outer.id}`, { intent: "move", destination: inner.id, policy: "cancel" });
    expect(loop.status).toBe(400);
    expect(await loop.text()).toContain("cannot be moved into one of its own subfolders");
    const folderPage = await (await alice.get(`/details/folder/${outer.id}`)).text();
    expect(folderPage).not.toContain(`value="${inner.id}"`);
    const noDestination = await alice.postForm(`/details/file/${file.id}`, { intent: "move", destination: "", policy: "cancel" });
    expect(noDestination.status).toBe(400);
    const copied = await alice.postForm(`/details/file/${file.id}`, { intent: "copy", destination: inner.id, policy: "keep-both" });
    expect(copied.status).toBe(302);
    const copyId = location(copied).match(/^\/details\/file\/([^?]+)\?done=copied$/)?.[1];
    expect(copyId).toBeTruthy();
    const copy = await services.prisma.file.findUniqueOrThrow({ where: { id: copyId! } });
    expect(copy.name).toBe("mover (1).txt");
    expect(copy.storageKey).not.toBe(file.storageKey);
    const download = await alice.get(`/download/${copy.id}`);
    expect(await download.text()).toBe("move me");
  });

  it("trashes, lists, restores, deletes forever and empties the trash through plain forms", async () => {
    const folder = await createFolder(services, aliceActor, aliceRoot, "Trash Me");
    const file = await putFile(services, aliceActor, folder.id, "inside.txt");
    const trashed = await alice.postForm(`/details/folder/${folder.id}`, { intent: "trash" });
    expect(trashed.status).toBe(302);
    expect(location(trashed)).toBe(`/trash?done=trashed&item=folder:${folder.id}`);
    const listing = await (await alice.get(location(trashed))).text();
    expect(listing).toContain("Moved “Trash Me” to the trash.");
    expect(listing).toContain("Trash Me");
    expect(listing).not.toContain("inside.txt");
    expect((await alice.get(`/details/folder/${folder.id}`)).status).toBe(404);
    expect((await alice.get(`/details/file/${file.id}`)).status).toBe(404);

    const restored = await alice.postForm("/trash", { intent: "restore", kind: "folder", id: folder.id });
    expect(restored.status).toBe(302);
    const restoredPage = await (await alice.get(location(restored))).text();
    expect(restoredPage).toContain("is back in");
    expect(restoredPage).toContain("The trash is empty.");
    expect((await services.prisma.file.findUniqueOrThrow({ where: { id: file.id } })).trashedAt).toBeNull();

    await alice.postForm(`/details/file/${file.id}`, { intent: "trash" });
    const objectsBefore = await objectKeys(services);
    expect(objectsBefore.has(file.storageKey)).toBe(true);
    // Delete forever asks first: a post without the confirmation field leads to the confirmation step.
    const unconfirmedDelete = await alice.postForm("/trash", { intent: "delete", kind: "file", id: file.id });
    expect(unconfirmedDelete.status).toBe(303);
    expect(location(unconfirmedDelete)).toBe(`/trash?confirm=delete&item=file:${file.id}`);
    expect((await objectKeys(services)).has(file.storageKey)).toBe(true);
    const deleteConfirmPage = await (await alice.get(location(unconfirmedDelete))).text();
    expect(deleteConfirmPage).toContain("forever?");
    expect(deleteConfirmPage).toContain("This cannot be undone.");
    expect(deleteConfirmPage).toMatch(/<input type="hidden" name="confirmed" value="yes"\/>/);
    const deleted = await alice.postForm("/trash", { intent: "delete", kind: "file", id: file.id, confirmed: "yes" });
    expect(deleted.status).toBe(302);
    expect(location(deleted)).toBe("/trash?done=deleted");
    expect((await objectKeys(services)).has(file.storageKey)).toBe(false);

    const another = await putFile(services, aliceActor, aliceRoot, "empty-me.txt");
    await alice.postForm(`/details/file/${another.id}`, { intent: "trash" });
    const unconfirmed = await alice.postForm("/trash", { intent: "empty" });
    expect(location(unconfirmed)).toBe("/trash?confirm=empty");
    expect(await services.prisma.file.count({ where: { id: another.id } })).toBe(1);
    const confirmPage = await (await alice.get("/trash?confirm=empty")).text();
    expect(confirmPage).toContain("Empty the trash?");
    expect(confirmPage).toContain('name="confirmed" value="yes"');
    const emptied = await alice.postForm("/trash", { intent: "empty", confirmed: "yes" });
    expect(location(emptied)).toBe("/trash?done=emptied");
    expect(await services.prisma.file.count({ where: { id: another.id } })).toBe(0);
    expect(await (await alice.get("/trash")).text()).toContain("The trash is empty.");
  });

  it("downloads and restores versions over HTTP", async () => {
    const file = await putFile(services, aliceActor, aliceRoot, "versioned.txt", "first");
    const key = randomBytes(16).toString("hex");
    await services.storage.put(key, Readable.from([Buffer.from("second")]));
    await addFileWithPolicy(
      services,
      {
        ownerId: aliceActor.id,
        folderId: aliceRoot,
        name: "versioned.txt",
        size: 6,
        mimeType: "text/plain",
        storageKey: key,
        sha256: null,
      },
      "replace",
    );
    const [version] = await services.prisma.fileVersion.findMany({ where: { fileId: file.id } });
    const page = await (await alice.get(`/details/file/${file.id}?tab=versions`)).text();
    expect(page).toContain(`/download/version/${version.id}`);
    const download = await alice.get(`/download/version/${version.id}`);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-disposition")).toContain('filename="versioned.txt"');
    expect(await download.text()).toBe("first");
    const partial = await alice.get(`/download/version/${version.id}`, { range: "bytes=0-1" });
    expect(partial.status).toBe(206);
    expect(await partial.text()).toBe("fi");
    const restored = await alice.postForm(`/details/file/${file.id}`, { intent: "restore-version", versionId: version.id });
    expect(location(restored)).toBe(`/details/file/${file.id}?tab=versions&done=version-restored`);
    expect(await (await alice.get(`/download/${file.id}`)).text()).toBe("first");
    expect((await mallory.get(`/download/version/${version.id}`)).status).toBe(404);
  });

  it("answers 404 to other users and unknown ids on every page and action, and sends anonymous visitors to login", async () => {
    const file = await putFile(services, aliceActor, aliceRoot, "alice-only.txt");
    const folder = await createFolder(services, aliceActor, aliceRoot, "Alice Only");
    const malloryUser = await services.prisma.user.findUniqueOrThrow({ where: { email: "mallory@example.com" } });
    const malloryRoot = (await getRootFolder(services, malloryUser.id)).id;
    expect((await mallory.get(`/details/file/${file.id}`)).status).toBe(404);
    expect((await mallory.get(`/details/folder/${folder.id}`)).status).toBe(404);
    expect((await alice.get(`/details/file/nope`)).status).toBe(404);
    expect((await alice.get(`/details/thing/${file.id}`)).status).toBe(404);
    for (const fields of <Array<Record<string, string>>>[
      { intent: "rename", name: "mine.txt" },
      { intent: "move", destination: malloryRoot },
      { intent: "copy", destination: malloryRoot },
      { intent: "trash" },
    ]) {
      const response = await mallory.postForm(`/details/file/${file.id}`, fields);
      expect(response.status).toBe(404);
      expect(await response.text()).not.toContain("alice-only.txt");
    }
    await alice.postForm(`/details/file/${file.id}`, { intent: "trash" });
    expect((await mallory.postForm("/trash", { intent: "restore", kind: "file", id: file.id })).status).toBe(404);
    expect((await mallory.postForm("/trash", { intent: "delete", kind: "file", id: file.id })).status).toBe(404);
    expect((await mallory.postForm("/trash", { intent: "delete", kind: "file", id: file.id, confirmed: "yes" })).status).toBe(404);
    // The confirmation step never names someone else's item.
    expect(await (await mallory.get(`/trash?confirm=delete&item=file:${file.id}`)).text()).not.toContain("alice-only.txt");
    expect(await (await mallory.get("/trash")).text()).not.toContain("alice-only.txt");
    expect((await alice.postForm("/trash", { intent: "restore", kind: "file", id: "missing" })).status).toBe(404);
    const anonymous = await fetch(`${app.url}/trash`, { redirect: "manual" });
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get("location")).toBe("/login?redirectTo=%2Ftrash");
    expect(await services.prisma.file.count({ where: { id: file.id } })).toBe(1);
  });

  it("links to the trash from the header", async () => {
    const html = await (await alice.get("/files")).text();
    expect(html).toMatch(/<a[^>]*href="\/trash"[^>]*>Trash<\/a>/);
  });
});
