/**
 * `npm run bench:folder-pages` — how long Coffer's pages take, as whole HTTP requests to the
 * production build, beside a bare node:http server answering the same bytes in the same run.
 *
 * One temporary embedded PostgreSQL (with pg_stat_statements) and one Coffer process
 * (bench/lib/server.ts, local disk, memory cache, PostgreSQL search: the embedded defaults).
 * Two users register over HTTP: one with a single file in My files (the small page), one with a
 * folder of BENCH_FILES (100,000) files and 50 subfolders, seeded straight into the database
 * (bench/lib/seed-folder.ts). Then each row below is requested 3 times to warm up and
 * BENCH_RUNS (30) times timed, the rows taking turns request by request (in a rotating order), so
 * that load from elsewhere on the machine spreads over all of them; p50 and p95 per row:
 *
 * - the small page (GET /files, one entry) and its `.data` (what a JavaScript navigation fetches);
 * - the big folder's first page of 200 rows: default sort (name), another sort (size, descending),
 *   the grid view, and the `.data` of the default sort;
 * - a bare node:http server (bench/lib/bare-page-server.ts) answering the big page's HTML and
 *   the small page's HTML, as static bytes: what any page of that size costs here.
 *
 * Requests send what a browser sends (the session cookie, Accept-Encoding gzip). Afterwards each
 * Coffer row runs 20 more times in a row, and Coffer's CPU time per request (/proc: steadier than
 * wall time on a busy machine), its database statements per request and their time in PostgreSQL
 * (pg_stat_statements) are printed (BENCH_TOP_STATEMENTS=1 lists the statements).
 * Prints; asserts nothing. Goals (issue 14): small page p50 ≤ 10 ms; folder pages at 100k files
 * p50 ≤ 30 ms, p95 ≤ 60 ms.
 *
 * BENCH_COMPARE_BUILD=<dir> adds a second Coffer process run from another production build (a
 * copy of `build/` made before a change, kept inside the repository so that it finds node_modules)
 * on the same database: every Coffer row is then measured for both, alternating, in one run.
 *
 * Knobs: BENCH_FILES (100000), BENCH_RUNS (30), BENCH_ROWS (only rows whose label contains it),
 * BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), BENCH_TOP_STATEMENTS=1.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { createPrismaClient } from "../app/services/db.server";
import { startEmbeddedPostgres } from "../app/services/embedded-postgres.server";
import { freePort } from "../tests/setup/free-port";
import { registerBenchUser } from "./lib/account";
import { type AppProcess, BARE_PAGE_SERVER, startAppProcess } from "./lib/app-process";
import { cleanUpOnSignals, onCleanup, runBenchmark } from "./lib/cleanup";
import { cpuTimes } from "./lib/proc";
import { seedFolder } from "./lib/seed-folder";

const REPO = path.resolve(import.meta.dirname, "..");
const FILES = Number(process.env.BENCH_FILES ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const WARMUPS = 3;
const QUERY_RUNS = 20;
const ONLY = (process.env.BENCH_ROWS ?? "").toLowerCase();

interface Row {
  label: string;
  url: string;
  headers: Record<string, string>;
  /** Text the answer must contain: the page really is the one meant. */
  expect: string;
  samples: number[];
  bytes: number;
  /** The Coffer process that answers it (its CPU time is measured). */
  pid: number;
}

