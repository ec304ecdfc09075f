/**
 * `npm run bench:search` — search latency on a big account, whole HTTP requests.
 *
 * Starts a temporary embedded PostgreSQL and Coffer from the production build in its own process
 * (bench/lib/server.ts; it runs the migrations), registers one user over HTTP and seeds their
 * account straight through SQL (generate_series): BENCH_FILES files (100,000) spread over
 * folders of 1,000, with names made of words, numbers and extensions, their search documents,
 * and extracted text for every tenth file. Then, for each query kind (an exact name, a prefix
 * matching many, a miss, a misspelling, a word found only inside files) it times, alternating,
 * 30 runs after 3 warm-ups each:
 *   - the SQL the PostgreSQL driver runs, called from this process (PostgresSearchIndex.search,
 *     50 results as the page asks): the floor, so the page's own overhead is visible;
 *   - GET /search?q= (the HTML page) and GET /search.data?q= (what JavaScript navigation asks);
 *   - the driver's SQL as it was before issue 14 (bench/lib/search-before.ts), so before and
 *     after compare within one run on a busy machine (BENCH_BEFORE_ROW=0 leaves it out).
 * With MEILI_HOST set, the same documents also go into a fresh Meilisearch index and its driver
 * is timed the same way. Prints p50/p95 and the load average; asserts nothing.
 *
 * Knobs: BENCH_FILES (100000; 1000000 works), BENCH_RUNS (30), BENCH_HOLD=1 stops after seeding
 * and prints the database URL (for EXPLAIN ANALYZE in psql) until Ctrl-C.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { startEmbeddedPostgres } from "../app/services/embedded-postgres.server";
import { createPrismaClient } from "../app/services/db.server";
import { PostgresSearchIndex } from "../app/services/search/postgres.server";
import type { SearchIndex, SearchOptions } from "../app/services/search/types";
import type { PrismaClient } from "../app/generated/prisma/client";
import { freePort } from "../tests/setup/free-port";
import { registerBenchUser } from "./lib/account";
import { startAppProcess } from "./lib/app-process";
import { cleanUpOnSignals, onCleanup, runBenchmark } from "./lib/cleanup";
import { searchBefore } from "./lib/search-before";

const REPO = path.resolve(import.meta.dirname, "..");
const FILES = Number(process.env.BENCH_FILES ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const WARMUP = 3;
/** The driver's SQL as before issue 14 (bench/lib/search-before.ts) as a row of its own; "0" leaves it out. */
const BEFORE_ROW = process.env.BENCH_BEFORE_ROW !== "0";
const FILES_PER_FOLDER = 1000;
/** Every CONTENT_EVERY-th file has extracted text. */
const CONTENT_EVERY = 10;
/** What the search page asks the driver for (app/domain/search/search.server.ts RESULT_LIMIT). */
const PAGE_LIMIT = 50;

// Name parts. Indexes into these come from multiplicative hashes of the file number, so the
// seed is the same on every run.
const TOPICS = [
  "Quarterly",
  "Annual",
  "Holiday",
  "Project",
  "Budget",
  "Meeting",
  "Invoice",
  "Contract",
  "Family",
  "Garden",
  "Kitchen",
  "Summer",
  "Winter",
  "Design",
  "Research",
  "Travel",
  "Wedding",
  "Birthday",
  "Tax",
  "Insurance",
];
const THINGS = [
  "Report",
  "Notes",
  "Photos",
  "Plan",
  "Draft",
  "Summary",
  "Receipt",
  "Scan",
  "Slides",
  "Minutes",
  "Agreement",
  "Letter",
  "Sketch",
  "Recording",
  "Backup",
  "Export",
  "Statement",
  "Checklist",
  "Proposal",
  "Review",
];
const EXTENSIONS = ["pdf", "docx", "xlsx", "jpg", "png", "txt", "md", "csv", "mp4", "zip", "pptx", "heic"];
const CONTENT_WORDS = [
  "the",
  "board",
  "approved",
  "budget",
  "for",
  "next",
  "quarter",
  "meeting",
  "minutes",
  "project",
  "timeline",
  "delivery",
  "customer",
  "invoice",
  "payment",
  "terms",
  "garden",
  "summer",
  "holiday",
  "travel",
  "schedule",
  "review",
  "design",
  "draft",
  "final",
  "version",
  "contract",
  "signed",
  "agreement",
  "insurance",
  "policy",
  "claim",
];
/** Only inside files, in one file of 100 that have text: the content-word query. */
const CONTENT_ONLY_WORD = "zanzibar";

