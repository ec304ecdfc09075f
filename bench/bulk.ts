/**
 * `npm run bench:bulk` — bulk work at scale, over HTTP against the production build.
 *
 * One Coffer process (bench/lib/server.ts) on a temporary embedded PostgreSQL and local storage.
 * Rows are seeded straight into the database (INSERT … SELECT generate_series), then each
 * operation is posted with the form the UI posts, and the benchmark waits until the database
 * shows it finished (the request may hand the work to a background job):
 *   - empty trash: BENCH_TRASH_ITEMS (100,000) files, each trashed on its own (POST /trash intent=empty)
 *   - delete forever: a trashed folder of BENCH_FOLDER_FILES (100,000) files (POST /trash intent=delete)
 *   - move: a folder of BENCH_FOLDER_FILES files into another folder (POST /bulk intent=move), then
 *     trash it (POST /bulk intent=trash) and restore it (POST /trash intent=restore)
 *   - delete account: an account with BENCH_ACCOUNT_FILES (1,000,000) files (POST /settings/privacy,
 *     with the grace period set to 0 so the account is erased, not only marked deleted)
 * For each: the time until the response, the time until done, the longest open transaction seen
 * (pg_stat_activity sampled every 50 ms, any Coffer connection, not autovacuum's) and the server's peak RSS
 * (/proc/<pid>/status sampled every 50 ms). Objects are not written (the rows name keys that do
 * not exist; deleting a missing object is a no-op), so the figures are about rows and memory.
 * Prints; asserts nothing. BENCH_ONLY=trash,delete,move,account runs a subset; BENCH_BUILD=build-baseline
 * runs another build (a copy of build/ made before a change) for the before row.
 */
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { startEmbeddedPostgres } from "../app/services/embedded-postgres.server";
import { freePort } from "../tests/setup/free-port";
import { registerBenchUser, type BenchAccount } from "./lib/account";
import { startAppProcess, type AppProcess } from "./lib/app-process";
import { cleanUpOnSignals, onCleanup, runBenchmark } from "./lib/cleanup";

const REPO = path.resolve(import.meta.dirname, "..");
const TRASH_ITEMS = Number(process.env.BENCH_TRASH_ITEMS ?? 100_000);
const FOLDER_FILES = Number(process.env.BENCH_FOLDER_FILES ?? 100_000);
const ACCOUNT_FILES = Number(process.env.BENCH_ACCOUNT_FILES ?? 1_000_000);
const ONLY = new Set((process.env.BENCH_ONLY ?? "trash,delete,move,account").split(","));
const DONE_TIMEOUT_MS = Number(process.env.BENCH_DONE_TIMEOUT_MS ?? 60 * 60 * 1000);
const PASSWORD = "violet-harbour-lantern-8841";

interface Sampler {
  stop(): { longestTxMs: number; longestTxQuery: string; peakRssMiB: number };
}

/** Samples the longest open transaction begun since `since`, and the server's RSS. */
function startSampler(db: pg.Pool, pid: number, since: Date): Sampler {
  let longestTxMs = 0;
  let longestTxQuery = "";
  let peakRss = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await db
        .query<{ ms: number | null; query: string | null }>(
          `SELECT (extract(epoch FROM clock_timestamp() - xact_start) * 1000)::float8 AS ms, query FROM pg_stat_activity
           WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start >= $1 AND state <> 'idle'
             AND backend_type = 'client backend'
           ORDER BY xact_start LIMIT 1`,
          [since],
        )
        .catch(() => ({ rows: [{ ms: null, query: null }] }));
      // The statement the longest transaction was running when it was longest (what to look at).
      if ((rows[0]?.ms ?? 0) > longestTxMs) {
        longestTxMs = rows[0]!.ms!;
        longestTxQuery = (rows[0]!.query ?? "").replace(/\s+/g, " ").slice(0, 160);
      }
      peakRss = Math.max(peakRss, rssOf(pid));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    stop() {
      running = false;
      void loop;
      return { longestTxMs, longestTxQuery, peakRssMiB: peakRss / 1024 / 1024 };
    },
  };
}

