import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { updateSettings } from "~/domain/admin/settings.server";
import { SYSTEM_ACTOR } from "~/domain/audit/audit.server";
import { storageUsage } from "~/domain/files/quota.server";
import { deleteForever } from "~/domain/files/trash-purge.server";
import { restoreItem, trashItem } from "~/domain/files/trash.server";
import { formatBytes } from "~/lib/format";
import { startTestApp, type DriverSet, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { openUploadForm } from "./support/people";
import { incompleteMultipartUploads } from "./support/s3";
import { createUpload, createUploadRequest, openPatch, patchUpload, tusHeaders } from "./support/tus";

const KiB = 1024;
const MiB = 1024 * KiB;
const PASSWORD = "correct horse battery staple";

type Person = { client: TestClient; id: string; actor: { id: string; role: "USER" | "ADMIN" } };

function multipart(client: TestClient, name: string, bytes: number, path: string) {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(randomBytes(bytes))]), name);
  return client.postMultipart(path, form);
}

/** The stored object keys starting with `prefix` (an upload id: its data, .info, .json, .part). */
async function objectsOf(app: TestApp, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of app.services.storage.list(prefix)) keys.push(object.key);
  return keys;
}

async function allObjects(app: TestApp): Promise<Set<string>> {
  const keys = new Set<string>();
  for await (const object of app.services.storage.list()) keys.add(object.key);
  return keys;
}

const idOf = (url: string) => url.split("/").pop()!;

