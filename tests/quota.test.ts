import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { listUsersForAdmin } from "~/domain/admin/admin.server";
import { storageUsage } from "~/domain/files/quota.server";
import { getSettings, updateSettings } from "~/domain/admin/settings.server";
import { formatBytes } from "~/lib/format";
import { startTestApp, type DriverSet, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

const KiB = 1024;

function createTusUpload(app: TestApp, client: TestClient, name: string, size: number, folderId?: string) {
  const metadata = [`filename ${Buffer.from(name).toString("base64")}`];
  if (folderId) metadata.push(`folderId ${Buffer.from(folderId).toString("base64")}`);
  return fetch(`${app.url}/api/uploads`, {
    method: "POST",
    headers: {
      cookie: client.cookieHeader,
      "Tus-Resumable": "1.0.0",
      "Upload-Length": String(size),
      "Upload-Metadata": metadata.join(","),
    },
  });
}

function multipart(client: TestClient, name: string, bytes: number, folderId?: string) {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(randomBytes(bytes))]), name);
  return client.postMultipart(folderId ? `/files/${folderId}` : "/files", form);
}

async function objectKeys(app: TestApp) {
  const keys: string[] = [];
  for await (const object of app.services.storage.list()) keys.push(object.key);
  return keys;
}

async function objectCount(app: TestApp) {
  let count = 0;
  for await (const _ of app.services.storage.list()) count++;
  return count;
}

describe.each<{ label: string; drivers: DriverSet }>([
  { label: "local disk", drivers: { storage: "local", cache: "memory" } },
  { label: "S3", drivers: { storage: "s3", cache: "redis" } },
])("quota, size limits and blocked types ($label)", ({ drivers }) => {
  let app: TestApp;
  let user: TestClient;
  let userId: string;

  beforeAll(async () => {
    app = await startTestApp(drivers);
    user = new TestClient(app.url);
    await new TestClient(app.url).register("Admin", "admin@example.com");
    await user.register("Quinn", "quinn@example.com");
    userId = (await app.services.prisma.user.findUniqueOrThrow({ where: { email: "quinn@example.com" } })).id;
    await app.services.prisma.user.update({ where: { id: userId }, data: { quotaBytes: BigInt(1024 * KiB) } });
  });

  it("refuses a tus upload larger than the room left at creation, saying how much is left", async () => {
    const response = await createTusUpload(app, user, "big.bin", 2048 * KiB);
    expect(response.status).toBe(413);
    expect(await response.text()).toContain("only 1.0 MiB of your storage is left");
    expect(await app.services.prisma.upload.count()).toBe(0);
  });

  it("stops a multipart upload as soon as its bytes pass the room left, keeping nothing", async () => {
    const objectsBefore = await objectCount(app);
    const response = await multipart(user, "too-much.bin", 1100 * KiB);
    expect(response.status).toBe(413);
    expect(await response.text()).toContain("Not enough room");
    expect(await app.services.prisma.file.count({ where: { ownerId: userId } })).toBe(0);
    expect(await objectCount(app)).toBe(objectsBefore);
  });

  it("counts uploads in progress as used, so two uploads cannot share the same room", async () => {
    const reserved = await createTusUpload(app, user, "reserved.bin", 800 * KiB);
    expect(reserved.status).toBe(201);
    const second = await multipart(user, "second.bin", 300 * KiB);
    expect(second.status).toBe(413);
    const third = await createTusUpload(app, user, "third.bin", 300 * KiB);
    expect(third.status).toBe(413);
    // Cancelling (tus termination) releases the reservation at once, not at the expiry cleanup.
    const cancelled = await fetch(new URL(reserved.headers.get("location")!, app.url), {
      method: "DELETE",
      headers: { cookie: user.cookieHeader, "Tus-Resumable": "1.0.0" },
    });
    expect(cancelled.status).toBe(204);
    await expect.poll(() => app.services.prisma.upload.count({ where: { ownerId: userId } })).toBe(0);
    const fits = await multipart(user, "fits.bin", 300 * KiB);
    expect(fits.status).toBe(200);
  });

  it("applies the admin's maximum file size and blocked types", async () => {
    await app.services.prisma.user.update({ where: { id: userId }, data: { quotaBytes: null } });
    await updateSettings(app.services, { maxFileSize: 100 * KiB, blockedExtensions: ["exe", "bat"] });
    try {
      const tooBig = await createTusUpload(app, user, "report.pdf", 200 * KiB);
      expect(tooBig.status).toBe(413);
      expect(await tooBig.text()).toContain("larger than the 100 KiB limit");
      const tooBigForm = await multipart(user, "report.pdf", 200 * KiB);
      expect(tooBigForm.status).toBe(413);
      const blocked = await createTusUpload(app, user, "setup.EXE", 10);
      expect(blocked.status).toBe(400);
      expect(await blocked.text()).toContain("Files of type .exe cannot be uploaded here.");
      const blockedForm = await multipart(user, "run.bat", 10);
      expect(blockedForm.status).toBe(400);
      expect(await blockedForm.text()).toContain(".bat");
      // Nor can a rename give a file a blocked type.
      expect((await multipart(user, "innocent.txt", 10)).status).toBe(200);
      const innocent = await app.services.prisma.file.findFirstOrThrow({ where: { ownerId: userId, name: "innocent.txt" } });
      const renamed = await user.postForm(`/details/file/${innocent.id}`, { intent: "rename", name: "innocent.EXE" });
      expect(renamed.status).toBe(400);
      expect(await renamed.text()).toContain("Files of type .exe are blocked here");
      expect((await app.services.prisma.file.findUniqueOrThrow({ where: { id: innocent.id } })).name).toBe("innocent.txt");
    } finally {
      await updateSettings(app.services, { maxFileSize: app.services.config.uploads.maxSize, blockedExtensions: [] });
    }
  });

  it("lands a finished upload in the root folder when its folder went away meanwhile", async () => {
    const made = await user.postForm("/files", { intent: "create-folder", name: "Ephemeral", open: "1" });
    const folderId = made.headers.get("location")!.split("/").pop()!;
    const created = await createTusUpload(app, user, "orphan.txt", 5, folderId);
    expect(created.status).toBe(201);
    await app.services.prisma.folder.delete({ where: { id: folderId } });
    const patch = await fetch(new URL(created.headers.get("location")!, app.url), {
      method: "PATCH",
      headers: {
        cookie: user.cookieHeader,
        "Tus-Resumable": "1.0.0",
        "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream",
      },
      body: "hello",
    });
    expect(patch.status).toBe(204);
    const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "orphan.txt" }, include: { folder: true } });
    expect(file.folder.parentId).toBeNull();
  });
});

