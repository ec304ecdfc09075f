import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { MeilisearchIndex } from "~/services/search/meilisearch.server";
import { PostgresSearchIndex } from "~/services/search/postgres.server";
import type { SearchDocument, SearchFilters, SearchIndex } from "~/services/search/types";
import { createTestDatabase } from "./support/database";

const services = inject("services");
const database = await createTestDatabase();

interface DriverUnderTest {
  name: "postgres" | "meilisearch";
  create(): Promise<SearchIndex>;
  cleanup(): Promise<void>;
}

const postgres: DriverUnderTest = {
  name: "postgres",
  async create() {
    const index = new PostgresSearchIndex(database.prisma);
    await index.init();
    return index;
  },
  async cleanup() {},
};

const meiliIndexUid = `coffer-test-${randomUUID()}`;
const meilisearch: DriverUnderTest = {
  name: "meilisearch",
  async create() {
    const index = new MeilisearchIndex({ host: services.meiliHost!, apiKey: services.meiliApiKey ?? undefined, index: meiliIndexUid });
    await index.init();
    return index;
  },
  async cleanup() {
    const { Meilisearch } = await import("meilisearch");
    const client = new Meilisearch({ host: services.meiliHost!, apiKey: services.meiliApiKey ?? undefined });
    await client.deleteIndex(meiliIndexUid).waitTask();
  },
};

if (!services.meiliHost) {
  console.log("Meilisearch contract suite did not run: MEILI_HOST is not set");
}

let counter = 0;
function doc(ownerId: string, name: string, overrides: Partial<SearchDocument> = {}): SearchDocument {
  counter++;
  return {
    id: `doc${counter}-${randomUUID().slice(0, 8)}`,
    ownerId,
    kind: "file",
    name,
    folderId: "folder-1",
    mimeType: "application/octet-stream",
    size: 1000 + counter,
    updatedAt: new Date(Date.UTC(2026, 0, 15, 10, 30, 0, counter)),
    ...overrides,
  };
}

const ids = (hits: Array<{ id: string }>) => hits.map((hit) => hit.id);

