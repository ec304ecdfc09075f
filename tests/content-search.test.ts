import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { Readable } from "node:stream";
import { auditActor } from "~/domain/audit/audit.server";
import { backfillContent, contentIndexingSettled, contentIndexQueue, maintainContentIndex } from "~/domain/search/content-index.server";
import { addFile } from "~/domain/files/files.server";
import { deleteForever } from "~/domain/files/trash-purge.server";
import { restoreItem, trashItem } from "~/domain/files/trash.server";
import { shareWithUser } from "~/domain/sharing/user-shares.server";
import { startTestApp, type TestApp } from "./support/app";
import { createFolderIn, DRIVER_SETS, putFile, registerPerson, uploadForm, type Person } from "./support/people";
import { hasPdftotext } from "./support/pdftotext";
import { fileSearchDocument } from "~/domain/search/search-documents.server";

/** A one-page PDF showing `text` (offsets computed, so it is valid). */
function pdfWith(text: string): Buffer {
  const stream = `BT /F1 12 Tf 72 720 Td (${text}) Tj ET`;
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  let pdf = "%PDF-1.4\n";
  const offsets = objects.map((body, i) => {
    const offset = pdf.length;
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
    return offset;
  });
  const xref = pdf.length;
  pdf += `xref\n0 6\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`;
  pdf += `trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, "latin1");
}

const searchPage = async (person: Person, query: string) => {
  const response = await person.client.request(`/search?q=${encodeURIComponent(query)}`);
  expect(response.status).toBe(200);
  return response.text();
};

describe.each(DRIVER_SETS)("Content search with $label", ({ drivers }) => {
  let app: TestApp;
  let olivia: Person;
  let sam: Person;
  let root: string;

  const ownHits = (person: Person, query: string) => app.services.search.search(person.id, query);
  const fileNamed = (name: string) => app.services.prisma.file.findFirstOrThrow({ where: { name, ownerId: olivia.id } });
  const actor = () => ({ id: olivia.id, role: "USER" as const });

  async function upload(name: string, content: Buffer | string, onConflict?: string, folderId = root) {
    const response = await uploadForm(olivia.client, folderId, name, Buffer.from(content), onConflict);
    expect(response.status, await response.clone().text()).toBe(200);
    await contentIndexingSettled();
    return fileNamed(name);
  }

  beforeAll(async () => {
    app = await startTestApp(drivers);
    olivia = await registerPerson(app, "Olivia Owner", "olivia@example.com");
    sam = await registerPerson(app, "Sam Stranger", "sam@example.com");
    root = (await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId: olivia.id, parentId: null } })).id;
  });

  it("indexes an uploaded text file so a word inside it finds it, with a marked snippet on the page", async () => {
    const file = await upload("minutes.txt", "The committee approved the marmalade budget on Tuesday.");
    expect(file.contentIndexedKey).toBe(file.storageKey);
    const { hits } = await ownHits(olivia, "marmalade");
    expect(hits).toEqual([expect.objectContaining({ id: file.id, matchedBy: "content" })]);

    const html = await searchPage(olivia, "marmalade");
    expect(html).toContain("minutes.txt");
    expect(html).toContain("Matched inside the file");
    expect(html).toMatch(/<mark[^>]*>marmalade<\/mark>/);
  });

  it("leaves the file's modified time as it is when it indexes the text", async () => {
    const file = await upload("dates.txt", "The quince harvest came early.");
    const past = new Date("2026-01-02T03:04:05.000Z");
    await app.services.prisma.$executeRaw`UPDATE files SET updated_at = ${past}, content_indexed_key = NULL WHERE id = ${file.id}`;
    await backfillContent(app.services);
    const after = await app.services.prisma.file.findUniqueOrThrow({ where: { id: file.id } });
    expect(after.contentIndexedKey).toBe(file.storageKey);
    expect(after.updatedAt.toISOString()).toBe(past.toISOString());
  });

  it("lists name matches before content matches", async () => {
    await upload("kumquat.txt", "nothing to see");
    await upload("fruit.txt", "a basket of kumquat and figs");
    const html = await searchPage(olivia, "kumquat");
    expect(html.indexOf("kumquat.txt")).toBeGreaterThan(-1);
    expect(html.indexOf("kumquat.txt")).toBeLessThan(html.indexOf("fruit.txt"));
  });

  it("escapes stored text in snippets: markup in a file is shown, never run", async () => {
    await upload("evil.txt", `<img src=x onerror=alert(1)> <script>alert("x")</script> cassowary & "quotes"`);
    const html = await searchPage(olivia, "cassowary");
    expect(html).toMatch(/<mark[^>]*>cassowary<\/mark>/);
    expect(html).not.toContain("<img src=x");
    expect(html).not.toContain('<script>alert("x")');
    expect(html).toContain("evil.txt");
  });

  it("replaces the text with a new version's", async () => {
    await upload("plan.txt", "first draft mentions the aardvark");
    const replaced = await upload("plan.txt", "second draft mentions the pangolin", "replace");
    expect(replaced.contentIndexedKey).toBe(replaced.storageKey);
    expect((await ownHits(olivia, "aardvark")).hits).toEqual([]);
    expect((await ownHits(olivia, "pangolin")).hits.map((hit) => hit.id)).toEqual([replaced.id]);
  });

  it("removes the text with a trashed file, brings it back on restore, and drops it on delete", async () => {
    const file = await upload("diary.txt", "the narwhal appeared at dawn");
    await trashItem(app.services, actor(), "file", file.id);
    expect((await ownHits(olivia, "narwhal")).hits).toEqual([]);
    await restoreItem(app.services, actor(), "file", file.id);
    await contentIndexingSettled();
    expect((await ownHits(olivia, "narwhal")).hits.map((hit) => hit.id)).toEqual([file.id]);

    await trashItem(app.services, actor(), "file", file.id);
    await deleteForever(app.services, actor(), "file", file.id, auditActor(new Request("http://test/"), null, olivia));
    expect((await ownHits(olivia, "narwhal")).hits).toEqual([]);
    expect(await app.services.prisma.fileContent.count({ where: { fileId: file.id } })).toBe(0);
  });

  it("backfills files stored before content search, in batches, once", async () => {
    const old = await putFile(app.services, olivia.id, root, "legacy-notes.txt", Buffer.from("an old note about the axolotl"));
    await contentIndexingSettled();
    // As if it had been stored before content search existed.
    await app.services.search.upsert([{ ...fileSearchDocument(old), content: null }]);
    await app.services.prisma.file.update({ where: { id: old.id }, data: { contentIndexedKey: null } });
    expect((await ownHits(olivia, "axolotl")).hits).toEqual([]);

    // Fresh files are left to their upload's queue for a few minutes.
    expect((await backfillContent(app.services)).indexed).toBe(0);
    const later = new Date(Date.now() + 10 * 60 * 1000);
    let indexed = 0;
    for (let round = 0; round < 10; round++) {
      const result = await backfillContent(app.services, later);
      indexed += result.indexed;
      if (result.indexed + result.none === 0) break;
    }
    expect(indexed).toBeGreaterThanOrEqual(1);
    expect((await ownHits(olivia, "axolotl")).hits.map((hit) => hit.id)).toEqual([old.id]);
    expect(await backfillContent(app.services, later)).toEqual({ indexed: 0, none: 0 });
  });

  it("skips binary content and files without text, remembering them", async () => {
    const binary = await upload("data.txt", Buffer.concat([Buffer.from("gecko"), Buffer.alloc(64), randomBytes(256)]));
    expect(binary.contentIndexedKey).toBe(binary.storageKey);
    expect((await ownHits(olivia, "gecko")).hits).toEqual([]);
    expect(await app.services.prisma.fileContent.count({ where: { fileId: binary.id } })).toBe(0);
  });

  it("records a new file of a type without text as indexed, queueing no work for it", async () => {
    const add = async (name: string, mimeType: string) => {
      const storageKey = randomBytes(16).toString("hex");
      await app.services.storage.put(storageKey, Readable.from([Buffer.from("lemur")]), { size: 5 });
      return addFile(app.services, { ownerId: olivia.id, folderId: root, name, size: 5, mimeType, storageKey, sha256: null });
    };
    const schedule = vi.spyOn(contentIndexQueue, "schedule");
    try {
      const photo = await add("lemur.jpg", "image/jpeg");
      expect(photo.contentIndexedKey).toBe(photo.storageKey);
      const note = await add("lemur-notes.txt", "text/plain");
      expect(note.contentIndexedKey).toBeNull();
      expect(schedule.mock.calls.map(([, ids]) => [...ids])).toEqual([[note.id]]);
    } finally {
      schedule.mockRestore();
    }
    await contentIndexingSettled();
    expect((await ownHits(olivia, "lemur")).hits.map((hit) => hit.name).sort()).toEqual(["lemur-notes.txt", "lemur.jpg"]);
  });

  it.skipIf(!hasPdftotext)("indexes the text of a PDF", async () => {
    const file = await upload("report.pdf", pdfWith("Quarterly wallaby census"));
    expect((await ownHits(olivia, "wallaby")).hits.map((hit) => hit.id)).toEqual([file.id]);
  });

  it("shows content matches of others' files only where they were shared, and never trashed ones", async () => {
    const team = await createFolderIn(olivia.client, root, "Team");
    const shared = await upload("shared-notes.txt", "the okapi project is shared", undefined, team);
    await upload("private-notes.txt", "the okapi project is private");
    expect(await searchPage(sam, "okapi")).not.toContain("notes.txt");

    await shareWithUser(
      app.services,
      actor(),
      { kind: "folder", id: team },
      { email: sam.email, permission: "READ" },
      auditActor(new Request("http://test/"), null, olivia),
    );
    const html = await searchPage(sam, "okapi");
    expect(html).toContain("shared-notes.txt");
    expect(html).not.toContain("private-notes.txt");
    expect(html).toMatch(/<mark[^>]*>okapi<\/mark>/);
    expect(html).toContain("Shared by Olivia Owner");

    await trashItem(app.services, actor(), "file", shared.id);
    expect(await searchPage(sam, "okapi")).not.toContain("shared-notes.txt");
    expect(await searchPage(olivia, "okapi")).not.toContain("shared-notes.txt");
  });

  it("tells the administrator on /admin whether PDFs are searched inside", async () => {
    const html = await (await olivia.client.request("/admin")).text();
    expect(html).toContain(hasPdftotext ? "Search inside files is on, PDFs included." : "PDFs are found by name only: install pdftotext");
  });

  it("asks for a login before searching", async () => {
    const { TestClient } = await import("./support/client");
    const response = await new TestClient(app.url).request("/search?q=marmalade");
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toMatch(/^\/login/);
  });
});

describe("Content search turned off (SEARCH_CONTENT=false)", () => {
  let on: TestApp;
  let off: TestApp;
  let olivia: Person;
  let root: string;

  beforeAll(async () => {
    on = await startTestApp({ storage: "local", cache: "memory" });
    olivia = await registerPerson(on, "Olivia Owner", "olivia@example.com");
    root = (await on.services.prisma.folder.findFirstOrThrow({ where: { ownerId: olivia.id, parentId: null } })).id;
    // Indexed before the second instance starts: the two share the job queue, and either could
    // take the indexing job of a new file.
    expect((await uploadForm(olivia.client, root, "secret.txt", Buffer.from("the quetzal password is here"))).status).toBe(200);
    await contentIndexingSettled();
    // A second instance on the same database, configured without content search.
    off = await startTestApp({ storage: "local", cache: "memory" }, { DATABASE_URL: on.env.DATABASE_URL, SEARCH_CONTENT: "false" });
  });

  it("removes stored text, extracts no more, and says the search covers names", async () => {
    expect((await on.services.search.search(olivia.id, "quetzal")).hits).toHaveLength(1);

    expect(await maintainContentIndex(off.services)).toEqual({ removed: 1 });
    expect(await off.services.prisma.fileContent.count()).toBe(0);
    expect((await off.services.search.search(olivia.id, "quetzal")).hits).toEqual([]);
    expect((await off.services.search.search(olivia.id, "secret")).hits).toHaveLength(1);
    expect(await off.services.prisma.file.count({ where: { contentIndexedKey: { not: null } } })).toBe(0);
    expect(await off.services.prisma.auditEvent.findMany({ where: { action: "data.search_content_removed" } })).toMatchObject([
      { actorLabel: "system", targetType: "settings", targetId: "SEARCH_CONTENT", details: { files: 1 } },
    ]);
    // Nothing left: a second run removes nothing and records nothing.
    expect(await maintainContentIndex(off.services)).toEqual({ removed: 0 });
    expect(await off.services.prisma.auditEvent.count({ where: { action: "data.search_content_removed" } })).toBe(1);

    // From here on only the instance without content search works the queue (as after a restart with SEARCH_CONTENT=false).
    await on.close();
    const offClient = (await import("./support/client")).TestClient;
    const viaOff = new offClient(off.url);
    await viaOff.login(olivia.email);
    expect((await uploadForm(viaOff, root, "another.txt", Buffer.from("the toucan stays out"))).status).toBe(200);
    await contentIndexingSettled();
    expect((await off.services.search.search(olivia.id, "toucan")).hits).toEqual([]);
    expect(await off.services.prisma.file.count({ where: { contentIndexedKey: { not: null } } })).toBe(0);
    expect(await (await viaOff.request("/search")).text()).toContain("Type part of a file or folder name. Misspellings are fine.");
    expect(await (await viaOff.request("/admin")).text()).toContain("Search inside files is off (SEARCH_CONTENT=false)");
  });
});

describe("Content search of encrypted objects", () => {
  it("extracts the plaintext through the store", async () => {
    const app = await startTestApp({ storage: "local", cache: "memory" }, { ENCRYPTION_MASTER_KEY: randomBytes(32).toString("base64") });
    const olivia = await registerPerson(app, "Olivia Owner", "olivia@example.com");
    const root = (await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId: olivia.id, parentId: null } })).id;
    expect((await uploadForm(olivia.client, root, "sealed.txt", Buffer.from("the chinchilla is encrypted at rest"))).status).toBe(200);
    await contentIndexingSettled();
    expect((await app.services.search.search(olivia.id, "chinchilla")).hits).toHaveLength(1);
  });
});
