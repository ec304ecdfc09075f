// `coffer search-reindex` against a running app's database and search index: batches, progress,
// resuming where an interrupted run stopped, and (with MEILI_HOST) the Meilisearch documents
// written before mimeFamily was stored.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { reindexSearch } from "~/domain/search/search-reindex.server";
import { upload } from "./api-contract/env";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

const ROOT = path.resolve(import.meta.dirname, "..");

/** `coffer <args>` as an operator runs it, with the app's configuration. */
function runCli(app: TestApp, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, "bin/coffer.mjs"), ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, ...app.env } as unknown as NodeJS.ProcessEnv, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

/** Three files (one in the trash) and two folders of one account. */
async function fillAccount(app: TestApp, email: string) {
  const client = new TestClient(app.url);
  await client.register("Ria Reindex", email);
  const json = (body: unknown) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const root = ((await (await client.request("/api/v1/folders/root")).json()) as { id: string }).id;
  for (const name of ["Reports", "Photos"])
    expect((await client.request("/api/v1/folders", json({ parentId: root, name }))).status).toBe(201);
  for (const name of ["alpha.txt", "beta.txt", "gamma.txt"]) await upload(app, client, name, Buffer.from(`text of ${name}`));
  const trashed = await upload(app, client, "trashed.txt", Buffer.from("gone"));
  expect((await client.request(`/api/v1/files/${trashed}/trash`, { method: "POST" })).status).toBe(204);
  return { client };
}

describe("coffer search-reindex on the PostgreSQL search driver", () => {
  let app: TestApp;
  const indexed = async (kind: "file" | "folder") =>
    (
      await app.services.prisma.$queryRaw<Array<{ name: string }>>`SELECT name FROM search_documents WHERE kind = ${kind} ORDER BY name`
    ).map((row) => row.name);

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" }, { SEARCH_CONTENT: "false" });
    await fillAccount(app, "ria-pg@example.com");
  });
  afterAll(() => app?.close());

  it("rewrites every live file and folder in batches, with progress, leaving the trash out", async () => {
    await app.services.prisma.$executeRaw`DELETE FROM search_documents`;
    const { code, stdout, stderr } = await runCli(app, ["search-reindex", "--batch-size", "2"]);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("Reindexed 3 file(s) and 2 folder(s) in the postgres search index.");
    expect(stderr).toContain("files: 2 of 3 (66 %)");
    expect(stderr).toContain("files: 3 of 3 (100 %)");
    expect(stderr).toContain("folders: 2 of 2 (100 %)");
    expect(await indexed("file")).toEqual(["alpha.txt", "beta.txt", "gamma.txt"]);
    expect(await indexed("folder")).toEqual(["Photos", "Reports"]);
    expect(await app.services.prisma.searchReindexCheckpoint.count()).toBe(0);
  });

  it("goes on where an interrupted run stopped, and starts over with --restart", async () => {
    const controller = new AbortController();
    const stopped = await reindexSearch(app.services, {
      batchSize: 1,
      restart: true,
      signal: controller.signal,
      onProgress: ({ done }) => {
        if (done === 1) controller.abort();
      },
    });
    expect(stopped).toMatchObject({ files: 1, folders: 0, stopped: true });
    const checkpoint = await app.services.prisma.searchReindexCheckpoint.findUniqueOrThrow({ where: { name: "postgres" } });
    expect(checkpoint).toMatchObject({ phase: "files", files: 1 });

    // What the first run wrote is lost here on purpose: a resumed run must not write it again.
    await app.services.prisma.$executeRaw`DELETE FROM search_documents`;
    const resumed = await runCli(app, ["search-reindex", "--json"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toEqual({ driver: "postgres", files: 3, folders: 2, resumed: true, stopped: false });
    expect(await indexed("file")).toEqual(["beta.txt", "gamma.txt"]);
    expect(await indexed("folder")).toEqual(["Photos", "Reports"]);

    const again = await runCli(app, ["search-reindex", "--restart"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toContain("(resumed)");
    expect(await indexed("file")).toEqual(["alpha.txt", "beta.txt", "gamma.txt"]);
  });

  it("refuses a bad batch size or an unknown flag with a usage error, changing nothing", async () => {
    for (const args of [["--batch-size", "0"], ["--everything"]]) {
      const { code, stderr } = await runCli(app, ["search-reindex", ...args]);
      expect(code, args.join(" ")).toBe(2);
      expect(stderr).toContain("Usage: coffer search-reindex");
    }
    expect(await app.services.prisma.searchReindexCheckpoint.count()).toBe(0);
  });
});

const meiliHost = inject("services").meiliHost;
if (!meiliHost) console.log("search-reindex on Meilisearch did not run: MEILI_HOST is not set");

describe.runIf(meiliHost)("coffer search-reindex on the Meilisearch driver", () => {
  let app: TestApp;
  const index = `coffer-reindex-${randomUUID()}`;

  beforeAll(async () => {
    app = await startTestApp(
      { storage: "local", cache: "memory" },
      {
        SEARCH_CONTENT: "false",
        MEILI_HOST: meiliHost!,
        MEILI_INDEX: index,
        ...(inject("services").meiliApiKey ? { MEILI_API_KEY: inject("services").meiliApiKey! } : {}),
      },
    );
    await fillAccount(app, "ria-meili@example.com");
  });
  afterAll(async () => {
    await app?.close();
    const { Meilisearch } = await import("meilisearch");
    await new Meilisearch({ host: meiliHost!, apiKey: inject("services").meiliApiKey ?? undefined }).deleteIndex(index).waitTask();
  });

  it("gives documents written without mimeFamily the field the family filter needs", async () => {
    const { Meilisearch } = await import("meilisearch");
    const client = new Meilisearch({ host: meiliHost!, apiKey: inject("services").meiliApiKey ?? undefined });
    const owner = await app.services.prisma.user.findUniqueOrThrow({ where: { email: "ria-meili@example.com" } });
    // As a release before mimeFamily wrote them.
    const { results } = await client.index(index).getDocuments({ limit: 100 });
    await client
      .index(index)
      .updateDocuments(results.map((document) => ({ ...document, mimeFamily: null })))
      .waitTask();
    const family = () => app.services.search.search(owner.id, "alpha", { filters: { mimeType: "text/" } });
    expect((await family()).hits).toHaveLength(0);
    const { code, stderr } = await runCli(app, ["search-reindex"]);
    expect(code, stderr).toBe(0);
    expect((await family()).hits.map((hit) => hit.name)).toEqual(["alpha.txt"]);
  });
});
