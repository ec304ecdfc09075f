import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "~/config.server";
import { addFile } from "~/domain/files/files.server";
import { folderTotals, restoreVersionOfFile, sharingSummary } from "~/domain/files/file-details.server";
import { createFolder, getRootFolder } from "~/domain/files/folders.server";
import { countActiveShareLinks } from "~/domain/sharing/share-link-listing.server";
import { trashItem } from "~/domain/files/trash.server";
import { closeServices, createServices, type Services } from "~/services/index.server";
import { createLogger } from "~/services/logger.server";
import { createTestDatabase } from "./support/database";

type Actor = { id: string; role: "USER" | "ADMIN" };

/** Rows only: nothing here reads file content, so no storage object is written. */
function fileRow(services: Services, owner: Actor, folderId: string, name: string, size: number) {
  return addFile(services, {
    ownerId: owner.id,
    folderId,
    name,
    size,
    mimeType: "text/plain",
    storageKey: randomBytes(16).toString("hex"),
    sha256: null,
  });
}

async function createUser(services: Services, email: string): Promise<Actor> {
  const user = await services.prisma.user.create({ data: { email, name: email.split("@")[0], passwordHash: "x" } });
  await getRootFolder(services, user.id);
  return { id: user.id, role: "USER" };
}

describe("what the details page shows about an item", () => {
  let services: Services;
  let alice: Actor;
  let bob: Actor;
  let root: string;

  beforeAll(async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-details-"));
    const env = {
      NODE_ENV: "production",
      DATA_DIR: dataDir,
      DATABASE_URL: (await createTestDatabase()).url,
      LOG_LEVEL: "error",
      SESSION_SECRET: "test-secret-that-is-at-least-32-characters-long",
    };
    services = await createServices(loadConfig(env), createLogger("error"));
    afterAll(async () => {
      await closeServices(services);
      fs.rmSync(dataDir, { recursive: true, force: true });
    });
    alice = await createUser(services, "alice@example.com");
    bob = await createUser(services, "bob@example.com");
    root = (await getRootFolder(services, alice.id)).id;
  });

  it("counts only the links that still work, and the people an item is shared with", async () => {
    const file = await fileRow(services, alice, root, "report.txt", 10);
    const other = await fileRow(services, alice, root, "other.txt", 10);
    const link = (data: { expiresAt?: Date | null; maxDownloads?: number | null; downloadCount?: number; fileId?: string }) =>
      services.prisma.shareLink.create({
        data: { token: randomBytes(16).toString("base64url"), ownerId: alice.id, fileId: file.id, ...data },
      });
    await link({});
    await link({ expiresAt: new Date(Date.now() + 60_000), maxDownloads: 3, downloadCount: 2 });
    await link({ expiresAt: new Date(Date.now() - 60_000) });
    await link({ maxDownloads: 3, downloadCount: 3 });
    await link({ fileId: other.id });
    await services.prisma.userShare.create({ data: { ownerId: alice.id, granteeId: bob.id, fileId: file.id } });

    expect(await countActiveShareLinks(services, { kind: "file", id: file.id })).toBe(2);
    expect(await sharingSummary(services, "file", file.id)).toEqual({ links: 2, people: 1 });
    expect(await sharingSummary(services, "folder", root)).toEqual({ links: 0, people: 0 });
  });

  it("counts a folder's subfolders, files and bytes at every depth, leaving out the trash", async () => {
    const top = await createFolder(services, alice, root, "Top");
    const middle = await createFolder(services, alice, top.id, "Middle");
    const bottom = await createFolder(services, alice, middle.id, "Bottom");
    const binned = await createFolder(services, alice, top.id, "Binned");
    await fileRow(services, alice, top.id, "a.txt", 100);
    await fileRow(services, alice, middle.id, "b.txt", 20);
    await fileRow(services, alice, bottom.id, "c.txt", 3);
    await fileRow(services, alice, binned.id, "d.txt", 4000);
    const trashed = await fileRow(services, alice, bottom.id, "e.txt", 50000);
    await trashItem(services, alice, "file", trashed.id);
    await trashItem(services, alice, "folder", binned.id);

    expect(await folderTotals(services, top.id)).toEqual({ folders: 2, files: 3, size: 123 });
    expect(await folderTotals(services, bottom.id)).toEqual({ folders: 0, files: 1, size: 3 });
  });

  it("refuses to restore a version from the page of another file, changing nothing", async () => {
    const mine = await fileRow(services, alice, root, "mine.txt", 5);
    const theirs = await fileRow(services, alice, root, "theirs.txt", 5);
    const version = await services.prisma.fileVersion.create({
      data: { fileId: theirs.id, storageKey: randomBytes(16).toString("hex"), size: 5n, mimeType: "text/plain", createdAt: new Date() },
    });
    await expect(restoreVersionOfFile(services, alice, mine.id, version.id)).rejects.toMatchObject({
      status: 400,
      message: "That version was not found. It may have been removed.",
    });
    await expect(restoreVersionOfFile(services, alice, mine.id, "no-such-version")).rejects.toMatchObject({ status: 400 });
    expect(await services.prisma.fileVersion.count({ where: { id: version.id } })).toBe(1);
  });
});
