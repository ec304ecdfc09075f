import { beforeAll, describe, expect, it } from "vitest";
import { ACTIVITY_PAGE_SIZE } from "~/domain/audit/activity.server";
import { startTestApp, type DriverSet, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

/** The activity viewer, search of items shared with me, and folder-path creation, over HTTP. */
const DRIVER_SETS: Array<{ label: string; drivers: DriverSet }> = [
  { label: "embedded defaults (local disk, memory)", drivers: { storage: "local", cache: "memory" } },
  { label: "production drivers (S3, Redis)", drivers: { storage: "s3", cache: "redis" } },
];

describe.each(DRIVER_SETS)("File manager gaps with $label", ({ drivers }) => {
  let app: TestApp;
  let owner: TestClient;
  let friend: TestClient;
  let stranger: TestClient;
  let ownerRoot: string;

  async function upload(client: TestClient, folderId: string, name: string, text = "bytes") {
    const form = new FormData();
    form.append("file", new Blob([text], { type: "text/plain" }), name);
    const response = await client.postMultipart(`/files/${folderId}`, form);
    expect(response.status).toBe(200);
    return (await app.services.prisma.file.findFirstOrThrow({ where: { folderId, name } })).id;
  }

  async function folder(client: TestClient, parentPath: string, name: string): Promise<string> {
    const response = await client.postForm(parentPath, { intent: "create-folder", name, open: "1" });
    expect(response.status).toBe(302);
    return response.headers.get("location")!.split("/").pop()!;
  }

  function createPath(client: TestClient, folderId: string, path: string, json = true) {
    return client.request("/folders/path", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...(json ? { accept: "application/json" } : {}) },
      body: new URLSearchParams({ folderId, path }).toString(),
    });
  }

  beforeAll(async () => {
    app = await startTestApp(drivers);
    owner = new TestClient(app.url);
    friend = new TestClient(app.url);
    stranger = new TestClient(app.url);
    await owner.register("Olivia Owner", "olivia@example.com");
    await friend.register("Fred Friend", "fred@example.com");
    await stranger.register("Sam Stranger", "sam@example.com");
    const user = await app.services.prisma.user.findUniqueOrThrow({ where: { email: "olivia@example.com" } });
    ownerRoot = (await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId: user.id, parentId: null } })).id;
  });

  describe("activity", () => {
    it("shows who did what to an item on its details page, and my activity on /activity, paged without JavaScript", async () => {
      const projectId = await folder(owner, "/files", "Activity project");
      const fileId = await upload(owner, projectId, "plan.txt");
      expect((await owner.postForm(`/details/file/${fileId}`, { intent: "rename", name: "plan v2.txt" })).status).toBe(302);

      const details = await owner.get(`/details/file/${fileId}?tab=activity`);
      const html = await details.text();
      expect(html).toMatch(/<h2 id="activity-heading"[^>]*>Activity<\/h2>/);
      const section = html.slice(html.indexOf('data-testid="item-activity"'));
      expect(section).toContain("renamed “plan.txt” to “plan v2.txt”");
      expect(section).toContain("uploaded “plan.txt”");
      expect(section.indexOf("renamed")).toBeLessThan(section.indexOf("uploaded"));
      expect(section).toContain(">You</span>");

      // My activity: newest first, linked from the navigation, with links to the items.
      const mine = await (await owner.get("/activity")).text();
      expect(mine).toMatch(/<a[^>]*href="\/activity"[^>]*>Activity<\/a>/);
      expect(mine).toContain("renamed “plan.txt” to “plan v2.txt”");
      expect(mine).toContain(`href="/details/file/${fileId}"`);
      expect(mine.indexOf("renamed")).toBeLessThan(mine.indexOf("uploaded “plan.txt”"));
    });

    it("pages with a keyset cursor, refuses a forged cursor, and never shows other people's activity", async () => {
      const bulkId = await folder(owner, "/files", "Many entries");
      for (let i = 0; i < ACTIVITY_PAGE_SIZE + 5; i++) {
        await app.services.prisma.activity.create({
          data: {
            userId: (await app.services.prisma.user.findUniqueOrThrow({ where: { email: "olivia@example.com" } })).id,
            action: "folder.created",
            subjectType: "folder",
            subjectId: bulkId,
            details: { name: `entry-${String(i).padStart(3, "0")}` },
          },
        });
      }
      const first = await (await owner.get("/activity")).text();
      expect(first).toContain(`entry-${String(ACTIVITY_PAGE_SIZE + 4).padStart(3, "0")}`);
      const next = /href="(\/activity\?after=[^"]+)"[^>]*rel="next"|rel="next"[^>]*href="(\/activity\?after=[^"]+)"/.exec(first);
      expect(next).not.toBeNull();
      const nextUrl = (next![1] ?? next![2]).replaceAll("&amp;", "&");
      const second = await (await owner.get(nextUrl)).text();
      // The second page continues where the first stopped: no entry on both.
      const entries = (page: string) => new Set(page.match(/entry-\d{3}/g));
      const overlap = [...entries(first)].filter((entry) => entries(second).has(entry));
      expect(overlap).toEqual([]);
      expect(second).toContain("entry-000");
      expect(second).toContain(">Newest<");

      const forged = await owner.get("/activity?after=not-a-cursor");
      expect(forged.status).toBe(400);
      expect(await forged.text()).toContain("That page of activity does not exist.");

      // Someone else sees none of it, on /activity or on the item's page.
      const theirs = await (await stranger.get("/activity")).text();
      expect(theirs).not.toContain("entry-");
      expect(theirs).not.toContain("plan.txt");
      expect(theirs).toContain("Nothing here yet.");
      expect((await stranger.get(`/details/folder/${bulkId}`)).status).toBe(404);
      expect((await new TestClient(app.url).get("/activity")).status).toBe(302);
    });

    it("shows a grantee the item's history but not the owner's sharing events", async () => {
      const sharedId = await folder(owner, "/files", "History shared");
      expect(
        (
          await owner.postForm("/shares", {
            intent: "share-user",
            item: `folder:${sharedId}`,
            email: "fred@example.com",
            permission: "READ",
          })
        ).status,
      ).toBe(200);
      const asOwner = await (await owner.get(`/details/folder/${sharedId}?tab=activity`)).text();
      expect(asOwner).toContain("shared it with another user (view only)");
      const asFriend = await (await friend.get(`/details/folder/${sharedId}?tab=activity`)).text();
      expect(asFriend).toContain('id="activity-heading"');
      expect(asFriend).not.toContain("shared it with another user");
    });
  });

  describe("search of items shared with me", () => {
    it("finds items inside a folder shared with me and a file shared with me, and nothing else of the owner's", async () => {
      const sharedId = await folder(owner, "/files", "Zephyr shared");
      const subId = await folder(owner, `/files/${sharedId}`, "Zephyr deeper");
      const privateId = await folder(owner, "/files", "Zephyr private");
      const inShared = await upload(owner, subId, "zephyr-notes.txt");
      const onlyFile = await upload(owner, privateId, "zephyr-single.txt");
      const hidden = await upload(owner, privateId, "zephyr-hidden.txt");
      expect(
        (
          await owner.postForm("/shares", {
            intent: "share-user",
            item: `folder:${sharedId}`,
            email: "fred@example.com",
            permission: "READ",
          })
        ).status,
      ).toBe(200);
      expect((await owner.postForm("/shares", { intent: "share-user", item: `file:${onlyFile}`, email: "fred@example.com" })).status).toBe(
        200,
      );

      const page = await (await friend.get("/search?q=zephyr")).text();
      const shared = page.slice(page.indexOf('data-testid="search-shared"'));
      expect(page).toContain("shared with you");
      expect(shared).toContain(`href="/download/${inShared}"`);
      expect(shared).toContain(`href="/files/${subId}"`);
      expect(shared).toContain(`href="/files/${sharedId}"`);
      expect(shared).toContain(`href="/download/${onlyFile}"`);
      expect(shared).toContain("Shared by Olivia Owner");
      // The single shared file's folder is not shared: no link into it.
      expect(page).not.toContain(`href="/files/${privateId}"`);
      expect(page).not.toContain("zephyr-hidden.txt");
      expect(page).not.toContain(hidden);
      expect(page).not.toContain("Zephyr private");

      // Someone nothing was shared with finds nothing; the owner finds all of it as their own.
      const strangers = await (await stranger.get("/search?q=zephyr")).text();
      expect(strangers).toContain("Nothing matches");
      expect(strangers).not.toContain("zephyr-");
      const owners = await (await owner.get("/search?q=zephyr")).text();
      expect(owners).toContain("zephyr-hidden.txt");
      expect(owners).not.toContain('data-testid="search-shared"');

      // Trashing the shared folder and removing the file share end it.
      expect((await owner.postForm(`/details/folder/${sharedId}`, { intent: "trash" })).status).toBe(302);
      const share = await app.services.prisma.userShare.findFirstOrThrow({ where: { fileId: onlyFile } });
      expect((await owner.postForm("/shares", { intent: "remove-user-share", shareId: share.id })).status).toBeLessThan(400);
      const after = await (await friend.get("/search?q=zephyr")).text();
      expect(after).not.toContain("zephyr-notes.txt");
      expect(after).not.toContain("zephyr-single.txt");
    });
  });

  describe("creating a folder path (empty folders of a dropped tree)", () => {
    it("creates the missing folders, reuses existing ones, and is idempotent and race-safe", async () => {
      const baseId = await folder(owner, "/files", "Dropped tree");
      const made = await createPath(owner, baseId, "Tree/Empty/Deeper/");
      expect(made.status).toBe(200);
      const body = (await made.json()) as { ok: boolean; folderId: string; name: string };
      expect(body).toMatchObject({ ok: true, name: "Deeper" });
      const tree = await app.services.prisma.folder.findFirstOrThrow({ where: { parentId: baseId, name: "Tree" } });
      const empty = await app.services.prisma.folder.findFirstOrThrow({ where: { parentId: tree.id, name: "Empty" } });
      expect((await app.services.prisma.folder.findUniqueOrThrow({ where: { id: body.folderId } })).parentId).toBe(empty.id);

      // Again, and several at once: the same folders, none doubled.
      const again = (await (await createPath(owner, baseId, "Tree/Empty/Deeper")).json()) as { folderId: string };
      expect(again.folderId).toBe(body.folderId);
      const racing = await Promise.all(Array.from({ length: 6 }, () => createPath(owner, baseId, "Tree/Other/Leaf/")));
      expect(racing.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
      const ids = new Set(await Promise.all(racing.map(async (r) => ((await r.json()) as { folderId: string }).folderId)));
      expect(ids.size).toBe(1);
      expect(await app.services.prisma.folder.count({ where: { parentId: tree.id, name: "Other", trashedAt: null } })).toBe(1);
      // Each folder made is in the activity trail once, by whoever made it.
      const other = await app.services.prisma.folder.findFirstOrThrow({ where: { parentId: tree.id, name: "Other" } });
      const created = await app.services.prisma.activity.findMany({
        where: { action: "folder.created", subjectId: { in: [tree.id, other.id] } },
      });
      expect(created).toHaveLength(2);
      expect(new Set(created.map((entry) => entry.userId)).size).toBe(1);
      // A case-differing name is the same folder.
      expect(((await (await createPath(owner, baseId, "TREE/empty")).json()) as { folderId: string }).folderId).toBe(empty.id);
      // The new folders show in the listing.
      expect(await (await owner.get(`/files/${tree.id}`)).text()).toContain("Empty");

      // Without JavaScript (a plain form post) it redirects to the deepest folder.
      const plain = await createPath(owner, baseId, "Tree/Plain", false);
      expect(plain.status).toBe(303);
      expect(plain.headers.get("location")).toMatch(/^\/files\/[A-Za-z0-9_-]+$/);
    });

    it("refuses bad paths, a file in the way, read-only and foreign folders, and anonymous callers", async () => {
      const baseId = await folder(owner, "/files", "Path checks");
      await upload(owner, baseId, "Blocker");
      for (const path of ["../up", "/abs", "a//b", "a/./b", ""]) {
        const response = await createPath(owner, baseId, path);
        expect(response.status, path).toBe(400);
        expect(((await response.json()) as { ok: boolean }).ok).toBe(false);
      }
      const blocked = await createPath(owner, baseId, "Blocker/inside");
      expect(blocked.status).toBe(409);
      expect(((await blocked.json()) as { message: string }).message).toContain("is in the way");

      // Someone else's folder: not found, and nothing created.
      const foreign = await createPath(stranger, baseId, "Intruder/");
      expect(foreign.status).toBe(404);
      expect(await app.services.prisma.folder.count({ where: { name: "Intruder" } })).toBe(0);
      // A READ grantee may look but not create.
      expect(
        (await owner.postForm("/shares", { intent: "share-user", item: `folder:${baseId}`, email: "fred@example.com", permission: "READ" }))
          .status,
      ).toBe(200);
      const readOnly = await createPath(friend, baseId, "Grantee/");
      expect(readOnly.status).toBe(403);
      expect(await app.services.prisma.folder.count({ where: { name: "Grantee" } })).toBe(0);
      // A WRITE grantee creates folders owned by the folder's owner.
      expect(
        (
          await owner.postForm("/shares", {
            intent: "share-user",
            item: `folder:${baseId}`,
            email: "fred@example.com",
            permission: "WRITE",
          })
        ).status,
      ).toBe(200);
      const written = (await (await createPath(friend, baseId, "Grantee/")).json()) as { folderId: string };
      const grantees = await app.services.prisma.folder.findUniqueOrThrow({ where: { id: written.folderId } });
      expect(grantees.ownerId).not.toBe((await app.services.prisma.user.findUniqueOrThrow({ where: { email: "fred@example.com" } })).id);

      const anonymous = await createPath(new TestClient(app.url), baseId, "Anon/");
      expect(anonymous.status).toBe(302);
      expect((await owner.get("/folders/path")).status).toBe(405);
      // The owner's root works with an empty folder id.
      const atRoot = (await (await createPath(owner, "", "Root level path/")).json()) as { folderId: string };
      expect((await app.services.prisma.folder.findUniqueOrThrow({ where: { id: atRoot.folderId } })).parentId).toBe(ownerRoot);
    });
  });
});