describe.each<{ label: string; drivers: DriverSet }>([
  { label: "local disk", drivers: { storage: "local", cache: "memory" } },
  { label: "S3", drivers: { storage: "s3", cache: "redis" } },
])("files in a shared folder count against the folder owner's quota ($label)", ({ drivers }) => {
  let app: TestApp;
  let owner: TestClient;
  let ownerId: string;
  let friend: TestClient;
  let friendId: string;
  let sharedId: string;

  beforeAll(async () => {
    app = await startTestApp(drivers);
    owner = new TestClient(app.url);
    friend = new TestClient(app.url);
    await owner.register("Olivia Owner", "olivia@example.com");
    await friend.register("Fred Friend", "fred@example.com");
    ownerId = (await app.services.prisma.user.findUniqueOrThrow({ where: { email: "olivia@example.com" } })).id;
    friendId = (await app.services.prisma.user.findUniqueOrThrow({ where: { email: "fred@example.com" } })).id;
    const made = await owner.postForm("/files", { intent: "create-folder", name: "Team", open: "1" });
    sharedId = made.headers.get("location")!.split("/").pop()!;
    const granted = await owner.postForm("/shares", {
      intent: "share-user",
      item: `folder:${sharedId}`,
      email: "fred@example.com",
      permission: "WRITE",
    });
    expect(granted.status).toBe(200);
    await app.services.prisma.user.update({ where: { id: ownerId }, data: { quotaBytes: BigInt(1024 * KiB) } });
    await app.services.prisma.user.update({ where: { id: friendId }, data: { quotaBytes: BigInt(512 * KiB) } });
  });

  /** Neither the owner's usage nor the room left in their storage may show in a refusal to someone else. */
  function expectOwnerNamedWithoutUsage(response: string) {
    const start = response.indexOf("Not enough room");
    expect(start).toBeGreaterThanOrEqual(0);
    const text = response.slice(start, response.indexOf("Nothing was", start));
    expect(text).toContain("the storage of the folder’s owner, Olivia Owner, is too full");
    expect(text).toContain("count against its owner’s storage");
    expect(text).not.toMatch(/\d+(\.\d+)? ?(B|KiB|MiB|GiB)\b/);
    expect(text).not.toContain("your storage");
  }

  it("tus: reserves from the owner at creation, refuses past the owner's room with a 413 naming the owner, and the finished file is the owner's", async () => {
    const pending = await createTusUpload(app, friend, "team-plan.bin", 800 * KiB, sharedId);
    expect(pending.status).toBe(201);
    // The reservation is the owner's, not the uploader's.
    expect((await storageUsage(app.services, ownerId)).usedBytes).toBe(800 * KiB);
    expect((await storageUsage(app.services, friendId)).usedBytes).toBe(0);
    const admin = await listUsersForAdmin(app.services);
    expect(admin.users.find((u) => u.id === ownerId)!.countedBytes).toBe(800 * KiB);
    expect(admin.users.find((u) => u.id === friendId)!.countedBytes).toBe(0);

    // Fred's own storage is untouched by it: his own 300 KiB fits his 512 KiB.
    const own = await createTusUpload(app, friend, "mine.bin", 300 * KiB);
    expect(own.status).toBe(201);
    await fetch(new URL(own.headers.get("location")!, app.url), {
      method: "DELETE",
      headers: { cookie: friend.cookieHeader, "Tus-Resumable": "1.0.0" },
    });

    // The owner's room is taken by Fred's pending upload, for Fred and for the owner.
    const tooMuch = await createTusUpload(app, friend, "more.bin", 300 * KiB, sharedId);
    expect(tooMuch.status).toBe(413);
    expectOwnerNamedWithoutUsage(await tooMuch.text());
    const ownerRefused = await createTusUpload(app, owner, "mine.bin", 300 * KiB);
    expect(ownerRefused.status).toBe(413);
    expect(await ownerRefused.text()).toContain("of your storage is left");

    const finished = await fetch(new URL(pending.headers.get("location")!, app.url), {
      method: "PATCH",
      headers: {
        cookie: friend.cookieHeader,
        "Tus-Resumable": "1.0.0",
        "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream",
      },
      body: new Uint8Array(randomBytes(800 * KiB)),
    });
    expect(finished.status).toBe(204);
    const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "team-plan.bin" } });
    expect(file.ownerId).toBe(ownerId);
    expect(await app.services.prisma.upload.count()).toBe(0);
    expect((await storageUsage(app.services, ownerId)).usedBytes).toBe(800 * KiB);
    expect((await storageUsage(app.services, friendId)).usedBytes).toBe(0);
  });

  it("no-JS form: refuses past the owner's room naming the owner, keeps nothing, and never shows the owner's room left", async () => {
    const objectsBefore = await objectKeys(app);
    const refused = await multipart(friend, "more.bin", 300 * KiB, sharedId);
    expect(refused.status).toBe(413);
    expectOwnerNamedWithoutUsage(await refused.text());
    expect(await app.services.prisma.file.count({ where: { name: "more.bin" } })).toBe(0);
    // Nothing new (the finished tus upload's metadata may be going away meanwhile).
    for (const key of await objectKeys(app)) expect(objectsBefore).toContain(key);

    // The folder page tells Fred the size limit, not how much room Olivia has left (224 KiB).
    const page = (await (await friend.get(`/files/${sharedId}`)).text()).replaceAll("<!-- -->", "");
    expect(page).toContain(`Up to ${formatBytes((await getSettings(app.services)).maxFileSize)} per file`);
    expect(page).not.toContain(formatBytes(224 * KiB));

    const fits = await multipart(friend, "small.bin", 100 * KiB, sharedId);
    expect(fits.status).toBe(200);
    expect((await app.services.prisma.file.findFirstOrThrow({ where: { name: "small.bin" } })).ownerId).toBe(ownerId);
  });

  it("drop link: a visitor is told the owner's storage is full, without the owner's name or usage", async () => {
    const created = await owner.postForm("/shares", { intent: "create-link", item: `folder:${sharedId}`, mode: "DROP" });
    expect(created.status).toBe(200);
    const token = /\/s\/([A-Za-z0-9_-]{43})/.exec(await created.text())![1];
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(randomBytes(300 * KiB))]), "dropped.bin");
    const refused = await new TestClient(app.url).postMultipart(`/s/${token}`, form);
    expect(refused.status).toBe(413);
    const html = await refused.text();
    const message = html.slice(html.indexOf("Not enough room"), html.indexOf("Nothing was saved."));
    expect(message).toContain("the storage of the folder’s owner is too full for this file");
    expect(message).not.toContain("Olivia");
    expect(message).not.toMatch(/\d/);
    expect(await app.services.prisma.file.count({ where: { name: "dropped.bin" } })).toBe(0);
  });

  it("copy into the shared folder: checks the owner's room and names the owner when it is full", async () => {
    expect((await multipart(friend, "fred-big.bin", 300 * KiB)).status).toBe(200);
    const big = await app.services.prisma.file.findFirstOrThrow({ where: { name: "fred-big.bin" } });
    const refused = await friend.postForm(`/details/file/${big.id}`, { intent: "copy", destination: sharedId, policy: "keep-both" });
    expect(refused.status).toBe(413);
    const html = await refused.text();
    expect(html).toContain("too full for this copy");
    expect(html).toContain("Nothing was copied.");
    expectOwnerNamedWithoutUsage(html);
    expect(await app.services.prisma.file.count({ where: { name: "fred-big.bin" } })).toBe(1);

    expect((await multipart(friend, "fred-small.bin", 50 * KiB)).status).toBe(200);
    const small = await app.services.prisma.file.findFirstOrThrow({ where: { name: "fred-small.bin" } });
    const copied = await friend.postForm(`/details/file/${small.id}`, { intent: "copy", destination: sharedId, policy: "keep-both" });
    expect(copied.status).toBeLessThan(400);
    const copy = await app.services.prisma.file.findFirstOrThrow({ where: { name: "fred-small.bin", folderId: sharedId } });
    expect(copy.ownerId).toBe(ownerId);
    expect((await storageUsage(app.services, friendId)).usedBytes).toBe(350 * KiB);
  });
});

