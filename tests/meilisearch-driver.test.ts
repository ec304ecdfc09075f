/**
 * Request-level tests of the Meilisearch driver against a recorded fake: no Meilisearch server can
 * be installed where these tests run, so a tiny node:http server records each request and answers
 * the way Meilisearch's HTTP API does (enqueued tasks for writes, task objects on GET /tasks/:uid,
 * search results for search). The behaviour against a real server is covered by the Meilisearch
 * block of search.contract.test.ts, which runs when MEILI_HOST is set.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { filterString, MeilisearchIndex } from "~/services/search/meilisearch.server";
import { MATCH_END, MATCH_START, SearchError, SearchUnavailableError, type SearchDocument } from "~/services/search/types";
import { freePort } from "./setup/free-port";

interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
  contentType: string | undefined;
  body: unknown;
}

type Reply = { status: number; body: unknown };

const API_KEY = "test-master-key";
const INDEX = "coffer-files";

class FakeMeilisearch {
  readonly requests: RecordedRequest[] = [];
  /** Task outcome by the type of task, for the next tasks created. */
  failures = new Map<string, { code: string; message: string }>();
  /** Overrides the answer to one "METHOD /path". */
  replies = new Map<string, Reply>();
  private readonly tasks = new Map<number, Record<string, unknown>>();
  private nextUid = 1;
  private server = http.createServer((req, res) => this.handle(req, res));
  url = "";

  async start() {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop() {
    await new Promise((resolve) => this.server.close(resolve));
  }

  reset() {
    this.requests.length = 0;
    this.failures.clear();
    this.replies.clear();
    this.tasks.clear();
    this.nextUid = 1;
  }

  /** Requests other than task polling, which is an implementation detail of waiting. */
  get calls() {
    return this.requests.filter((r) => !r.path.startsWith("/tasks/"));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url!, "http://fake");
      const raw = Buffer.concat(chunks).toString("utf8");
      this.requests.push({
        method: req.method!,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        authorization: req.headers.authorization,
        contentType: req.headers["content-type"],
        body: raw ? JSON.parse(raw) : undefined,
      });
      const reply = this.replies.get(`${req.method} ${url.pathname}`) ?? this.route(req.method!, url.pathname);
      res.writeHead(reply.status, { "content-type": "application/json" });
      res.end(JSON.stringify(reply.body));
    });
  }

  private route(method: string, path: string): Reply {
    const index = `/indexes/${INDEX}`;
    if (method === "GET" && path === "/health") return { status: 200, body: { status: "available" } };
    if (method === "POST" && path === "/indexes") return this.enqueue("indexCreation");
    if (method === "PATCH" && path === `${index}/settings`) return this.enqueue("settingsUpdate");
    if ((method === "POST" || method === "PUT") && path === `${index}/documents`) return this.enqueue("documentAdditionOrUpdate");
    if (method === "POST" && path === `${index}/documents/delete-batch`) return this.enqueue("documentDeletion");
    if (method === "GET" && path.startsWith("/tasks/")) {
      const task = this.tasks.get(Number(path.slice("/tasks/".length)));
      return task ? { status: 200, body: task } : { status: 404, body: apiError("task_not_found", "Task not found.") };
    }
    if (method === "POST" && path === `${index}/search`) {
      return {
        status: 200,
        body: {
          hits: [
            {
              id: "f1",
              ownerId: "owner-1",
              kind: "file",
              name: "Quarterly-Report_2024.pdf",
              folderId: "folder-1",
              mimeType: "application/pdf",
              size: 1234,
              updatedAt: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
              _rankingScore: 0.87,
            },
          ],
          query: "report",
          processingTimeMs: 1,
          limit: 20,
          offset: 0,
          estimatedTotalHits: 41,
        },
      };
    }
    return { status: 404, body: apiError("not_found", `No route for ${method} ${path}`) };
  }

  private enqueue(type: string): Reply {
    const uid = this.nextUid++;
    const failure = this.failures.get(type);
    const enqueuedAt = new Date().toISOString();
    this.tasks.set(uid, {
      uid,
      batchUid: uid,
      indexUid: INDEX,
      status: failure ? "failed" : "succeeded",
      type,
      canceledBy: null,
      details: {},
      error: failure ? { ...apiError(failure.code, failure.message) } : null,
      duration: "PT0.001S",
      enqueuedAt,
      startedAt: enqueuedAt,
      finishedAt: enqueuedAt,
    });
    return { status: 202, body: { taskUid: uid, indexUid: INDEX, status: "enqueued", type, enqueuedAt } };
  }
}

