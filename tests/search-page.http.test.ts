import { beforeAll, describe, expect, it } from "vitest";
import { getRootFolder } from "~/domain/files/folders.server";
import type { SearchDocument } from "~/services/search/types";
import { startTestApp, type TestApp } from "./support/app";
import { createFolderIn, DRIVER_SETS, putFile, registerPerson, type Person } from "./support/people";

/**
 * The search page over HTTP on the production build: filters, sort, paths, marked words, bad
 * parameters, and that nobody else's files show up. Documents are written to the index as the
 * app writes them, then given the type, size and date each case needs.
 */

const MIB = 1024 * 1024;
const DAY = 24 * 60 * 60 * 1000;

const decode = (html: string) =>
  html
    .replace(/<[^>]+>/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#x27;/g, "'")
    .replace(/&amp;/g, "&");

/** The names of the hits, in page order. */
function hitNames(html: string): string[] {
  return [...html.matchAll(/data-testid="hit-name"[^>]*>([\s\S]*?)<\/a>/g)].map((match) => decode(match[1]!).trim());
}

describe("the search page", () => {
  let app: TestApp;
  let alice: Person;
  let bob: Person;
  const folders: Record<string, string> = {};
  const files: Record<string, SearchDocument> = {};
  let bobsFolder: string;

  const page = async (person: Person, query: string) => {
    const response = await person.client.request(`/search?${query}`);
    return { status: response.status, html: await response.text() };
  };
  const names = async (query: string) => {
    const { status, html } = await page(alice, query);
    expect(status).toBe(200);
    return hitNames(html);
  };

  beforeAll(async () => {
    app = await startTestApp(DRIVER_SETS[0]!.drivers);
    // The first account is the administrator; Alice and Bob are ordinary users.
    await registerPerson(app, "Admin", "admin-search@example.com");
    alice = await registerPerson(app, "Alice", "alice-search@example.com");
    bob = await registerPerson(app, "Bob", "bob-search@example.com");
    const root = (await getRootFolder(app.services, alice.id)).id;
    // My files / Projects / 2026 / Q1 / Deep / Deeper
    let parent = root;
    for (const name of ["Projects", "2026", "Q1", "Deep", "Deeper"]) {
      parent = await createFolderIn(alice.client, parent, name);
      folders[name] = parent;
    }
    const now = Date.now();
    const scene: Array<[key: string, folder: string, name: string, mimeType: string, size: number, age: number]> = [
      ["photo", root, "kite photo.png", "image/png", 500 * 1024, 0],
      ["clip", folders.Projects!, "kite clip.mp4", "video/mp4", 50 * MIB, 20 * DAY],
      ["plan", folders.Deeper!, "kite plan.pdf", "application/pdf", 200 * MIB, 800 * DAY],
      ["markup", root, "kite <b>bold<b> & <img src=x onerror=alert(1)>.txt", "text/plain", 10, 3 * DAY],
    ];
    for (const [key, folder, name, mimeType, size, age] of scene) {
      const record = await putFile(app.services, alice.id, folder, name, Buffer.from(key));
      files[key] = {
        id: record.id,
        ownerId: alice.id,
        kind: "file",
        name,
        folderId: folder,
        mimeType,
        size,
        updatedAt: new Date(now - age),
      };
    }
    folders.kiteFolder = await createFolderIn(alice.client, folders.Q1!, "kite folder");
    // A file found by a word inside it; the text holds markup that must stay text.
    const text = "The board flew a kite <script>alert('x')</script> over the lake.";
    // The app extracts the stored text in the background: the same text as the document's.
    const notes = await putFile(app.services, alice.id, folders.Projects!, "minutes.txt", Buffer.from(text));
    files.notes = {
      id: notes.id,
      ownerId: alice.id,
      kind: "file",
      name: "minutes.txt",
      folderId: folders.Projects!,
      mimeType: "text/plain",
      size: 5,
      updatedAt: new Date(now - DAY),
      content: text,
    };
    await app.services.search.upsert(Object.values(files));

    const bobRoot = (await getRootFolder(app.services, bob.id)).id;
    bobsFolder = await createFolderIn(bob.client, bobRoot, "kite bob folder");
    const secret = await putFile(app.services, bob.id, bobsFolder, "kite secret.png", Buffer.from("secret"));
    await app.services.search.upsert([
      {
        id: secret.id,
        ownerId: bob.id,
        kind: "file",
        name: "kite secret.png",
        folderId: bobsFolder,
        mimeType: "image/png",
        size: 10,
        updatedAt: new Date(),
      },
    ]);
  });

  it("says what to do before a search, and after one that finds nothing", async () => {
    const empty = await page(alice, "");
    expect(empty.status).toBe(200);
    expect(empty.html).toContain("Search your files and folders");
    const miss = await page(alice, "q=zzqqxx");
    expect(miss.html).toContain("Nothing matches “zzqqxx”");
    expect(miss.html).toContain("Check the spelling");
    const filtered = await page(alice, "q=kite&type=audio");
    expect(filtered.html).toContain("Nothing matches “kite” with these filters");
    expect(filtered.html).toMatch(/href="\/search\?q=kite"[^>]*>Clear the filters</);
  });

  it("filters by type", async () => {
    expect(await names("q=kite&type=image")).toEqual(["kite photo.png"]);
    expect(await names("q=kite&type=video")).toEqual(["kite clip.mp4"]);
    expect(await names("q=kite&type=document")).toEqual(["kite plan.pdf"]);
    expect(await names("q=kite&type=folder")).toEqual(["kite folder"]);
    expect(await names("q=kite&type=text&sort=name")).toEqual([files.markup!.name, "minutes.txt"]);
    expect(await names("q=kite&type=archive")).toEqual([]);
  });

  it("filters by size and modified date", async () => {
    expect((await names("q=kite&size=small&sort=name")).sort()).toEqual([files.markup!.name, "kite photo.png", "minutes.txt"].sort());
    expect(await names("q=kite&size=medium")).toEqual(["kite clip.mp4"]);
    expect(await names("q=kite&size=large")).toEqual(["kite plan.pdf"]);
    const lastWeek = await names("q=kite&modified=week&type=image");
    expect(lastWeek).toEqual(["kite photo.png"]);
    expect(await names("q=kite&modified=month&type=video")).toEqual(["kite clip.mp4"]);
    expect(await names("q=kite&modified=year&type=document")).toEqual([]);
    const day = (ms: number) => new Date(Date.now() - ms).toISOString().slice(0, 10);
    expect(await names(`q=kite&modified=custom&from=${day(900 * DAY)}&to=${day(700 * DAY)}`)).toEqual(["kite plan.pdf"]);
  });

  it("limits to a folder and its subfolders", async () => {
    const inProjects = await names(`q=kite&folder=${folders.Projects}&sort=name`);
    expect(inProjects).toEqual(["kite clip.mp4", "kite folder", "kite plan.pdf", "minutes.txt"]);
    const { html } = await page(alice, `q=kite&folder=${folders.Projects}`);
    expect(html).toContain("Only in “Projects” and its subfolders");
  });

  it("sorts by name, modified date and size, both ways", async () => {
    const all = ["kite clip.mp4", "kite folder", "kite photo.png", "kite plan.pdf"];
    const named = (await names("q=kite&sort=name")).filter((name) => all.includes(name));
    expect(named).toEqual(all);
    expect((await names("q=kite&sort=name&order=desc")).filter((name) => all.includes(name))).toEqual([...all].reverse());
    expect(await names("q=kite&sort=size&order=desc&type=image")).toEqual(["kite photo.png"]);
    const bySize = (await names("q=kite&sort=size")).filter((name) => all.includes(name));
    // Largest first by default; a folder has no size and comes last.
    expect(bySize).toEqual(["kite plan.pdf", "kite clip.mp4", "kite photo.png", "kite folder"]);
    const oldest = await names("q=kite&sort=modified&order=asc");
    expect(oldest[0]).toBe("kite plan.pdf");
  });

  it("marks the matched words in names and snippets, keeping names and text as text", async () => {
    const { html } = await page(alice, "q=kite");
    expect(html).toMatch(/<mark[^>]*>kite<\/mark><span> photo\.png<\/span>/);
    // The file name's markup is escaped text, never elements.
    expect(html).not.toContain("<b>bold");
    expect(html).not.toMatch(/<img src=x/);
    expect(html).toContain("&lt;b&gt;bold&lt;b&gt; &amp; &lt;img src=x onerror=alert(1)&gt;.txt");
    // The content match's snippet: the word marked, the file's markup as text.
    const snippet = html.slice(html.indexOf('data-testid="content-match"'));
    expect(snippet).toMatch(/<mark[^>]*>kite<\/mark>/);
    expect(html).not.toContain("<script>alert");
    // The text around it is escaped text (PostgreSQL's headline drops the tags themselves).
    expect(snippet.slice(0, 600)).toContain("alert(&#x27;x&#x27;)");
  });

  it("shows each result's folder path as links, shortening deep paths", async () => {
    const { html } = await page(alice, "q=kite&type=document");
    const path = html.slice(html.indexOf('data-testid="hit-path"'), html.indexOf("</ol>", html.indexOf('data-testid="hit-path"')));
    const links = [...path.matchAll(/href="\/files\/([^"]+)"[^>]*>([^<]*)</g)].map((m) => [m[1], m[2]]);
    // My files / … / Deep / Deeper
    expect(links.map(([, name]) => name)).toEqual(["My files", "Deep", "Deeper"]);
    expect(links.at(-1)![0]).toBe(folders.Deeper);
    expect(path).toContain("3 more folders");
    const shallow = await page(alice, "q=kite&type=video");
    const shallowPath = shallow.html.slice(shallow.html.indexOf('data-testid="hit-path"'));
    expect(shallowPath).toMatch(/href="\/files\/[^"]+"[^>]*>My files</);
    expect(shallowPath).toContain(`href="/files/${folders.Projects}"`);
  });

  it.each([
    ["type=pictures", "type must be one of"],
    ["modified=yesterday", "modified must be one of"],
    ["size=huge", "size must be one of"],
    ["sort=price", "sort must be one of"],
    ["order=sideways", "order must be asc or desc"],
    ["modified=custom&from=2026-13-01", "from must be a date"],
    ["modified=custom&from=2026-02-01&to=2026-01-01", "from is after to"],
    ["folder=..%2Fetc", "folder must be a folder id"],
    ["type=image&type=video", "type must be one of"],
  ])("answers a bad parameter (%s) with a 400 page saying what is wrong", async (query, message) => {
    const { status, html } = await page(alice, `q=kite&${query}`);
    expect(status).toBe(400);
    expect(decode(html)).toContain(message);
  });

  it("never shows someone else's files, with any filter, and refuses their folder", async () => {
    for (const query of ["q=kite", "q=kite&type=image", "q=secret", "q=kite&sort=name", "q=kite&size=small&modified=today"]) {
      const { html } = await page(alice, query);
      expect(html).not.toContain("kite secret.png");
      expect(html).not.toContain("kite bob folder");
    }
    expect((await page(alice, `q=kite&folder=${bobsFolder}`)).status).toBe(404);
    expect((await page(bob, `q=kite&folder=${folders.Projects}`)).status).toBe(404);
    const bobs = hitNames((await page(bob, "q=kite")).html);
    expect(bobs.sort()).toEqual(["kite bob folder", "kite secret.png"]);
  });

  it("answers the search as data for JavaScript navigation with the same filters", async () => {
    const response = await alice.client.request("/search.data?q=kite&type=image");
    expect(response.status).toBe(200);
    const body = await response.text();
    // The name comes in its marked parts: "kite", then " photo.png".
    expect(body).toContain('" photo.png"');
    expect(body).not.toContain("clip.mp4");
  });
});