interface QueryCase {
  kind: string;
  query: string;
  /** The search page's filters and sort as URL parameters, and as the driver's options. */
  params?: Record<string, string>;
  options?: SearchOptions;
}

async function main() {
  cleanUpOnSignals();
  if (!fs.existsSync(path.join(REPO, "build/server/index.js"))) throw new Error("No production build: run `npm run build` first.");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-bench-search-"));
  fs.chmodSync(work, 0o755);
  onCleanup("remove temp dir", () => fs.rmSync(work, { recursive: true, force: true }));
  console.log(`Coffer search latency: ${FILES.toLocaleString("en-GB")} files, load average ${loadAverage()}`);

  const pg = await startEmbeddedPostgres({ dataDir: path.join(work, "pg", "data"), port: await freePort(), database: "coffer_bench" });
  onCleanup("stop embedded Postgres", () => pg.stop(), 30_000);
  const dataDir = path.join(work, "data");
  fs.mkdirSync(dataDir, { recursive: true });
  const app = await startAppProcess({
    LOG_LEVEL: "warn",
    DATA_DIR: dataDir,
    DATABASE_URL: pg.url,
    SESSION_SECRET: "bench-secret-that-is-at-least-32-characters-long",
    RATE_LIMIT_API: "1000000/1m",
    RATE_LIMIT_GENERAL: "1000000/1m",
  });
  onCleanup(`stop server (pid ${app.pid})`, () => app.stop(), 20_000);
  const { cookie } = await registerBenchUser(app.url, "search");

  const prisma = createPrismaClient(pg.url);
  onCleanup("disconnect Prisma", () => prisma.$disconnect());
  const [user] = await prisma.$queryRaw<Array<{ id: string }>>`SELECT id FROM users ORDER BY created_at DESC LIMIT 1`;
  const ownerId = user!.id;
  const seeded = performance.now();
  await seed(prisma, ownerId);
  console.log(`Seeded in ${((performance.now() - seeded) / 1000).toFixed(1)} s; load average ${loadAverage()}`);

  const cases = await queryCases(prisma, ownerId);
  const sqlIndex = new PostgresSearchIndex(prisma);
  const meili = await meilisearchIndex(prisma, ownerId);
  if (process.env.BENCH_HOLD === "1") await hold(pg.url, cases);

  const search = (c: QueryCase) => new URLSearchParams({ q: c.query, ...c.params }).toString();
  const contenders: Array<{ label: string; run: (c: QueryCase) => Promise<number> }> = [
    { label: "driver SQL (from the bench)", run: (c) => driverSearch(sqlIndex, ownerId, c) },
    ...(BEFORE_ROW
      ? [{ label: "driver SQL before issue 14", run: (c: QueryCase) => timed(() => searchBefore(prisma, ownerId, c.query, PAGE_LIMIT)) }]
      : []),
    { label: "GET /search", run: (c) => get(`${app.url}/search?${search(c)}`, cookie) },
    { label: "GET /search.data", run: (c) => get(`${app.url}/search.data?${search(c)}`, cookie) },
    ...(meili ? [{ label: "Meilisearch driver (from the bench)", run: (c: QueryCase) => driverSearch(meili, ownerId, c) }] : []),
  ];

  console.log(`\n${RUNS} timed runs after ${WARMUP} warm-ups each, contenders alternating; ms\n`);
  console.log("| query | matches | what | p50 | p95 |");
  console.log("|---|---|---|---|---|");
  for (const queryCase of cases) {
    const { kind, query } = queryCase;
    const found = await sqlIndex.search(ownerId, query, { limit: PAGE_LIMIT, ...queryCase.options });
    // The driver counts up to a bound; the query before issue 14 counted every match.
    const exact = BEFORE_ROW ? ` (all: ${(await searchBefore(prisma, ownerId, query, PAGE_LIMIT)).total.toLocaleString("en-GB")})` : "";
    const matches = `${found.total.toLocaleString("en-GB")}${found.totalIsLowerBound ? "+" : ""}${exact}`;
    const samples = contenders.map(() => [] as number[]);
    for (let round = 0; round < WARMUP + RUNS; round++) {
      // Rotate who goes first, so no contender always follows the same one.
      for (let k = 0; k < contenders.length; k++) {
        const index = (round + k) % contenders.length;
        const elapsed = await contenders[index]!.run(queryCase);
        if (round >= WARMUP) samples[index]!.push(elapsed);
      }
    }
    contenders.forEach((contender, index) => {
      const { p50, p95 } = percentiles(samples[index]!);
      const label = queryCase.params ? `${JSON.stringify(query)}, ${new URLSearchParams(queryCase.params)}` : JSON.stringify(query);
      console.log(`| ${kind} (${label}) | ${matches} | ${contender.label} | ${ms(p50)} | ${ms(p95)} |`);
    });
  }
  console.log(`\nload average at the end: ${loadAverage()}`);
}