function apiError(code: string, message: string) {
  return { message, code, type: "invalid_request", link: `https://docs.meilisearch.com/errors#${code}` };
}

const fake = new FakeMeilisearch();
const driver = () => new MeilisearchIndex({ host: fake.url, apiKey: API_KEY, index: INDEX, taskTimeoutMs: 2_000 });

beforeAll(() => fake.start());
afterAll(() => fake.stop());
afterEach(() => fake.reset());

const document: SearchDocument = {
  id: "f1",
  ownerId: "owner-1",
  kind: "file",
  name: "Quarterly-Report_2024.pdf",
  folderId: "folder-1",
  mimeType: "application/pdf",
  size: 1234,
  updatedAt: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)),
};

describe("Meilisearch driver requests", () => {
  it("init creates the index with primary key id and configures its attributes, waiting for both tasks", async () => {
    await driver().init();
    expect(fake.calls.map(({ method, path, body }) => ({ method, path, body }))).toEqual([
      { method: "POST", path: "/indexes", body: { uid: INDEX, primaryKey: "id" } },
      {
        method: "PATCH",
        path: `/indexes/${INDEX}/settings`,
        body: {
          searchableAttributes: ["name", "content"],
          filterableAttributes: ["ownerId", "kind", "folderId", "id", "mimeType", "mimeFamily", "size", "updatedAt"],
          sortableAttributes: ["name", "size", "updatedAt"],
          rankingRules: ["sort", "words", "typo", "proximity", "attribute", "exactness"],
        },
      },
    ]);
    // Each write is awaited (GET /tasks/:uid) before the next request goes out.
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /indexes",
      "GET /tasks/1",
      `PATCH /indexes/${INDEX}/settings`,
      "GET /tasks/2",
    ]);
    for (const request of fake.requests) expect(request.authorization).toBe(`Bearer ${API_KEY}`);
    for (const request of fake.calls) expect(request.contentType).toMatch(/^application\/json/);
  });

  it("init accepts an index that already exists but not other failures", async () => {
    fake.failures.set("indexCreation", { code: "index_already_exists", message: `Index \`${INDEX}\` already exists.` });
    await expect(driver().init()).resolves.toBeUndefined();
    expect(fake.calls.map((r) => r.path)).toContain(`/indexes/${INDEX}/settings`);

    fake.reset();
    fake.failures.set("settingsUpdate", { code: "invalid_settings_filterable_attributes", message: "bad settings" });
    const error = await driver()
      .init()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SearchError);
    expect((error as Error).message).toContain("bad settings");
  });

  it("upsert adds or updates documents (partially: content kept) with dates as epoch ms and waits for the task", async () => {
    await driver().upsert([document, { ...document, id: "f2", folderId: null, mimeType: null, size: null }]);
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`PUT /indexes/${INDEX}/documents`, "GET /tasks/1"]);
    const [add] = fake.requests;
    expect(add.query).toEqual({ primaryKey: "id" });
    expect(add.body).toEqual([
      { ...document, updatedAt: Date.UTC(2026, 0, 2, 3, 4, 5, 6), mimeFamily: "application/" },
      {
        ...document,
        id: "f2",
        folderId: null,
        mimeType: null,
        mimeFamily: null,
        size: null,
        updatedAt: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
      },
    ]);
  });

  it("upsert sends content when given (null clears it), and documents with content in batches of 20", async () => {
    await driver().upsert([
      { ...document, content: "the words inside" },
      { ...document, id: "f2", content: null },
    ]);
    expect(fake.calls[0].body).toEqual([
      { ...document, updatedAt: Date.UTC(2026, 0, 2, 3, 4, 5, 6), mimeFamily: "application/", content: "the words inside" },
      { ...document, id: "f2", updatedAt: Date.UTC(2026, 0, 2, 3, 4, 5, 6), mimeFamily: "application/", content: null },
    ]);
    fake.reset();
    await driver().upsert(Array.from({ length: 45 }, (_, i) => ({ ...document, id: `f${i}`, content: "text" })));
    expect(fake.calls.map((r) => (r.body as unknown[]).length)).toEqual([20, 20, 5]);
  });

  it("upsert sends large sets in batches of 1000", async () => {
    const many = Array.from({ length: 2_500 }, (_, i) => ({ ...document, id: `f${i}` }));
    await driver().upsert(many);
    expect(fake.calls.map((r) => (r.body as unknown[]).length)).toEqual([1_000, 1_000, 500]);
  });

  it("upsert and remove with nothing to do send nothing", async () => {
    await driver().upsert([]);
    await driver().remove([]);
    expect(fake.requests).toEqual([]);
  });

  it("upsert fails with a SearchError when Meilisearch fails the task", async () => {
    fake.failures.set("documentAdditionOrUpdate", { code: "invalid_document_id", message: "Document identifier `a b` is invalid." });
    const error = await driver()
      .upsert([{ ...document, id: "a b" }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SearchError);
    expect((error as Error).message).toContain("Document identifier `a b` is invalid.");
    expect((error as Error).message).toContain("failed");
  });

  it("remove deletes by ids and waits for the task", async () => {
    await driver().remove(["f1", "f2"]);
    expect(fake.requests.map(({ method, path, body }) => ({ method, path, body }))).toEqual([
      { method: "POST", path: `/indexes/${INDEX}/documents/delete-batch`, body: ["f1", "f2"] },
      { method: "GET", path: "/tasks/1", body: undefined },
    ]);
  });

  it("search filters by owner, pages, asks for scores and maps the hits", async () => {
    const result = await driver().search("owner-1", "report", { limit: 5, offset: 10 });
    expect(fake.requests).toHaveLength(1);
    const [search] = fake.requests;
    expect(search).toMatchObject({ method: "POST", path: `/indexes/${INDEX}/search`, authorization: `Bearer ${API_KEY}` });
    // Hits up to the page's end are fetched, so name matches can be put first across pages.
    expect(search.body).toEqual({
      q: "report",
      filter: 'ownerId = "owner-1"',
      limit: 15,
      offset: 0,
      showRankingScore: true,
      showMatchesPosition: true,
      attributesToRetrieve: ["id", "ownerId", "kind", "name", "folderId", "mimeType", "size", "updatedAt"],
      attributesToCrop: ["content"],
      cropLength: 24,
      attributesToHighlight: ["content"],
      highlightPreTag: MATCH_START,
      highlightPostTag: MATCH_END,
    });
    expect(result).toEqual({ hits: [], total: 41 });
    fake.reset();
    const first = await driver().search("owner-1", "report");
    expect(first).toEqual({ hits: [{ ...document, score: 0.87, matchedBy: "content", snippet: null }], total: 41 });
    expect(first.hits[0].updatedAt).toBeInstanceOf(Date);
  });

  it("search narrows by kind, media type or family, size and date, after the owner and scope", async () => {
    await driver().search("owner-1", "report", {
      within: { folderIds: ["d1"], ids: [] },
      filters: {
        kind: "file",
        mimeType: "Image/",
        minSize: 10,
        maxSize: 99,
        updatedFrom: new Date(Date.UTC(2026, 0, 1)),
        updatedBefore: new Date(Date.UTC(2026, 1, 1)),
      },
    });
    await driver().search("owner-1", "report", { filters: { mimeType: "application/pdf" } });
    expect(fake.requests.map((r) => (r.body as { filter: string }).filter)).toEqual([
      `ownerId = "owner-1" AND (folderId IN ["d1"]) AND kind = "file" AND mimeFamily = "image/" AND size >= 10 AND size <= 99 AND updatedAt >= ${Date.UTC(2026, 0, 1)} AND updatedAt < ${Date.UTC(2026, 1, 1)}`,
      'ownerId = "owner-1" AND mimeType = "application/pdf"',
    ]);
  });

  it("search narrows by file type: a type's families and exact types, or none of them for other", async () => {
    await driver().search("owner-1", "report", { filters: { fileType: "image" } });
    await driver().search("owner-1", "report", { filters: { fileType: "archive" } });
    await driver().search("owner-1", "report", { filters: { fileType: "text" } });
    await driver().search("owner-1", "report", { filters: { fileType: "other" } });
    const filters = fake.requests.map((r) => (r.body as { filter: string }).filter);
    expect(filters[0]).toBe('ownerId = "owner-1" AND kind = "file" AND (mimeFamily IN ["image/"])');
    expect(filters[1]).toMatch(/^ownerId = "owner-1" AND kind = "file" AND \(mimeType IN \["application\/zip", .*"application\/zstd"\]\)$/);
    expect(filters[1]).not.toContain("mimeFamily");
    expect(filters[2]).toMatch(
      /^ownerId = "owner-1" AND kind = "file" AND \(mimeFamily IN \["text\/"\] OR mimeType IN \["application\/json", /,
    );
    expect(filters[3]).toMatch(
      /^ownerId = "owner-1" AND kind = "file" AND NOT \(mimeFamily IN \["image\/", "video\/", "audio\/", "text\/"\] OR mimeType IN \["application\/pdf", /,
    );
  });

  it("search sorted by name, date or size asks Meilisearch for that order and pages there", async () => {
    await driver().search("owner-1", "report", { sort: { by: "name", direction: "asc" }, limit: 5, offset: 10 });
    await driver().search("owner-1", "report", { sort: { by: "modified", direction: "desc" } });
    await driver().search("owner-1", "report", { sort: { by: "size", direction: "asc" } });
    await driver().search("owner-1", "report", { sort: { by: "relevance", direction: "desc" }, limit: 5, offset: 10 });
    const bodies = fake.requests.map((r) => r.body as { sort?: string[]; limit: number; offset: number });
    expect(bodies[0]).toMatchObject({ sort: ["name:asc"], limit: 5, offset: 10 });
    expect(bodies[1]).toMatchObject({ sort: ["updatedAt:desc"], limit: 20, offset: 0 });
    expect(bodies[2]).toMatchObject({ sort: ["size:asc"] });
    // Relevance is Meilisearch's own order, reordered here: no sort, hits up to the page's end.
    expect(bodies[3]).toMatchObject({ limit: 15, offset: 0 });
    expect(bodies[3].sort).toBeUndefined();
  });

  it("search sorted keeps Meilisearch's order of the hits, content matches among name matches", async () => {
    const base = { ...document, updatedAt: document.updatedAt.getTime() };
    fake.replies.set(`POST /indexes/${INDEX}/search`, {
      status: 200,
      body: {
        hits: [
          { ...base, id: "a-content", name: "a.txt", _rankingScore: 0.5, _matchesPosition: { content: [{ start: 0, length: 3 }] } },
          { ...base, id: "b-name", name: "b report.txt", _rankingScore: 0.9, _matchesPosition: { name: [{ start: 2, length: 6 }] } },
        ],
        query: "report",
        processingTimeMs: 1,
        limit: 20,
        offset: 0,
        estimatedTotalHits: 2,
      },
    });
    const sorted = await driver().search("owner-1", "report", { sort: { by: "name", direction: "asc" } });
    expect(sorted.hits.map((hit) => [hit.id, hit.matchedBy])).toEqual([
      ["a-content", "content"],
      ["b-name", "name"],
    ]);
    const ranked = await driver().search("owner-1", "report");
    expect(ranked.hits.map((hit) => hit.id)).toEqual(["b-name", "a-content"]);
  });

  it("search uses limit 20 and offset 0 by default and clamps nonsense paging", async () => {
    await driver().search("owner-1", "report");
    await driver().search("owner-1", "report", { limit: -5, offset: -1 });
    await driver().search("owner-1", "report", { limit: 1e9, offset: 2.7 });
    expect(fake.requests.map((r) => r.body)).toMatchObject([
      { limit: 20, offset: 0 },
      { limit: 0, offset: 0 },
      { limit: 1002, offset: 0 },
    ]);
  });

  it("search puts name matches before content-only matches and turns the cropped content into a snippet", async () => {
    const base = { ...document, updatedAt: document.updatedAt.getTime() };
    fake.replies.set(`POST /indexes/${INDEX}/search`, {
      status: 200,
      body: {
        hits: [
          {
            ...base,
            id: "inside",
            name: "minutes.txt",
            _rankingScore: 0.9,
            _matchesPosition: { content: [{ start: 10, length: 6 }] },
            _formatted: { ...base, id: "inside", content: `…the ${MATCH_START}report${MATCH_END} says <b>hi</b>…` },
          },
          {
            ...base,
            id: "named",
            _rankingScore: 0.8,
            _matchesPosition: { name: [{ start: 10, length: 6 }] },
            _formatted: { ...base, id: "named" },
          },
        ],
        query: "report",
        processingTimeMs: 1,
        limit: 20,
        offset: 0,
        estimatedTotalHits: 2,
      },
    });
    const result = await driver().search("owner-1", "report");
    expect(result.hits.map((hit) => [hit.id, hit.matchedBy])).toEqual([
      ["named", "name"],
      ["inside", "content"],
    ]);
    expect(result.hits[0].snippet).toBeNull();
    expect(result.hits[1].snippet).toEqual([
      { text: "…the ", match: false },
      { text: "report", match: true },
      { text: " says <b>hi</b>…", match: false },
    ]);
    expect(result.hits[1]).not.toHaveProperty("content");
    // The second page starts after the first page's hits, in the same order.
    const second = await driver().search("owner-1", "report", { limit: 1, offset: 1 });
    expect(second.hits.map((hit) => hit.id)).toEqual(["inside"]);
  });

  it("search escapes quotes and backslashes in the owner filter", async () => {
    await driver().search('o"w\\ner', "report");
    const body = fake.requests[0].body as { filter: string };
    // On the wire (JSON-decoded here): ownerId = "o\"w\\ner"
    expect(body.filter).toBe('ownerId = "o\\"w\\\\ner"');
  });

  it("search narrowed to what was shared filters by folder and id lists, escaped, and skips an empty scope", async () => {
    await driver().search("owner-1", "report", { within: { folderIds: ["f1", 'f"2'], ids: ["file-9"] } });
    await driver().search("owner-1", "report", { within: { folderIds: [], ids: ["file-9"] } });
    await driver().search("owner-1", "report", { within: { folderIds: ["f1"], ids: [] } });
    const empty = await driver().search("owner-1", "report", { within: { folderIds: [], ids: [] } });
    expect(empty).toEqual({ hits: [], total: 0 });
    expect(fake.requests.map((r) => (r.body as { filter: string }).filter)).toEqual([
      'ownerId = "owner-1" AND (folderId IN ["f1", "f\\"2"] OR id IN ["file-9"])',
      'ownerId = "owner-1" AND (id IN ["file-9"])',
      'ownerId = "owner-1" AND (folderId IN ["f1"])',
    ]);
  });

  it("search passes the query through untouched, and does not send an empty query", async () => {
    const odd = `"'%_:&!()\\ Résumé 日本`;
    await driver().search("owner-1", odd);
    expect((fake.requests[0].body as { q: string }).q).toBe(odd);
    fake.reset();
    expect(await driver().search("owner-1", "  ")).toEqual({ hits: [], total: 0 });
    expect(fake.requests).toEqual([]);
  });

  it("search reports an API error as SearchError", async () => {
    fake.replies.set(`POST /indexes/${INDEX}/search`, {
      status: 400,
      body: apiError("invalid_search_filter", "Attribute `ownerId` is not filterable."),
    });
    const error = await driver()
      .search("owner-1", "report")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SearchError);
    expect(error).not.toBeInstanceOf(SearchUnavailableError);
    expect((error as Error).message).toContain("is not filterable");
  });

  it("health calls GET /health", async () => {
    await driver().health();
    expect(fake.requests.map(({ method, path, authorization }) => ({ method, path, authorization }))).toEqual([
      { method: "GET", path: "/health", authorization: `Bearer ${API_KEY}` },
    ]);
  });

  it("serverVersion asks GET /version for the package version", async () => {
    fake.replies.set("GET /version", { status: 200, body: { commitSha: "abc", commitDate: "2026-01-01", pkgVersion: "1.19.0" } });
    expect(await driver().serverVersion()).toBe("1.19.0");
    expect(fake.requests.map(({ method, path }) => ({ method, path }))).toEqual([{ method: "GET", path: "/version" }]);
  });

  it("health rejects with SearchUnavailableError when nothing listens, without leaking the key", async () => {
    const port = await freePort();
    const unreachable = new MeilisearchIndex({ host: `http://127.0.0.1:${port}`, apiKey: API_KEY, index: INDEX, requestTimeoutMs: 1_000 });
    const error = await unreachable.health().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SearchUnavailableError);
    expect((error as Error).message).not.toContain(API_KEY);
  });

  it("sends no Authorization header without an API key", async () => {
    await new MeilisearchIndex({ host: fake.url, index: INDEX }).health();
    expect(fake.requests[0].authorization).toBeUndefined();
  });
});

describe("filterString", () => {
  it.each([
    ["plain", '"plain"'],
    ['say "hi"', '"say \\"hi\\""'],
    ["back\\slash", '"back\\\\slash"'],
    ['\\"', '"\\\\\\""'],
    ["", '""'],
  ])("quotes %j as %s", (value, expected) => {
    expect(filterString(value)).toBe(expected);
  });
});
