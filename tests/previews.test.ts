import { randomBytes } from "node:crypto";
import sharp from "sharp";
import { io as connectSocket } from "socket.io-client";
import * as tus from "tus-js-client";
import { beforeAll, describe, expect, it } from "vitest";
import { backfillThumbnails, generateThumbnail, thumbnailKeyFor, thumbnailsSettled } from "~/domain/files/thumbnails.server";
import { TEXT_PREVIEW_BYTES } from "~/domain/files/previews.server";
import { createObjectStore } from "~/services/storage/index.server";
import { startTestApp, type DriverSet, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

const DRIVER_SETS: Array<{ label: string; drivers: DriverSet }> = [
  { label: "embedded defaults (local disk, memory)", drivers: { storage: "local", cache: "memory" } },
  { label: "production drivers (S3, Redis)", drivers: { storage: "s3", cache: "redis" } },
];

function tokenFrom(text: string): string {
  const match = /\/s\/([A-Za-z0-9_-]{43})/.exec(text);
  if (!match) throw new Error("no share URL in the page");
  return match[1];
}

/** A landscape 400×200 JPEG whose EXIF says "rotate 90°": upright it is portrait. */
function rotatedJpeg(): Promise<Buffer> {
  return sharp({ create: { width: 400, height: 200, channels: 3, background: { r: 200, g: 40, b: 40 } } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

function png(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 4, background: { r: 10, g: 120, b: 200, alpha: 1 } } })
    .png()
    .toBuffer();
}

describe.each(DRIVER_SETS)("Previews with $label", ({ drivers }) => {
  let app: TestApp;
  let owner: TestClient;
  let stranger: TestClient;
  let visitor: TestClient;

  async function upload(client: TestClient, name: string, bytes: Buffer | string, type: string, fields: Record<string, string> = {}) {
    const form = new FormData();
    for (const [key, value] of Object.entries(fields)) form.append(key, value);
    form.append("file", new Blob([typeof bytes === "string" ? bytes : new Uint8Array(bytes)], { type }), name);
    const response = await client.postMultipart("/files", form);
    expect(response.status, await response.clone().text()).toBe(200);
    return app.services.prisma.file.findFirstOrThrow({ where: { name, trashedAt: null } });
  }

  const fileById = (id: string) => app.services.prisma.file.findUniqueOrThrow({ where: { id } });
  const exists = async (key: string) => (await app.services.storage.stat(key)) !== null;

  beforeAll(async () => {
    app = await startTestApp(drivers, { MAX_UPLOAD_SIZE: "20MiB" });
    owner = new TestClient(app.url);
    stranger = new TestClient(app.url);
    visitor = new TestClient(app.url);
    await owner.register("Olivia Owner", "olivia@example.com");
    await stranger.register("Sam Stranger", "sam@example.com");
  });

  describe("thumbnails", () => {
    it("makes one after a tus upload and tells the user's open tabs when it is ready", async () => {
      const socket = connectSocket(app.url, {
        path: "/socket.io",
        extraHeaders: { cookie: owner.cookieHeader },
        transports: ["websocket"],
      });
      await new Promise<void>((resolve, reject) => {
        socket.on("connect", () => resolve());
        socket.on("connect_error", reject);
      });
      const ready = new Promise<{ fileId: string; folderId: string }>((resolve) =>
        socket.on("event", (e) => e.type === "thumbnail:ready" && resolve(e)),
      );
      const bytes = await png(512, 256);
      const error = await new Promise<Error | undefined>((resolve) => {
        const upload = new tus.Upload(bytes, {
          endpoint: `${app.url}/api/uploads`,
          uploadSize: bytes.length,
          metadata: { filename: "tus.png", filetype: "image/png" },
          headers: { cookie: owner.cookieHeader },
          retryDelays: [],
          onSuccess: () => resolve(undefined),
          onError: (e) => resolve(e),
        });
        upload.start();
      });
      expect(error).toBeUndefined();
      const event = await ready;
      socket.disconnect();
      const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "tus.png" } });
      expect(event).toMatchObject({ fileId: file.id, folderId: file.folderId });
      expect(file.thumbnailKey).toBe(thumbnailKeyFor(file.storageKey));
      const meta = await sharp(Buffer.from(await (await owner.get(`/thumbnail/${file.id}`)).arrayBuffer())).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(["webp", 256, 128]);
    });

    it("makes an EXIF-rotated WebP thumbnail beside the object and serves it only to those who may read the file", async () => {
      const uploaded = await upload(owner, "photo.jpg", await rotatedJpeg(), "image/jpeg");
      await thumbnailsSettled();
      const file = await fileById(uploaded.id);
      expect(file.thumbnailKey).toBe(thumbnailKeyFor(file.storageKey));
      expect(await exists(file.thumbnailKey!)).toBe(true);

      const response = await owner.get(`/thumbnail/${file.id}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("image/webp");
      expect(response.headers.get("cache-control")).toBe("private, no-cache");
      expect(response.headers.get("x-content-type-options")).toContain("nosniff");
      const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
      expect(meta.format).toBe("webp");
      // Upright (EXIF applied) and fit inside 256×256: 400×200 turned is 200×400 → 128×256.
      expect([meta.width, meta.height]).toEqual([128, 256]);

      const etag = response.headers.get("etag")!;
      expect((await owner.get(`/thumbnail/${file.id}`, { "if-none-match": etag })).status).toBe(304);

      // The listing links the versioned URL, which may be cached for long.
      const grid = await (await owner.get("/files?view=grid")).text();
      const src = new RegExp(`/thumbnail/${file.id}\\?v=[a-z0-9]+`).exec(grid)?.[0];
      expect(src).toBeTruthy();
      expect((await owner.get(src!)).headers.get("cache-control")).toContain("immutable");
      // The details page shows it too.
      expect(await (await owner.get(`/details/file/${file.id}`)).text()).toContain(`data-testid="details-thumbnail"`);

      expect((await stranger.get(`/thumbnail/${file.id}`)).status).toBe(404);
      const anonymous = await visitor.get(`/thumbnail/${file.id}`);
      expect(anonymous.status).toBe(302);
      expect(anonymous.headers.get("location")).toMatch(/^\/login/);
    });

    it("gives a copy and a replaced content their own thumbnail, and removes the old one", async () => {
      const original = await upload(owner, "square.png", await png(600, 600), "image/png");
      await thumbnailsSettled();
      const before = await fileById(original.id);
      expect(before.thumbnailKey).not.toBeNull();

      const root = await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId: before.ownerId, parentId: null } });
      const copied = await owner.postForm(`/details/file/${before.id}`, { intent: "copy", destination: root.id, policy: "keep-both" });
      expect(copied.status).toBe(302);
      await thumbnailsSettled();
      const copy = await app.services.prisma.file.findFirstOrThrow({ where: { name: "square (1).png" } });
      expect(copy.thumbnailKey).toBe(thumbnailKeyFor(copy.storageKey));
      expect(await exists(copy.thumbnailKey!)).toBe(true);

      await upload(owner, "square.png", await png(100, 300), "image/png", { onConflict: "replace" });
      await thumbnailsSettled();
      const after = await fileById(before.id);
      expect(after.storageKey).not.toBe(before.storageKey);
      expect(after.thumbnailKey).toBe(thumbnailKeyFor(after.storageKey));
      expect(await exists(before.thumbnailKey!)).toBe(false);
      const meta = await sharp(Buffer.from(await (await owner.get(`/thumbnail/${after.id}`)).arrayBuffer())).metadata();
      expect([meta.width, meta.height]).toEqual([85, 256]);

      // Restoring the earlier content makes its thumbnail again.
      const version = await app.services.prisma.fileVersion.findFirstOrThrow({
        where: { fileId: before.id, storageKey: before.storageKey },
      });
      expect((await owner.postForm(`/details/file/${before.id}`, { intent: "restore-version", versionId: version.id })).status).toBe(302);
      await thumbnailsSettled();
      const restored = await fileById(before.id);
      expect(restored.storageKey).toBe(before.storageKey);
      expect(restored.thumbnailKey).toBe(thumbnailKeyFor(before.storageKey));
      expect(await exists(after.thumbnailKey!)).toBe(false);
      const square = await sharp(Buffer.from(await (await owner.get(`/thumbnail/${before.id}`)).arrayBuffer())).metadata();
      expect([square.width, square.height]).toEqual([256, 256]);
    });

    it("removes the thumbnail with the file when it is deleted forever", async () => {
      const uploaded = await upload(owner, "doomed.png", await png(50, 50), "image/png");
      await thumbnailsSettled();
      const file = await fileById(uploaded.id);
      expect(file.thumbnailKey).not.toBeNull();
      expect((await owner.postForm(`/details/file/${file.id}`, { intent: "trash" })).status).toBe(302);
      expect((await owner.postForm("/trash", { intent: "delete", kind: "file", id: file.id, confirmed: "yes" })).status).toBe(302);
      expect(await exists(file.storageKey)).toBe(false);
      expect(await exists(file.thumbnailKey!)).toBe(false);
      expect((await owner.get(`/thumbnail/${file.id}`)).status).toBe(404);
    });

    it("keeps a corrupt image as a plain upload without a thumbnail, and the backfill does not retry it", async () => {
      const uploaded = await upload(owner, "broken.png", randomBytes(5000), "image/png");
      await thumbnailsSettled();
      const file = await fileById(uploaded.id);
      expect(file.thumbnailKey).toBeNull();
      expect(file.thumbnailFailedKey).toBe(file.storageKey);
      expect((await owner.get(`/thumbnail/${file.id}`)).status).toBe(404);
      expect((await owner.get(`/download/${file.id}`)).status).toBe(200);
      // The grid shows the neutral icon, not a broken image.
      const grid = await (await owner.get("/files?view=grid")).text();
      expect(grid).toContain(`data-thumbnail-slot="${file.id}"`);
      expect(grid).not.toContain(`/thumbnail/${file.id}`);

      const later = new Date(Date.now() + 60 * 60 * 1000);
      expect((await backfillThumbnails(app.services, later)).failed).toBe(0);
    });

    it("backfills an image that has no thumbnail, and skips one whose object is gone", async () => {
      const uploaded = await upload(owner, "missed.png", await png(300, 100), "image/png");
      await thumbnailsSettled();
      const made = await fileById(uploaded.id);
      await app.services.storage.delete(made.thumbnailKey!);
      await app.services.prisma.file.update({ where: { id: made.id }, data: { thumbnailKey: null } });

      const later = new Date(Date.now() + 60 * 60 * 1000);
      const result = await backfillThumbnails(app.services, later);
      expect(result.thumbnails).toBeGreaterThanOrEqual(1);
      const file = await fileById(made.id);
      expect(file.thumbnailKey).toBe(thumbnailKeyFor(file.storageKey));
      expect(await exists(file.thumbnailKey!)).toBe(true);

      // Storage lost the source: nothing is thrown and nothing recorded.
      await app.services.storage.delete(file.thumbnailKey!);
      await app.services.prisma.file.update({ where: { id: file.id }, data: { thumbnailKey: null } });
      await app.services.storage.delete(file.storageKey);
      expect(await generateThumbnail(app.services, file.id)).toBe("skipped");
      expect((await fileById(file.id)).thumbnailKey).toBeNull();
    });
  });

  describe("when storage is down", () => {
    it("makes no thumbnail, throws nothing and leaves the file for a later try", async () => {
      const uploaded = await upload(owner, "later.png", await png(64, 64), "image/png");
      await thumbnailsSettled();
      await app.services.storage.delete((await fileById(uploaded.id)).thumbnailKey!);
      await app.services.prisma.file.update({ where: { id: uploaded.id }, data: { thumbnailKey: null } });
      // A real S3 driver pointed at a port where nothing listens.
      const down = await createObjectStore({
        driver: "s3",
        endpoint: "http://127.0.0.1:9",
        accessKey: "nobody",
        secretKey: "nothing",
        bucket: "coffer-down",
        region: "us-east-1",
        forcePathStyle: true,
        partSize: 5 * 1024 * 1024,
        uploadConcurrency: 1,
        uploadMemory: 64 * 2 ** 20,
      });
      expect(await generateThumbnail({ ...app.services, storage: down }, uploaded.id)).toBe("skipped");
      const file = await fileById(uploaded.id);
      expect(file.thumbnailKey).toBeNull();
      expect(file.thumbnailFailedKey).toBeNull();
      // Storage is back: the backfill makes it.
      expect(await generateThumbnail(app.services, uploaded.id)).toBe("made");
    });
  });

  describe("inline viewing", () => {
    const ids: Record<string, string> = {};

    beforeAll(async () => {
      const files: Array<[string, Buffer | string, string]> = [
        ["view.png", await png(20, 20), "image/png"],
        ["manual.pdf", "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "application/pdf"],
        ["notes.txt", "Hello <script>alert(1)</script> & goodbye\n", "text/plain"],
        ["main.ts", "const x: number = 1;\n", "video/mp2t"],
        ["clip.mp4", randomBytes(4096), "video/mp4"],
        ["song.mp3", randomBytes(2048), "audio/mpeg"],
        ["page.html", "<html><script>alert(1)</script></html>", "text/html"],
        ["logo.svg", `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`, "image/svg+xml"],
        ["feed.xml", "<?xml version='1.0'?><a/>", "application/xml"],
        ["blob.bin", randomBytes(100), "application/octet-stream"],
        ["sneaky.txt", "<script>alert(1)</script>", "text/html"],
      ];
      for (const [name, bytes, type] of files) ids[name] = (await upload(owner, name, bytes, type)).id;
      await thumbnailsSettled();
    });

    it.each([
      ["view.png", "image/png"],
      ["notes.txt", "text/plain; charset=utf-8"],
      ["main.ts", "text/plain; charset=utf-8"],
      ["clip.mp4", "video/mp4"],
      ["song.mp3", "audio/mpeg"],
    ])("serves %s inline as %s under a sandboxing CSP", async (name, type) => {
      const response = await owner.get(`/view/${ids[name]}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe(type);
      expect(response.headers.get("content-disposition")).toMatch(/^inline; /);
      expect(response.headers.get("content-security-policy")).toContain("sandbox");
      expect(response.headers.get("x-content-type-options")).toContain("nosniff");
      expect(response.headers.get("accept-ranges")).toBe("bytes");
    });

    it("serves a PDF inline under the sandboxing CSP, framable by our pages only", async () => {
      const response = await owner.get(`/view/${ids["manual.pdf"]}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("application/pdf");
      expect(response.headers.get("content-disposition")).toMatch(/^inline; /);
      expect(response.headers.get("content-security-policy")).toBe(
        "default-src 'none'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'self'",
      );
      expect(response.headers.get("x-content-type-options")).toContain("nosniff");
    });

    it.each(["page.html", "logo.svg", "feed.xml", "blob.bin", "sneaky.txt"])("keeps %s an attachment under CSP sandbox", async (name) => {
      const response = await owner.get(`/view/${ids[name]}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-disposition")).toMatch(/^attachment; /);
      expect(response.headers.get("content-security-policy")).toBe("default-src 'none'; sandbox");
      expect(response.headers.get("x-content-type-options")).toContain("nosniff");
    });

    it("answers Range requests on the inline route, so media can seek", async () => {
      const full = Buffer.from(await (await owner.get(`/download/${ids["clip.mp4"]}`)).arrayBuffer());
      const response = await owner.get(`/view/${ids["clip.mp4"]}`, { range: "bytes=100-199" });
      expect(response.status).toBe(206);
      expect(response.headers.get("content-range")).toBe(`bytes 100-199/${full.length}`);
      expect(response.headers.get("content-disposition")).toMatch(/^inline; /);
      expect(Buffer.from(await response.arrayBuffer())).toEqual(full.subarray(100, 200));
      expect((await owner.get(`/view/${ids["clip.mp4"]}`, { range: "bytes=999999-" })).status).toBe(416);
    });

    it("refuses other users (404) and visitors (login)", async () => {
      expect((await stranger.get(`/view/${ids["view.png"]}`)).status).toBe(404);
      expect((await visitor.get(`/view/${ids["view.png"]}`)).status).toBe(302);
      expect((await owner.get("/view/no-such-file")).status).toBe(404);
    });

    it("renders each viewer on the server (no JavaScript needed)", async () => {
      const page = async (name: string) => (await owner.get(`/details/file/${ids[name]}`)).text();
      expect(await page("view.png")).toMatch(new RegExp(`<img src="/view/${ids["view.png"]}" alt="view.png"`));
      const pdf = await page("manual.pdf");
      expect(pdf).toMatch(new RegExp(`<iframe src="/view/${ids["manual.pdf"]}" title="PDF: manual.pdf"`));
      expect(pdf).toContain("Open the PDF in a new tab");
      expect(await page("clip.mp4")).toMatch(new RegExp(`<video controls="" preload="metadata" src="/view/${ids["clip.mp4"]}"`));
      expect(await page("song.mp3")).toMatch(new RegExp(`<audio controls="" preload="metadata" src="/view/${ids["song.mp3"]}"`));
      // Code is highlighted on the server (highlight.js classes); details-viewers.http.test.ts has more.
      const code = await page("main.ts");
      expect(code).toContain('<span class="hljs-keyword">const</span>');
      expect(code).toContain('<span class="hljs-number">1</span>;');
      for (const name of ["page.html", "logo.svg", "blob.bin"]) {
        const html = await page(name);
        expect(html).toContain('data-viewer="none"');
        expect(html).not.toContain(`src="/view/`);
      }
    });

    it("shows text escaped, never as markup", async () => {
      const html = await (await owner.get(`/details/file/${ids["notes.txt"]}`)).text();
      expect(html).toContain('data-viewer="text"');
      expect(html).toContain("Hello &lt;script&gt;alert(1)&lt;/script&gt; &amp; goodbye");
      expect(html).not.toContain("<script>alert(1)</script>");
      // Declared HTML is not previewed at all, not even as text.
      expect(await (await owner.get(`/details/file/${ids["sneaky.txt"]}`)).text()).not.toContain("alert(1)");
    });

    it("reads at most 256 KiB of a long text and says it is truncated", async () => {
      const line = "0123456789abcdef".repeat(4) + "\n";
      const body = line.repeat(Math.ceil((TEXT_PREVIEW_BYTES + 10_000) / line.length)) + "THE-VERY-END";
      const file = await upload(owner, "long.log", body, "text/plain");
      const html = await (await owner.get(`/details/file/${file.id}`)).text();
      expect(html).toContain('data-testid="text-truncated"');
      expect(html.replaceAll("<!-- -->", "")).toContain("Showing the first 256 KiB of 266 KiB.");
      expect(html).toContain("0123456789abcdef");
      expect(html).not.toContain("THE-VERY-END");
    });

    it("sends a text preview once: in the HTML, not again in the hydration data; a client navigation gets it as data", async () => {
      const marker = `once-${randomBytes(8).toString("hex")}`;
      const file = await upload(owner, "once.txt", `\nfirst line\n${marker} <b>&</b>\n`, "text/plain");
      const response = await owner.get(`/details/file/${file.id}`);
      expect(response.status).toBe(200);
      const html = await response.text();
      expect(html.split(marker).length - 1).toBe(1);
      // The leading newline survives the HTML parser (React doubles it after <pre>), escaped.
      expect(html).toContain(`<pre id="text-preview" tabindex="0" aria-label="Contents of once.txt"`);
      expect(html).toContain(`\n\nfirst line\n${marker} &lt;b&gt;&amp;&lt;/b&gt;\n</pre>`);
      // Remix's single-fetch data request (client navigation, revalidation) carries the text instead.
      const data = await owner.get(`/details/file/${file.id}.data?_routes=${encodeURIComponent("routes/details.$kind.$id")}`);
      expect(data.status).toBe(200);
      const body = await data.text();
      expect(body.split(marker).length - 1).toBe(1);
      expect(body).not.toContain("<pre");
    });

    it("sends the 256 KiB preview of a long text once", async () => {
      const line = "abcdefghijklmnop".repeat(4) + "\n";
      const file = await upload(owner, "long-once.log", line.repeat(Math.ceil((TEXT_PREVIEW_BYTES * 2) / line.length)), "text/plain");
      const html = await (await owner.get(`/details/file/${file.id}`)).text();
      expect(html.split(line).length - 1).toBe(Math.floor(TEXT_PREVIEW_BYTES / line.length));
      expect(html.length).toBeLessThan(TEXT_PREVIEW_BYTES + 64 * 1024);
    });

    it("says so when a text file looks binary", async () => {
      const file = await upload(owner, "data.txt", Buffer.from([0x41, 0x00, 0x42, 0x43]), "text/plain");
      expect(await (await owner.get(`/details/file/${file.id}`)).text()).toContain("does not look like text");
    });
  });

  describe("share links", () => {
    let imageId: string;

    beforeAll(async () => {
      imageId = (await upload(owner, "shared.png", await png(640, 480), "image/png")).id;
      await thumbnailsSettled();
    });

    async function createLink(fields: Record<string, string> = {}) {
      const response = await owner.postForm("/shares", { intent: "create-link", item: `file:${imageId}`, ...fields });
      expect(response.status).toBe(200);
      return tokenFrom(await response.text());
    }

    it("shows the viewer on a public file page and serves the file inline and its thumbnail", async () => {
      const token = await createLink();
      const page = await (await visitor.get(`/s/${token}`)).text();
      expect(page).toContain(`<img src="/s/${token}/view/${imageId}"`);
      const view = await visitor.get(`/s/${token}/view/${imageId}`);
      expect(view.status).toBe(200);
      expect(view.headers.get("content-disposition")).toMatch(/^inline; /);
      expect(view.headers.get("content-security-policy")).toContain("sandbox");
      const thumbnail = await visitor.get(`/s/${token}/thumbnail/${imageId}`);
      expect(thumbnail.status).toBe(200);
      expect(thumbnail.headers.get("content-type")).toBe("image/webp");
      // Viewing is not a download.
      const link = await app.services.prisma.shareLink.findFirstOrThrow({ where: { fileId: imageId, maxDownloads: null } });
      expect(link.downloadCount).toBe(0);
      expect((await visitor.get(`/s/${token}/view/someone-elses`)).status).toBe(404);
    });

    it("sends a shared text file's preview once in the public page", async () => {
      const marker = `shared-once-${randomBytes(8).toString("hex")}`;
      const file = await upload(owner, "shared-notes.txt", `${marker} & more\n`, "text/plain");
      const response = await owner.postForm("/shares", { intent: "create-link", item: `file:${file.id}` });
      const token = tokenFrom(await response.text());
      const html = await (await visitor.get(`/s/${token}`)).text();
      expect(html).toContain(`${marker} &amp; more`);
      expect(html.split(marker).length - 1).toBe(1);
    });

    it("offers no inline viewer on a link with a download limit, so the limit cannot be bypassed", async () => {
      const token = await createLink({ maxDownloads: "1" });
      const page = await (await visitor.get(`/s/${token}`)).text();
      expect(page).not.toContain(`/s/${token}/view/`);
      expect(page).toContain(`/s/${token}/thumbnail/${imageId}`);
      expect((await visitor.get(`/s/${token}/view/${imageId}`)).status).toBe(404);
    });

    it("asks for the password before previewing a protected link", async () => {
      const token = await createLink({ password: "open sesame" });
      const view = await visitor.get(`/s/${token}/view/${imageId}`);
      expect(view.status).toBe(302);
      expect(view.headers.get("location")).toBe(`/s/${token}`);
      expect((await visitor.get(`/s/${token}/thumbnail/${imageId}`)).status).toBe(302);
    });

    it("shows thumbnails in a shared folder's listing, and only after the password", async () => {
      const created = await owner.postForm("/files", { intent: "create-folder", name: "Holiday", open: "1" });
      const folderId = created.headers.get("location")!.split("/").pop()!;
      const form = new FormData();
      form.append("file", new Blob([new Uint8Array(await png(300, 200))], { type: "image/png" }), "beach.png");
      expect((await owner.postMultipart(`/files/${folderId}`, form)).status).toBe(200);
      await thumbnailsSettled();
      const beach = await app.services.prisma.file.findFirstOrThrow({ where: { folderId, name: "beach.png" } });
      expect(beach.thumbnailKey).not.toBeNull();
      const shareFolder = async (fields: Record<string, string> = {}) => {
        const response = await owner.postForm("/shares", { intent: "create-link", item: `folder:${folderId}`, ...fields });
        expect(response.status).toBe(200);
        return tokenFrom(await response.text());
      };

      const token = await shareFolder();
      const page = await (await visitor.get(`/s/${token}`)).text();
      const src = new RegExp(`<img src="(/s/${token}/thumbnail/${beach.id}\\?v=[a-z0-9]+)" alt="" loading="lazy"`).exec(page)?.[1];
      expect(src, "thumbnail <img> on the shared folder page").toBeDefined();
      const thumbnail = await visitor.get(src!);
      expect(thumbnail.status).toBe(200);
      expect(thumbnail.headers.get("content-type")).toBe("image/webp");

      const locked = await shareFolder({ password: "open sesame" });
      const lockedPage = await (await stranger.get(`/s/${locked}`)).text();
      expect(lockedPage).toContain(`id="share-password"`);
      expect(lockedPage).not.toContain("/thumbnail/");
      expect(lockedPage).not.toContain(beach.id);
      expect((await stranger.postForm(`/s/${locked}`, { intent: "unlock", password: "open sesame" })).status).toBe(302);
      expect(await (await stranger.get(`/s/${locked}`)).text()).toContain(`/s/${locked}/thumbnail/${beach.id}?v=`);
    });
  });
});