async function main() {
  cleanUpOnSignals();
  if (!fs.existsSync(path.join(REPO, "build/server/index.js"))) throw new Error("No production build: run `npm run build` first.");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-bench-folder-pages-"));
  fs.chmodSync(work, 0o755);
  onCleanup("remove temp dir", () => fs.rmSync(work, { recursive: true, force: true }));
  const loadBefore = loadAverage();
  console.log(
    `Coffer page latency: ${FILES.toLocaleString("en-GB")} files, ${WARMUPS} warm-ups + ${RUNS} runs per row, load average ${loadBefore}`,
  );

  const postgres = await startEmbeddedPostgres({
    dataDir: path.join(work, "pg", "data"),
    port: await freePort(),
    database: "coffer_bench",
    postgresFlags: ["-c", "shared_preload_libraries=pg_stat_statements", "-c", "pg_stat_statements.track=all"],
  });
  onCleanup("stop embedded Postgres", () => postgres.stop(), 20_000);
  const dataDir = path.join(work, "data");
  fs.mkdirSync(dataDir);
  const appEnv = (dir: string): Record<string, string> => ({
    LOG_LEVEL: "warn",
    DATA_DIR: dir,
    DATABASE_URL: postgres.url,
    SESSION_SECRET: "bench-secret-that-is-at-least-32-characters-long",
    TMPDIR: work,
    RATE_LIMIT_API: "1000000/1m",
    RATE_LIMIT_GENERAL: "1000000/1m",
  });
  const app = await startAppProcess(appEnv(dataDir));
  onCleanup(`stop Coffer (pid ${app.pid})`, () => app.stop(), 20_000);
  const compareBuild = process.env.BENCH_COMPARE_BUILD ? path.resolve(process.env.BENCH_COMPARE_BUILD) : null;
  let other: AppProcess | null = null;
  if (compareBuild) {
    const otherDir = path.join(work, "data-other");
    fs.mkdirSync(otherDir);
    other = await startAppProcess({ ...appEnv(otherDir), COFFER_BENCH_BUILD: compareBuild });
    onCleanup(`stop the other Coffer (pid ${other.pid})`, () => other!.stop(), 20_000);
  }
  const bare = await startAppProcess({}, BARE_PAGE_SERVER);
  onCleanup(`stop the bare server (pid ${bare.pid})`, () => bare.stop());

  const prisma = createPrismaClient(postgres.url);
  onCleanup("disconnect Prisma", () => prisma.$disconnect());
  const stats = new pg.Client({ connectionString: postgres.url });
  await stats.connect();
  onCleanup("disconnect the statistics client", () => stats.end());
  await stats.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");

  // A browser's headers: the session and CSRF cookies, and compression welcome.
  const browser = (cookie: string) => ({ cookie, "accept-encoding": "gzip, deflate, br", accept: "text/html" });
  const small = await registerBenchUser(app.url, "small");
  await uploadOneFile(app.url, small.cookie);
  const big = await registerBenchUser(app.url, "big");
  await expectOk(app.url, "/files", big.cookie); // creates the root folder
  const bigUser = await prisma.user.findFirstOrThrow({ where: { name: "Load big" }, select: { id: true } });
  const bigRoot = await prisma.folder.findFirstOrThrow({ where: { ownerId: bigUser.id, parentId: null } });
  const folder = await prisma.folder.create({ data: { ownerId: bigUser.id, parentId: bigRoot.id, name: "Photos", nameKey: "photos" } });
  const seeding = performance.now();
  await seedFolder(prisma, bigUser.id, folder.id, FILES);
  await prisma.$executeRawUnsafe("VACUUM ANALYZE");
  console.log(`Seeded ${FILES.toLocaleString("en-GB")} files in ${((performance.now() - seeding) / 1000).toFixed(1)} s`);

  const bigPage = `/files/${folder.id}`;
  const firstName = "Photo 0000000.jpg";
  const rows: Row[] = [
    row("small page: /files, 1 entry", `${app.url}/files`, browser(small.cookie), "bench-page.txt", app.pid),
    row("small page .data (JS navigation)", `${app.url}/files.data`, browser(small.cookie), "bench-page.txt", app.pid),
    row(`folder page, ${FILES / 1000}k files, name ↑ (default)`, `${app.url}${bigPage}`, browser(big.cookie), firstName, app.pid),
    row(`folder page, ${FILES / 1000}k files, size ↓`, `${app.url}${bigPage}?sort=size&dir=desc`, browser(big.cookie), "Photo ", app.pid),
    row(
      `folder page, ${FILES / 1000}k files, grid view`,
      `${app.url}${bigPage}`,
      browser(`${big.cookie}; coffer_view=grid`),
      firstName,
      app.pid,
    ),
    row(`folder page .data, ${FILES / 1000}k files (JS navigation)`, `${app.url}${bigPage}.data`, browser(big.cookie), firstName, app.pid),
  ].filter((r) => r.label.toLowerCase().includes(ONLY));
  if (other) {
    // The same requests to the other build (same database, users and sessions), labelled by its directory.
    const name = path.relative(REPO, compareBuild!) || compareBuild!;
    for (const r of [...rows])
      rows.push({ ...r, label: `${r.label} [${name}]`, url: r.url.replace(app.url, other.url), samples: [], pid: other.pid });
    for (const r of rows.slice(0, rows.length / 2)) r.label = `${r.label} [build]`;
  }

  // The bare server answers the same bytes Coffer sends for the big page and the small page.
  const bareRows: Row[] = [];
  for (const [name, source] of [
    ["folder page", rows.find((r) => r.label.includes("name ↑"))],
    ["small page", rows.find((r) => r.label.startsWith("small page:"))],
  ] as const) {
    if (!source) continue;
    const html = Buffer.from(
      await (await fetch(source.url, { headers: { ...source.headers, "accept-encoding": "identity" } })).arrayBuffer(),
    );
    await fetch(`${bare.url}/${name.replace(" ", "-")}`, { method: "PUT", body: html });
    bareRows.push(
      row(
        `bare node:http, static ${name} HTML (${(html.length / 1024).toFixed(0)} KiB)`,
        `${bare.url}/${name.replace(" ", "-")}`,
        {},
        "<html",
      ),
    );
  }
  const all = [...bareRows, ...rows];

  for (let round = 0; round < WARMUPS + RUNS; round++) {
    // Rotate who goes first, so that no row always follows the same one.
    const order = all.map((_, i) => all[(i + round) % all.length]!);
    for (const r of order) {
      const elapsed = await timeRequest(r);
      if (round >= WARMUPS) r.samples.push(elapsed);
    }
  }
  const loadAfter = loadAverage();

  console.log(
    `\nms per request (client side, whole HTTP request), ${RUNS} runs after ${WARMUPS} warm-ups; load average before ${loadBefore}, after ${loadAfter}\n`,
  );
  console.log("| request | p50 | p95 | bytes (uncompressed) |");
  console.log("|---|---|---|---|");
  for (const r of all) {
    const sorted = [...r.samples].sort((a, b) => a - b);
    console.log(`| ${r.label} | ${ms(percentile(sorted, 50))} | ${ms(percentile(sorted, 95))} | ${r.bytes.toLocaleString("en-GB")} |`);
  }

  console.log(
    `\nPer request, ${QUERY_RUNS} requests of each row one after the other: Coffer's CPU time (user + system, /proc) and its database statements (pg_stat_statements)\n`,
  );
  console.log("| request | Coffer CPU ms | statements | of which BEGIN/COMMIT | database time ms |");
  console.log("|---|---|---|---|---|");
  for (const r of rows) {
    await stats.query("SELECT pg_stat_statements_reset()");
    const cpuBefore = cpuTimes(r.pid);
    for (let i = 0; i < QUERY_RUNS; i++) await timeRequest(r);
    const cpuAfter = cpuTimes(r.pid);
    const cpu = ((cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system) * 1000) / QUERY_RUNS;
    const { rows: statements } = await stats.query<{ query: string; calls: string; total: number }>(
      `SELECT query, calls, total_exec_time AS total FROM pg_stat_statements
       WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT ILIKE '%pg_stat_statements%'
       ORDER BY calls DESC, total DESC`,
    );
    const calls = statements.reduce((sum, s) => sum + Number(s.calls), 0) / QUERY_RUNS;
    const transactions =
      statements.filter((s) => /^\s*(BEGIN|COMMIT)/i.test(s.query)).reduce((sum, s) => sum + Number(s.calls), 0) / QUERY_RUNS;
    const time = statements.reduce((sum, s) => sum + s.total, 0) / QUERY_RUNS;
    console.log(`| ${r.label} | ${cpu.toFixed(1)} | ${calls.toFixed(1)} | ${transactions.toFixed(1)} | ${time.toFixed(2)} |`);
    if (process.env.BENCH_TOP_STATEMENTS === "1") {
      for (const s of statements.slice(0, 20))
        console.log(
          `    ${(Number(s.calls) / QUERY_RUNS).toFixed(1)}× ${(s.total / Number(s.calls)).toFixed(2)} ms  ${s.query.replace(/\s+/g, " ").slice(0, 160)}`,
        );
    }
  }
}