function rssOf(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Posts a form (node:http: no client-side timeout); the status, or why there was none. */
function post(app: AppProcess, account: BenchAccount, pathname: string, fields: Record<string, string>): Promise<string> {
  const body = new URLSearchParams({ _csrf: account.csrfToken, ...fields }).toString();
  return new Promise((resolve) => {
    const request = http.request(
      `${app.url}${pathname}`,
      {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "content-length": Buffer.byteLength(body),
          cookie: account.cookie,
          "x-csrf-token": account.csrfToken,
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          const status = response.statusCode ?? 0;
          resolve(status >= 400 ? `${status} ${Buffer.concat(chunks).toString("utf8").slice(0, 200)}` : String(status));
        });
      },
    );
    // The server may end a request that runs too long: the work may still finish, so we wait for it.
    request.on("error", (error) => resolve(`no response (${error.message})`));
    request.end(body);
  });
}

/** The user just registered (the newest), with their My files folder. */
async function userOf(db: pg.Pool) {
  const { rows } = await db.query<{ id: string; email: string; root: string }>(
    `SELECT u.id, u.email, f.id AS root FROM users u JOIN folders f ON f.owner_id = u.id AND f.parent_id IS NULL
     ORDER BY u.created_at DESC LIMIT 1`,
  );
  if (!rows[0]) throw new Error("no bench user");
  return rows[0];
}

