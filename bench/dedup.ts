/**
 * npm run bench:dedup — the space deduplication saves on a realistic set, through the whole app
 * (production build in its own process, local-disk driver, embedded PostgreSQL), once with
 * STORAGE_DEDUP on and once off:
 *   1. a photo library (real JPEGs of noise, sizes like a phone's) uploaded into three albums;
 *   2. part of it uploaded again by the phone's "camera uploads" sync;
 *   3. a family member's account uploading some of the same photos;
 *   4. an album folder copied into a "Backup" folder, and a few photos copied one by one;
 *   5. unique documents beside them.
 * Every upload goes through tus over HTTP, every copy through the details page's form. Prints the
 * logical bytes (what users see and quotas count: files and versions) against the bytes stored
 * (every object in DATA_DIR/objects, thumbnails included) and how long the run took.
 * Knobs (env): BENCH_PHOTOS (150), BENCH_DOCUMENTS (100), BENCH_PARALLEL (4),
 * BENCH_ENCRYPTION (1 = ENCRYPTION_MASTER_KEY set), BENCH_ONLY (on|off).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import sharp from "sharp";
import * as tus from "tus-js-client";
import { formatBytes } from "../app/lib/format";
import { startEmbeddedPostgres } from "../app/services/embedded-postgres.server";
import { freePort } from "../tests/setup/free-port";
import { startAppProcess } from "./lib/app-process";
import { cleanUpOnSignals, cleanup, onCleanup } from "./lib/cleanup";
import { registerBenchUser, type BenchAccount } from "./lib/account";

const env = (name: string, fallback: string) => process.env[name] || fallback;
const PHOTOS = Number(env("BENCH_PHOTOS", "150"));
const DOCUMENTS = Number(env("BENCH_DOCUMENTS", "100"));
const PARALLEL = Number(env("BENCH_PARALLEL", "4"));
const ENCRYPTION = process.env.BENCH_ENCRYPTION === "1";
const MODES = (process.env.BENCH_ONLY ? [process.env.BENCH_ONLY] : ["on", "off"]) as Array<"on" | "off">;

type Item = { name: string; data: Buffer };

/** A JPEG of noise: incompressible, like a photo's entropy-coded data; 1.5 to 4 megapixels. */
async function photo(index: number): Promise<Item> {
  const width = 1400 + ((index * 97) % 900);
  const height = Math.round((width * 3) / 4);
  const data = await sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 80 })
    .toBuffer();
  return { name: `IMG_${String(4000 + index).padStart(4, "0")}.jpg`, data };
}

function document(index: number): Item {
  const size = 2_000 + ((index * 7919) % 300_000);
  return { name: `notes-${String(index).padStart(3, "0")}.txt`, data: Buffer.from(randomBytes(Math.ceil(size / 2)).toString("hex")) };
}

interface RunResult {
  mode: "on" | "off";
  files: number;
  logicalBytes: number;
  storedBytes: number;
  objects: number;
  thumbnailBytes: number;
  seconds: number;
}

