import { beforeAll, describe, expect, it } from "vitest";
import { countFolderContents, folderSize, listFolder, listingQuery, PAGE_SIZE } from "~/domain/files/folder-listing.server";
import { breadcrumbs, folderTree } from "~/domain/files/folder-tree.server";
import { SORT_KEYS, type FolderListing, type SortDir, type SortKey } from "~/domain/files/folder-listing";
import type { Folder, PrismaClient } from "~/generated/prisma/client";
import { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { formatBytes } from "~/lib/format";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { createTestDatabase } from "./support/database";

const BASE_TIME = Date.UTC(2026, 0, 1, 12, 0, 0);
const MIME_TYPES = ["text/plain", "image/png", "application/pdf"];

interface Expected {
  kind: "folder" | "file";
  id: string;
  name: string;
  key: string;
  size: bigint;
  mimeType: string;
  updatedAt: number;
}

/**
 * Bulk-inserts `count` files (and `folders` subfolders) into `folderId` with many ties: 7 sizes,
 * 5 modification times and 3 types, names in mixed case (the name key is lower case). Every
 * tenth file and every fifth folder also gets a trashed twin that must never be listed.
 */
async function seedFolder(prisma: PrismaClient, ownerId: string, folderId: string, prefix: string, count: number, folders: number) {
  await prisma.$executeRaw`
    INSERT INTO files (id, owner_id, folder_id, name, name_key, size, mime_type, storage_key, created_at, updated_at)
    SELECT ${prefix} || '-f' || lpad(i::text, 6, '0'),
           ${ownerId}, ${folderId},
           CASE WHEN i % 2 = 0 THEN 'File ' ELSE 'file ' END || lpad(((i * 7919) % ${count})::text, 6, '0') || '.bin',
           'file ' || lpad(((i * 7919) % ${count})::text, 6, '0') || '.bin',
           (i % 7) * 1000,
           (${MIME_TYPES}::text[])[1 + i % 3],
           ${prefix} || '-key-' || i,
           now(),
           to_timestamp(${BASE_TIME / 1000} + (i % 5) * 60)
    FROM generate_series(1, ${count}) AS i`;
  await prisma.$executeRaw`
    INSERT INTO files (id, owner_id, folder_id, name, name_key, size, mime_type, storage_key, created_at, updated_at, trashed_at, trash_root_id)
    SELECT ${prefix} || '-trashed-' || i, ${ownerId}, ${folderId}, 'gone ' || i, 'file ' || lpad(i::text, 6, '0') || '.bin',
           5, 'text/plain', ${prefix} || '-trashed-key-' || i, now(), now(), now(), ${prefix} || '-trashed-' || i
    FROM generate_series(1, ${count}, 10) AS i`;
  await prisma.$executeRaw`
    INSERT INTO folders (id, owner_id, parent_id, name, name_key, created_at, updated_at)
    SELECT ${prefix} || '-d' || lpad(i::text, 4, '0'), ${ownerId}, ${folderId},
           'Sub ' || lpad(((i * 13) % ${folders})::text, 4, '0'), 'sub ' || lpad(((i * 13) % ${folders})::text, 4, '0'),
           now(), to_timestamp(${BASE_TIME / 1000} + (i % 3) * 60)
    FROM generate_series(1, ${folders}) AS i`;
  await prisma.$executeRaw`
    INSERT INTO folders (id, owner_id, parent_id, name, name_key, created_at, updated_at, trashed_at, trash_root_id)
    SELECT ${prefix} || '-trashed-d' || i, ${ownerId}, ${folderId}, 'Sub 0001', 'sub 0001', now(), now(), now(), ${prefix} || '-trashed-d' || i
    FROM generate_series(1, ${folders}, 5) AS i`;
  await prisma.$executeRawUnsafe("ANALYZE files");
  await prisma.$executeRawUnsafe("ANALYZE folders");
}

async function liveItems(prisma: PrismaClient, folderId: string): Promise<Expected[]> {
  const [folders, files] = await Promise.all([
    prisma.folder.findMany({ where: { parentId: folderId, trashedAt: null } }),
    prisma.file.findMany({ where: { folderId, trashedAt: null } }),
  ]);
  return [
    ...folders.map((f) => ({
      kind: "folder" as const,
      id: f.id,
      name: f.name,
      key: f.nameKey,
      size: 0n,
      mimeType: "",
      updatedAt: f.updatedAt.getTime(),
    })),
    ...files.map((f) => ({
      kind: "file" as const,
      id: f.id,
      name: f.name,
      key: f.nameKey,
      size: f.size,
      mimeType: f.mimeType,
      updatedAt: f.updatedAt.getTime(),
    })),
  ];
}

const cmp = <T extends string | number | bigint>(a: T, b: T) => (a < b ? -1 : a > b ? 1 : 0);

/** The documented order, computed independently of the SQL. */
function expectedOrder(items: Expected[], sort: SortKey, dir: SortDir): string[] {
  const sign = dir === "asc" ? 1 : -1;
  const folderSign = sort === "name" || sort === "modified" ? sign : 1;
  const byKey = (a: Expected, b: Expected) => cmp(a.key, b.key) || cmp(a.id, b.id);
  const folders = items
    .filter((i) => i.kind === "folder")
    .sort((a, b) => folderSign * ((sort === "modified" ? cmp(a.updatedAt, b.updatedAt) : 0) || byKey(a, b)));
  const primary = (a: Expected, b: Expected) =>
    sort === "size"
      ? cmp(a.size, b.size)
      : sort === "modified"
        ? cmp(a.updatedAt, b.updatedAt)
        : sort === "type"
          ? cmp(a.mimeType, b.mimeType)
          : 0;
  const files = items.filter((i) => i.kind === "file").sort((a, b) => sign * (primary(a, b) || byKey(a, b)));
  return [...folders, ...files].map((i) => i.id);
}

const idsOf = (page: FolderListing) => [...page.folders.map((f) => f.id), ...page.files.map((f) => f.id)];

describe("browsing a folder (domain, real PostgreSQL)", () => {
  let prisma: PrismaClient;
  let services: Services;
  let folder: Folder;
  let items: Expected[];

  beforeAll(async () => {
    const db = await createTestDatabase();
    prisma = db.prisma;
    services = { prisma } as unknown as Services;
    const user = await prisma.user.create({ data: { email: "lister@example.com", name: "Lister", passwordHash: "x" } });
    const root = await prisma.folder.create({ data: { ownerId: user.id, parentId: null, name: "", nameKey: "" } });
    folder = await prisma.folder.create({ data: { ownerId: user.id, parentId: root.id, name: "Big", nameKey: "big" } });
    await seedFolder(prisma, user.id, folder.id, "big", 450, 30);
    items = await liveItems(prisma, folder.id);
    expect(items).toHaveLength(480);
  });

  const orders = SORT_KEYS.flatMap((sort) => (["asc", "desc"] as const).map((dir) => ({ sort, dir })));

  describe.each(orders)("sort=$sort dir=$dir", ({ sort, dir }) => {
    it.each([PAGE_SIZE, 37, 7])("pages forward with page size %i: every item exactly once, in order", async (pageSize) => {
      const expected = expectedOrder(items, sort, dir);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: FolderListing = await listFolder(services, folder, cursor, { sort, dir, pageSize });
        expect(page.sort).toBe(sort);
        expect(page.dir).toBe(dir);
        expect(page.prevCursor === null).toBe(pages === 0);
        const ids = idsOf(page);
        expect(ids.length).toBeLessThanOrEqual(pageSize);
        if (page.nextCursor) expect(ids).toHaveLength(pageSize);
        seen.push(...ids);
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 100);
      expect(seen).toEqual(expected);
      expect(pages).toBe(Math.ceil(expected.length / pageSize));
    });

    it.each([37, 7])("pages backward from the last page with `before` (page size %i), through the same pages", async (pageSize) => {
      const forward: string[][] = [];
      let last: FolderListing | null = null;
      let cursor: string | null = null;
      do {
        last = await listFolder(services, folder, cursor, { sort, dir, pageSize });
        forward.push(idsOf(last));
        cursor = last.nextCursor;
      } while (cursor);
      const backward: string[][] = [idsOf(last)];
      let before = last.prevCursor;
      while (before) {
        const page = await listFolder(services, folder, null, { sort, dir, pageSize, before });
        backward.unshift(idsOf(page));
        before = page.prevCursor;
      }
      // The first page is always full; the pages after it line up with the forward ones.
      expect(backward.flat().slice(0, pageSize)).toEqual(forward[0]);
      expect(new Set(backward.flat()).size).toBe(items.length);
      expect(backward.at(-1)).toEqual(forward.at(-1));
      // Pages before the last are full and, in order, give the whole listing (the first page
      // may overlap the second: a `before` that reaches the start gives the full first page).
      for (const page of backward.slice(0, -1)) expect(page).toHaveLength(pageSize);
      expect([...new Set(backward.flat())]).toEqual(expectedOrder(items, sort, dir));
    });
  });

  it("ignores bad and foreign cursors: the first page", async () => {
    const first = idsOf(await listFolder(services, folder, null, { sort: "size", dir: "desc" }));
    const nameCursor = (await listFolder(services, folder, null, { sort: "name", dir: "asc" })).nextCursor;
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    for (const bad of [
      "garbage",
      "%%%",
      nameCursor,
      b64(["size", "desc", "file", "not-a-number", "x", "y"]),
      b64(["size", "desc", "dir", "1", "x", "y"]),
      b64({ sort: "size" }),
      b64(["size", "desc", "file", "1; DROP TABLE files", "x", "y"]),
      "x".repeat(10_000),
    ]) {
      expect(idsOf(await listFolder(services, folder, bad, { sort: "size", dir: "desc" }))).toEqual(first);
      expect(idsOf(await listFolder(services, folder, null, { sort: "size", dir: "desc", before: bad }))).toEqual(first);
    }
  });

  it("sizes a folder by its subtree's live files: subfolders in, trash and other folders out (issue 16)", async () => {
    const owner = await prisma.user.findFirstOrThrow();
    const file = (id: string, folderId: string, size: number, trashed = false) => ({
      id,
      ownerId: owner.id,
      folderId,
      name: id,
      nameKey: id,
      size: BigInt(size),
      mimeType: "text/plain",
      storageKey: `key-${id}`,
      trashedAt: trashed ? new Date() : null,
    });
    // Beside "Big", not in it: the other tests count Big's contents.
    const top = await prisma.folder.create({ data: { ownerId: owner.id, parentId: folder.parentId, name: "Sized", nameKey: "sized" } });
    const sub = await prisma.folder.create({ data: { ownerId: owner.id, parentId: top.id, name: "Sub", nameKey: "sub" } });
    const deep = await prisma.folder.create({ data: { ownerId: owner.id, parentId: sub.id, name: "Deep", nameKey: "deep" } });
    const binned = await prisma.folder.create({
      data: { ownerId: owner.id, parentId: top.id, name: "Binned", nameKey: "binned", trashedAt: new Date() },
    });
    await prisma.file.createMany({
      data: [
        file("size-a", top.id, 100),
        file("size-b", sub.id, 20),
        file("size-c", deep.id, 3),
        file("size-trashed", sub.id, 5000, true),
        file("size-binned", binned.id, 7000),
      ],
    });
    expect(await folderSize(services, top.id)).toEqual({ bytes: 123, capped: false });
    expect(await folderSize(services, sub.id)).toEqual({ bytes: 23, capped: false });
    expect(await folderSize(services, binned.id)).toEqual({ bytes: 7000, capped: false });
    expect(await folderSize(services, "no-such-folder")).toEqual({ bytes: 0, capped: false });
  });

  it("counts only items that are not in the trash", async () => {
    expect(await countFolderContents(services, folder.id)).toEqual({ folders: 30, files: 450, capped: false });
  });

  it("never lists trashed items", async () => {
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page: FolderListing = await listFolder(services, folder, cursor, { sort: "type", dir: "asc" });
      all.push(...idsOf(page));
      cursor = page.nextCursor;
    } while (cursor);
    expect(all.some((id) => id.includes("trashed"))).toBe(false);
  });

  it("builds the folder tree: the path expanded, levels capped with a note", async () => {
    const deep = await prisma.folder.findFirstOrThrow({ where: { parentId: folder.id, trashedAt: null, name: "Sub 0007" } });
    const crumbs = await breadcrumbs(services, deep);
    const tree = (await folderTree(services, crumbs))!;
    expect(tree.isRoot).toBe(true);
    const big = tree.children!.find((c) => c.id === folder.id)!;
    expect(big.children).toHaveLength(30);
    expect(big.more).toBe(false);
    expect(big.children!.map((c) => c.name)).toEqual([...big.children!.map((c) => c.name)].sort());
    const current = big.children!.find((c) => c.current)!;
    expect(current.id).toBe(deep.id);
    expect(current.children).toBeNull();
    expect(big.children!.some((c) => c.name === "Sub 0001" && c.id.includes("trashed"))).toBe(false);
  });

  it("expands the root when it is the current folder", async () => {
    const owner = await prisma.user.findFirstOrThrow();
    const root = await prisma.folder.findFirstOrThrow({ where: { ownerId: owner.id, parentId: null } });
    const tree = (await folderTree(services, await breadcrumbs(services, root)))!;
    expect(tree).toMatchObject({ id: root.id, current: true, more: false });
    expect(tree.children!.map((c) => c.id)).toContain(folder.id);
    expect(tree.children!.every((c) => c.children === null && !c.current)).toBe(true);
  });

  it("caps each tree level at 100 subfolders with a “more” flag, keeping the path visible", async () => {
    const owner = await prisma.user.findFirstOrThrow();
    const crowded = await prisma.folder.create({ data: { ownerId: owner.id, parentId: folder.id, name: "Crowded", nameKey: "crowded" } });
    await prisma.$executeRaw`
      INSERT INTO folders (id, owner_id, parent_id, name, name_key, created_at, updated_at)
      SELECT 'crowd-' || i, ${owner.id}, ${crowded.id}, 'Child ' || lpad(i::text, 3, '0'), 'child ' || lpad(i::text, 3, '0'), now(), now()
      FROM generate_series(1, 130) AS i`;
    const lastChild = await prisma.folder.findUniqueOrThrow({ where: { id: "crowd-130" } });
    const tree = (await folderTree(services, await breadcrumbs(services, lastChild)))!;
    const level = tree.children!.find((c) => c.id === folder.id)!.children!.find((c) => c.id === crowded.id)!;
    expect(level.more).toBe(true);
    expect(level.children).toHaveLength(101);
    expect(level.children!.at(-1)).toMatchObject({ id: "crowd-130", current: true });
    expect(level.children!.at(-2)!.id).toBe("crowd-100");
  });

  describe("query plans on a folder of 20,000 files", () => {
    let bigFolder: Folder;
    beforeAll(async () => {
      const owner = await prisma.user.findFirstOrThrow();
      bigFolder = await prisma.folder.create({ data: { ownerId: owner.id, parentId: folder.id, name: "Huge", nameKey: "huge" } });
      await seedFolder(prisma, owner.id, bigFolder.id, "huge", 20_000, 3);
      await prisma.$executeRawUnsafe("VACUUM ANALYZE files");
    });

    const indexFor: Record<SortKey, RegExp> = {
      name: /files_(live_name_unique|folder_id_name_key_idx)/,
      size: /files_live_size_listing/,
      modified: /files_live_updated_listing/,
      type: /files_live_type_listing/,
    };

    it("stops counting at 10,000 (the summary says “more than”)", async () => {
      expect(await countFolderContents(services, bigFolder.id)).toEqual({ folders: 3, files: 10_000, capped: true });
    });

    it("sizes it from at most 10,001 files, saying it is only part (issue 16)", async () => {
      const size = await folderSize(services, bigFolder.id);
      expect(size.capped).toBe(true);
      // Sizes are (i % 7) * 1000 bytes: 10,001 of them add up to at most 6,000 each.
      expect(size.bytes).toBeGreaterThan(0);
      expect(size.bytes).toBeLessThanOrEqual(10_001 * 6000);
    });

    it.each(orders)(
      "the file page query for sort=$sort dir=$dir walks the matching index (first page and from a cursor)",
      async ({ sort, dir }) => {
        const middle = await listFolder(services, bigFolder, null, { sort, dir, pageSize: 10_003 });
        const position = middle.nextCursor;
        expect(position).not.toBeNull();
        const decoded = JSON.parse(Buffer.from(position!, "base64url").toString()) as [
          string,
          string,
          "file",
          string | null,
          string,
          string,
        ];
        const from = { kind: "file" as const, value: decoded[3], key: decoded[4], id: decoded[5] };
        for (const query of [
          listingQuery("file", bigFolder.id, sort, dir, null, PAGE_SIZE + 1),
          listingQuery("file", bigFolder.id, sort, dir, from, PAGE_SIZE + 1),
        ]) {
          const plan = (await prisma.$queryRaw<Array<{ "QUERY PLAN": string }>>(Prisma.sql`EXPLAIN ${query}`))
            .map((r) => r["QUERY PLAN"])
            .join("\n");
          expect(plan, plan).toMatch(indexFor[sort]);
          expect(plan, plan).not.toMatch(/Seq Scan|Bitmap Heap Scan/);
          // Never a sort of the whole folder: either no sort at all or an incremental one on the index order.
          expect(
            plan.split("\n").filter((line) => /Sort/.test(line) && !/Incremental Sort|Sort Key|Presorted Key/.test(line)),
            plan,
          ).toEqual([]);
        }
      },
    );
  });
});

