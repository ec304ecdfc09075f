// The activity trail as shown (app/domain/audit/activity.server.ts) in process, against a real
// database: the words each action is shown with, details that are missing or malformed, who an
// entry is attributed to, and paging. file-manager-gaps.test.ts covers the pages over HTTP.
import { beforeAll, describe, expect, it } from "vitest";
import { describe as describeActivity, itemActivity, myActivity, recentActivity, recordActivity } from "~/domain/audit/activity.server";
import { ValidationError } from "~/domain/errors";
import type { Services } from "~/services/index.server";
import { createTestDatabase, type TestDatabase } from "./support/database";

describe("activity descriptions", () => {
  it.each([
    ["file.uploaded", { name: "a.txt" }, "uploaded “a.txt”"],
    ["file.uploaded", { name: "a.txt", via: "share" }, "uploaded “a.txt” through a file-drop link"],
    ["file.renamed", { from: "a.txt", to: "b.txt" }, "renamed “a.txt” to “b.txt”"],
    ["file.renamed", {}, "renamed “?” to “?”"],
    ["folder.renamed", { from: "Docs", to: "Papers" }, "renamed “Docs” to “Papers”"],
    ["folder.renamed", {}, "renamed “?” to “?”"],
    ["file.moved", { name: "a.txt" }, "moved “a.txt” to another folder"],
    ["folder.moved", {}, "moved an item to another folder"],
    ["file.copied", { name: "a.txt", copyName: "a (copy).txt" }, "copied “a.txt” as “a (copy).txt”"],
    ["file.copied", { name: "a.txt", copyName: "a.txt" }, "copied “a.txt”"],
    ["folder.copied", { name: "Docs", copyName: "Docs 2" }, "copied “Docs” as “Docs 2”"],
    ["folder.copied", { name: "Docs" }, "copied “Docs”"],
    ["file.replaced", { name: "a.txt" }, "replaced the content of “a.txt” (the old content is kept as a version)"],
    ["file.trashed", { name: "a.txt" }, "moved “a.txt” to the trash"],
    ["folder.trashed", { name: "Docs" }, "moved “Docs” to the trash"],
    ["file.restored", { name: "a.txt" }, "restored “a.txt” from the trash"],
    ["folder.restored", { name: "Docs" }, "restored “Docs” from the trash"],
    ["file.deleted", { name: "a.txt" }, "deleted “a.txt” forever"],
    ["folder.deleted", { name: "Docs" }, "deleted “Docs” forever"],
    ["file.version_restored", { name: "a.txt" }, "restored an earlier version of “a.txt”"],
    ["folder.created", { name: "Docs" }, "created the folder “Docs”"],
    ["trash.emptied", { items: 3 }, "emptied the trash (3 items)"],
    ["trash.emptied", { items: "3" }, "emptied the trash (some items)"],
    ["share.created", { mode: "UPLOAD" }, "created a share link (file drop)"],
    ["share.created", { mode: "DOWNLOAD" }, "created a share link"],
    ["share.updated", {}, "changed a share link"],
    ["share.revoked", {}, "revoked a share link"],
    ["share.used", { download: "zip" }, "downloaded a ZIP through a share link"],
    ["share.used", {}, "downloaded through a share link"],
    ["share.granted", { permission: "WRITE" }, "shared it with another user (can add and change files)"],
    ["share.granted", { permission: "READ" }, "shared it with another user (view only)"],
    ["share.removed", {}, "stopped sharing it with another user"],
    ["settings.updated", {}, "changed the settings"],
    ["user.quota_changed", {}, "changed a storage quota"],
  ])("%s with %j reads “%s”", (action, details, what) => {
    expect(describeActivity(action, details).what).toBe(what);
  });

  it("names the item from its name, else the name it was renamed to, else not at all", () => {
    expect(describeActivity("file.renamed", { from: "a.txt", to: "b.txt" }).name).toBe("b.txt");
    expect(describeActivity("file.uploaded", { name: "a.txt", to: "b.txt" }).name).toBe("a.txt");
    expect(describeActivity("file.uploaded", { name: 42 })).toEqual({ name: null, what: "uploaded an item" });
  });

  it("reads details that are not an object as none, and spells out an action it does not know", () => {
    for (const raw of [null, "a.txt", 7, ["a.txt"]])
      expect(describeActivity("file.trashed", raw)).toEqual({ name: null, what: "moved an item to the trash" });
    expect(describeActivity("folder.shared_with_team", { name: "Docs" })).toEqual({ name: "Docs", what: "folder shared with team" });
  });
});