describe.each<{ label: string; drivers: DriverSet }>([
  { label: "local disk", drivers: { storage: "local", cache: "memory" } },
  { label: "S3", drivers: { storage: "s3", cache: "redis" } },
])("quota holes around uploads ($label)", ({ drivers }) => {
  let app: TestApp;
  let emails = 0;

  beforeAll(async () => {
    app = await startTestApp(drivers);
    // Deleting erases at once here; the grace period before a purge is tests/lifecycle.test.ts's.
    await updateSettings(app.services, { deletedAccountRetentionDays: 0 });
    await new TestClient(app.url).register("Admin", "admin@example.com");
  });

  async function person(name: string, quotaBytes: number | null): Promise<Person> {
    const email = `person${++emails}@example.com`;
    const client = new TestClient(app.url);
    await client.register(name, email);
    const { id } = await app.services.prisma.user.update({
      where: { email },
      data: { quotaBytes: quotaBytes === null ? null : BigInt(quotaBytes) },
    });
    return { client, id, actor: { id, role: "USER" } };
  }

  async function folder(owner: Person, name: string): Promise<string> {
    const made = await owner.client.postForm("/files", { intent: "create-folder", name, open: "1" });
    return made.headers.get("location")!.split("/").pop()!;
  }

  const emailOf = async (who: Person) => (await app.services.prisma.user.findUniqueOrThrow({ where: { id: who.id } })).email;

  async function share(owner: Person, folderId: string, grantee: Person) {
    const granted = await owner.client.postForm("/shares", {
      intent: "share-user",
      item: `folder:${folderId}`,
      email: await emailOf(grantee),
      permission: "WRITE",
    });
    expect(granted.status).toBe(200);
  }

  describe("uploads created at the same moment", () => {
    it("tus: of many creations that together exceed the quota, exactly the ones that fit get in", async () => {
      const quinn = await person("Quinn", 1000 * KiB);
      const responses = await Promise.all(
        Array.from({ length: 12 }, (_, i) => createUploadRequest(app, quinn.client, { name: `part-${i}.bin`, size: 300 * KiB })),
      );
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(3);
      expect(statuses.filter((s) => s === 413)).toHaveLength(9);
      for (const refused of responses.filter((r) => r.status === 413)) {
        const text = await refused.text();
        expect(text).toMatch(/^Not enough room: only \d+(\.\d)? KiB of your storage is left\. Nothing was saved\.$/);
      }
      expect(await app.services.prisma.upload.count({ where: { ownerId: quinn.id } })).toBe(3);
      expect((await storageUsage(app.services, quinn.id)).usedBytes).toBe(900 * KiB);
    });

    it("tus uploads, no-JS form uploads, drop-link uploads and copies at the same moment never share the same room", async () => {
      const olga = await person("Olga Owner", null);
      const fred = await person("Fred Friend", null);
      const teamId = await folder(olga, "Team");
      await share(olga, teamId, fred);
      const link = await olga.client.postForm("/shares", { intent: "create-link", item: `folder:${teamId}`, mode: "DROP" });
      const token = /\/s\/([A-Za-z0-9_-]{43})/.exec(await link.text())![1];
      // The source of the copies: 200 KiB in a subfolder both may read.
      const made = await olga.client.postForm(`/files/${teamId}`, { intent: "create-folder", name: "Sources", open: "1" });
      const sourcesId = made.headers.get("location")!.split("/").pop()!;
      expect((await multipart(olga.client, "source.bin", 200 * KiB, `/files/${sourcesId}`)).status).toBe(200);
      const source = await app.services.prisma.file.findFirstOrThrow({ where: { ownerId: olga.id, name: "source.bin" } });
      // Room for exactly three more files of 200 KiB.
      await app.services.prisma.user.update({ where: { id: olga.id }, data: { quotaBytes: BigInt(800 * KiB) } });
      const objectsBefore = await allObjects(app);

      const attempts = await Promise.all([
        createUploadRequest(app, olga.client, { name: "tus-own.bin", size: 200 * KiB, folderId: teamId }),
        createUploadRequest(app, fred.client, { name: "tus-friend.bin", size: 200 * KiB, folderId: teamId }),
        multipart(olga.client, "form-own.bin", 200 * KiB, `/files/${teamId}`),
        multipart(fred.client, "form-friend.bin", 200 * KiB, `/files/${teamId}`),
        multipart(new TestClient(app.url), "dropped.bin", 200 * KiB, `/s/${token}`),
        olga.client.postForm(`/details/file/${source.id}`, { intent: "copy", destination: teamId, policy: "keep-both" }),
        fred.client.postForm(`/details/file/${source.id}`, { intent: "copy", destination: teamId, policy: "keep-both" }),
      ]);
      const ok = attempts.filter((r) => r.status < 400);
      const refused = attempts.filter((r) => r.status === 413);
      expect(ok).toHaveLength(3);
      expect(refused).toHaveLength(4);
      for (const response of refused) expect(await response.text()).toMatch(/Not enough room|too full|Your storage is full/);

      // Exactly full: three files or reservations of 200 KiB beside the source.
      const usage = await storageUsage(app.services, olga.id);
      expect(usage.usedBytes).toBe(800 * KiB);
      const added = await app.services.prisma.file.count({ where: { ownerId: olga.id, folderId: teamId } });
      const pending = await app.services.prisma.upload.count({ where: { folderId: teamId } });
      expect(added + pending).toBe(3);
      expect((await storageUsage(app.services, fred.id)).usedBytes).toBe(0);
      // What was refused left no bytes behind: new objects are only those of the files and
      // of the pending uploads that got in.
      const kept = new Set([
        ...(await app.services.prisma.file.findMany({ where: { folderId: teamId }, select: { storageKey: true } })).map(
          (f) => f.storageKey,
        ),
        ...(await app.services.prisma.upload.findMany({ where: { folderId: teamId }, select: { id: true } })).map((u) => u.id),
      ]);
      for (const key of await allObjects(app)) {
        if (objectsBefore.has(key)) continue;
        expect(
          [...kept].some((k) => key.startsWith(k)),
          key,
        ).toBe(true);
      }
    });
  });

  describe("a target folder trashed or deleted while an upload is in progress", () => {
    let olga: Person;
    let fred: Person;

    beforeAll(async () => {
      olga = await person("Olivia Owner", 4 * MiB);
      fred = await person("Fred Friend", 512 * KiB);
    });

    beforeEach(async () => {
      await app.services.prisma.user.update({ where: { id: fred.id }, data: { quotaBytes: BigInt(512 * KiB) } });
    });

    it("lands in the trashed folder, in the trash with it and charged to its owner, and comes back when the folder is restored", async () => {
      const holidayId = await folder(olga, "Holiday");
      expect((await multipart(olga.client, "notes.txt", 10, `/files/${holidayId}`)).status).toBe(200);
      await share(olga, holidayId, fred);
      // Fred's upload reuses a name already in the folder; the owner's one a new name.
      const fredsUpload = await createUpload(app, fred.client, { name: "notes.txt", size: 100 * KiB, folderId: holidayId });
      const olgasUpload = await createUpload(app, olga.client, { name: "beach.jpg", size: 50 * KiB, folderId: holidayId });
      expect((await patchUpload(fred.client, fredsUpload, 0, new Uint8Array(randomBytes(40 * KiB)))).status).toBe(204);
      const usedBefore = (await storageUsage(app.services, olga.id)).usedBytes;

      await trashItem(app.services, olga.actor, "folder", holidayId);
      // The reservation stays the owner's while the folder is in the trash.
      expect((await storageUsage(app.services, olga.id)).usedBytes).toBe(usedBefore);
      expect((await storageUsage(app.services, fred.id)).usedBytes).toBe(0);

      const finished = await patchUpload(fred.client, fredsUpload, 40 * KiB, new Uint8Array(randomBytes(60 * KiB)));
      expect(finished.status).toBe(204);
      // The uploader's page is told where the file went (issue 16).
      expect(finished.headers.get("coffer-file-place")).toBe("trash");
      expect((await patchUpload(olga.client, olgasUpload, 0, new Uint8Array(randomBytes(50 * KiB)))).status).toBe(204);

      const landed = await app.services.prisma.file.findMany({ where: { folderId: holidayId }, orderBy: { name: "asc" } });
      expect(landed.map((f) => [f.name, f.ownerId, f.trashRootId, f.trashedAt !== null])).toEqual([
        ["beach.jpg", olga.id, holidayId, true],
        ["notes (1).txt", olga.id, holidayId, true],
        ["notes.txt", olga.id, holidayId, true],
      ]);
      expect(await app.services.prisma.file.count({ where: { ownerId: fred.id } })).toBe(0);
      expect(await app.services.prisma.upload.count({ where: { folderId: holidayId } })).toBe(0);
      expect((await storageUsage(app.services, olga.id)).usedBytes).toBe(usedBefore);
      const activity = await app.services.prisma.activity.findFirstOrThrow({
        where: { action: "file.uploaded", userId: fred.id },
        orderBy: { createdAt: "desc" },
      });
      expect(activity.details).toMatchObject({ name: "notes (1).txt", landedIn: "trash" });

      await restoreItem(app.services, olga.actor, "folder", holidayId);
      const restored = await app.services.prisma.file.findMany({ where: { folderId: holidayId, trashedAt: null } });
      expect(restored.map((f) => f.name).sort()).toEqual(["beach.jpg", "notes (1).txt", "notes.txt"]);
      const download = await olga.client.get(`/download/${restored.find((f) => f.name === "beach.jpg")!.id}`);
      expect(download.status).toBe(200);
      expect((await download.arrayBuffer()).byteLength).toBe(50 * KiB);
    });

    it("lands in the trash when the folder is trashed while the last PATCH sends, though that PATCH found it live", async () => {
      const albumId = await folder(olga, "Album");
      await share(olga, albumId, fred);
      const upload = await createUpload(app, fred.client, { name: "late.jpg", size: 64 * KiB, folderId: albumId });
      const patch = openPatch(fred.client, upload);
      patch.send(new Uint8Array(randomBytes(16 * KiB)));
      // The PATCH has looked up its upload and folder by now (the file lands right whenever it did).
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await trashItem(app.services, olga.actor, "folder", albumId);
      patch.end(new Uint8Array(randomBytes(48 * KiB)));
      expect(await patch.outcome).toBe(204);
      const landed = await app.services.prisma.file.findFirstOrThrow({ where: { name: "late.jpg" } });
      expect([landed.folderId, landed.ownerId, landed.trashRootId, landed.trashedAt !== null]).toEqual([albumId, olga.id, albumId, true]);
    });

    it("when the folder was deleted for good, lands in the uploader's My files if their own storage has room", async () => {
      const tempId = await folder(olga, "Temporary");
      await share(olga, tempId, fred);
      const upload = await createUpload(app, fred.client, { name: "report.pdf", size: 100 * KiB, folderId: tempId });
      await trashItem(app.services, olga.actor, "folder", tempId);
      await deleteForever(app.services, olga.actor, "folder", tempId, SYSTEM_ACTOR);
      // With the folder gone, the reservation is the uploader's.
      expect((await storageUsage(app.services, fred.id)).usedBytes).toBe(100 * KiB);

      const finished = await patchUpload(fred.client, upload, 0, new Uint8Array(randomBytes(100 * KiB)));
      expect(finished.status).toBe(204);
      expect(finished.headers.get("coffer-file-place")).toBe("root");
      const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "report.pdf" }, include: { folder: true } });
      expect(file.ownerId).toBe(fred.id);
      expect(file.folder.parentId).toBeNull();
      expect(file.trashedAt).toBeNull();
      expect((await storageUsage(app.services, fred.id)).usedBytes).toBe(100 * KiB);
      expect(await app.services.prisma.upload.count({ where: { id: idOf(upload) } })).toBe(0);
    });

    it("when the folder was deleted for good and the uploader's storage is full, refuses clearly and keeps nothing", async () => {
      const tempId = await folder(olga, "Short-lived");
      await share(olga, tempId, fred);
      const upload = await createUpload(app, fred.client, { name: "huge.mov", size: 300 * KiB, folderId: tempId });
      expect((await patchUpload(fred.client, upload, 0, new Uint8Array(randomBytes(100 * KiB)))).status).toBe(204);
      await trashItem(app.services, olga.actor, "folder", tempId);
      await deleteForever(app.services, olga.actor, "folder", tempId, SYSTEM_ACTOR);
      await app.services.prisma.user.update({ where: { id: fred.id }, data: { quotaBytes: BigInt(350 * KiB) } });
      const fredUsed = (await storageUsage(app.services, fred.id)).usedBytes - 300 * KiB;
      expect(fredUsed + 300 * KiB).toBeGreaterThan(350 * KiB);

      const last = await patchUpload(fred.client, upload, 100 * KiB, new Uint8Array(randomBytes(200 * KiB)));
      expect(last.status).toBe(413);
      expect(await last.text()).toBe(
        `“huge.mov” was not saved: the folder it was uploading into was deleted meanwhile, and your storage has no room for it in My files (it needs ${formatBytes(300 * KiB)}, ${formatBytes(350 * KiB - fredUsed)} is left). Make room, then upload it again.`,
      );
      expect(await app.services.prisma.file.count({ where: { name: "huge.mov" } })).toBe(0);
      expect(await app.services.prisma.upload.count({ where: { id: idOf(upload) } })).toBe(0);
      expect((await storageUsage(app.services, fred.id)).usedBytes).toBe(fredUsed);
      await expect.poll(() => objectsOf(app, idOf(upload))).toEqual([]);
      // The upload is gone for the client too.
      const head = await fetch(upload, { method: "HEAD", headers: tusHeaders(fred.client) });
      expect(head.status).toBe(404);
    });

    it("no-JS form: lands in the trashed folder, charged to its owner, and the uploader is told where it went", async () => {
      const holidayId = await folder(olga, "Form holiday");
      await share(olga, holidayId, fred);
      const usedBefore = (await storageUsage(app.services, olga.id)).usedBytes;
      const fredUsedBefore = (await storageUsage(app.services, fred.id)).usedBytes;
      const [first, rest] = [randomBytes(64 * KiB), randomBytes(36 * KiB)];
      const sending = openUploadForm(fred.client, holidayId, "streamed.bin");
      sending.send(new Uint8Array(first));
      // Let the action check the folder and start storing before it goes to the trash.
      await sleep(1000);
      await trashItem(app.services, olga.actor, "folder", holidayId);
      sending.end(new Uint8Array(rest));
      const response = await sending.response;
      expect(response.status, await response.clone().text()).toBe(303);

      const landed = await app.services.prisma.file.findFirstOrThrow({ where: { name: "streamed.bin" } });
      expect(landed).toMatchObject({ ownerId: olga.id, folderId: holidayId, trashRootId: holidayId, size: BigInt(100 * KiB) });
      expect(landed.trashedAt).not.toBeNull();
      expect(response.headers.get("location")).toBe(`/trash?done=uploaded-to-trash&item=file:${landed.id}`);
      const page = await (await fred.client.get(response.headers.get("location")!)).text();
      expect(page).toContain("its folder was moved to its owner’s trash meanwhile");
      expect((await storageUsage(app.services, olga.id)).usedBytes).toBe(usedBefore + 100 * KiB);
      expect((await storageUsage(app.services, fred.id)).usedBytes).toBe(fredUsedBefore);
      const activity = await app.services.prisma.activity.findFirstOrThrow({ where: { action: "file.uploaded", subjectId: landed.id } });
      expect(activity).toMatchObject({ userId: fred.id, details: { name: "streamed.bin", landedIn: "trash" } });

      await restoreItem(app.services, olga.actor, "folder", holidayId);
      const download = await fred.client.get(`/download/${landed.id}`);
      expect(download.status).toBe(200);
      expect(Buffer.from(await download.arrayBuffer())).toEqual(Buffer.concat([first, rest]));
    });

    it("no-JS form: a folder deleted for good meanwhile sends the file to the uploader's My files", async () => {
      const tempId = await folder(olga, "Form temporary");
      await share(olga, tempId, fred);
      const sending = openUploadForm(fred.client, tempId, "orphan.bin");
      sending.send(new Uint8Array(randomBytes(10 * KiB)));
      await sleep(1000);
      await trashItem(app.services, olga.actor, "folder", tempId);
      await deleteForever(app.services, olga.actor, "folder", tempId, SYSTEM_ACTOR);
      sending.end(new Uint8Array(randomBytes(10 * KiB)));
      const response = await sending.response;
      expect(response.status).toBe(303);
      const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "orphan.bin" }, include: { folder: true } });
      expect(file).toMatchObject({ ownerId: fred.id, trashedAt: null });
      expect(file.folder.parentId).toBeNull();
      expect(response.headers.get("location")).toBe(`/details/file/${file.id}?done=uploaded-to-root`);
      expect(await (await fred.client.get(response.headers.get("location")!)).text()).toContain("so it was saved here, in your My files");
    });
  });

  describe("a folder owner deleting their account while someone uploads into their shared folder", () => {
    it("ends the pending upload with the account: its data and reservation go, and nothing lands in the uploader's storage", async () => {
      const owner = await person("Lea Leaving", null);
      const ownerEmail = await emailOf(owner);
      const fred = await person("Fred Friend", null);
      const sharedId = await folder(owner, "Shared");
      await share(owner, sharedId, fred);
      // More than one 5 MiB part, so S3 holds a real multipart upload.
      const upload = await createUpload(app, fred.client, { name: "big.bin", size: 12 * MiB, folderId: sharedId });
      expect((await patchUpload(fred.client, upload, 0, new Uint8Array(randomBytes(6 * MiB)))).status).toBe(204);
      const ownUpload = await createUpload(app, fred.client, { name: "mine.bin", size: 10 });
      const multipartBefore = drivers.storage === "s3" ? await incompleteMultipartUploads(app) : 0;

      const deleted = await owner.client.request("/settings/privacy", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ intent: "delete", confirmEmail: ownerEmail, password: PASSWORD }).toString(),
      });
      expect(deleted.status).toBe(302);

      expect(await app.services.prisma.upload.count({ where: { id: idOf(upload) } })).toBe(0);
      expect(await objectsOf(app, idOf(upload))).toEqual([]);
      // Swift's listing of multipart uploads can lag a moment behind.
      if (drivers.storage === "s3") await expect.poll(() => incompleteMultipartUploads(app)).toBe(multipartBefore - 1);
      expect((await storageUsage(app.services, fred.id)).usedBytes).toBe(10);
      const audit = await app.services.prisma.auditEvent.findFirstOrThrow({ where: { action: "user.deleted", targetId: owner.id } });
      expect(audit.details).toMatchObject({ uploads: 0, othersUploads: 1 });

      // Fred's next chunk is refused plainly, and nothing reaches his own storage.
      const resumed = await patchUpload(fred.client, upload, 6 * MiB, new Uint8Array(randomBytes(6 * MiB)));
      expect(resumed.status).toBe(404);
      expect(await resumed.text()).toContain("the folder it was going into was deleted");
      expect(await app.services.prisma.file.count({ where: { ownerId: fred.id } })).toBe(0);
      // His own upload is untouched.
      expect(await app.services.prisma.upload.count({ where: { id: idOf(ownUpload) } })).toBe(1);
    });
  });
});
