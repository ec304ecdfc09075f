import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { beforeAll, describe, expect, it } from "vitest";
import { addFile } from "~/domain/files/files.server";
import { createFolder, getRootFolder } from "~/domain/files/folders.server";
import { trashItem } from "~/domain/files/trash.server";
import type { Services } from "~/services/index.server";
import { startTestApp, type DriverSet, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { unzip } from "./support/zip";

const DRIVER_SETS: Array<{ label: string; drivers: DriverSet }> = [
  { label: "embedded defaults (local disk, memory)", drivers: { storage: "local", cache: "memory" } },
  { label: "production drivers (S3, Redis)", drivers: { storage: "s3", cache: "redis" } },
];

type Actor = { id: string; role: "USER" | "ADMIN" };

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

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

/** A form post with repeated fields ("item" once per selected item), as a browser sends it. */
function postFields(client: TestClient, path: string, fields: Array<[string, string]>) {
  const body = new URLSearchParams();
  for (const [key, value] of fields) body.append(key, value);
  return client.request(path, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: body.toString() });
}

/** A bulk POST redirects (303) to its summary page; returns that page's response. */
async function postBulk(client: TestClient, fields: Array<[string, string]>) {
  const response = await postFields(client, "/bulk", fields);
  if (response.status !== 303) return response;
  const location = response.headers.get("location")!;
  expect(location).toMatch(/^\/bulk\?result=[A-Za-z0-9_-]{16}$/);
  return client.get(location);
}

function query(fields: Array<[string, string]>) {
  const params = new URLSearchParams();
  for (const [key, value] of fields) params.append(key, value);
  return params.toString();
}

const item = (kind: "file" | "folder", id: string): [string, string] => ["item", `${kind}:${id}`];

