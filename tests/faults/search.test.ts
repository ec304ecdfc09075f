import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFolder, getRootFolder } from "~/domain/files/folders.server";
import { contentIndexingSettled } from "~/domain/search/content-index.server";
import { queueSearchRebuild, resyncSearchIndex } from "~/domain/search/search-resync.server";
import { isDependencyUnavailable } from "~/services/dependency.server";
import { createSearchIndex } from "~/services/search/index.server";
import { queueForResync } from "~/services/search/resilient.server";
import type { SearchIndex } from "~/services/search/types";
import { startTestApp, type TestApp } from "../support/app";
import { putFile, registerPerson, type Person } from "../support/people";

/**
 * Meilisearch is down while everything else works. There is no Meilisearch binary here (see
 * shared/notes), so the outage is the real one a client meets when the server is gone: the
 * Meilisearch driver talks to a port where nothing listens and every connection is refused. The
 * app runs on PostgreSQL search; the down Meilisearch index is swapped into its services, so
 * the HTTP host, the domain and the resync job all meet it as they would in production.
 */

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function outbox(app: TestApp): Promise<string[]> {
  return (await app.services.prisma.searchOutbox.findMany({ orderBy: { documentId: "asc" } })).map((row) => row.documentId);
}

describe("search server outage", () => {
  let app: TestApp;
  let owner: Person;
  let postgresSearch: SearchIndex;
  let downSearch: SearchIndex;

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    owner = await registerPerson(app, "Olive", "olive@example.com");
    postgresSearch = app.services.search;
    const port = await closedPort();
    downSearch = await createSearchIndex(
      { driver: "meilisearch", host: `http://127.0.0.1:${port}`, index: "coffer-files" },
      app.services.prisma,
    );
  }, 60_000);

  afterAll(async () => {
    app.services.search = postgresSearch;
    await app?.close();
  });

  it("answers searches with 503 fast, and failed index writes are queued instead of failing", async () => {
    app.services.search = downSearch;
    try {
      for (let i = 0; i < 3; i++) await expect(downSearch.search(owner.id, "report")).rejects.toSatisfy(isDependencyUnavailable);
      const started = performance.now();
      await expect(downSearch.search(owner.id, "report")).rejects.toSatisfy(isDependencyUnavailable);
      expect(performance.now() - started).toBeLessThan(100);

      const page = await owner.client.get("/search?q=report", { accept: "text/html" });
      expect(page.status).toBe(503);
      expect(page.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(await page.text()).toContain("Search is unavailable right now");

      const doc = {
        id: "doc-a",
        ownerId: owner.id,
        kind: "file" as const,
        name: "a.txt",
        folderId: null,
        mimeType: "text/plain",
        size: 1,
        updatedAt: new Date(),
      };
      await downSearch.upsert([doc]);
      await downSearch.remove(["doc-b"]);
      // Extracted text is not in the database: its write fails, so the content job tries again later.
      await expect(downSearch.upsert([{ ...doc, id: "doc-c", content: "text" }])).rejects.toSatisfy(isDependencyUnavailable);
      expect(await outbox(app)).toEqual(["doc-a", "doc-b", "doc-c"]);
    } finally {
      app.services.search = postgresSearch;
      await app.services.prisma.searchOutbox.deleteMany();
    }
  });

  it("saves a rename, an upload and a trash while the search server is down, then resyncs the index", async () => {
    const root = await getRootFolder(app.services, owner.id);
    const kept = await putFile(app.services, owner.id, root.id, "quarterly-plan.txt", Buffer.from("plan"));
    const binned = await putFile(app.services, owner.id, root.id, "old-draft.txt", Buffer.from("draft"));
    expect((await postgresSearch.search(owner.id, "draft")).hits.map((h) => h.id)).toEqual([binned.id]);

    app.services.search = downSearch;
    try {
      const renamed = await owner.client.postForm(`/details/file/${kept.id}`, { intent: "rename", name: "annual-budget.txt" });
      expect(renamed.status).toBeLessThan(400);
      const trashed = await owner.client.postForm(`/details/file/${binned.id}`, { intent: "trash" });
      expect(trashed.status).toBeLessThan(400);
      expect((await app.services.prisma.file.findUniqueOrThrow({ where: { id: kept.id } })).name).toBe("annual-budget.txt");
      expect((await app.services.prisma.file.findUniqueOrThrow({ where: { id: binned.id } })).trashedAt).not.toBeNull();
      expect(await outbox(app)).toEqual([kept.id, binned.id].sort());
      // Still down: the resync leaves everything queued.
      expect(await resyncSearchIndex(app.services)).toEqual({ upserted: 0, removed: 0, pending: 2 });
    } finally {
      app.services.search = postgresSearch;
    }

    // The index missed both changes until the resync.
    expect((await postgresSearch.search(owner.id, "draft")).hits.map((h) => h.id)).toEqual([binned.id]);
    expect(await resyncSearchIndex(app.services)).toEqual({ upserted: 1, removed: 1, pending: 0 });
    expect((await postgresSearch.search(owner.id, "budget")).hits.map((h) => h.id)).toEqual([kept.id]);
    expect((await postgresSearch.search(owner.id, "quarterly")).hits).toEqual([]);
    expect((await postgresSearch.search(owner.id, "draft")).hits).toEqual([]);
    expect(await outbox(app)).toEqual([]);
  });

  it("keeps an id queued again during the drain for the next run", async () => {
    // A folder: no background job (thumbnail, content index) writes to the index meanwhile.
    const file = await createFolder(app.services, { id: owner.id, role: "USER" }, null, "Notes");
    await queueForResync(app.services.prisma, [file.id]);
    // Another write fails for the same file while the drain is writing it.
    const racing: SearchIndex = Object.create(postgresSearch);
    racing.upsert = async (documents) => {
      await postgresSearch.upsert(documents);
      await new Promise((resolve) => setTimeout(resolve, 5));
      await queueForResync(app.services.prisma, [file.id]);
    };
    app.services.search = racing;
    try {
      const result = await resyncSearchIndex(app.services);
      expect(result.pending).toBe(1);
      expect(await outbox(app)).toEqual([file.id]);
    } finally {
      app.services.search = postgresSearch;
    }
    expect(await resyncSearchIndex(app.services)).toMatchObject({ upserted: 1, pending: 0 });
  });

  it("rebuilds an empty index from the database after a restore", async () => {
    const root = await getRootFolder(app.services, owner.id);
    const file = await putFile(app.services, owner.id, root.id, "restored-ledger.txt", Buffer.from("ledger"));
    await createFolder(app.services, { id: owner.id, role: "USER" }, null, "Restored Album");
    // The upload's content indexing writes the index too: let it finish before the index is emptied.
    await contentIndexingSettled();
    // What a fresh Meilisearch after a restore holds: nothing.
    await app.services.prisma.searchDocument.deleteMany();
    expect((await postgresSearch.search(owner.id, "restored")).hits).toEqual([]);

    const queued = await queueSearchRebuild(app.env.DATABASE_URL!);
    expect(queued).toBe(
      (await app.services.prisma.file.count({ where: { trashedAt: null } })) +
        (await app.services.prisma.folder.count({ where: { trashedAt: null, parentId: { not: null } } })),
    );
    expect((await app.services.prisma.file.findUniqueOrThrow({ where: { id: file.id } })).contentIndexedKey).toBeNull();
    expect((await resyncSearchIndex(app.services)).pending).toBe(0);
    expect((await postgresSearch.search(owner.id, "restored")).hits.map((h) => h.name).sort()).toEqual([
      "Restored Album",
      "restored-ledger.txt",
    ]);
  });
});
