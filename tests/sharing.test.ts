import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type DriverSet, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { createUploadRequest } from "./support/tus";
import { unzip } from "./support/zip";

const DRIVER_SETS: Array<{ label: string; drivers: DriverSet }> = [
  { label: "embedded defaults (local disk, memory)", drivers: { storage: "local", cache: "memory" } },
  { label: "production drivers (S3, Redis)", drivers: { storage: "s3", cache: "redis" } },
];

/** Every entry of a ZIP: name → bytes (directories end with "/" and have no bytes). */
function tokenFrom(text: string): string {
  const match = /\/s\/([A-Za-z0-9_-]{43})/.exec(text);
  if (!match) throw new Error("no share URL in the page");
  return match[1];
}

describe.each(DRIVER_SETS)("Sharing with $label", ({ drivers }) => {
  let app: TestApp;
  let owner: TestClient;
  let friend: TestClient;
  let stranger: TestClient;
  let visitor: TestClient;
  let sharedId: string;
  let subId: string;
  let emptyId: string;
  let outsideId: string;
  let reportId: string;
  let secretId: string;
  const report = randomBytes(256 * 1024 + 7);
  const deep = randomBytes(1000);
  const secret = Buffer.from("not for you");

  async function upload(client: TestClient, folderId: string, name: string, bytes: Buffer, type = "application/octet-stream") {
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(bytes)], { type }), name);
    const response = await client.postMultipart(`/files/${folderId}`, form);
    return response;
  }

  async function folder(client: TestClient, parentPath: string, name: string): Promise<string> {
    const response = await client.postForm(parentPath, { intent: "create-folder", name, open: "1" });
    expect(response.status).toBe(302);
    return response.headers.get("location")!.split("/").pop()!;
  }

  async function createLink(item: string, fields: Record<string, string> = {}): Promise<string> {
    const response = await owner.postForm("/shares", { intent: "create-link", item, ...fields });
    const text = await response.text();
    expect(response.status, text.slice(0, 2000)).toBe(200);
    return tokenFrom(text);
  }

  beforeAll(async () => {
    app = await startTestApp(drivers, { MAX_UPLOAD_SIZE: "20MiB" });
    owner = new TestClient(app.url);
    friend = new TestClient(app.url);
    stranger = new TestClient(app.url);
    visitor = new TestClient(app.url);
    await owner.register("Olivia Owner", "olivia@example.com");
    await friend.register("Fred Friend", "fred@example.com");
    await stranger.register("Sam Stranger", "sam@example.com");
    sharedId = await folder(owner, "/files", "Holiday");
    subId = await folder(owner, `/files/${sharedId}`, "Day 1");
    emptyId = await folder(owner, `/files/${sharedId}`, "Empty");
    outsideId = await folder(owner, "/files", "Private Stuff");
    expect((await upload(owner, sharedId, "Report.pdf", report, "application/pdf")).status).toBe(200);
    expect((await upload(owner, subId, "deep.bin", deep)).status).toBe(200);
    expect((await upload(owner, outsideId, "secret.txt", secret, "text/plain")).status).toBe(200);
    reportId = (await app.services.prisma.file.findFirstOrThrow({ where: { name: "Report.pdf" } })).id;
    secretId = (await app.services.prisma.file.findFirstOrThrow({ where: { name: "secret.txt" } })).id;
  });

  describe("managing links", () => {
    it("creates, lists, edits and revokes a link, recording each step in the activity trail", async () => {
      const token = await createLink(`file:${reportId}`);
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const listed = await (await owner.get("/shares")).text();
      expect(listed).toContain(`${app.url}/s/${token}`);
      expect(listed).toContain("Report.pdf");
      const link = await app.services.prisma.shareLink.findUniqueOrThrow({ where: { token } });

      const future = new Date(Date.now() + 3 * 24 * 3600 * 1000).toISOString().slice(0, 16);
      const edited = await owner.postForm("/shares", {
        intent: "update-link",
        linkId: link.id,
        password: "open sesame",
        expiresAt: future,
        maxDownloads: "5",
      });
      expect(edited.status).toBe(200);
      const after = await app.services.prisma.shareLink.findUniqueOrThrow({ where: { id: link.id } });
      expect(after.maxDownloads).toBe(5);
      expect(after.passwordHash).toMatch(/^\$argon2id\$/);
      expect(after.expiresAt?.toISOString().slice(0, 16)).toBe(future);

      const cleared = await owner.postForm("/shares", {
        intent: "update-link",
        linkId: link.id,
        clearPassword: "on",
        expiresAt: "",
        maxDownloads: "",
      });
      expect(cleared.status).toBe(200);
      const plain = await app.services.prisma.shareLink.findUniqueOrThrow({ where: { id: link.id } });
      expect([plain.passwordHash, plain.expiresAt, plain.maxDownloads]).toEqual([null, null, null]);

      const revoked = await owner.postForm("/shares", { intent: "revoke-link", linkId: link.id });
      expect(revoked.status).toBe(200);
      expect(await app.services.prisma.shareLink.count({ where: { id: link.id } })).toBe(0);
      expect((await visitor.get(`/s/${token}`)).status).toBe(404);

      const actions = (await app.services.prisma.activity.findMany({ where: { subjectId: link.id }, orderBy: { createdAt: "asc" } })).map(
        (a) => a.action,
      );
      expect(actions).toEqual(["share.created", "share.updated", "share.updated", "share.revoked"]);
    });

    it("validates input and refuses other people's items and links", async () => {
      const past = await owner.postForm("/shares", { intent: "create-link", item: `file:${reportId}`, expiresAt: "2020-01-01T10:00" });
      expect(past.status).toBe(400);
      expect(await past.text()).toContain("The expiry must be in the future.");
      const zero = await owner.postForm("/shares", { intent: "create-link", item: `file:${reportId}`, maxDownloads: "0" });
      expect(zero.status).toBe(400);
      expect(await zero.text()).toContain("whole number");
      const dropFile = await owner.postForm("/shares", { intent: "create-link", item: `file:${reportId}`, mode: "DROP" });
      expect(dropFile.status).toBe(400);
      const foreign = await stranger.postForm("/shares", { intent: "create-link", item: `file:${reportId}` });
      expect(foreign.status).toBe(404);
      expect((await stranger.get(`/shares?item=file:${reportId}`)).status).toBe(404);
      const token = await createLink(`file:${reportId}`);
      const link = await app.services.prisma.shareLink.findUniqueOrThrow({ where: { token } });
      expect((await stranger.postForm("/shares", { intent: "revoke-link", linkId: link.id })).status).toBe(404);
      expect(await app.services.prisma.shareLink.count({ where: { id: link.id } })).toBe(1);
    });

    it("pre-selects an item with ?item= and shows an empty state without links", async () => {
      const page = await (await owner.get(`/shares?item=folder:${sharedId}`)).text();
      expect(page).toMatch(/Share “(<!-- -->)?Holiday(<!-- -->)?”/);
      expect(page).toContain("Create link");
      const empty = await (await stranger.get("/shares")).text();
      expect(empty).toContain("You have not shared any links yet.");
    });
  });

  describe("public links", () => {
    it("shows a shared file and downloads its exact bytes", async () => {
      const token = await createLink(`file:${reportId}`);
      const page = await visitor.get(`/s/${token}`);
      expect(page.status).toBe(200);
      expect(page.headers.get("cache-control")).toContain("no-store");
      expect(page.headers.get("x-robots-tag")).toBe("noindex, nofollow");
      const html = await page.text();
      expect(html).toContain("Report.pdf");
      expect(html).toContain("application/pdf");
      expect(html).toContain(`/s/${token}/download/${reportId}`);
      expect(html).not.toContain("Olivia");
      const download = await visitor.get(`/s/${token}/download/${reportId}`);
      expect(download.status).toBe(200);
      expect(download.headers.get("content-disposition")).toBe(`attachment; filename="Report.pdf"; filename*=UTF-8''Report.pdf`);
      expect(Buffer.from(await download.arrayBuffer()).equals(report)).toBe(true);
      expect((await visitor.get(`/s/${token}/download/${secretId}`)).status).toBe(404);
      expect((await visitor.get(`/s/${token}/f/${sharedId}`)).status).toBe(404);
      expect((await visitor.get(`/s/${token}/zip`)).status).toBe(404);
      const link = await app.services.prisma.shareLink.findUniqueOrThrow({ where: { token } });
      expect(link.downloadCount).toBe(1);
      expect(await app.services.prisma.activity.count({ where: { subjectId: link.id, action: "share.used", userId: null } })).toBe(1);
    });

    it("browses a shared folder and its subfolders, and nothing outside it", async () => {
      const token = await createLink(`folder:${sharedId}`);
      const root = await (await visitor.get(`/s/${token}`)).text();
      expect(root).toContain("Day 1");
      expect(root).toContain("Report.pdf");
      expect(root).toContain("Download all as ZIP");
      expect(root).not.toContain("Private Stuff");
      const sub = await visitor.get(`/s/${token}/f/${subId}`);
      expect(sub.status).toBe(200);
      const subHtml = await sub.text();
      expect(subHtml).toContain('aria-label="Breadcrumb"');
      expect(subHtml).toContain(`href="/s/${token}"`);
      expect(subHtml).toContain("deep.bin");
      const deepId = (await app.services.prisma.file.findFirstOrThrow({ where: { name: "deep.bin" } })).id;
      const deepDownload = await visitor.get(`/s/${token}/download/${deepId}`);
      expect(Buffer.from(await deepDownload.arrayBuffer()).equals(deep)).toBe(true);
      const outside = await visitor.get(`/s/${token}/f/${outsideId}`);
      expect(outside.status).toBe(404);
      expect(await outside.text()).not.toContain("Private Stuff");
      expect((await visitor.get(`/s/${token}/f/nonexistent`)).status).toBe(404);
      expect((await visitor.get(`/s/${token}/download/${secretId}`)).status).toBe(404);
      expect((await visitor.get(`/s/${token}/zip?folder=${outsideId}`)).status).toBe(404);
    });

    it("streams a ZIP with the folder structure, empty folders, safe and unique names and the exact bytes", async () => {
      const shared = await app.services.prisma.folder.findUniqueOrThrow({ where: { id: sharedId } });
      // Names the app would never create itself, as an older version or an import might have left them.
      const odd = [
        { name: "report.PDF", bytes: Buffer.from("upper case twin") },
        { name: "../../etc/evil\u0001.txt", bytes: Buffer.from("evil") },
      ];
      for (const [index, item] of odd.entries()) {
        const storageKey = `zip-test-${drivers.storage}-${index}-${randomBytes(4).toString("hex")}`;
        await app.services.storage.put(storageKey, Readable.from([item.bytes]));
        await app.services.prisma.file.create({
          data: {
            ownerId: shared.ownerId,
            folderId: sharedId,
            name: item.name,
            nameKey: `odd-${index}`,
            size: BigInt(item.bytes.length),
            mimeType: "text/plain",
            storageKey,
          },
        });
      }
      const token = await createLink(`folder:${sharedId}`);
      const response = await visitor.get(`/s/${token}/zip`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("application/zip");
      expect(response.headers.get("content-disposition")).toContain('filename="Holiday.zip"');
      const entries = await unzip(Buffer.from(await response.arrayBuffer()), { strictFileNames: false });
      const names = [...entries.keys()].sort();
      expect(names).toEqual(["Day 1/", "Day 1/deep.bin", "Empty/", "Report.pdf", ".._.._etc_evil.txt", "report (1).PDF"].sort());
      expect(entries.get("Report.pdf")!.equals(report)).toBe(true);
      expect(entries.get("Day 1/deep.bin")!.equals(deep)).toBe(true);
      expect(entries.get("report (1).PDF")!.toString()).toBe("upper case twin");
      expect(entries.get(".._.._etc_evil.txt")!.toString()).toBe("evil");
      for (const name of names) {
        expect(name.startsWith("/")).toBe(false);
        expect(name.split("/")).not.toContain("..");
      }
      expect((await app.services.prisma.shareLink.findUniqueOrThrow({ where: { token } })).downloadCount).toBe(1);
      // A subfolder alone.
      const sub = await unzip(Buffer.from(await (await visitor.get(`/s/${token}/zip?folder=${subId}`)).arrayBuffer()), {
        strictFileNames: false,
      });
      expect([...sub.keys()]).toEqual(["deep.bin"]);
      await app.services.prisma.file.deleteMany({ where: { nameKey: { startsWith: "odd-" } } });
    });

    it("asks for the password: wrong one 401 with a message, right one grants a link-scoped cookie", async () => {
      const token = await createLink(`file:${reportId}`, { password: "tulips in spring" });
      const client = new TestClient(app.url);
      const form = await client.get(`/s/${token}`);
      expect(form.status).toBe(200);
      const formHtml = await form.text();
      expect(formHtml).toContain('type="password"');
      expect(formHtml).not.toContain("Report.pdf");
      const blocked = await client.get(`/s/${token}/download/${reportId}`);
      expect(blocked.status).toBe(302);
      expect(blocked.headers.get("location")).toBe(`/s/${token}`);
      const wrong = await client.postForm(`/s/${token}`, { intent: "unlock", password: "roses" });
      expect(wrong.status).toBe(401);
      expect(await wrong.text()).toContain("That password is not right.");
      expect(client.cookies.has("coffer_share")).toBe(false);
      const right = await client.postForm(`/s/${token}`, { intent: "unlock", password: "tulips in spring" });
      expect(right.status).toBe(302);
      const cookie = right.headers.getSetCookie().find((c) => c.startsWith("coffer_share="))!;
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Lax/i);
      expect(cookie).toContain(`Path=/s/${token}`);
      expect(cookie).toMatch(/Max-Age=43200/);
      const page = await client.get(`/s/${token}`);
      expect(await page.text()).toContain("Report.pdf");
      const download = await client.get(`/s/${token}/download/${reportId}`);
      expect(download.status).toBe(200);
      expect(Buffer.from(await download.arrayBuffer()).equals(report)).toBe(true);
      // A forged cookie, or one for another link, does not open it.
      const forged = await fetch(`${app.url}/s/${token}`, { headers: { cookie: "coffer_share=eyJsIjoieCJ9.bad" } });
      expect(await forged.text()).not.toContain("Report.pdf");
      // Changing the password withdraws earlier grants.
      const link = await app.services.prisma.shareLink.findUniqueOrThrow({ where: { token } });
      await owner.postForm("/shares", { intent: "update-link", linkId: link.id, password: "a new password" });
      expect(await (await client.get(`/s/${token}`)).text()).not.toContain("Report.pdf");
    });

    it("shows its own 410 page for an expired link", async () => {
      const token = await createLink(`file:${reportId}`);
      await app.services.prisma.shareLink.update({ where: { token }, data: { expiresAt: new Date(Date.now() - 1000) } });
      const response = await visitor.get(`/s/${token}`);
      expect(response.status).toBe(410);
      const html = await response.text();
      expect(html).toContain("Link expired");
      expect(html).toContain("This link has expired.");
      expect((await visitor.get(`/s/${token}/download/${reportId}`)).status).toBe(410);
    });

    it("stops at the download limit, even with parallel downloads for the last one", async () => {
      const token = await createLink(`file:${reportId}`, { maxDownloads: "2" });
      const first = await visitor.get(`/s/${token}/download/${reportId}`);
      expect(first.status).toBe(200);
      await first.arrayBuffer();
      const racing = await Promise.all([visitor.get(`/s/${token}/download/${reportId}`), visitor.get(`/s/${token}/download/${reportId}`)]);
      await Promise.all(racing.map((r) => r.arrayBuffer()));
      expect(racing.map((r) => r.status).sort()).toEqual([200, 410]);
      expect((await app.services.prisma.shareLink.findUniqueOrThrow({ where: { token } })).downloadCount).toBe(2);
      const page = await visitor.get(`/s/${token}`);
      expect(page.status).toBe(410);
      expect(await page.text()).toContain("Download limit reached");
    });

    it("counts a whole download sent for a Range it ignores, but not a resumed one", async () => {
      const token = await createLink(`file:${reportId}`, { maxDownloads: "1" });
      // An unsupported Range gets the whole file, so it is a download like any other.
      const junk = await visitor.get(`/s/${token}/download/${reportId}`, { range: "items=5-9" });
      expect(junk.status).toBe(200);
      expect(Buffer.from(await junk.arrayBuffer()).equals(report)).toBe(true);
      expect((await app.services.prisma.shareLink.findUniqueOrThrow({ where: { token } })).downloadCount).toBe(1);
      expect((await visitor.get(`/s/${token}/download/${reportId}`, { range: "bytes=0-" })).status).toBe(410);
      const again = await createLink(`file:${reportId}`, { maxDownloads: "1" });
      const resumed = await visitor.get(`/s/${again}/download/${reportId}`, { range: "bytes=3-" });
      expect(resumed.status).toBe(206);
      await resumed.arrayBuffer();
      expect((await app.services.prisma.shareLink.findUniqueOrThrow({ where: { token: again } })).downloadCount).toBe(0);
    });

    it("treats a link to an item in the trash as not found", async () => {
      const token = await createLink(`folder:${emptyId}`);
      expect((await visitor.get(`/s/${token}`)).status).toBe(200);
      await app.services.prisma.folder.update({ where: { id: emptyId }, data: { trashedAt: new Date(), trashRootId: emptyId } });
      try {
        expect((await visitor.get(`/s/${token}`)).status).toBe(404);
      } finally {
        await app.services.prisma.folder.update({ where: { id: emptyId }, data: { trashedAt: null, trashRootId: null } });
      }
    });

    it("answers unknown and malformed tokens with a 404 page, never a 500", async () => {
      for (const path of [
        "/s/" + "A".repeat(43),
        "/s/short",
        "/s/%00%2F..",
        `/s/${"B".repeat(43)}/download/x`,
        `/s/${"C".repeat(43)}/zip`,
        `/s/${"D".repeat(43)}/f/x`,
      ]) {
        const response = await visitor.get(path);
        expect(response.status, path).toBe(404);
      }
      expect(await (await visitor.get("/s/" + "A".repeat(43))).text()).toContain("Link not found");
    });
  });

  describe("file drop", () => {
    it("takes uploads without JavaScript into the owner's folder and never lists its contents", async () => {
      const token = await createLink(`folder:${sharedId}`, { mode: "DROP" });
      const page = await visitor.get(`/s/${token}`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toMatch(/enctype="multipart\/form-data"/i);
      expect(html).not.toContain("Report.pdf");
      expect(html).not.toContain("Day 1");
      expect((await visitor.get(`/s/${token}/f/${subId}`)).status).toBe(404);
      expect((await visitor.get(`/s/${token}/zip`)).status).toBe(404);
      expect((await visitor.get(`/s/${token}/download/${reportId}`)).status).toBe(404);

      const form = new FormData();
      form.append("file", new Blob(["dropped bytes"], { type: "text/plain" }), "Report.pdf");
      const sent = await visitor.postMultipart(`/s/${token}`, form);
      expect(sent.status).toBe(200);
      const sentHtml = await sent.text();
      expect(sentHtml).toContain("Sent “Report.pdf”");
      expect(sentHtml).not.toContain("Report (1).pdf");
      const dropped = await app.services.prisma.file.findFirstOrThrow({ where: { folderId: sharedId, name: "Report (1).pdf" } });
      const owner = await app.services.prisma.user.findUniqueOrThrow({ where: { email: "olivia@example.com" } });
      expect(dropped.ownerId).toBe(owner.id);
      const link = await app.services.prisma.shareLink.findUniqueOrThrow({ where: { token } });
      const activity = await app.services.prisma.activity.findFirstOrThrow({ where: { subjectId: dropped.id, action: "file.uploaded" } });
      expect(activity.userId).toBeNull();
      expect(activity.details).toMatchObject({ via: "share", shareId: link.id });
      await app.services.prisma.file.update({ where: { id: dropped.id }, data: { trashedAt: new Date(), trashRootId: dropped.id } });
    });
  });

  describe("rate limits", () => {
    it("limits password attempts per visitor and link: 429 with Retry-After and a page saying when", async () => {
      const token = await createLink(`file:${reportId}`, { password: "right password" });
      const client = new TestClient(app.url);
      for (let i = 0; i < 10; i++) {
        expect((await client.postForm(`/s/${token}`, { intent: "unlock", password: `wrong ${i}` })).status).toBe(401);
      }
      const limited = await client.postForm(`/s/${token}`, { intent: "unlock", password: "right password" });
      expect(limited.status).toBe(429);
      const retryAfter = Number(limited.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
      const html = await limited.text();
      expect(html).toContain("Too many requests");
      expect(html).toContain("try again after");
    });

    it("limits page views per visitor and link", async () => {
      const token = await createLink(`file:${reportId}`);
      const statuses: number[] = [];
      for (let i = 0; i < 121; i++) {
        const response = await visitor.get(`/s/${token}`);
        await response.arrayBuffer();
        statuses.push(response.status);
      }
      expect(statuses.slice(0, 120).every((s) => s === 200)).toBe(true);
      const last = await visitor.get(`/s/${token}`);
      expect(last.status).toBe(429);
      expect(Number(last.headers.get("retry-after"))).toBeGreaterThan(0);
    });
  });

  describe("sharing with other users", () => {
    it("lets a READ grantee list and download the subtree but not upload; others get 404", async () => {
      const shared = await owner.postForm("/shares", {
        intent: "share-user",
        item: `folder:${sharedId}`,
        email: "FRED@example.com",
        permission: "READ",
      });
      expect(shared.status).toBe(200);
      expect(await shared.text()).toContain("Shared with Fred Friend");
      const list = await (await friend.get("/shared")).text();
      expect(list).toContain("Holiday");
      expect(list).toContain("Olivia Owner");
      expect(list).toContain("Can view");
      expect(list).toContain(`/files/${sharedId}`);
      const folderPage = await friend.get(`/files/${sharedId}`);
      expect(folderPage.status).toBe(200);
      const folderHtml = await folderPage.text();
      expect(folderHtml).toContain("Report.pdf");
      // The owner's folders above and beside the share stay hidden (breadcrumbs, folder tree).
      expect(folderHtml).not.toContain("Private Stuff");
      const subPage = await friend.get(`/files/${subId}`);
      expect(subPage.status).toBe(200);
      const subHtml = await subPage.text();
      expect(subHtml).toContain("Holiday");
      expect(subHtml).not.toContain("Private Stuff");
      const download = await friend.get(`/download/${reportId}`);
      expect(download.status).toBe(200);
      expect(Buffer.from(await download.arrayBuffer()).equals(report)).toBe(true);
      // The details page shows the location from the shared folder down, not the owner's root.
      const details = await (await friend.get(`/details/file/${reportId}`)).text();
      expect(details).toContain(`/files/${sharedId}`);
      expect(details).not.toMatch(/href="\/files"[^>]*>My files<\/a>\s*<\/li>\s*<li[^>]*>[^<]*<span[^>]*>\/<\/span>\s*<a[^>]*>Holiday/);
      const denied = await upload(friend, sharedId, "intruder.txt", Buffer.from("x"));
      expect(denied.status).toBe(403);
      const tusDenied = await createUploadRequest(app, friend, { folderId: subId, name: "intruder.bin", size: 10 });
      expect(tusDenied.status).toBe(403);
      expect(await tusDenied.text()).toBe("You can view this folder but not change it: it was shared with you read-only.");
      expect((await friend.postForm(`/files/${sharedId}`, { intent: "create-folder", name: "Nope" })).status).toBe(403);
      expect((await friend.get(`/files/${outsideId}`)).status).toBe(404);
      expect((await friend.get(`/download/${secretId}`)).status).toBe(404);
      expect((await stranger.get(`/files/${sharedId}`)).status).toBe(404);
      expect((await stranger.get(`/download/${reportId}`)).status).toBe(404);
      expect(await (await stranger.get("/shared")).text()).toContain("Nothing has been shared with you yet.");
      const access = await (await owner.get(`/shares?item=folder:${sharedId}`)).text();
      expect(access).toContain("fred@example.com");
    });

    it("lets a WRITE grantee upload and create folders, owned by the folder's owner; removing the share ends access", async () => {
      const regrant = await owner.postForm("/shares", {
        intent: "share-user",
        item: `folder:${sharedId}`,
        email: "fred@example.com",
        permission: "WRITE",
      });
      expect(regrant.status).toBe(200);
      expect(await app.services.prisma.userShare.count({ where: { folderId: sharedId } })).toBe(1);
      expect((await upload(friend, subId, "from-fred.txt", Buffer.from("hi"))).status).toBe(200);
      const created = await friend.postForm(`/files/${sharedId}`, { intent: "create-folder", name: "Fred's photos" });
      expect(created.status).toBe(200);
      const ownerId = (await app.services.prisma.user.findUniqueOrThrow({ where: { email: "olivia@example.com" } })).id;
      expect((await app.services.prisma.file.findFirstOrThrow({ where: { name: "from-fred.txt" } })).ownerId).toBe(ownerId);
      expect((await app.services.prisma.folder.findFirstOrThrow({ where: { name: "Fred's photos" } })).ownerId).toBe(ownerId);
      expect(await (await friend.get("/shared")).text()).toContain("Can view and add files");

      const share = await app.services.prisma.userShare.findFirstOrThrow({ where: { folderId: sharedId } });
      expect((await stranger.postForm("/shares", { intent: "remove-user-share", shareId: share.id })).status).toBe(404);
      expect((await owner.postForm("/shares", { intent: "remove-user-share", shareId: share.id })).status).toBe(200);
      expect((await friend.get(`/files/${sharedId}`)).status).toBe(404);
      expect((await friend.get(`/download/${reportId}`)).status).toBe(404);
    });

    it("shares a single file: the grantee downloads it but sees nothing else of its folder", async () => {
      const shared = await owner.postForm("/shares", { intent: "share-user", item: `file:${secretId}`, email: "sam@example.com" });
      expect(shared.status).toBe(200);
      const list = await (await stranger.get("/shared")).text();
      expect(list).toContain("secret.txt");
      expect(list).toContain(`/download/${secretId}`);
      const download = await stranger.get(`/download/${secretId}`);
      expect(download.status).toBe(200);
      expect(Buffer.from(await download.arrayBuffer()).equals(secret)).toBe(true);
      expect((await stranger.get(`/files/${outsideId}`)).status).toBe(404);
      const share = await app.services.prisma.userShare.findFirstOrThrow({ where: { fileId: secretId } });
      await owner.postForm("/shares", { intent: "remove-user-share", shareId: share.id });
      expect((await stranger.get(`/download/${secretId}`)).status).toBe(404);
    });

    it("refuses unknown emails and sharing with oneself", async () => {
      const unknown = await owner.postForm("/shares", { intent: "share-user", item: `folder:${sharedId}`, email: "nobody@example.com" });
      expect(unknown.status).toBe(400);
      expect(await unknown.text()).toContain("There is no Coffer account with that email address.");
      const self = await owner.postForm("/shares", { intent: "share-user", item: `folder:${sharedId}`, email: "olivia@example.com" });
      expect(self.status).toBe(400);
    });
  });
});