describe("activity lists", () => {
  let db: TestDatabase;
  let services: Services;
  let owner: { id: string; name: string };
  let friend: { id: string; name: string };

  beforeAll(async () => {
    db = await createTestDatabase();
    services = { prisma: db.prisma } as unknown as Services;
    owner = await db.prisma.user.create({ data: { email: "owner@example.com", name: "Olivia Owner", passwordHash: "x" } });
    friend = await db.prisma.user.create({ data: { email: "friend@example.com", name: "Fred Friend", passwordHash: "x" } });
  });

  it("attributes each entry to you, the other user by name, the clean-up, or a share-link visitor", async () => {
    const fileId = "file-who";
    const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));
    await db.prisma.activity.createMany({
      data: [
        { userId: owner.id, action: "file.uploaded", subjectType: "file", subjectId: fileId, details: { name: "a.txt" }, createdAt: at(1) },
        {
          userId: friend.id,
          action: "file.renamed",
          subjectType: "file",
          subjectId: fileId,
          details: { from: "a.txt", to: "b.txt" },
          createdAt: at(2),
        },
        {
          userId: null,
          action: "file.uploaded",
          subjectType: "file",
          subjectId: fileId,
          details: { name: "b.txt", via: "share" },
          createdAt: at(3),
        },
        { userId: null, action: "file.deleted", subjectType: "file", subjectId: fileId, details: { name: "b.txt" }, createdAt: at(4) },
        {
          userId: owner.id,
          action: "share.granted",
          subjectType: "file",
          subjectId: fileId,
          details: { permission: "READ" },
          createdAt: at(5),
        },
        {
          userId: owner.id,
          action: "share.created",
          subjectType: "share",
          subjectId: "share-1",
          details: { itemId: fileId },
          createdAt: at(6),
        },
      ],
    });
    const item = { kind: "file" as const, id: fileId, ownerId: owner.id };

    const asOwner = await itemActivity(services, owner, item);
    expect(asOwner.map((entry) => [entry.who, entry.what])).toEqual([
      ["You", "created a share link"],
      ["You", "shared it with another user (view only)"],
      ["Automatic clean-up", "deleted “b.txt” forever"],
      ["Someone with a share link", "uploaded “b.txt” through a file-drop link"],
      ["Fred Friend", "renamed “a.txt” to “b.txt”"],
      ["You", "uploaded “a.txt”"],
    ]);
    expect(asOwner[5]).toMatchObject({
      at: at(1).toISOString(),
      action: "file.uploaded",
      subjectType: "file",
      subjectId: fileId,
      name: "a.txt",
    });

    // Sharing is the owner's business: someone the file is shared with sees the rest.
    const asFriend = await itemActivity(services, friend, item);
    expect(asFriend.map((entry) => [entry.who, entry.action])).toEqual([
      ["Automatic clean-up", "file.deleted"],
      ["Someone with a share link", "file.uploaded"],
      ["You", "file.renamed"],
      ["Olivia Owner", "file.uploaded"],
    ]);
  });

  it("pages my activity newest first with a cursor, ends with none, and refuses a forged cursor", async () => {
    const pager = await db.prisma.user.create({ data: { email: "pager@example.com", name: "Pat Pager", passwordHash: "x" } });
    for (let i = 0; i < 51; i++)
      await recordActivity(services, {
        userId: pager.id,
        action: "folder.created",
        subjectType: "folder",
        subjectId: `folder-${i}`,
        details: { name: `F${i}` },
      });
    await recordActivity(db.prisma, { userId: pager.id, action: "settings.updated", subjectType: "settings", subjectId: pager.id });

    const first = await myActivity(services, pager, null);
    expect(first.entries).toHaveLength(50);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await myActivity(services, pager, first.nextCursor);
    expect(second.entries).toHaveLength(2);
    expect(second.nextCursor).toBeNull();
    const all = [...first.entries, ...second.entries];
    expect(new Set(all.map((entry) => entry.id)).size).toBe(52);
    expect(all.map((entry) => entry.at)).toEqual(
      all
        .map((entry) => entry.at)
        .toSorted()
        .reverse(),
    );
    expect(all.find((entry) => entry.action === "settings.updated")).toMatchObject({
      who: "You",
      what: "changed the settings",
      name: null,
    });
    expect(await db.prisma.activity.findFirstOrThrow({ where: { userId: pager.id, action: "settings.updated" } })).toMatchObject({
      details: {},
    });

    expect((await recentActivity(services, pager.id, 3)).map((row) => row.action)).toHaveLength(3);
    await expect(myActivity(services, pager, "not-a-cursor")).rejects.toBeInstanceOf(ValidationError);
    expect((await myActivity(services, friend, null)).entries.every((entry) => entry.who === "You")).toBe(true);
  });
});