async function main() {
  cleanUpOnSignals();
  if (!fs.existsSync(path.resolve(import.meta.dirname, "../build/server/index.js"))) {
    throw new Error("No production build: run `npm run build` first.");
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-bench-dedup-"));
  fs.chmodSync(work, 0o755);
  onCleanup("remove temp dir", () => fs.rmSync(work, { recursive: true, force: true }));

  console.log(`Making ${PHOTOS} photos and ${DOCUMENTS} documents…`);
  const photos: Item[] = [];
  for (let i = 0; i < PHOTOS; i++) photos.push(await photo(i));
  const documents = Array.from({ length: DOCUMENTS }, (_, i) => document(i));
  console.log(`Library: ${formatBytes(photos.reduce((sum, p) => sum + p.data.length, 0))} of photos.`);

  const results: RunResult[] = [];
  for (const mode of MODES) results.push(await run(work, mode, photos, documents));

  console.log("");
  console.log(`| STORAGE_DEDUP | files | logical bytes | stored bytes (objects) | of which thumbnails | saved | time |`);
  console.log(`|---|---|---|---|---|---|---|`);
  for (const r of results) {
    const saved = 1 - r.storedBytes / r.logicalBytes;
    console.log(
      `| ${r.mode} | ${r.files} | ${formatBytes(r.logicalBytes)} | ${formatBytes(r.storedBytes)} (${r.objects}) | ${formatBytes(r.thumbnailBytes)} | ${(saved * 100).toFixed(1)} % | ${r.seconds.toFixed(1)} s |`,
    );
  }
}

async function run(work: string, mode: "on" | "off", photos: Item[], documents: Item[]): Promise<RunResult> {
  const base = path.join(work, mode);
  const pgServer = await startEmbeddedPostgres({ dataDir: path.join(base, "pg"), port: await freePort(), database: "coffer_bench" });
  onCleanup(`stop embedded Postgres (${mode})`, () => pgServer.stop(), 20_000);
  const dataDir = path.join(base, "data");
  fs.mkdirSync(dataDir, { recursive: true });
  const app = await startAppProcess({
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    DATA_DIR: dataDir,
    DATABASE_URL: pgServer.url,
    SESSION_SECRET: "bench-secret-that-is-at-least-32-characters-long",
    RATE_LIMIT_API: "1000000/1m",
    RATE_LIMIT_GENERAL: "1000000/1m",
    STORAGE_DEDUP: mode === "on" ? "true" : "false",
    ...(ENCRYPTION ? { ENCRYPTION_MASTER_KEY: randomBytes(32).toString("base64") } : {}),
  });
  onCleanup(`stop server (${mode})`, () => app.stop(), 20_000);
  console.log(`\nSTORAGE_DEDUP=${mode}${ENCRYPTION ? ", encryption at rest" : ""}: Coffer at ${app.url}`);
  const started = performance.now();

  const owner = await registerBenchUser(app.url, "photos");
  const family = await registerBenchUser(app.url, "family");
  const third = Math.ceil(photos.length / 3);
  const albums = [photos.slice(0, third), photos.slice(third, 2 * third), photos.slice(2 * third)];
  const albumIds: string[] = [];
  for (const [index, album] of albums.entries()) {
    const id = await createFolder(app.url, owner, `Album ${2022 + index}`);
    albumIds.push(id);
    await uploadAll(app.url, owner, id, album);
  }
  // The phone's sync uploads the newest 40 % of the library again.
  const camera = await createFolder(app.url, owner, "Camera uploads");
  await uploadAll(app.url, owner, camera, photos.slice(Math.floor(photos.length * 0.6)));
  // A family member keeps a quarter of the photos (the ones sent around) in their own account.
  const shared = await createFolder(app.url, family, "From the family");
  await uploadAll(
    app.url,
    family,
    shared,
    photos.filter((_, i) => i % 4 === 0),
  );
  // A backup copy of the first album, and a few favourites copied one by one.
  const backup = await createFolder(app.url, owner, "Backup");
  await copy(app.url, owner, "folder", albumIds[0]!, backup);
  const favourites = await createFolder(app.url, owner, "Favourites");
  for (const fileId of (await fileIds(pgServer.url, albumIds[1]!)).slice(0, 10)) await copy(app.url, owner, "file", fileId, favourites);
  const documentsFolder = await createFolder(app.url, owner, "Documents");
  await uploadAll(app.url, owner, documentsFolder, documents);
  const objectsDir = path.join(dataDir, "objects");
  await settle(objectsDir, pgServer.url);
  const seconds = (performance.now() - started) / 1000;

  const stored = storedObjects(objectsDir);
  const logical = await logicalBytes(pgServer.url);
  await app.stop();
  await pgServer.stop();
  return { mode, ...logical, ...stored, seconds };
}

/** A form post, sent again after a 503 (the storage breaker of a busy machine), as a person would. */
async function post(url: string, init: RequestInit): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(url, init);
    if (response.status !== 503 || attempt === 5) return response;
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
}

async function createFolder(url: string, { cookie, csrfToken }: BenchAccount, name: string): Promise<string> {
  const response = await post(`${url}/files`, {
    method: "POST",
    headers: { cookie, "x-csrf-token": csrfToken, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ intent: "create-folder", name, open: "1" }),
    redirect: "manual",
  });
  const id = response.headers.get("location")?.split("/").pop();
  if (response.status !== 302 || !id) throw new Error(`creating folder ${name} failed: ${response.status}`);
  return id;
}