describe("browsing over HTTP (production build)", () => {
  let app: TestApp;
  let client: TestClient;
  let folderId: string;

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    client = new TestClient(app.url);
    await client.register("Browser", "browser@example.com");
    const created = await client.postForm("/files", { intent: "create-folder", name: "Photos", open: "1" });
    folderId = created.headers.get("location")!.split("/").pop()!;
    const owner = await app.services.prisma.user.findUniqueOrThrow({ where: { email: "browser@example.com" } });
    await seedFolder(app.services.prisma, owner.id, folderId, "http", 450, 12);
  });

  it("renders the list view with sort links and aria-sort, details links and a summary", async () => {
    const response = await client.get(`/files/${folderId}?sort=size&dir=desc`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toMatch(/<th[^>]*aria-sort="descending"[^>]*><a[^>]*href="\/files\/\w+(\?|&amp;|")[^"]*sort=size[^"]*"[^>]*>Size/);
    expect(html.match(/aria-sort=/g)).toHaveLength(1);
    expect(html).toContain(`href="/files/${folderId}?sort=modified"`);
    expect(html).toContain(`href="/files/${folderId}"`); // name, ascending: the default
    expect(html).toContain("12 folders, 450 files");
    expect(html).toMatch(/href="\/details\/file\/http-f\d+"[^>]*>Details<span class="sr-only"> of file \d+\.bin<\/span>/i);
    expect(html).toMatch(/href="\/details\/folder\/http-d\d+"/);
    expect(html).toMatch(/href="\/download\/http-f\d+"/);
    expect(html).toContain('aria-label="Folder tree"');
    expect(html).toMatch(/aria-current="page"[^>]*>.*?Photos/);
    expect(html).toContain("Next page");
    expect(html).not.toContain("Previous page");
    expect(html).not.toContain("gone ");
  });

  it("lists the root's subfolders in the sidebar tree at the root (issue 16)", async () => {
    const html = await (await client.get("/files")).text();
    const tree = /<nav aria-label="Folder tree"[^>]*>([\s\S]*?)<\/nav>/.exec(html)![1]!;
    expect(tree).toMatch(/<a[^>]*aria-current="page"[^>]*href="\/files"|<a[^>]*href="\/files"[^>]*aria-current="page"/);
    expect(tree).toContain(`href="/files/${folderId}"`);
    expect(tree).toContain("Photos");
  });

  it("shows a folder's own size under its title and the account's usage beside the tree (issue 16)", async () => {
    const live = await app.services.prisma.file.aggregate({ where: { folderId, trashedAt: null }, _sum: { size: true } });
    const html = await (await client.get(`/files/${folderId}`)).text();
    const size = /data-testid="folder-size"[^>]*>([^<]*)</.exec(html)![1];
    expect(size).toBe(`${formatBytes(Number(live._sum.size))} in this folder`);
    expect(html).toContain('data-testid="account-usage"');
    expect(html).toContain("Your storage");
    const root = await (await client.get("/files")).text();
    expect(root).not.toContain('data-testid="folder-size"');
    expect(root).toContain('data-testid="account-usage"');
  });

  it("follows Next and Previous links without JavaScript", async () => {
    const first = await (await client.get(`/files/${folderId}?sort=modified`)).text();
    const next = /href="([^"]+)"[^>]*>Next page/.exec(first)![1]!.replace(/&amp;/g, "&");
    expect(next).toContain("after=");
    const second = await (await client.get(next)).text();
    expect(second).toContain("Previous page");
    expect(second).toContain("First page");
    const previous = /href="([^"]+)"[^>]*>Previous page/.exec(second)![1]!.replace(/&amp;/g, "&");
    const back = await (await client.get(previous)).text();
    const rows = (html: string) => [...html.matchAll(/href="\/details\/(?:file|folder)\/([\w-]+)"/g)].map((m) => m[1]);
    expect(rows(back)).toEqual(rows(first));
  });

  it("falls back to defaults on bad parameters, never a 500", async () => {
    for (const query of [
      "?sort=evil&dir=sideways",
      "?after=%FF%FE",
      "?before=nope&after=nope",
      "?view=cards",
      "?sort[]=1&dir=",
      "?after=" + "A".repeat(5000),
    ]) {
      const response = await client.get(`/files/${folderId}${query}`);
      expect(response.status, query).toBe(200);
      const html = await response.text();
      expect(html).toMatch(/<th[^>]*aria-sort="ascending"[^>]*><a[^>]*>Name/);
    }
  });

  it("switches to the grid with a link, remembers it in a cookie, and back", async () => {
    const grid = await client.get(`/files/${folderId}?view=grid`);
    expect(grid.status).toBe(200);
    expect(grid.headers.getSetCookie().join()).toMatch(/coffer_view=grid;.*Path=\//);
    const gridHtml = await grid.text();
    expect(gridHtml).toContain('data-testid="folder-grid"');
    expect(gridHtml).not.toContain("<table");
    expect(gridHtml).toMatch(/data-thumbnail-slot="http-f\d+"/);
    expect(gridHtml).toMatch(/<label[^>]*for="sort-by"/);

    const remembered = await (await client.get(`/files/${folderId}`)).text();
    expect(remembered).toContain('data-testid="folder-grid"');

    const list = await client.get(`/files/${folderId}?view=list`);
    expect(list.headers.getSetCookie().join()).toMatch(/coffer_view=list/);
    expect(await (await client.get(`/files/${folderId}`)).text()).toContain("<table");
  });

  it("shows the empty state", async () => {
    const created = await client.postForm("/files", { intent: "create-folder", name: "Empty", open: "1" });
    const html = await (await client.get(created.headers.get("location")!)).text();
    expect(html).toContain("This folder is empty.");
    expect(html).not.toContain('data-testid="folder-summary"'); // "This folder is empty." says it all
  });
});