/** Waits until `sql` says done; false when it is not within the timeout (shorter after a failed request). */
async function waitFor(db: pg.Pool, sql: string, params: unknown[], failed: boolean): Promise<boolean> {
  const deadline = Date.now() + (failed ? 30_000 : DONE_TIMEOUT_MS);
  while (Date.now() < deadline) {
    const { rows } = await db.query<{ done: boolean }>(sql, params);
    if (rows[0]?.done) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

interface Row {
  what: string;
  status: string;
  rows: number;
  responseS: number;
  doneS: number;
  longestTxS: number;
  peakRssMiB: number;
  restingRssMiB: number;
}

async function measure(
  app: AppProcess,
  db: pg.Pool,
  what: string,
  rows: number,
  run: () => Promise<string>,
  done: (failed: boolean) => Promise<boolean>,
): Promise<Row> {
  await db.query("VACUUM ANALYZE");
  const restingRssMiB = rssOf(app.pid) / 1024 / 1024;
  // Transactions of an earlier operation that still run (a request the server gave up on) do not count.
  const sampler = startSampler(db, app.pid, new Date());
  const started = performance.now();
  const status = await run();
  const responseS = (performance.now() - started) / 1000;
  // A refused request changed nothing; one the server stopped answering may still be at work.
  const finished = await done(/^[45]/.test(status));
  const doneS = (performance.now() - started) / 1000;
  const { longestTxMs, longestTxQuery, peakRssMiB } = sampler.stop();
  const row = {
    what,
    status: finished ? status : `${status}, NOT DONE`,
    rows,
    responseS,
    doneS,
    longestTxS: longestTxMs / 1000,
    peakRssMiB,
    restingRssMiB,
  };
  console.log(
    `${what.padEnd(34)} ${rows.toLocaleString("en-GB").padStart(10)} rows  response ${responseS.toFixed(1).padStart(7)} s  done ${doneS
      .toFixed(1)
      .padStart(
        7,
      )} s  longest transaction ${row.longestTxS.toFixed(2).padStart(7)} s  RSS ${restingRssMiB.toFixed(0)} → peak ${peakRssMiB.toFixed(0)} MiB  (HTTP ${row.status})`,
  );
  if (longestTxMs >= 1000) console.log(`  the longest transaction was at: ${longestTxQuery}`);
  return row;
}

async function seedFiles(
  db: pg.Pool,
  ownerId: string,
  folderId: string,
  prefix: string,
  count: number,
  trashed: "no" | "each" | "with-folder",
) {
  const started = performance.now();
  // Batches of 100,000 rows keep each INSERT's memory and WAL bounded.
  for (let from = 1; from <= count; from += 100_000) {
    const to = Math.min(count, from + 99_999);
    await db.query(
      `INSERT INTO files (id, owner_id, folder_id, name, name_key, size, mime_type, storage_key, created_at, updated_at, trashed_at, trash_root_id)
       SELECT $3 || '-' || i, $1, $2, 'File ' || i || '.jpg', 'file ' || i || '.jpg', 4096, 'image/jpeg', $3 || '-key-' || i, now(), now(),
              CASE WHEN $4 = 'no' THEN NULL ELSE now() END,
              CASE $4 WHEN 'no' THEN NULL WHEN 'each' THEN $3 || '-' || i ELSE $2 END
       FROM generate_series($5::int, $6::int) AS i`,
      [ownerId, folderId, prefix, trashed, from, to],
    );
  }
  console.log(`  seeded ${count.toLocaleString("en-GB")} files (${prefix}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function folder(db: pg.Pool, ownerId: string, parentId: string, id: string, trashed: boolean) {
  await db.query(
    `INSERT INTO folders (id, owner_id, parent_id, name, name_key, created_at, updated_at, trashed_at, trash_root_id)
     VALUES ($1, $2, $3, $1, $1, now(), now(), CASE WHEN $4 THEN now() END, CASE WHEN $4 THEN $1 END)`,
    [id, ownerId, parentId, trashed],
  );
}

async function main() {
  cleanUpOnSignals();
  if (!fs.existsSync(path.join(REPO, "build/server/index.js"))) throw new Error("No production build: run `npm run build` first.");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-bench-bulk-"));
  fs.chmodSync(work, 0o755);
  onCleanup("remove temp dir", () => fs.rmSync(work, { recursive: true, force: true }));
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ");
  console.log(
    `Coffer bulk work (${process.env.BENCH_BUILD ?? "build"}): trash ${TRASH_ITEMS}, folder ${FOLDER_FILES}, account ${ACCOUNT_FILES} files; ${os.cpus().length} CPUs, load average ${load()}`,
  );
  const pgServer = await startEmbeddedPostgres({
    dataDir: path.join(work, "pg", "data"),
    port: await freePort(),
    database: "coffer_bench",
  });
  onCleanup("stop embedded Postgres", () => pgServer.stop(), 20_000);
  const dataDir = path.join(work, "data");
  fs.mkdirSync(dataDir, { recursive: true });
  const app = await startAppProcess({
    LOG_LEVEL: "warn",
    DATA_DIR: dataDir,
    DATABASE_URL: pgServer.url,
    SESSION_SECRET: "bench-secret-that-is-at-least-32-characters-long",
    RATE_LIMIT_API: "1000000/1m",
    RATE_LIMIT_GENERAL: "1000000/1m",
    ...(process.env.BENCH_BUILD ? { COFFER_BENCH_BUILD: process.env.BENCH_BUILD } : {}),
  });
  onCleanup(`stop server (pid ${app.pid})`, () => app.stop(), 20_000);
  const db = new pg.Pool({ connectionString: pgServer.url, max: 2 });
  onCleanup("close the pool", () => db.end());
  const results: Row[] = [];
  // The first account is the administrator, which cannot delete itself while it is the only one.
  await registerBenchUser(app.url, "admin");

  if (ONLY.has("trash")) {
    const account = await registerBenchUser(app.url, "trash");
    const user = await userOf(db);
    await seedFiles(db, user.id, user.root, "t", TRASH_ITEMS, "each");
    results.push(
      await measure(
        app,
        db,
        "empty trash",
        TRASH_ITEMS,
        () => post(app, account, "/trash", { intent: "empty", confirmed: "yes", kind: "", id: "" }),
        (failed) =>
          waitFor(db, "SELECT NOT EXISTS (SELECT 1 FROM files WHERE owner_id = $1 AND trashed_at IS NOT NULL) AS done", [user.id], failed),
      ),
    );
  }
  if (ONLY.has("delete")) {
    const account = await registerBenchUser(app.url, "delete");
    const user = await userOf(db);
    await folder(db, user.id, user.root, "doomed", true);
    await seedFiles(db, user.id, "doomed", "d", FOLDER_FILES, "with-folder");
    results.push(
      await measure(
        app,
        db,
        "delete forever a trashed folder",
        FOLDER_FILES,
        () => post(app, account, "/trash", { intent: "delete", confirmed: "yes", kind: "folder", id: "doomed" }),
        (failed) => waitFor(db, "SELECT NOT EXISTS (SELECT 1 FROM folders WHERE id = 'doomed') AS done", [], failed),
      ),
    );
  }
  if (ONLY.has("move")) {
    const account = await registerBenchUser(app.url, "move");
    const user = await userOf(db);
    await folder(db, user.id, user.root, "big", false);
    await folder(db, user.id, user.root, "target", false);
    await seedFiles(db, user.id, "big", "m", FOLDER_FILES, "no");
    results.push(
      await measure(
        app,
        db,
        "move a folder",
        FOLDER_FILES,
        () => post(app, account, "/bulk", { intent: "move", item: "folder:big", destination: "target", policy: "cancel" }),
        (failed) => waitFor(db, "SELECT EXISTS (SELECT 1 FROM folders WHERE id = 'big' AND parent_id = 'target') AS done", [], failed),
      ),
    );
    results.push(
      await measure(
        app,
        db,
        "trash a folder",
        FOLDER_FILES,
        () => post(app, account, "/bulk", { intent: "trash", item: "folder:big" }),
        (failed) =>
          waitFor(db, "SELECT NOT EXISTS (SELECT 1 FROM files WHERE folder_id = 'big' AND trashed_at IS NULL) AS done", [], failed),
      ),
    );
    results.push(
      await measure(
        app,
        db,
        "restore a folder",
        FOLDER_FILES,
        () => post(app, account, "/trash", { intent: "restore", kind: "folder", id: "big" }),
        (failed) =>
          waitFor(db, "SELECT NOT EXISTS (SELECT 1 FROM files WHERE folder_id = 'big' AND trashed_at IS NOT NULL) AS done", [], failed),
      ),
    );
  }
  if (ONLY.has("account")) {
    const account = await registerBenchUser(app.url, "account");
    const user = await userOf(db);
    // Erased at once, not marked deleted for the grace period (the settings cache lives 10 s).
    await db.query(
      `INSERT INTO settings (key, value, updated_at) VALUES ('deletedAccountRetentionDays', '0', now())
       ON CONFLICT (key) DO UPDATE SET value = '0'`,
    );
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    const per = 1000;
    const folders = Math.ceil(ACCOUNT_FILES / per);
    await db.query(
      `INSERT INTO folders (id, owner_id, parent_id, name, name_key, created_at, updated_at)
       SELECT 'a' || i, $1, $2, 'Album ' || i, 'album ' || i, now(), now() FROM generate_series(1, $3::int) AS i`,
      [user.id, user.root, folders],
    );
    const started = performance.now();
    for (let i = 1; i <= folders; i += 100) {
      await db.query(
        `INSERT INTO files (id, owner_id, folder_id, name, name_key, size, mime_type, storage_key, created_at, updated_at)
         SELECT 'a' || f || '-' || i, $1, 'a' || f, 'File ' || i || '.jpg', 'file ' || i || '.jpg', 4096, 'image/jpeg', 'a' || f || '-key-' || i, now(), now()
         FROM generate_series($2::int, $3::int) AS f, generate_series(1, $4::int) AS i`,
        [user.id, i, Math.min(folders, i + 99), per],
      );
    }
    console.log(
      `  seeded ${(folders * per).toLocaleString("en-GB")} files in ${folders} folders in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    results.push(
      await measure(
        app,
        db,
        "delete an account",
        folders * per,
        () => post(app, account, "/settings/privacy", { intent: "delete", confirmEmail: user.email, password: PASSWORD }),
        (failed) => waitFor(db, "SELECT NOT EXISTS (SELECT 1 FROM users WHERE id = $1) AS done", [user.id], failed),
      ),
    );
  }
  console.log(`load average at the end ${load()}`);
  if (app.log.some((line) => /error/i.test(line)))
    console.log(
      `server log:\n${app.log
        .filter((l) => /error/i.test(l))
        .slice(-10)
        .join("\n")}`,
    );
}

runBenchmark(main);