/** Folders of FILES_PER_FOLDER under the user's root, the files in them, their search documents and some text. */
async function seed(prisma: PrismaClient, ownerId: string) {
  // A million rows inserted one by one into GIN indexes took 5–8 minutes here: the indexes that
  // back no constraint are dropped for the seed and built again from their own definitions after it.
  const indexes = await prisma.$queryRaw<Array<{ name: string; definition: string }>>`
    SELECT i.indexname AS name, i.indexdef AS definition FROM pg_indexes i
    WHERE i.schemaname = current_schema() AND i.tablename IN ('files', 'search_documents', 'file_contents')
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`;
  for (const index of indexes) await prisma.$executeRawUnsafe(`DROP INDEX "${index.name}"`);
  await insertSeed(prisma, ownerId);
  const built = performance.now();
  await prisma.$transaction(
    async (tx) => {
      await tx.$executeRawUnsafe("SET LOCAL maintenance_work_mem = '256MB'");
      for (const index of indexes) await tx.$executeRawUnsafe(index.definition);
    },
    { timeout: 60 * 60 * 1000 },
  );
  console.log(`  ${indexes.length} indexes built again in ${((performance.now() - built) / 1000).toFixed(1)} s`);
  await prisma.$executeRawUnsafe("VACUUM ANALYZE");
}

