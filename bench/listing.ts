/**
 * `npm run bench:listing` — how long the folder listing takes on big folders.
 *
 * Starts a temporary embedded PostgreSQL, migrates it, bulk-inserts folders of 10,000 and
 * 100,000 files (INSERT … SELECT generate_series: sizes, dates and types with many ties, a few
 * trashed files and 50 subfolders each), then times the listing domain function (`listFolder`,
 * what the folder loader calls) for the first page, a middle page (from a cursor) and the last
 * page, for every sort order and direction: p50 and p95 over BENCH_RUNS runs. Also times the
 * summary counts and the folder tree, and prints the plan of each file page query (EXPLAIN) to
 * show it walks an index instead of sorting the folder. Prints; asserts nothing.
 *
 * Knobs: BENCH_RUNS (30), BENCH_SIZES ("10000,100000"), BENCH_EXTRA_INDEXES=1 adds indexes
 * on (folder_id, column, name_key, id) WHERE trashed_at IS NULL (not in the schema) to compare.
 * Everything lives in one temp dir, removed at the end (also on failure or Ctrl-C).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../app/services/embedded-postgres.server";
import { runMigrations } from "../app/services/migrate.server";
import { createPrismaClient } from "../app/services/db.server";
import { countFolderContents, listFolder, listingQuery, PAGE_SIZE } from "../app/domain/files/folder-listing.server";
import { breadcrumbs, folderTree } from "../app/domain/files/folder-tree.server";
import { SORT_KEYS, type SortDir, type SortKey } from "../app/domain/files/folder-listing";
import { Prisma, type Folder, type PrismaClient } from "../app/generated/prisma/client";
import type { Services } from "../app/services/index.server";
import { freePort } from "../tests/setup/free-port";
import { seedFolder } from "./lib/seed-folder";

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const SIZES = (process.env.BENCH_SIZES ?? "10000,100000").split(",").map((s) => Number(s.trim()));
const EXTRA_INDEXES = process.env.BENCH_EXTRA_INDEXES === "1";

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-bench-listing-"));
fs.chmodSync(workDir, 0o755);
let database: EmbeddedDatabase | null = null;
let prisma: PrismaClient | null = null;
let cleaned = false;

async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  await prisma?.$disconnect().catch(() => {});
  await database?.stop().catch((error) => console.error("stopping PostgreSQL failed:", error));
  fs.rmSync(workDir, { recursive: true, force: true });
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: cleaning up…`);
    void cleanup().finally(() => process.exit(130));
  });
}

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

async function time(run: () => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  for (let i = 0; i < 3; i++) await run(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await run();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95) };
}

const ms = (value: number) => value.toFixed(2).padStart(8);

async function main() {
  console.log(`Starting a temporary embedded PostgreSQL in ${workDir} …`);
  database = await startEmbeddedPostgres({ dataDir: path.join(workDir, "pg", "data"), port: await freePort(), database: "coffer_bench" });
  await runMigrations(database.url);
  prisma = createPrismaClient(database.url);
  const db = prisma;
  const services = { prisma: db } as unknown as Services;

  const user = await db.user.create({ data: { email: "bench@example.com", name: "Bench", passwordHash: "x" } });
  const root = await db.folder.create({ data: { ownerId: user.id, parentId: null, name: "", nameKey: "" } });
  const folders: Array<{ count: number; folder: Folder }> = [];
  for (const count of SIZES) {
    const folder = await db.folder.create({
      data: { ownerId: user.id, parentId: root.id, name: `Files ${count}`, nameKey: `files ${count}` },
    });
    const started = performance.now();
    await seedFolder(db, user.id, folder.id, count);
    console.log(`Inserted ${count.toLocaleString("en-GB")} files (+50 folders) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    folders.push({ count, folder });
  }
  if (EXTRA_INDEXES) {
    for (const column of ["size", "updated_at", "mime_type"]) {
      await db.$executeRawUnsafe(
        `CREATE INDEX bench_files_${column} ON files (folder_id, ${column}, name_key, id) WHERE trashed_at IS NULL`,
      );
    }
    console.log("Added extra indexes on (folder_id, column, name_key, id) WHERE trashed_at IS NULL.");
  }
  await db.$executeRawUnsafe("VACUUM ANALYZE");

  const orders: Array<{ sort: SortKey; dir: SortDir }> = SORT_KEYS.flatMap((sort) =>
    (["asc", "desc"] as const).map((dir) => ({ sort, dir })),
  );
  console.log(`\nlistFolder: server time per page of ${PAGE_SIZE}, ms over ${RUNS} runs (after 3 warm-ups)\n`);
  console.log("| files   | sort     | dir  | first p50 | first p95 | middle p50 | middle p95 | last p50 | last p95 |");
  console.log("|---------|----------|------|-----------|-----------|------------|------------|----------|----------|");
  for (const { count, folder } of folders) {
    const total = count + 50;
    for (const { sort, dir } of orders) {
      // Cursors for the middle and the last page, found with one big page each (untimed).
      const middleCursor = (await listFolder(services, folder, null, { sort, dir, pageSize: Math.floor(total / 2) })).nextCursor;
      const lastCursor = (await listFolder(services, folder, null, { sort, dir, pageSize: total - PAGE_SIZE })).nextCursor;
      const first = await time(() => listFolder(services, folder, null, { sort, dir }));
      const middle = await time(() => listFolder(services, folder, middleCursor, { sort, dir }));
      const last = await time(async () => {
        const page = await listFolder(services, folder, lastCursor, { sort, dir });
        if (page.nextCursor !== null) throw new Error("expected the last page");
      });
      console.log(
        `| ${String(count).padEnd(7)} | ${sort.padEnd(8)} | ${dir.padEnd(4)} | ${ms(first.p50)}  | ${ms(first.p95)}  | ${ms(
          middle.p50,
        )}   | ${ms(middle.p95)}   | ${ms(last.p50)} | ${ms(last.p95)} |`,
      );
    }
  }

  console.log(`\nOther loader queries, ms over ${RUNS} runs\n`);
  console.log("| files   | query                               | p50      | p95      |");
  console.log("|---------|-------------------------------------|----------|----------|");
  for (const { count, folder } of folders) {
    const counts = await time(() => countFolderContents(services, folder.id));
    const crumbs = await breadcrumbs(services, folder);
    const tree = await time(() => folderTree(services, crumbs));
    console.log(`| ${String(count).padEnd(7)} | countFolderContents (summary line)  | ${ms(counts.p50)} | ${ms(counts.p95)} |`);
    console.log(`| ${String(count).padEnd(7)} | breadcrumbs + folderTree            | ${ms(tree.p50)} | ${ms(tree.p95)} |`);
  }

  const { count, folder } = folders.at(-1)!;
  console.log(`\nPlans of the file page query from a middle cursor, folder of ${count.toLocaleString("en-GB")} files (EXPLAIN ANALYZE):\n`);
  for (const { sort, dir } of orders) {
    const cursor = (await listFolder(services, folder, null, { sort, dir, pageSize: Math.floor((count + 50) / 2) })).nextCursor!;
    const [, , , value, key, id] = JSON.parse(Buffer.from(cursor, "base64url").toString()) as [
      string,
      string,
      "file",
      string | null,
      string,
      string,
    ];
    const query = listingQuery("file", folder.id, sort, dir, { kind: "file", value, key, id }, PAGE_SIZE + 1);
    const plan = (
      await db.$queryRaw<Array<{ "QUERY PLAN": string }>>(Prisma.sql`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) ${query}`)
    ).map((row) => row["QUERY PLAN"]);
    const nodes = plan
      .filter((line) => /->|^\s*(Limit|Incremental Sort|Sort|Index|Seq|Bitmap)/.test(line) || /Execution Time/.test(line))
      .map((line) => line.trim().replace(/^->\s*/, ""))
      .filter((line) => !/^(Sort Key|Presorted Key|Index Cond|Filter|Rows Removed)/.test(line));
    console.log(`  ${sort} ${dir}: ${nodes.join(" → ")}`);
  }
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(cleanup);
