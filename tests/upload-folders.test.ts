import { randomBytes } from "node:crypto";
import * as tus from "tus-js-client";
import { beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type DriverSet, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

/** Uploads with the real tus client in Node; resolves with the error instead of rejecting. */
function tusUpload(
  app: TestApp,
  client: TestClient,
  data: Buffer,
  metadata: Record<string, string>,
): Promise<{ url: string | null; error?: tus.DetailedError | Error }> {
  return new Promise((resolve) => {
    const upload = new tus.Upload(data, {
      endpoint: `${app.url}/api/uploads`,
      uploadSize: data.length,
      chunkSize: 4 * 1024 * 1024,
      metadata,
      headers: { cookie: client.cookieHeader },
      retryDelays: [],
      onSuccess: () => resolve({ url: upload.url }),
      onError: (error) => resolve({ url: upload.url, error }),
    });
    upload.start();
  });
}

function statusOf(error: unknown): number | undefined {
  return (error as tus.DetailedError | undefined)?.originalResponse?.getStatus();
}

function bodyOf(error: unknown): string {
  return (error as tus.DetailedError | undefined)?.originalResponse?.getBody() ?? "";
}

describe.each<{ label: string; drivers: DriverSet }>([
  { label: "local disk, memory", drivers: { storage: "local", cache: "memory" } },
  { label: "S3, Redis", drivers: { storage: "s3", cache: "redis" } },
])("uploading folders with tus ($label)", ({ drivers }) => {
  let app: TestApp;
  let owner: TestClient;
  let reader: TestClient;
  let ownerId: string;
  let rootId: string;

  beforeAll(async () => {
    app = await startTestApp(drivers, { MAX_UPLOAD_SIZE: "20MiB" });
    owner = new TestClient(app.url);
    reader = new TestClient(app.url);
    await new TestClient(app.url).register("Admin", "admin@example.com");
    await owner.register("Olivia Owner", "olivia@example.com");
    await reader.register("Rita Reader", "rita@example.com");
    ownerId = (await app.services.prisma.user.findUniqueOrThrow({ where: { email: "olivia@example.com" } })).id;
    await owner.get("/files");
    rootId = (await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId, parentId: null } })).id;
  });

  async function childFolders(parentId: string, name: string) {
    return app.services.prisma.folder.findMany({ where: { parentId, nameKey: name.toLowerCase(), trashedAt: null } });
  }

  it("recreates the dropped folder structure under the target folder, creating each folder once", async () => {
    const a = randomBytes(3000);
    const b = randomBytes(5000);
    const c = randomBytes(100);
    // Two files into the same new folder path at the same time, then one a level up.
    const results = await Promise.all([
      tusUpload(app, owner, a, { filename: "a.bin", folderId: rootId, relativePath: "Photos/2024/" }),
      tusUpload(app, owner, b, { filename: "b.bin", folderId: rootId, relativePath: "Photos/2024/" }),
    ]);
    // Afterwards, so the folder's name is the one the first uploads gave it; the case differs on purpose.
    results.push(await tusUpload(app, owner, c, { filename: "c.txt", folderId: rootId, relativePath: "photos" }));
    for (const result of results) expect(result.error).toBeUndefined();

    const photos = await childFolders(rootId, "Photos");
    expect(photos).toHaveLength(1);
    expect(photos[0].name).toBe("Photos");
    const year = await childFolders(photos[0].id, "2024");
    expect(year).toHaveLength(1);
    expect(year[0].ownerId).toBe(ownerId);

    const inYear = await app.services.prisma.file.findMany({ where: { folderId: year[0].id }, orderBy: { name: "asc" } });
    expect(inYear.map((file) => file.name)).toEqual(["a.bin", "b.bin"]);
    const inPhotos = await app.services.prisma.file.findMany({ where: { folderId: photos[0].id } });
    expect(inPhotos.map((file) => file.name)).toEqual(["c.txt"]);

    const download = await owner.get(`/download/${inYear[0].id}`);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(a)).toBe(true);

    const listing = await (await owner.get(`/files/${photos[0].id}`)).text();
    expect(listing).toContain("2024");
    expect(listing).toContain("c.txt");
    expect(await app.services.prisma.upload.count()).toBe(0);
  });

  it("creates a new folder path once even when many uploads race for it", async () => {
    const files = Array.from({ length: 6 }, (_, i) => ({ name: `f${i}.bin`, data: randomBytes(200 + i) }));
    const results = await Promise.all(
      files.map((file) => tusUpload(app, owner, file.data, { filename: file.name, folderId: rootId, relativePath: "Race/deep/er/" })),
    );
    for (const result of results) expect(result.error).toBeUndefined();
    const race = await childFolders(rootId, "race");
    expect(race).toHaveLength(1);
    const deep = await childFolders(race[0].id, "deep");
    expect(deep).toHaveLength(1);
    const er = await childFolders(deep[0].id, "er");
    expect(er).toHaveLength(1);
    expect(await app.services.prisma.file.count({ where: { folderId: er[0].id } })).toBe(files.length);
  });

  it("reuses an existing folder case-insensitively, and ignores trashed ones", async () => {
    const existing = await owner.postForm("/files", { intent: "create-folder", name: "Docs" });
    expect([200, 302]).toContain(existing.status);
    const docs = (await childFolders(rootId, "docs"))[0];
    const trashed = await app.services.prisma.folder.create({
      data: { ownerId, parentId: docs.id, name: "Old", nameKey: "old", trashedAt: new Date() },
    });
    const result = await tusUpload(app, owner, randomBytes(10), { filename: "x.txt", folderId: rootId, relativePath: "DOCS/Old" });
    expect(result.error).toBeUndefined();
    expect(await childFolders(rootId, "docs")).toHaveLength(1);
    const live = await childFolders(docs.id, "old");
    expect(live).toHaveLength(1);
    expect(live[0].id).not.toBe(trashed.id);
    expect(await app.services.prisma.file.count({ where: { folderId: live[0].id, name: "x.txt" } })).toBe(1);
  });

  it.each([
    ["..", "Photos/../etc/"],
    [".", "./Photos"],
    ["an empty segment", "Photos//2024"],
    ["a leading slash", "/Photos"],
    ["a backslash", "Photos\\2024"],
    ["a control character", "Pho\u0001tos/"],
    ["too many levels", `${Array.from({ length: 33 }, (_, i) => `d${i}`).join("/")}/`],
    ["a too long name", `${"n".repeat(300)}/`],
  ])("refuses a folder path with %s with a 400, creating nothing", async (_label, relativePath) => {
    const foldersBefore = await app.services.prisma.folder.count();
    const result = await tusUpload(app, owner, randomBytes(10), { filename: "bad.txt", folderId: rootId, relativePath });
    expect(statusOf(result.error)).toBe(400);
    expect(bodyOf(result.error)).toMatch(/folder path/i);
    expect(await app.services.prisma.folder.count()).toBe(foldersBefore);
    expect(await app.services.prisma.upload.count()).toBe(0);
  });

  it("accepts the deepest allowed path (32 levels)", async () => {
    const path = Array.from({ length: 32 }, (_, i) => `L${i}`).join("/");
    const result = await tusUpload(app, owner, randomBytes(10), { filename: "deep.txt", folderId: rootId, relativePath: path });
    expect(result.error).toBeUndefined();
    const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "deep.txt", ownerId } });
    const folder = await app.services.prisma.folder.findUniqueOrThrow({ where: { id: file.folderId } });
    expect(folder.name).toBe("L31");
  });

  it("refuses when a file is in the way of a folder of the path (409)", async () => {
    const plain = await tusUpload(app, owner, randomBytes(10), { filename: "Blocker", folderId: rootId });
    expect(plain.error).toBeUndefined();
    const result = await tusUpload(app, owner, randomBytes(10), { filename: "y.txt", folderId: rootId, relativePath: "blocker/" });
    expect(statusOf(result.error)).toBe(409);
  });

  it("respects write permission: no folders for a read-only share or someone else's folder", async () => {
    await owner.postForm("/files", { intent: "create-folder", name: "Team" });
    const teamId = (await childFolders(rootId, "team"))[0].id;
    const shared = await owner.postForm("/shares", {
      intent: "share-user",
      item: `folder:${teamId}`,
      email: "rita@example.com",
      permission: "READ",
    });
    expect(shared.status).toBeLessThan(400);
    const foldersBefore = await app.services.prisma.folder.count();
    const readOnly = await tusUpload(app, reader, randomBytes(10), { filename: "r.txt", folderId: teamId, relativePath: "Intruder/" });
    expect(statusOf(readOnly.error)).toBe(403);
    expect(await app.services.prisma.folder.count()).toBe(foldersBefore);

    await app.services.prisma.userShare.deleteMany({ where: { folderId: teamId } });
    const foreign = await tusUpload(app, reader, randomBytes(10), { filename: "r.txt", folderId: teamId, relativePath: "Intruder/" });
    expect(statusOf(foreign.error)).toBe(404);
    expect(await app.services.prisma.folder.count()).toBe(foldersBefore);

    // With write access the folders belong to the owner of the shared folder.
    const writable = await owner.postForm("/shares", {
      intent: "share-user",
      item: `folder:${teamId}`,
      email: "rita@example.com",
      permission: "WRITE",
    });
    expect(writable.status).toBeLessThan(400);
    const ok = await tusUpload(app, reader, randomBytes(10), { filename: "w.txt", folderId: teamId, relativePath: "From Rita/" });
    expect(ok.error).toBeUndefined();
    const created = await childFolders(teamId, "from rita");
    expect(created).toHaveLength(1);
    expect(created[0].ownerId).toBe(ownerId);
  });
});