function row(label: string, url: string, headers: Record<string, string>, expect: string, pid = 0): Row {
  return { label, url, headers, expect, samples: [], bytes: 0, pid };
}

async function timeRequest(r: Row): Promise<number> {
  const started = performance.now();
  const response = await fetch(r.url, { headers: r.headers, redirect: "manual" });
  const body = await response.text();
  const elapsed = performance.now() - started;
  if (response.status !== 200) throw new Error(`${r.label}: GET ${r.url} answered ${response.status}`);
  if (!body.includes(r.expect)) throw new Error(`${r.label}: the answer does not contain “${r.expect}”`);
  r.bytes = Buffer.byteLength(body);
  return elapsed;
}

async function expectOk(url: string, pathname: string, cookie: string) {
  const response = await fetch(`${url}${pathname}`, { headers: { cookie } });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`GET ${pathname}: ${response.status}`);
}

/** One file in My files through tus (creation with upload), as the upload dialog sends it. */
async function uploadOneFile(url: string, cookie: string) {
  const body = Buffer.from("one small file\n".repeat(20));
  const response = await fetch(`${url}/api/uploads`, {
    method: "POST",
    headers: {
      cookie,
      "Tus-Resumable": "1.0.0",
      "Upload-Length": String(body.length),
      "Upload-Metadata": `filename ${Buffer.from("bench-page.txt").toString("base64")}`,
      "Content-Type": "application/offset+octet-stream",
    },
    body,
  });
  if (response.status !== 201) throw new Error(`upload failed: ${response.status} ${await response.text()}`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const ms = (value: number) => value.toFixed(1);
const loadAverage = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");

runBenchmark(main);