async function copy(url: string, { cookie, csrfToken }: BenchAccount, kind: "file" | "folder", id: string, destination: string) {
  const response = await post(`${url}/details/${kind}/${id}`, {
    method: "POST",
    headers: { cookie, "x-csrf-token": csrfToken, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ intent: "copy", destination, policy: "keep-both" }),
    redirect: "manual",
  });
  if (response.status !== 302) throw new Error(`copying ${kind} ${id} failed: ${response.status} ${(await response.text()).slice(0, 300)}`);
}

/** Uploads every item into the folder through tus, `PARALLEL` at a time. */
async function uploadAll(url: string, { cookie }: BenchAccount, folderId: string, items: Item[]) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await new Promise<void>((resolve, reject) => {
        const upload = new tus.Upload(item.data, {
          endpoint: `${url}/api/uploads`,
          headers: { cookie },
          metadata: { filename: item.name, folderId, filetype: item.name.endsWith(".jpg") ? "image/jpeg" : "text/plain" },
          // As the web client does: a busy machine may trip the storage breaker for a moment (503).
          retryDelays: [1000, 3000, 5000, 10000, 20000],
          storeFingerprintForResuming: false,
          onError: reject,
          onSuccess: () => resolve(),
        });
        upload.start();
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
}

async function query<T>(databaseUrl: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

async function fileIds(databaseUrl: string, folderId: string): Promise<string[]> {
  const rows = await query<{ id: string }>(databaseUrl, "SELECT id FROM files WHERE folder_id = $1 ORDER BY name", [folderId]);
  return rows.map((row) => row.id);
}

/** What users see and quotas count: every file and kept version at its full size. */
async function logicalBytes(databaseUrl: string): Promise<{ files: number; logicalBytes: number }> {
  const [row] = await query<{ files: string; bytes: string }>(
    databaseUrl,
    `SELECT (SELECT count(*) FROM files) AS files,
            (SELECT coalesce(sum(size), 0) FROM files) + (SELECT coalesce(sum(size), 0) FROM file_versions) AS bytes`,
  );
  return { files: Number(row!.files), logicalBytes: Number(row!.bytes) };
}

/** Every object on disk, as stored (encrypted objects with their headers and tags). */
function storedObjects(directory: string): { storedBytes: number; objects: number; thumbnailBytes: number } {
  let storedBytes = 0;
  let objects = 0;
  let thumbnailBytes = 0;
  for (const entry of fs.readdirSync(directory, { recursive: true, withFileTypes: true })) {
    // Files being written (the local driver's .tmp directory) are not objects yet, and may be gone.
    if (!entry.isFile() || entry.parentPath.split(path.sep).includes(".tmp")) continue;
    const size = fs.statSync(path.join(entry.parentPath, entry.name), { throwIfNoEntry: false })?.size;
    if (size === undefined) continue;
    storedBytes += size;
    objects++;
    if (entry.name.endsWith(".thumb.webp")) thumbnailBytes += size;
  }
  return { storedBytes, objects, thumbnailBytes };
}

/**
 * Waits until background work is done: every photo has its thumbnail (or up to 5 minutes), and
 * the object directory has not changed for 3 s.
 */
async function settle(directory: string, databaseUrl: string) {
  const deadline = Date.now() + 5 * 60_000;
  let last = "";
  let stableSince = Date.now();
  for (;;) {
    const { storedBytes, objects } = storedObjects(directory);
    const [{ waiting }] = (await query<{ waiting: string }>(
      databaseUrl,
      `SELECT count(*) AS waiting FROM files WHERE mime_type = 'image/jpeg' AND thumbnail_key IS NULL
         AND thumbnail_failed_key IS DISTINCT FROM storage_key`,
    )) as [{ waiting: string }];
    const now = `${objects}/${storedBytes}/${waiting}`;
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    } else if ((Number(waiting) === 0 || Date.now() > deadline) && Date.now() - stableSince >= 3_000) {
      if (Number(waiting) > 0) console.log(`${waiting} photo(s) still without a thumbnail after 5 minutes`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

main()
  .catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