async function insertSeed(prisma: PrismaClient, ownerId: string) {
  const [root] = await prisma.$queryRaw<Array<{ id: string }>>`SELECT id FROM folders WHERE owner_id = ${ownerId} AND parent_id IS NULL`;
  const rootId = root!.id;
  const folders = Math.ceil(FILES / FILES_PER_FOLDER);
  await prisma.$executeRaw`
    INSERT INTO folders (id, owner_id, parent_id, name, name_key, created_at, updated_at)
    SELECT 'bf-' || f, ${ownerId}, ${rootId}, 'Archive ' || lpad(f::text, 4, '0'), 'archive ' || lpad(f::text, 4, '0'), now(), now()
    FROM generate_series(1, ${folders}) AS f`;
  // A name: "<Topic> <Thing> <year> <number>.<ext>", or a camera's "IMG_<date>_<number>.jpg" for
  // one file in five. The number makes names unique within their folder.
  const name = `CASE WHEN i % 5 = 0
      THEN 'IMG_' || to_char(date '2019-01-01' + (i * 7 % 2500)::int, 'YYYYMMDD') || '_' || lpad(i::text, 7, '0') || '.jpg'
      ELSE ($1::text[])[(1 + (i * 2654435761 % 4294967296) / 65536 % ${TOPICS.length})::int] || ' ' || ($2::text[])[(1 + (i * 2246822519 % 4294967296) / 65536 % ${THINGS.length})::int] || ' '
           || (2015 + i % 11) || ' ' || lpad(i::text, 7, '0') || '.' || ($3::text[])[(1 + (i * 31) % ${EXTENSIONS.length})::int]
    END`;
  const mime = `CASE WHEN i % 5 = 0 THEN 'image/jpeg' ELSE 'application/octet-stream' END`;
  // Files already count as content-indexed and thumbnail-less, so the server's backfill jobs leave them alone.
  await prisma.$executeRawUnsafe(
    `INSERT INTO files (id, owner_id, folder_id, name, name_key, size, mime_type, storage_key, content_indexed_key,
                        thumbnail_failed_key, created_at, updated_at)
     SELECT 'bfile-' || i, $4, 'bf-' || (1 + (i - 1) / ${FILES_PER_FOLDER}), n, lower(n), (i * 104729) % 5000000, ${mime},
            'bkey-' || i, 'bkey-' || i, 'bkey-' || i, now(), timestamp '2026-01-01' + i * interval '1 minute'
     FROM generate_series(1::bigint, ${FILES}) AS i, LATERAL (SELECT ${name} AS n) AS named`,
    TOPICS,
    THINGS,
    EXTENSIONS,
    ownerId,
  );
  await prisma.$executeRaw`
    INSERT INTO search_documents (id, owner_id, kind, name, folder_id, mime_type, size, updated_at)
    SELECT id, owner_id, 'folder', name, parent_id, NULL, NULL, updated_at FROM folders WHERE owner_id = ${ownerId} AND parent_id IS NOT NULL`;
  await prisma.$executeRaw`
    INSERT INTO search_documents (id, owner_id, kind, name, folder_id, mime_type, size, updated_at)
    SELECT id, owner_id, 'file', name, folder_id, mime_type, size, updated_at FROM files WHERE owner_id = ${ownerId}`;
  // About 60 words of text for every tenth file; one in ten of those also holds CONTENT_ONLY_WORD.
  await prisma.$executeRawUnsafe(
    `INSERT INTO file_contents (file_id, content)
     SELECT 'bfile-' || i,
            (SELECT string_agg(($1::text[])[(1 + (i * 7919 + j * 104729) % ${CONTENT_WORDS.length})::int], ' ') FROM generate_series(1, 60) AS j)
            || CASE WHEN i % ${CONTENT_EVERY * 10} = 0 THEN ' ${CONTENT_ONLY_WORD} expedition' ELSE '' END
     FROM generate_series(${CONTENT_EVERY}::bigint, ${FILES}, ${CONTENT_EVERY}) AS i`,
    CONTENT_WORDS,
  );
}

