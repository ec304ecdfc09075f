import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { updateSettings } from "~/domain/settings.server";
import { startTestApp, type DriverSet, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

const KiB = 1024;

function createTusUpload(app: TestApp, client: TestClient, name: string, size: number, folderId?: string) {
  const metadata = [`filename ${Buffer.from(name).toString("base64")}`];
  if (folderId) metadata.push(`folderId ${Buffer.from(folderId).toString("base64")}`);
  return fetch(`${app.url}/api/uploads`, {
    method: "POST",
    headers: { cookie: client.cookieHeader, "Tus-Resumable": "1.0.0", "Upload-Length": String(size), "Upload-Metadata": metadata.join(",") },
  });
}

function multipart(client: TestClient, name: string, bytes: number) {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(randomBytes(bytes))]), name);
  return client.postMultipart("/files", form);
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
    await fetch(new URL(reserved.headers.get("location")!, app.url), { method: "DELETE", headers: { cookie: user.cookieHeader, "Tus-Resumable": "1.0.0" } });
    await app.services.prisma.upload.deleteMany({ where: { ownerId: userId } });
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
      headers: { cookie: user.cookieHeader, "Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream" },
      body: "hello",
    });
    expect(patch.status).toBe(204);
    const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "orphan.txt" }, include: { folder: true } });
    expect(file.folder.parentId).toBeNull();
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
    expect((await app.services.prisma.file.findMany({ where: { name: { startsWith: "plan" } } })).map((f) => f.name).sort()).toEqual(["plan (1).txt", "plan.txt"]);

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
