// The folders of a dropped tree (app/domain/uploads/upload-paths.server.ts), in process against a
// real database: paths refused before anything is created, and uploads of one tree sent together
// that must end up in one folder per name. (Whether their queries interleave depends on the pool;
// the unique-violation retry is not forced here.)
import { beforeAll, describe, expect, it } from "vitest";
import { ConflictError, ValidationError } from "~/domain/errors";
import { MAX_UPLOAD_PATH_DEPTH, parseUploadPath, resolveUploadFolder } from "~/domain/uploads/upload-paths.server";
import type { Folder } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { createTestDatabase, type TestDatabase } from "./support/database";

describe("upload folder paths", () => {
  it("splits a relative path into names and refuses one that is absolute, too long or too deep", () => {
    expect(parseUploadPath(null)).toEqual([]);
    expect(parseUploadPath("Photos/2024/")).toEqual(["Photos", "2024"]);
    expect(() => parseUploadPath("/etc")).toThrow(ValidationError);
    expect(() => parseUploadPath(`${"a/".repeat(2048)}b`)).toThrow("The folder path of this upload is too long.");
    expect(() =>
      parseUploadPath(
        Array(MAX_UPLOAD_PATH_DEPTH + 1)
          .fill("d")
          .join("/"),
      ),
    ).toThrow(/33 folders deep/);
    expect(() => parseUploadPath("a/\u0000/b")).toThrow(/Bad folder path "a\/\\u0000\/b"/);
  });

  describe("resolving against the database", () => {
    let db: TestDatabase;
    let services: Services;
    let root: Folder;

    beforeAll(async () => {
      db = await createTestDatabase();
      const notified: string[] = [];
      services = {
        prisma: db.prisma,
        search: { upsert: async () => {} },
        notifier: { toUser: (userId: string) => notified.push(userId) },
        log: { debug() {}, info() {}, warn() {}, error() {} },
      } as unknown as Services;
      const owner = await db.prisma.user.create({ data: { email: "dropper@example.com", name: "Drew Dropper", passwordHash: "x" } });
      root = await db.prisma.folder.create({ data: { ownerId: owner.id, name: "", nameKey: "" } });
    });

    it("creates each folder of a tree once for uploads sent together, recording no activity without an actor", async () => {
      const results = await Promise.all(Array.from({ length: 8 }, () => resolveUploadFolder(services, root, ["Trip", "Day 1"])));
      expect(new Set(results.map((folder) => folder.id)).size).toBe(1);
      const trip = await db.prisma.folder.findMany({ where: { parentId: root.id, nameKey: "trip" } });
      expect(trip).toHaveLength(1);
      expect(await db.prisma.folder.count({ where: { parentId: trip[0]!.id } })).toBe(1);
      expect(results[0]).toMatchObject({ parentId: trip[0]!.id, name: "Day 1", ownerId: root.ownerId });
      expect(await db.prisma.activity.count()).toBe(0);

      // The same names in another case lead to the same folders.
      expect((await resolveUploadFolder(services, root, ["TRIP", "day 1"], root.ownerId)).id).toBe(results[0]!.id);
    });

    it("refuses a path through a file of the same name, creating nothing", async () => {
      await db.prisma.file.create({
        data: {
          ownerId: root.ownerId,
          folderId: root.id,
          name: "notes",
          nameKey: "notes",
          size: 0,
          mimeType: "text/plain",
          storageKey: "k-notes",
        },
      });
      await expect(resolveUploadFolder(services, root, ["Notes", "inner"])).rejects.toBeInstanceOf(ConflictError);
      expect(await db.prisma.folder.count({ where: { parentId: root.id, nameKey: "notes" } })).toBe(0);
    });
  });
});