describe.each(DRIVER_SETS)("bulk actions on a selection with $label", ({ drivers }) => {
  let app: TestApp;
  let services: Services;
  let alice: TestClient;
  let aliceActor: Actor;
  let aliceRoot: string;
  let malloryActor: Actor;
  let malloryRoot: string;

  beforeAll(async () => {
    app = await startTestApp(drivers);
    services = app.services;
    await new TestClient(app.url).register("Root Admin", "root@example.com");
    alice = new TestClient(app.url);
    await alice.register("Alice", "alice@example.com");
    await new TestClient(app.url).register("Mallory", "mallory@example.com");
    const a = await services.prisma.user.findUniqueOrThrow({ where: { email: "alice@example.com" } });
    const m = await services.prisma.user.findUniqueOrThrow({ where: { email: "mallory@example.com" } });
    aliceActor = { id: a.id, role: "USER" };
    malloryActor = { id: m.id, role: "USER" };
    aliceRoot = (await getRootFolder(services, a.id)).id;
    malloryRoot = (await getRootFolder(services, m.id)).id;
  });

  it("streams a ZIP of files and folders with safe, unique names, leaving out trashed and unreadable items", async () => {
    const zipRoot = await createFolder(services, aliceActor, aliceRoot, "Zip test");
    const docs = await createFolder(services, aliceActor, zipRoot.id, "Docs");
    const sub = await createFolder(services, aliceActor, docs.id, "Sub");
    await createFolder(services, aliceActor, docs.id, "Empty");
    await putFile(services, aliceActor, docs.id, "a.txt", "in docs");
    const deep = await putFile(services, aliceActor, sub.id, "deep.bin", randomBytes(70_000));
    const gone = await putFile(services, aliceActor, docs.id, "gone.txt", "trashed");
    await trashItem(services, aliceActor, "file", gone.id);
    // A file named like the selected folder, and a legacy name unsafe in an archive.
    const clash = await putFile(services, aliceActor, zipRoot.id, "Docs", "a file named Docs");
    const unsafe = await putFile(services, aliceActor, zipRoot.id, "unsafe.txt", "unsafe");
    await services.prisma.file.update({ where: { id: unsafe.id }, data: { name: "..\\evil\u0007.txt" } });
    const trashedTop = await putFile(services, aliceActor, zipRoot.id, "trashed-top.txt", "x");
    await trashItem(services, aliceActor, "file", trashedTop.id);
    const foreign = await putFile(services, malloryActor, malloryRoot, "secret.txt", "mallory's");

    const selection = [
      item("folder", docs.id),
      item("file", clash.id),
      item("file", unsafe.id),
      item("file", trashedTop.id),
      item("file", foreign.id),
    ];
    const response = await alice.get(`/bulk/zip?${query(selection)}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/zip");
    expect(response.headers.get("content-disposition")).toBe(`attachment; filename="Zip test.zip"; filename*=UTF-8''Zip%20test.zip`);
    const entries = await unzip(Buffer.from(await response.arrayBuffer()));
    expect([...entries.keys()].sort()).toEqual(
      [".._evil.txt", "Docs (1)", "Docs/", "Docs/Empty/", "Docs/Sub/", "Docs/Sub/deep.bin", "Docs/a.txt"].sort(),
    );
    expect(entries.get("Docs/a.txt")!.toString()).toBe("in docs");
    expect(entries.get("Docs (1)")!.toString()).toBe("a file named Docs");
    expect(entries.get(".._evil.txt")!.toString()).toBe("unsafe");
    const deepBytes = entries.get("Docs/Sub/deep.bin")!;
    expect(sha256(deepBytes)).toBe(deep.sha256);

    // Items from different folders: "Coffer files.zip", same names numbered.
    const other = await createFolder(services, aliceActor, aliceRoot, "Other");
    const same1 = await putFile(services, aliceActor, zipRoot.id, "same.txt", "one");
    const same2 = await putFile(services, aliceActor, other.id, "SAME.txt", "two");
    const mixed = await alice.get(`/bulk/zip?${query([item("file", same1.id), item("file", same2.id)])}`);
    expect(mixed.status).toBe(200);
    expect(mixed.headers.get("content-disposition")).toContain(`filename*=UTF-8''Coffer%20files.zip`);
    const mixedEntries = await unzip(Buffer.from(await mixed.arrayBuffer()));
    expect(Object.fromEntries([...mixedEntries].map(([name, bytes]) => [name, bytes.toString()]))).toEqual({
      "same.txt": "one",
      "SAME (1).txt": "two",
    });

    // Nothing readable: 404, and signed-out visitors are sent to log in.
    expect((await alice.get(`/bulk/zip?${query([item("file", foreign.id)])}`)).status).toBe(404);
    expect((await alice.get(`/bulk/zip`)).status).toBe(400);
    const anonymous = await new TestClient(app.url).get(`/bulk/zip?${query([item("file", same1.id)])}`);
    expect(anonymous.status).toBe(302);
  });

  it("moves a selection, reporting a name conflict and an item of someone else as skipped", async () => {
    const source = await createFolder(services, aliceActor, aliceRoot, "Move source");
    const dest = await createFolder(services, aliceActor, aliceRoot, "Move dest");
    const f1 = await putFile(services, aliceActor, source.id, "one.txt", "1");
    const f2 = await putFile(services, aliceActor, source.id, "a.txt", "2");
    const folder = await createFolder(services, aliceActor, source.id, "Inner");
    await putFile(services, aliceActor, dest.id, "a.txt", "already there");
    const foreign = await putFile(services, malloryActor, malloryRoot, "theirs.txt", "m");

    const response = await postBulk(alice, [
      ["intent", "move"],
      ["from", `/files/${source.id}`],
      ["destination", dest.id],
      ["policy", "cancel"],
      item("file", f1.id),
      item("file", f2.id),
      item("folder", folder.id),
      item("file", foreign.id),
    ]);
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html).toContain("Moved 2 items; 2 skipped: “a.txt” already exists; an item was not found.");
    expect(html).toContain(`href="/files/${source.id}"`);
    expect((await services.prisma.file.findUniqueOrThrow({ where: { id: f1.id } })).folderId).toBe(dest.id);
    expect((await services.prisma.file.findUniqueOrThrow({ where: { id: f2.id } })).folderId).toBe(source.id);
    expect((await services.prisma.folder.findUniqueOrThrow({ where: { id: folder.id } })).parentId).toBe(dest.id);
    expect((await services.prisma.file.findUniqueOrThrow({ where: { id: foreign.id } })).folderId).toBe(malloryRoot);

    // Into someone else's folder: every item is refused, still a summary and not a 500.
    const refused = await postBulk(alice, [["intent", "move"], ["destination", malloryRoot], item("file", f2.id)]);
    expect(refused.status).toBe(200);
    expect(await refused.text()).toContain("Moved 0 items; 1 skipped");
    // No destination: a 400 with a message.
    const noDestination = await postBulk(alice, [["intent", "move"], item("file", f2.id)]);
    expect(noDestination.status).toBe(400);
    expect(await noDestination.text()).toContain("Choose a destination folder.");
  });

  it("copies a selection keeping both names, and trashes and restores a selection", async () => {
    const source = await createFolder(services, aliceActor, aliceRoot, "Copy source");
    const dest = await createFolder(services, aliceActor, aliceRoot, "Copy dest");
    const f1 = await putFile(services, aliceActor, source.id, "c.txt", "copy me");
    const sub = await createFolder(services, aliceActor, source.id, "Sub");
    await putFile(services, aliceActor, sub.id, "inside.txt", "inside");
    await putFile(services, aliceActor, dest.id, "c.txt", "existing");
    const foreign = await putFile(services, malloryActor, malloryRoot, "theirs.txt", "m");

    const copied = await postBulk(alice, [
      ["intent", "copy"],
      ["destination", dest.id],
      ["policy", "keep-both"],
      item("file", f1.id),
      item("folder", sub.id),
      item("file", foreign.id),
    ]);
    expect(copied.status).toBe(200);
    expect(await copied.text()).toContain("Copied 2 items; 1 skipped: an item was not found.");
    const names = (await services.prisma.file.findMany({ where: { folderId: dest.id, trashedAt: null } })).map((f) => f.name).sort();
    expect(names).toEqual(["c (1).txt", "c.txt"]);
    const copiedSub = await services.prisma.folder.findFirstOrThrow({ where: { parentId: dest.id, name: "Sub" } });
    expect(await services.prisma.file.count({ where: { folderId: copiedSub.id } })).toBe(1);
    // The originals stay.
    expect((await services.prisma.file.findUniqueOrThrow({ where: { id: f1.id } })).folderId).toBe(source.id);

    const trashed = await postBulk(alice, [["intent", "trash"], item("file", f1.id), item("folder", sub.id), item("file", foreign.id)]);
    expect(trashed.status).toBe(200);
    expect(await trashed.text()).toContain("Moved 2 items to the trash; 1 skipped: an item was not found.");
    expect((await services.prisma.file.findUniqueOrThrow({ where: { id: f1.id } })).trashedAt).not.toBeNull();
    expect((await services.prisma.folder.findUniqueOrThrow({ where: { id: sub.id } })).trashedAt).not.toBeNull();
    expect((await services.prisma.file.findUniqueOrThrow({ where: { id: foreign.id } })).trashedAt).toBeNull();

    // The trash page offers the same selection: checkboxes joining a restore form outside the rows' forms.
    const trashPage = await (await alice.get("/trash")).text();
    expect(trashPage.match(/<form[^>]*id="trash-bulk-form"[^>]*>/)?.[0]).toContain('action="/bulk"');
    const trashBoxes = trashPage.match(/<input[^>]*name="item"[^>]*>/g) ?? [];
    expect(trashBoxes.find((box) => box.includes(`value="file:${f1.id}"`))).toContain('form="trash-bulk-form"');
    expect(trashPage).toContain("Restore selected");

    const restored = await postBulk(alice, [
      ["intent", "restore"],
      ["from", "/trash"],
      item("file", f1.id),
      item("folder", sub.id),
      item("file", foreign.id),
    ]);
    expect(restored.status).toBe(200);
    const restoredHtml = await restored.text();
    expect(restoredHtml).toContain("Restored 2 items; 1 skipped");
    expect(restoredHtml).toContain('href="/trash"');
    expect((await services.prisma.file.findUniqueOrThrow({ where: { id: f1.id } })).trashedAt).toBeNull();
    expect((await services.prisma.folder.findUniqueOrThrow({ where: { id: sub.id } })).trashedAt).toBeNull();
  });

  it("works without JavaScript: checkboxes in one form, a destination page, then a plain post", async () => {
    const folder = await createFolder(services, aliceActor, aliceRoot, "No JS");
    const dest = await createFolder(services, aliceActor, aliceRoot, "No JS dest");
    const file = await putFile(services, aliceActor, folder.id, "plain.txt", "plain");
    const child = await createFolder(services, aliceActor, folder.id, "Child");

    for (const view of ["list", "grid"]) {
      const page = await alice.get(`/files/${folder.id}?view=${view}`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html.match(/<form[^>]*id="bulk-form"/g)).toHaveLength(1);
      const boxes = html.match(/<input[^>]*name="item"[^>]*>/g) ?? [];
      expect(boxes).toHaveLength(2);
      expect(boxes.find((box) => box.includes(`value="file:${file.id}"`))).toContain('aria-label="Select plain.txt"');
      expect(boxes.find((box) => box.includes(`value="folder:${child.id}"`))).toContain('aria-label="Select Child"');
      for (const box of boxes) expect(box).toContain('type="checkbox"');
      for (const label of ["Download as ZIP", "Move…", "Copy…", "Move to trash"]) expect(html).toContain(label);
      // No form is nested inside the bulk form.
      const start = html.indexOf('id="bulk-form"');
      const end = html.indexOf("</form>", start);
      expect(html.slice(start, end)).not.toContain("<form");
    }

    const pick = await alice.get(
      `/bulk?${query([["from", `/files/${folder.id}`], ["intent", "move"], item("file", file.id), item("folder", child.id)])}`,
    );
    expect(pick.status).toBe(200);
    const pickHtml = await pick.text();
    expect(pickHtml).toContain("Move 2 items");
    expect(pickHtml).toContain(`value="${dest.id}"`);
    expect(pickHtml).toContain("My files / No JS dest");
    expect(pickHtml).toContain(`value="file:${file.id}"`);
    expect(pickHtml).toMatch(/<label[^>]*for="bulk-destination"/);
    expect(pickHtml).toMatch(/<label[^>]*for="bulk-policy"/);

    const moved = await postBulk(alice, [
      ["intent", "move"],
      ["from", `/files/${folder.id}`],
      ["destination", dest.id],
      ["policy", "cancel"],
      item("file", file.id),
      item("folder", child.id),
    ]);
    expect(moved.status).toBe(200);
    expect(await moved.text()).toContain("Moved 2 items.");
    expect((await services.prisma.file.findUniqueOrThrow({ where: { id: file.id } })).folderId).toBe(dest.id);

    // An empty selection explains itself instead of failing.
    const empty = await alice.get(`/bulk?intent=copy&from=/files`);
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain("Select at least one file or folder first.");
    // "Restore selected" with nothing ticked, without JavaScript: what to do, and the way back (issue 16).
    const nothing = await postBulk(alice, [
      ["intent", "restore"],
      ["from", "/trash"],
    ]);
    expect(nothing.status).toBe(400);
    const nothingHtml = (await nothing.text()).replaceAll("&#x27;", "'");
    expect(nothingHtml).toContain("Nothing was selected. Tick the items you want back in the trash, then choose “Restore selected”.");
    expect(nothingHtml).toMatch(/<a[^>]*href="\/trash"[^>]*>Back to the trash<\/a>/);
    // "from" never leads off the site.
    const offsite = await postBulk(alice, [["intent", "trash"], ["from", "https://evil.example/"], item("file", file.id)]);
    expect(await offsite.text()).not.toContain("evil.example");
  });

  it("redirects a bulk POST to its summary (a reload repeats nothing), private to its user, with a retry for name conflicts", async () => {
    const source = await createFolder(services, aliceActor, aliceRoot, "PRG source");
    const dest = await createFolder(services, aliceActor, aliceRoot, "PRG dest");
    const clash = await putFile(services, aliceActor, source.id, "clash.txt", "new");
    const free = await putFile(services, aliceActor, source.id, "free.txt", "free");
    await putFile(services, aliceActor, dest.id, "clash.txt", "old");

    const posted = await postFields(alice, "/bulk", [
      ["intent", "move"],
      ["from", `/files/${source.id}`],
      ["destination", dest.id],
      ["policy", "cancel"],
      item("file", clash.id),
      item("file", free.id),
    ]);
    expect(posted.status).toBe(303);
    const summaryUrl = posted.headers.get("location")!;
    const first = await (await alice.get(summaryUrl)).text();
    expect(first).toContain("Moved 1 item; 1 skipped: “clash.txt” already exists.");
    // Reloading the summary shows it again and changes nothing.
    const again = await alice.get(summaryUrl);
    expect(again.status).toBe(200);
    expect(await again.text()).toContain("Moved 1 item; 1 skipped");
    expect(await services.prisma.file.count({ where: { folderId: dest.id, trashedAt: null } })).toBe(2);

    // The summary offers the skipped item again with another policy, as a plain form.
    expect(first).toContain("Try the skipped item again");
    expect(first).toContain(`value="file:${clash.id}"`);
    expect(first).not.toContain(`value="file:${free.id}"`);
    expect(first).toMatch(/<label[^>]*for="retry-policy"/);
    const retried = await postBulk(alice, [
      ["intent", "move"],
      ["from", `/files/${source.id}`],
      ["destination", dest.id],
      ["policy", "keep-both"],
      item("file", clash.id),
    ]);
    expect(await retried.text()).toContain("Moved 1 item.");
    const names = (await services.prisma.file.findMany({ where: { folderId: dest.id, trashedAt: null } })).map((f) => f.name).sort();
    expect(names).toEqual(["clash (1).txt", "clash.txt", "free.txt"]);

    // Someone else cannot read it, and an unknown or malformed token is a clear 404.
    const mallory = new TestClient(app.url);
    await mallory.login("mallory@example.com");
    const stolen = await mallory.get(summaryUrl);
    expect(stolen.status).toBe(404);
    const stolenHtml = await stolen.text();
    expect(stolenHtml).toContain("This summary is no longer available");
    expect(stolenHtml).not.toContain("clash.txt");
    expect((await alice.get("/bulk?result=AAAAAAAAAAAAAAAAAAAAAA")).status).toBe(404);
    expect((await alice.get("/bulk?result=../../x")).status).toBe(404);
    // Drag and drop posts from a fetcher with respond=inline: the same move, the summary in the answer.
    const dragged = await putFile(services, aliceActor, source.id, "dragged.txt", "d");
    const inline = await postFields(alice, "/bulk", [
      ["intent", "move"],
      ["from", `/files/${source.id}`],
      ["destination", dest.id],
      ["policy", "cancel"],
      ["respond", "inline"],
      item("file", dragged.id),
    ]);
    expect(inline.status).toBe(200);
    expect(await inline.text()).toContain("Moved 1 item.");
    expect((await services.prisma.file.findUniqueOrThrow({ where: { id: dragged.id } })).folderId).toBe(dest.id);
    // A refused request changed nothing and says so directly (no redirect).
    const refused = await postFields(alice, "/bulk", [["intent", "explode"], item("file", free.id)]);
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("Choose what to do with the selected items.");
  });
});