describe("name conflicts on upload", () => {
  let app: TestApp;
  let user: TestClient;

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    user = new TestClient(app.url);
    await user.register("Vera", "vera@example.com");
  });

  async function upload(name: string, body: string, onConflict?: string) {
    const form = new FormData();
    if (onConflict) form.append("onConflict", onConflict);
    form.append("file", new Blob([body]), name);
    return user.postMultipart("/files", form);
  }

  it("keeps both by default, replaces (keeping a version) or cancels when asked, in the form and over tus", async () => {
    expect((await upload("plan.txt", "one")).status).toBe(200);
    expect((await upload("plan.txt", "two")).status).toBe(200);
    expect((await app.services.prisma.file.findMany({ where: { name: { startsWith: "plan" } } })).map((f) => f.name).sort()).toEqual([
      "plan (1).txt",
      "plan.txt",
    ]);

    expect((await upload("plan.txt", "three", "replace")).status).toBe(200);
    const replaced = await app.services.prisma.file.findFirstOrThrow({ where: { name: "plan.txt" }, include: { versions: true } });
    expect(Number(replaced.size)).toBe(5);
    expect(replaced.versions).toHaveLength(1);
    expect(Number(replaced.versions[0].size)).toBe(3);

    const cancelled = await upload("plan.txt", "four", "cancel");
    expect(cancelled.status).toBe(409);
    expect(await cancelled.text()).toContain("already exists");

    const tusCancel = await fetch(`${app.url}/api/uploads`, {
      method: "POST",
      headers: {
        cookie: user.cookieHeader,
        "Tus-Resumable": "1.0.0",
        "Upload-Length": "4",
        "Upload-Metadata": `filename ${Buffer.from("plan.txt").toString("base64")},onConflict ${Buffer.from("cancel").toString("base64")}`,
      },
    });
    expect(tusCancel.status).toBe(409);

    const tusReplace = await fetch(`${app.url}/api/uploads`, {
      method: "POST",
      headers: {
        cookie: user.cookieHeader,
        "Tus-Resumable": "1.0.0",
        "Upload-Length": "4",
        "Content-Type": "application/offset+octet-stream",
        "Upload-Metadata": `filename ${Buffer.from("plan.txt").toString("base64")},onConflict ${Buffer.from("replace").toString("base64")}`,
      },
      body: "five",
    });
    expect(tusReplace.status).toBe(201);
    const after = await app.services.prisma.file.findFirstOrThrow({ where: { name: "plan.txt" }, include: { versions: true } });
    expect(after.id).toBe(replaced.id);
    expect(after.versions).toHaveLength(2);
    expect(await app.services.prisma.activity.count({ where: { action: "file.uploaded" } })).toBeGreaterThanOrEqual(3);
  });
});