async function queryCases(prisma: PrismaClient, ownerId: string): Promise<QueryCase[]> {
  // A name from the middle of the seed, typed whole.
  const middle = `bfile-${Math.max(1, Math.floor(FILES / 2) + 1 - ((Math.floor(FILES / 2) + 1) % 5 === 0 ? 1 : 0))}`;
  const [exact] = await prisma.$queryRaw<Array<{ name: string }>>`SELECT name FROM files WHERE id = ${middle} AND owner_id = ${ownerId}`;
  return [
    { kind: "exact name", query: exact!.name },
    { kind: "prefix, many", query: "quart" },
    { kind: "miss", query: "xylophone" },
    { kind: "misspelling", query: "invoce" },
    { kind: "content word", query: CONTENT_ONLY_WORD },
    // The search page's filters and sorts: a type among many matches sorted by name, a size
    // range sorted by size, and one folder of the account.
    {
      kind: "images by name",
      query: "2021",
      params: { type: "image", sort: "name" },
      options: { filters: { fileType: "image" }, sort: { by: "name", direction: "asc" } },
    },
    {
      kind: "1–100 MiB by size",
      query: "quart",
      params: { size: "medium", sort: "size" },
      options: { filters: { minSize: 1024 * 1024, maxSize: 100 * 1024 * 1024 }, sort: { by: "size", direction: "desc" } },
    },
    {
      kind: "in one folder, newest",
      query: "quart",
      params: { folder: "bf-50", sort: "modified" },
      options: { within: { folderIds: ["bf-50"], ids: [] }, sort: { by: "modified", direction: "desc" } },
    },
  ];
}

function driverSearch(index: SearchIndex, ownerId: string, c: QueryCase): Promise<number> {
  return timed(() => index.search(ownerId, c.query, { limit: PAGE_LIMIT, ...c.options }));
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

async function get(url: string, cookie: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, { headers: { cookie } });
  await response.arrayBuffer();
  const elapsed = performance.now() - started;
  if (response.status !== 200) throw new Error(`GET ${url}: ${response.status}`);
  return elapsed;
}

/** With MEILI_HOST: the seeded documents in a fresh Meilisearch index, through Coffer's driver. */
async function meilisearchIndex(prisma: PrismaClient, ownerId: string): Promise<SearchIndex | null> {
  const host = process.env.MEILI_HOST;
  if (!host) {
    console.log("Meilisearch row left out: MEILI_HOST is not set.");
    return null;
  }
  const { MeilisearchIndex } = await import("../app/services/search/meilisearch.server");
  const uid = `coffer-bench-search-${Date.now()}`;
  const index = new MeilisearchIndex({ host, apiKey: process.env.MEILI_API_KEY, index: uid });
  await index.init();
  onCleanup("delete the Meilisearch index", async () => {
    const { Meilisearch } = await import("meilisearch");
    await new Meilisearch({ host, apiKey: process.env.MEILI_API_KEY }).deleteIndex(uid).waitTask();
  });
  const started = performance.now();
  for (let after = ""; ; ) {
    const rows = await prisma.$queryRaw<
      Array<{
        id: string;
        kind: "file" | "folder";
        name: string;
        folder_id: string | null;
        mime_type: string | null;
        size: bigint | null;
        updated_at: Date;
        content: string | null;
      }>
    >`SELECT d.id, d.kind, d.name, d.folder_id, d.mime_type, d.size, d.updated_at, c.content
      FROM search_documents d LEFT JOIN file_contents c ON c.file_id = d.id
      WHERE d.owner_id = ${ownerId} AND d.id > ${after} ORDER BY d.id LIMIT 10000`;
    if (rows.length === 0) break;
    await index.upsert(
      rows.map((row) => ({
        id: row.id,
        ownerId,
        kind: row.kind,
        name: row.name,
        folderId: row.folder_id,
        mimeType: row.mime_type,
        size: row.size === null ? null : Number(row.size),
        updatedAt: row.updated_at,
        ...(row.content === null ? {} : { content: row.content }),
      })),
    );
    after = rows.at(-1)!.id;
  }
  console.log(`Meilisearch index filled in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return index;
}

/** For investigations (EXPLAIN ANALYZE in psql): prints the database URL and waits for Ctrl-C. */
async function hold(url: string, cases: QueryCase[]) {
  console.log(`\nBENCH_HOLD: database ${url}\nqueries: ${JSON.stringify(cases)}\nCtrl-C to stop.`);
  await new Promise(() => {});
}

function percentiles(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return { p50: at(50), p95: at(95) };
}

const ms = (value: number) => value.toFixed(1);
const loadAverage = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");

runBenchmark(main);
