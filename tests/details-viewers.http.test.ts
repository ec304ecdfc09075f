import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

/**
 * The details page's viewers as the server renders them (issue 16): code highlighted with
 * highlight.js classes, Markdown without raw HTML or script links, the image gallery's
 * neighbours (only the folder's live images, only for who may read the folder) and a video's
 * subtitles from a sibling .vtt.
 */
describe("details viewers", () => {
  let app: TestApp;
  let owner: TestClient;
  let stranger: TestClient;
  let grantee: TestClient;
  let ownerRoot = "";

  const png = () =>
    sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 10, g: 120, b: 200 } } })
      .png()
      .toBuffer();

  async function upload(client: TestClient, folderId: string, name: string, bytes: Buffer | string, type: string): Promise<string> {
    const form = new FormData();
    form.append("file", new Blob([typeof bytes === "string" ? bytes : new Uint8Array(bytes)], { type }), name);
    const response = await client.postMultipart(`/files/${folderId}`, form);
    expect(response.status, await response.clone().text()).toBe(200);
    return (await app.services.prisma.file.findFirstOrThrow({ where: { folderId, name, trashedAt: null } })).id;
  }

  async function folder(client: TestClient, parentPath: string, name: string): Promise<string> {
    const response = await client.postForm(parentPath, { intent: "create-folder", name, open: "1" });
    expect(response.status).toBe(302);
    return response.headers.get("location")!.split("/").pop()!;
  }

  async function rootOf(email: string): Promise<string> {
    const user = await app.services.prisma.user.findUniqueOrThrow({ where: { email } });
    return (await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId: user.id, parentId: null } })).id;
  }

  const page = async (client: TestClient, path: string) => {
    const response = await client.get(path);
    expect(response.status).toBe(200);
    return response.text();
  };

  async function share(kind: "file" | "folder", id: string) {
    const response = await owner.postForm("/shares", {
      intent: "share-user",
      item: `${kind}:${id}`,
      email: "gina@example.com",
      permission: "READ",
    });
    expect(response.status).toBeLessThan(400);
  }

  /** The address of the gallery's previous or next link. */
  const galleryLink = (html: string, rel: "prev" | "next") =>
    [...html.matchAll(/<a [^>]*>/g)].find((tag) => tag[0].includes(`rel="${rel}"`))?.[0].match(/href="([^"]+)"/)?.[1];

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    owner = new TestClient(app.url);
    stranger = new TestClient(app.url);
    grantee = new TestClient(app.url);
    await owner.register("Olivia Owner", "olivia@example.com");
    await stranger.register("Sam Stranger", "sam@example.com");
    await grantee.register("Gina Grantee", "gina@example.com");
    ownerRoot = await rootOf("olivia@example.com");
  });

  it("highlights code on the server with highlight.js classes, text still escaped", async () => {
    const id = await upload(owner, ownerRoot, "greet.js", 'const greeting = "<b>hi</b>"; // say it\nfunction go() {}\n', "text/javascript");
    const html = await page(owner, `/details/file/${id}`);
    expect(html).toContain('data-language="js"');
    expect(html).toContain('<span class="hljs-keyword">const</span>');
    expect(html).toContain('<span class="hljs-comment">// say it</span>');
    expect(html).toContain("&lt;b&gt;hi&lt;/b&gt;");
    expect(html).not.toContain("<b>hi</b>");
    // Plain text stays plain: no grammar guessed for a .txt.
    const txt = await upload(owner, ownerRoot, "plain.txt", "const x = 1;", "text/plain");
    const plain = await page(owner, `/details/file/${txt}`);
    expect(plain).toContain("const x = 1;");
    expect(plain).not.toContain("hljs-keyword");
    // The page's CSP still allows no inline style elements.
    const response = await owner.get(`/details/file/${id}`);
    expect(response.headers.get("content-security-policy")).toMatch(/style-src 'self'(;|$)/);
  });

  it("renders Markdown without raw HTML, script links or loaded images", async () => {
    const hostile = [
      "# Release notes",
      "",
      "<script>alert('md1')</script>",
      "",
      "<img src=x onerror=alert('md2')>",
      "",
      "Text with <b onmouseover=\"alert('md3')\">inline html</b>, [bad](javascript:alert('md4')), [worse](JaVaScRiPt:alert('md5')),",
      "[data](data:text/html;base64,PHNjcmlwdD4=) and [good](https://example.com/docs).",
      "",
      "![tracker](https://tracker.example/pixel.png)",
      "",
      "```js",
      "const a = 1;",
      "```",
    ].join("\n");
    const id = await upload(owner, ownerRoot, "NOTES.md", hostile, "text/markdown");
    const html = await page(owner, `/details/file/${id}`);
    const body = html.slice(html.indexOf('data-testid="markdown-preview"'));
    const preview = body.slice(0, body.indexOf("</section>"));
    expect(preview).toContain("<h1>Release notes</h1>");
    expect(preview).toContain("&lt;script&gt;alert(&#39;md1&#39;)&lt;/script&gt;");
    expect(preview).toContain("&lt;img src=x onerror=alert(&#39;md2&#39;)&gt;");
    expect(preview).toContain("&lt;b onmouseover=");
    expect(preview).toContain('<a href="https://example.com/docs" rel="nofollow noopener noreferrer">good</a>');
    expect(preview).toContain('<span class="hljs-keyword">const</span>');
    expect(preview).toContain("Image: tracker");
    for (const bad of ["<script", "<img", "<b ", "javascript:", "JaVaScRiPt:", "data:text/html", 'src="https://tracker']) {
      expect(preview, bad).not.toContain(bad);
    }
    // No element carries an event handler: the onerror and onmouseover above are escaped text.
    expect(preview).not.toMatch(/<[a-z][^>]*\son[a-z]+=/i);
  });

  it("steps through the folder's live images only, and only for who may read the folder", async () => {
    const album = await folder(owner, "/files", "Album");
    const image = await png();
    const a = await upload(owner, album, "a.png", image, "image/png");
    const b = await upload(owner, album, "b.png", image, "image/png");
    const c = await upload(owner, album, "c.png", image, "image/png");
    await upload(owner, album, "notes.txt", "not an image", "text/plain");
    const strangerRoot = await rootOf("sam@example.com");
    const theirs = await upload(stranger, strangerRoot, "b2.png", image, "image/png");

    const middle = await page(owner, `/details/file/${b}`);
    expect(middle.replaceAll("<!-- -->", "")).toContain(">2 of 3</p>");
    expect(galleryLink(middle, "prev")).toBe(`/details/file/${a}`);
    expect(galleryLink(middle, "next")).toBe(`/details/file/${c}`);
    expect(middle).not.toContain(theirs);
    // The stranger's own gallery never lists the owner's images, and the owner's page is a 404 to them.
    expect(await page(stranger, `/details/file/${theirs}`)).not.toContain('data-testid="gallery"');
    expect((await stranger.get(`/details/file/${b}`)).status).toBe(404);

    // A trashed image leaves the gallery.
    expect((await owner.postForm(`/details/file/${c}`, { intent: "trash" })).status).toBe(302);
    const after = await page(owner, `/details/file/${b}`);
    expect(after.replaceAll("<!-- -->", "")).toContain(">2 of 2</p>");
    expect(after).not.toContain(c);

    // Given the one file, a grantee sees no neighbours; given the folder, the gallery.
    await share("file", b);
    const alone = await page(grantee, `/details/file/${b}`);
    expect(alone).not.toContain('data-testid="gallery"');
    expect(alone).not.toContain(a);
    await share("folder", album);
    const shared = await page(grantee, `/details/file/${b}`);
    expect(galleryLink(shared, "prev")).toBe(`/details/file/${a}`);
  });

  it("adds a sibling .vtt as the video's subtitles track, only for who may read the folder", async () => {
    const talks = await folder(owner, "/files", "Talks");
    const video = await upload(owner, talks, "talk.mp4", Buffer.from("not really a video"), "video/mp4");
    const vtt = await upload(owner, talks, "talk.vtt", "WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n", "text/vtt");
    const lone = await upload(owner, talks, "other.mp4", Buffer.from("x"), "video/mp4");
    const html = await page(owner, `/details/file/${video}`);
    expect(html).toMatch(new RegExp(`<track kind="subtitles" src="/view/${vtt}" label="talk.vtt" default=""/>`));
    expect((await owner.get(`/view/${vtt}`)).status).toBe(200);
    expect(await page(owner, `/details/file/${lone}`)).not.toContain("<track");
    await share("file", video);
    expect(await page(grantee, `/details/file/${video}`)).not.toContain("<track");
  });
});