function contract(driver: DriverUnderTest) {
  let index: SearchIndex;
  // Owner ids are unique to this run: a Meilisearch server may hold other runs' documents.
  const alice = `alice-${randomUUID()}`;
  const bob = `bob-"quoted"\\-${randomUUID()}`;
  const report = doc(alice, "Quarterly-Report_2024.pdf", { mimeType: "application/pdf", size: 2 ** 40 });
  const photos = doc(alice, "Holiday photos", { kind: "folder", mimeType: null, size: null, folderId: null });
  const resume = doc(alice, "Résumé.docx");
  const japanese = doc(alice, "日本語のファイル.txt");
  const budget = doc(alice, "budget 100% final_v2.xlsx");
  const notes = doc(alice, "notes (draft) & ideas!.md");
  const bobsReport = doc(bob, "Quarterly-Report_2024.pdf");
  const bobsSecret = doc(bob, "bob-secret-plans.txt");

  beforeAll(async () => {
    index = await driver.create();
    await index.upsert([report, photos, resume, japanese, budget, notes, bobsReport, bobsSecret]);
  });

  afterAll(async () => {
    await driver.cleanup();
  });

  it("reports its driver and is healthy", async () => {
    expect(index.driver).toBe(driver.name);
    await index.health();
  });

  it.each([
    ["a whole word", "report"],
    ["a word in another case", "QUARTERLY"],
    ["a word prefix", "repo"],
    ["a misspelt word", "quartrly"],
    ["a number inside the name", "2024"],
    ["several words", "quarterly report"],
    ["the whole name", "Quarterly-Report_2024.pdf"],
  ])("finds a name by %s (%s)", async (_, query) => {
    const result = await index.search(alice, query);
    expect(ids(result.hits)).toContain(report.id);
    expect(result.total).toBeGreaterThanOrEqual(1);
  });

  it("returns the stored fields with a score", async () => {
    const { hits } = await index.search(alice, "quarterly report");
    const hit = hits.find((h) => h.id === report.id)!;
    expect(hit).toMatchObject({ ...report, updatedAt: report.updatedAt });
    expect(hit.updatedAt).toBeInstanceOf(Date);
    expect(hit.updatedAt.getTime()).toBe(report.updatedAt.getTime());
    expect(typeof hit.score).toBe("number");
    expect(hits[0].id).toBe(report.id);

    const folder = (await index.search(alice, "holiday")).hits.find((h) => h.id === photos.id);
    expect(folder).toMatchObject({ kind: "folder", folderId: null, mimeType: null, size: null });
  });

  it("narrows by kind, media type or family, size and date", async () => {
    const owner = `carol-${randomUUID()}`;
    const day = (d: number) => new Date(Date.UTC(2026, 2, d));
    const png = doc(owner, "plan small.png", { mimeType: "image/png", size: 100, updatedAt: day(1) });
    const jpeg = doc(owner, "plan big.jpg", { mimeType: "image/jpeg", size: 5000, updatedAt: day(10) });
    const pdf = doc(owner, "plan.pdf", { mimeType: "application/pdf", size: 300, updatedAt: day(20) });
    const folder = doc(owner, "plan folder", { kind: "folder", mimeType: null, size: null, updatedAt: day(10) });
    await index.upsert([png, jpeg, pdf, folder]);
    const found = async (filters: SearchFilters) => ids((await index.search(owner, "plan", { filters })).hits).sort();
    expect(await found({})).toEqual([png.id, jpeg.id, pdf.id, folder.id].sort());
    expect(await found({ kind: "folder" })).toEqual([folder.id]);
    expect(await found({ mimeType: "image/" })).toEqual([png.id, jpeg.id].sort());
    expect(await found({ mimeType: "application/pdf" })).toEqual([pdf.id]);
    expect(await found({ minSize: 300 })).toEqual([jpeg.id, pdf.id].sort());
    expect(await found({ minSize: 100, maxSize: 300 })).toEqual([png.id, pdf.id].sort());
    expect(await found({ updatedFrom: day(10) })).toEqual([jpeg.id, pdf.id, folder.id].sort());
    expect(await found({ updatedFrom: day(5), updatedBefore: day(20), kind: "file" })).toEqual([jpeg.id]);
    const total = (await index.search(owner, "plan", { filters: { mimeType: "image/" } })).total;
    expect(total).toBe(2);
    await index.remove([png.id, jpeg.id, pdf.id, folder.id]);
  });

  it("finds names with accents and non-Latin scripts, ignoring case", async () => {
    expect(ids((await index.search(alice, "résumé")).hits)).toContain(resume.id);
    expect(ids((await index.search(alice, "RÉSUMÉ")).hits)).toContain(resume.id);
    expect(ids((await index.search(alice, "日本")).hits)).toContain(japanese.id);
  });

  it("finds words joined by underscores and punctuation", async () => {
    expect(ids((await index.search(alice, "final")).hits)).toContain(budget.id);
    expect(ids((await index.search(alice, "draft")).hits)).toContain(notes.id);
    expect(ids((await index.search(alice, "ideas")).hits)).toContain(notes.id);
  });

  it("finds nothing for an unrelated word or an empty query", async () => {
    expect((await index.search(alice, "zebra")).hits).toEqual([]);
    expect(await index.search(alice, "")).toEqual({ hits: [], total: 0 });
    expect(await index.search(alice, "   ")).toEqual({ hits: [], total: 0 });
  });

  it("returns only the owner's documents", async () => {
    const alices = await index.search(alice, "report");
    expect(alices.hits.every((hit) => hit.ownerId === alice)).toBe(true);
    expect(ids(alices.hits)).not.toContain(bobsReport.id);

    const bobs = await index.search(bob, "report");
    expect(ids(bobs.hits)).toEqual([bobsReport.id]);
    expect(bobs.total).toBe(1);

    expect((await index.search(alice, "secret")).hits).toEqual([]);
    expect((await index.search(`nobody-${randomUUID()}`, "report")).hits).toEqual([]);
  });

  it("narrows to documents inside given folders or with given ids (what was shared)", async () => {
    const inShared = doc(bob, "shared-ledger.txt", { folderId: "bob-shared" });
    const elsewhere = doc(bob, "private-ledger.txt", { folderId: "bob-private" });
    const sharedFile = doc(bob, "single-ledger.txt", { folderId: "bob-private" });
    await index.upsert([inShared, elsewhere, sharedFile]);
    expect(ids((await index.search(bob, "ledger", { within: { folderIds: ["bob-shared"], ids: [sharedFile.id] } })).hits).sort()).toEqual(
      [inShared.id, sharedFile.id].sort(),
    );
    expect(ids((await index.search(bob, "ledger", { within: { folderIds: ["bob-shared"], ids: [] } })).hits)).toEqual([inShared.id]);
    expect(ids((await index.search(bob, "ledger", { within: { folderIds: [], ids: [sharedFile.id] } })).hits)).toEqual([sharedFile.id]);
    expect(await index.search(bob, "ledger", { within: { folderIds: [], ids: [] } })).toEqual({ hits: [], total: 0 });
    // The owner still bounds it: another owner's folder id matches nothing.
    expect((await index.search(alice, "ledger", { within: { folderIds: ["bob-shared"], ids: [sharedFile.id] } })).hits).toEqual([]);
    await index.remove([inShared.id, elsewhere.id, sharedFile.id]);
  });

  it("forgets removed documents; removing unknown or no ids is fine", async () => {
    const gone = doc(alice, "temporary-scratchpad.txt");
    await index.upsert([gone]);
    expect(ids((await index.search(alice, "scratchpad")).hits)).toEqual([gone.id]);
    await index.remove([gone.id, "never-indexed"]);
    expect((await index.search(alice, "scratchpad")).hits).toEqual([]);
    await index.remove([]);
  });

  it("reflects a rename", async () => {
    const renamed = doc(alice, "Old-Contract.pdf");
    await index.upsert([renamed]);
    expect(ids((await index.search(alice, "contract")).hits)).toContain(renamed.id);
    const updatedAt = new Date(renamed.updatedAt.getTime() + 60_000);
    await index.upsert([{ ...renamed, name: "Signed-Agreement.pdf", updatedAt }]);
    expect(ids((await index.search(alice, "contract")).hits)).not.toContain(renamed.id);
    const hit = (await index.search(alice, "agreement")).hits.find((h) => h.id === renamed.id);
    expect(hit?.name).toBe("Signed-Agreement.pdf");
    expect(hit?.updatedAt.getTime()).toBe(updatedAt.getTime());
  });

  it("narrows by file type: images, video, audio, documents, archives, text and code, other", async () => {
    const owner = `erin-${randomUUID()}`;
    const typed = (name: string, mimeType: string | null) => doc(owner, `kite ${name}`, { mimeType });
    const image = typed("photo.png", "image/png");
    const video = typed("clip.mp4", "video/mp4");
    const audio = typed("song.mp3", "audio/mpeg");
    const pdf = typed("paper.pdf", "application/pdf");
    const sheet = typed("sums.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    const zip = typed("bundle.zip", "application/zip");
    const code = typed("main.ts", "text/typescript");
    const json = typed("data.json", "application/json");
    const binary = typed("blob.bin", "application/octet-stream");
    const unknown = typed("mystery", null);
    const folder = doc(owner, "kite folder", { kind: "folder", mimeType: null, size: null });
    const all = [image, video, audio, pdf, sheet, zip, code, json, binary, unknown, folder];
    await index.upsert(all);
    const found = async (filters: SearchFilters) => ids((await index.search(owner, "kite", { filters })).hits).sort();
    expect(await found({ fileType: "image" })).toEqual([image.id]);
    expect(await found({ fileType: "video" })).toEqual([video.id]);
    expect(await found({ fileType: "audio" })).toEqual([audio.id]);
    expect(await found({ fileType: "document" })).toEqual([pdf.id, sheet.id].sort());
    expect(await found({ fileType: "archive" })).toEqual([zip.id]);
    expect(await found({ fileType: "text" })).toEqual([code.id, json.id].sort());
    // Files of none of the others, an unknown type included; never folders.
    expect(await found({ fileType: "other" })).toEqual([binary.id, unknown.id].sort());
    expect(await found({ fileType: "image", minSize: 10 ** 9 })).toEqual([]);
    await index.remove(ids(all));
  });

  it("sorts by name, modified date or size, each way, mixing name and content matches", async () => {
    const owner = `frank-${randomUUID()}`;
    const day = (d: number) => new Date(Date.UTC(2026, 4, d));
    const bravo = doc(owner, "bravo comet.txt", { size: 30, updatedAt: day(3) });
    const alpha = doc(owner, "Alpha comet.txt", { size: 10, updatedAt: day(1) });
    const charlie = doc(owner, "charlie comet.txt", { size: 20, updatedAt: day(2) });
    const folder = doc(owner, "delta comet", { kind: "folder", mimeType: null, size: null, updatedAt: day(4) });
    const all = [bravo, alpha, charlie, folder];
    await index.upsert(all);
    const order = async (by: "name" | "modified" | "size", direction: "asc" | "desc", page: { limit?: number; offset?: number } = {}) =>
      ids((await index.search(owner, "comet", { sort: { by, direction }, ...page })).hits);
    expect(await order("name", "asc")).toEqual(ids([alpha, bravo, charlie, folder]));
    expect(await order("name", "desc")).toEqual(ids([folder, charlie, bravo, alpha]));
    expect(await order("modified", "asc")).toEqual(ids([alpha, charlie, bravo, folder]));
    expect(await order("modified", "desc")).toEqual(ids([folder, bravo, charlie, alpha]));
    // A folder has no size: last either way.
    expect(await order("size", "asc")).toEqual(ids([alpha, charlie, bravo, folder]));
    expect(await order("size", "desc")).toEqual(ids([bravo, charlie, alpha, folder]));
    // Pages follow the order.
    expect(await order("name", "asc", { limit: 2, offset: 1 })).toEqual(ids([bravo, charlie]));
    // Relevance is the default and may be asked for.
    const relevance = await index.search(owner, "comet", { sort: { by: "relevance", direction: "desc" } });
    expect(ids(relevance.hits).sort()).toEqual(ids(all).sort());
    expect(relevance.total).toBe(4);
    await index.remove(ids(all));
  });

  it("pages with limit and offset and reports the total", async () => {
    const carol = `carol-${randomUUID()}`;
    const batch = Array.from({ length: 25 }, (_, i) => doc(carol, `batch-item-${String(i).padStart(2, "0")}.log`));
    await index.upsert(batch);

    const first = await index.search(carol, "batch", { limit: 10 });
    const second = await index.search(carol, "batch", { limit: 10, offset: 10 });
    const last = await index.search(carol, "batch", { limit: 10, offset: 20 });
    const beyond = await index.search(carol, "batch", { limit: 10, offset: 40 });
    expect(first.hits).toHaveLength(10);
    expect(second.hits).toHaveLength(10);
    expect(last.hits).toHaveLength(5);
    expect(beyond.hits).toHaveLength(0);
    for (const page of [first, second, last, beyond]) expect(page.total).toBe(25);
    const all = new Set([...ids(first.hits), ...ids(second.hits), ...ids(last.hits)]);
    expect([...all].sort()).toEqual(ids(batch).sort());

    expect((await index.search(carol, "batch")).hits).toHaveLength(20);
  });

  it.each([
    `"`,
    `'`,
    `"unclosed`,
    `%`,
    `_`,
    `%_%`,
    `\\`,
    `:`,
    `a:*`,
    `&`,
    `foo & !bar`,
    `!`,
    `(`,
    `)`,
    `(report`,
    `report)`,
    `|`,
    `<->`,
    `*`,
    `'; DROP TABLE search_documents; --`,
    `ownerId = "x" OR ownerId EXISTS`,
    "Résumé",
    "日本",
    "🎉 emoji",
    "tab\tand\nnewline",
    "\u0000",
    "x".repeat(600),
  ])("never throws for the query %j", async (query) => {
    const result = await index.search(alice, query);
    expect(Array.isArray(result.hits)).toBe(true);
    expect(result.total).toBeGreaterThanOrEqual(result.hits.length);
    expect(result.hits.every((hit) => hit.ownerId === alice)).toBe(true);
  });

  describe("content", () => {
    const dana = `dana-${randomUUID()}`;
    const named = doc(dana, "Zanzibar-Plan.txt");
    const inside = doc(dana, "meeting-minutes.txt", {
      content: "The board met on Tuesday. The Zanzibar initiative was approved <b>unanimously</b> & funded for the next quarter.",
    });
    const both = doc(dana, "zanzibar notes.md", { content: "Everything about the zanzibar initiative." });
    const elsewhere = doc(dana, "budget.csv", { folderId: "dana-private", content: "zanzibar,1200" });

    beforeAll(async () => {
      await index.upsert([named, inside, both, elsewhere]);
    });

    const plain = (parts: Array<{ text: string }> | null) => (parts ?? []).map((part) => part.text).join("");

    it("finds a file by a word inside it, marked as a content match with a snippet", async () => {
      const { hits } = await index.search(dana, "initiative");
      const hit = hits.find((h) => h.id === inside.id)!;
      expect(hit).toMatchObject({ matchedBy: "content", name: inside.name, kind: "file" });
      expect(hit).not.toHaveProperty("content");
      expect(hit.snippet?.some((part) => part.match && part.text.toLowerCase() === "initiative")).toBe(true);
      expect(plain(hit.snippet)).toContain("Zanzibar");
    });

    it("ranks name matches before content-only matches and counts both", async () => {
      const result = await index.search(dana, "zanzibar");
      const order = ids(result.hits);
      expect(order.sort()).toEqual([named.id, inside.id, both.id, elsewhere.id].sort());
      const { hits } = result;
      const firstContent = hits.findIndex((h) => h.matchedBy === "content");
      expect(
        hits
          .slice(0, firstContent)
          .map((h) => h.id)
          .sort(),
      ).toEqual([named.id, both.id].sort());
      expect(hits.slice(firstContent).every((h) => h.matchedBy === "content")).toBe(true);
      expect(hits.filter((h) => h.matchedBy === "name").every((h) => h.snippet === null)).toBe(true);
      expect(result.total).toBe(4);
      // Paging keeps that order.
      const pageTwo = await index.search(dana, "zanzibar", { limit: 2, offset: 2 });
      expect(pageTwo.hits.every((h) => h.matchedBy === "content")).toBe(true);
    });

    it("sorted by name, mixes content matches (with their snippets) among name matches", async () => {
      const { hits } = await index.search(dana, "zanzibar", { sort: { by: "name", direction: "asc" } });
      expect(ids(hits)).toEqual(ids([elsewhere, inside, both, named]));
      const content = hits.find((hit) => hit.id === inside.id)!;
      expect(content.matchedBy).toBe("content");
      expect(content.snippet?.some((part) => part.match)).toBe(true);
      expect(hits.find((hit) => hit.id === named.id)!.matchedBy).toBe("name");
    });

    it("needs every word of the query in the content, and matches word prefixes", async () => {
      expect(ids((await index.search(dana, "board approved")).hits)).toEqual([inside.id]);
      expect(ids((await index.search(dana, "unanim")).hits)).toEqual([inside.id]);
      expect((await index.search(dana, "board elephant")).hits).toEqual([]);
    });

    it("keeps stored text plain: markup in it is never a match marker", async () => {
      const hit = (await index.search(dana, "unanimously")).hits.find((h) => h.id === inside.id)!;
      expect(hit.snippet?.some((part) => part.match && part.text.toLowerCase().includes("unanimously"))).toBe(true);
      expect(hit.snippet?.every((part) => !part.match || !part.text.includes("<"))).toBe(true);
    });

    it("bounds content matches by owner and by what was shared", async () => {
      expect((await index.search(alice, "initiative")).hits).toEqual([]);
      const within = await index.search(dana, "zanzibar", { within: { folderIds: ["folder-1"], ids: [] } });
      expect(ids(within.hits)).not.toContain(elsewhere.id);
      expect(ids(within.hits)).toContain(inside.id);
      expect(ids((await index.search(dana, "1200", { within: { folderIds: [], ids: [elsewhere.id] } })).hits)).toEqual([elsewhere.id]);
    });

    it("keeps content through a rename, and forgets it when set to null or the document is removed", async () => {
      const memo = doc(dana, "memo.txt", { content: "quokka sightings reported" });
      await index.upsert([memo]);
      await index.upsert([{ ...memo, name: "renamed-memo.txt" }]);
      const [renamed] = (await index.search(dana, "quokka")).hits;
      expect(renamed).toMatchObject({ id: memo.id, name: "renamed-memo.txt", matchedBy: "content" });

      await index.upsert([{ ...memo, content: null }]);
      expect((await index.search(dana, "quokka")).hits).toEqual([]);
      expect(ids((await index.search(dana, "memo")).hits)).toContain(memo.id);

      await index.upsert([{ ...memo, content: "quokka again" }]);
      expect(ids((await index.search(dana, "quokka")).hits)).toEqual([memo.id]);
      await index.remove([memo.id]);
      await index.upsert([{ ...memo, content: undefined }]);
      expect((await index.search(dana, "quokka")).hits).toEqual([]);
      await index.remove([memo.id]);
    });

    it("replaces content with a new version's", async () => {
      const draft = doc(dana, "draft.txt", { content: "first wombat version" });
      await index.upsert([draft]);
      await index.upsert([{ ...draft, content: "second platypus version" }]);
      expect((await index.search(dana, "wombat")).hits).toEqual([]);
      expect(ids((await index.search(dana, "platypus")).hits)).toEqual([draft.id]);
      await index.remove([draft.id]);
    });
  });

  it("still works after the odd queries", async () => {
    expect(ids((await index.search(alice, "report")).hits)).toContain(report.id);
  });
}

describe("postgres search", () => {
  contract(postgres);

  describe("postgres specifics", () => {
    let index: PostgresSearchIndex;
    const dave = `dave-${randomUUID()}`;
    const percent = doc(dave, "growth 100% plan.txt");
    const underscore = doc(dave, "a_b.txt");
    const plain = doc(dave, "a1b 100 plan.txt");

    beforeAll(async () => {
      index = new PostgresSearchIndex(database.prisma);
      await index.upsert([percent, underscore, plain]);
    });

    it("treats % and _ in a query as literal characters", async () => {
      expect(ids((await index.search(dave, "%")).hits)).toEqual([percent.id]);
      // "100" is a word of both names; the literal "100%" ranks its name first.
      expect(ids((await index.search(dave, "100%")).hits)[0]).toBe(percent.id);
      expect(ids((await index.search(dave, "a_b")).hits)).toContain(underscore.id);
      expect(ids((await index.search(dave, "_")).hits)).toEqual([underscore.id]);
    });

    it("keeps the last version when a batch repeats an id, and stores sizes beyond 32 bits", async () => {
      const big = doc(dave, "first-version.iso", { size: 5 * 2 ** 40 });
      await index.upsert([big, { ...big, name: "second-version.iso" }]);
      const [hit] = (await index.search(dave, "version")).hits;
      expect(hit).toMatchObject({ id: big.id, name: "second-version.iso", size: 5 * 2 ** 40 });
    });

    it("keeps the start of a text whose words would not fit in one tsvector (1 MB)", async () => {
      // ~1 MiB of distinct words: their tsvector would be over PostgreSQL's limit.
      const words = Array.from({ length: 120_000 }, (_, i) => `w${i.toString(36)}x${(i * 7919).toString(36)}`);
      const huge = doc(dave, "huge.txt", { content: `firstword ${words.join(" ")}` });
      await index.upsert([huge]);
      expect(ids((await index.search(dave, "firstword")).hits)).toEqual([huge.id]);
      const stored = await database.prisma.fileContent.findUniqueOrThrow({ where: { fileId: huge.id } });
      expect(stored.content.length).toBeLessThan(huge.content!.length);
      expect(huge.content!.startsWith(stored.content)).toBe(true);
    });

    it("ranks a name equal to the query first among more matches than it counts, and says the total is a lower bound", async () => {
      const erin = `erin-${randomUUID()}`;
      const many = Array.from({ length: 1050 }, (_, i) => doc(erin, `lantern ${String(i).padStart(4, "0")}.txt`));
      const exact = doc(erin, "Lantern", { kind: "folder", folderId: null, mimeType: null, size: null });
      // The exact name last, so that it is not among the first matches the index yields.
      await index.upsert([...many, exact]);

      const first = await index.search(erin, "lantern", { limit: 50 });
      expect(first.hits).toHaveLength(50);
      expect(first.hits[0]!.id).toBe(exact.id);
      expect(first).toMatchObject({ total: 1000, totalIsLowerBound: true });
      // Paging beyond the counted matches still gives full pages.
      const deep = await index.search(erin, "lantern", { limit: 20, offset: 1000 });
      expect(deep.hits).toHaveLength(20);
      expect(deep.totalIsLowerBound).toBe(true);
      // Few matches: an exact total, not a bound.
      const few = await index.search(erin, "lantern 0042");
      expect(few).toEqual({ hits: [expect.objectContaining({ id: many[42]!.id })], total: 1 });
      await index.remove([...many, exact].map((d) => d.id));
    });

    it("matches each misspelt word of a query against the name's words, and needs every word", async () => {
      const frank = `frank-${randomUUID()}`;
      const report = doc(frank, "Quarterly-Report_2024.pdf");
      await index.upsert([report]);
      expect(ids((await index.search(frank, "quartrly reportt")).hits)).toEqual([report.id]);
      expect(ids((await index.search(frank, "reportt 2024")).hits)).toEqual([report.id]);
      expect((await index.search(frank, "quartrly elephant")).hits).toEqual([]);
    });

    it("finds a name when one word's slip is too big alone but the words together are close", async () => {
      const hana = `hana-${randomUUID()}`;
      const scans = doc(hana, "tax-return-scans.bin");
      await index.upsert([scans, doc(hana, "garden-plan.txt")]);
      // "retrun" alone is 0.43 similar to "return", under the threshold; "tax retrun" is 0.64.
      expect(ids((await index.search(hana, "tax-retrun")).hits)).toEqual([scans.id]);
      expect((await index.search(hana, "retrun")).hits).toEqual([]);
    });

    it("takes the last word of a query as typed so far, and finds other partial words by similarity", async () => {
      const grace = `grace-${randomUUID()}`;
      const report = doc(grace, "Quarterly-Report_2024.pdf");
      const camera = doc(grace, "IMG_20240315_0001.jpg");
      await index.upsert([report, camera]);
      expect(ids((await index.search(grace, "2024 repo")).hits)).toEqual([report.id]);
      expect(ids((await index.search(grace, "quart repo")).hits)).toEqual([report.id]);
      expect(ids((await index.search(grace, "quarterly report 2024 pdf")).hits)).toEqual([report.id]);
      // The last word, a number too, may be the start of a word: "2024" of "20240315".
      expect(ids((await index.search(grace, "img 2024")).hits)).toEqual([camera.id]);
    });

    it("uses the name indexes for a search", async () => {
      // Only a plan shape check: with sequential scans off, the query must still be answerable
      // from the GIN indexes (the planner picks them over the owner index on big tables).
      const rows = await database.prisma.$transaction([
        database.prisma.$executeRaw`SELECT set_config('enable_seqscan', 'off', true)`,
        database.prisma.$queryRawUnsafe<Array<{ "QUERY PLAN": string }>>(
          `EXPLAIN SELECT id FROM search_documents
           WHERE name_words @@ coffer_search_query('report')
              OR coffer_search_fold('report') <% name_folded
              OR name_folded LIKE '%report%'`,
        ),
      ]);
      const plan = rows[1].map((row) => row["QUERY PLAN"]).join("\n");
      expect(plan).toContain("search_documents_name_words_idx");
      expect(plan).toContain("search_documents_name_folded_trgm_idx");
    });
  });
});

describe.skipIf(!services.meiliHost)("meilisearch search", () => {
  contract(meilisearch);
});
