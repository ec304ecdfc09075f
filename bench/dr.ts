/**
 * npm run bench:dr — disaster recovery, measured (docs/disaster-recovery.md):
 *   1. seeds an instance (embedded PostgreSQL, local disk) with BENCH_DR_USERS accounts, folders
 *      and BENCH_DR_FILES files of BENCH_DR_BYTES in all (most small, a few large, as real drives);
 *   2. backs it up into a directory (full), adds 1 % more files and backs up again (incremental);
 *   3. restores the latest backup onto a "new machine": an empty DATA_DIR with its own embedded
 *      PostgreSQL and store, as `npx coffer restore` does, and opens Coffer on it;
 *   4. verifies the backup (restore into a scratch instance, compared with the manifest);
 *   5. checks the restored instance: every row count, and the SHA-256 of a sample of files.
 * Prints the times; asserts only that the restore is complete. Knobs (env): BENCH_DR_FILES
 * (10000), BENCH_DR_BYTES (2GiB), BENCH_DR_USERS (20), BENCH_DR_DIR (the system temp dir).
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { loadConfig, parseByteSize } from "../app/config.server";
import { restoreBackup } from "../app/domain/backup/restore.server";
import { recordedBackup, recordedVerify } from "../app/domain/backup/scheduled.server";
import { addFile } from "../app/domain/files/files.server";
import { formatBytes } from "../app/lib/format";
import { createBackupTarget } from "../app/services/backup/target.server";
import { startEmbeddedPostgres } from "../app/services/embedded-postgres.server";
import { closeServices, createServices, type Services } from "../app/services/index.server";
import { createLogger } from "../app/services/logger.server";
import { createObjectStore } from "../app/services/storage/index.server";
import { freePort } from "../tests/setup/free-port";
import { cleanUpOnSignals, onCleanup, runBenchmark } from "./lib/cleanup";

const env = (name: string, fallback: string) => process.env[name] || fallback;
const FILES = Number(env("BENCH_DR_FILES", "10000"));
const BYTES = parseByteSize(env("BENCH_DR_BYTES", "2GiB"))!;
const USERS = Number(env("BENCH_DR_USERS", "20"));
const FOLDERS_PER_USER = 5;
/** 1 % of the files hold half the bytes (videos, archives); the rest are documents and photos. */
const LARGE_SHARE = 0.01;
const SEED_CONCURRENCY = 8;
const SAMPLE = 200;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function timed<T>(label: string, run: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  process.stdout.write(`${label}… `);
  const result = await run();
  const ms = performance.now() - started;
  console.log(seconds(ms));
  return { result, ms };
}

/** File sizes adding up to `total`: `count` files, the largest LARGE_SHARE of them holding half. */
function fileSizes(count: number, total: number): number[] {
  const large = Math.max(1, Math.round(count * LARGE_SHARE));
  const small = count - large;
  const sizes: number[] = [];
  const smallMean = Math.floor(total / 2 / small);
  // Small files vary from a quarter to 1.75 times their mean (same total).
  for (let i = 0; i < small; i++) sizes.push(Math.max(1, Math.round(smallMean * (0.25 + (1.5 * ((i * 7919) % small)) / small))));
  const rest = total - sizes.reduce((a, b) => a + b, 0);
  for (let i = 0; i < large; i++) sizes.push(Math.floor(rest / large) + (i === 0 ? rest % large : 0));
  return sizes;
}

/** Random bytes, not compressible, from one pool: each file a slice of it after a unique prefix. */
const POOL = randomBytes(64 * 2 ** 20);
function contents(index: number, size: number): Buffer {
  const prefix = Buffer.from(`file ${index} ${randomBytes(8).toString("hex")}\n`);
  if (size <= prefix.length) return prefix.subarray(0, size);
  const parts = [prefix];
  let left = size - prefix.length;
  let offset = (index * 104_729) % POOL.length;
  while (left > 0) {
    const take = Math.min(left, POOL.length - offset);
    parts.push(POOL.subarray(offset, offset + take));
    left -= take;
    offset = 0;
  }
  return Buffer.concat(parts, size);
}

async function seed(services: Services, count: number, first: number, folders: Array<{ ownerId: string; folderId: string }>) {
  const sizes = fileSizes(count, Math.round((BYTES * count) / FILES));
  let next = 0;
  let bytes = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const index = first + i;
      const data = contents(index, sizes[i]!);
      const storageKey = randomBytes(16).toString("hex");
      await services.storage.put(storageKey, Readable.from([data]), { size: data.length });
      const { ownerId, folderId } = folders[index % folders.length]!;
      await addFile(services, {
        ownerId,
        folderId,
        name: `document-${index}.bin`,
        size: data.length,
        mimeType: "application/octet-stream",
        storageKey,
        sha256: createHash("sha256").update(data).digest("hex"),
      });
      bytes += data.length;
    }
  };
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker));
  return bytes;
}

async function main() {
  cleanUpOnSignals();
  const work = fs.mkdtempSync(path.join(env("BENCH_DR_DIR", os.tmpdir()), "coffer-bench-dr-"));
  // The embedded PostgreSQL runs as the postgres user when started as root: it must enter the directory.
  fs.chmodSync(work, 0o755);
  onCleanup("remove temp dir", () => fs.rmSync(work, { recursive: true, force: true }), 120_000);
  const backupEnv = { BACKUP_DIR: path.join(work, "target"), BACKUP_KEY: randomBytes(32).toString("base64"), BACKUP_WAL_ARCHIVE: "false" };
  const base = {
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    SESSION_SECRET: "bench-secret-that-is-at-least-32-characters-long",
    ...backupEnv,
  };
  const log = createLogger("error");
  console.log(
    `Disaster recovery: ${FILES} files, ${formatBytes(BYTES)}, ${USERS} accounts; ${os.cpus().length} CPUs, Node ${process.version}, in ${work}`,
  );

  // 1. The instance that will be lost: embedded PostgreSQL and local disk under its DATA_DIR.
  const sourceConfig = loadConfig({ ...base, DATA_DIR: path.join(work, "source"), EMBEDDED_PG_PORT: String(await freePort()) });
  const source = await createServices(sourceConfig, log);
  onCleanup("close the source instance", () => closeServices(source), 60_000);
  const folders: Array<{ ownerId: string; folderId: string }> = [];
  for (let u = 0; u < USERS; u++) {
    // Accounts as registration makes them (the password hash is a placeholder: nobody signs in here).
    const user = await source.prisma.user.create({
      data: { email: `user${u}@example.com`, name: `User ${u}`, passwordHash: "$argon2id$bench", role: u === 0 ? "ADMIN" : "USER" },
    });
    const root = await source.prisma.folder.create({ data: { ownerId: user.id, parentId: null, name: "", nameKey: "" } });
    for (let f = 0; f < FOLDERS_PER_USER; f++) {
      const folder = await source.prisma.folder.create({
        data: { ownerId: user.id, parentId: root.id, name: `Folder ${f}`, nameKey: `folder ${f}` },
      });
      folders.push({ ownerId: user.id, folderId: folder.id });
    }
  }
  const seeded = await timed(`seed ${FILES} files`, () => seed(source, FILES, 0, folders));

  // 2. Backups: the first copies everything, the next only what is new.
  const full = await timed("backup (full)", () => recordedBackup(source));
  const extra = Math.max(1, Math.round(FILES / 100));
  await seed(source, extra, FILES, folders);
  const incremental = await timed(`backup (incremental, ${extra} new files)`, () => recordedBackup(source));
  const sourceCounts = await rowCounts(source);
  const sample = await source.prisma.file.findMany({ select: { storageKey: true, sha256: true }, take: SAMPLE, orderBy: { id: "asc" } });
  await closeServices(source);

  // 3. A new machine: an empty DATA_DIR, its own PostgreSQL and store; restore, then start Coffer on it.
  const targetConfig = loadConfig({ ...base, DATA_DIR: path.join(work, "restored"), EMBEDDED_PG_PORT: String(await freePort()) });
  const target = await createBackupTarget(targetConfig.backup!.target, log);
  await target.init();
  const restore = await timed("restore (database and objects into an empty instance)", async () => {
    const storage = await createObjectStore(targetConfig.storage, log);
    await storage.init();
    const database = targetConfig.database as { dataDir: string; port: number };
    const pg = await startEmbeddedPostgres({ dataDir: database.dataDir, port: await freePort() });
    try {
      return await restoreBackup({ databaseUrl: pg.url, storage }, { target, key: targetConfig.backup!.key, log });
    } finally {
      await pg.stop();
    }
  });
  const started = await timed("start Coffer on the restored instance", () => createServices(targetConfig, log));
  const restored = started.result;
  onCleanup("close the restored instance", () => closeServices(restored), 60_000);

  // 4. Verification, as the weekly job runs it.
  const verify = await timed("verify (restore into a scratch instance, compare with the manifest)", () =>
    recordedVerify(restored, { target, key: targetConfig.backup!.key, log }),
  );

  // 5. The restored instance holds what the lost one held.
  const restoredCounts = await rowCounts(restored);
  if (JSON.stringify(restoredCounts) !== JSON.stringify(sourceCounts))
    throw new Error(`restored counts differ: ${JSON.stringify(restoredCounts)} vs ${JSON.stringify(sourceCounts)}`);
  for (const file of sample) {
    const hash = createHash("sha256");
    for await (const chunk of await restored.storage.get(file.storageKey)) hash.update(chunk as Buffer);
    if (hash.digest("hex") !== file.sha256) throw new Error(`restored file ${file.storageKey} differs`);
  }
  if (!verify.result.ok) throw new Error(`verification failed: ${JSON.stringify(verify.result.problems.slice(0, 3))}`);

  const targetBytes = dirBytes(targetConfig.backup!.target.driver === "local" ? targetConfig.backup!.target.directory : work);
  console.log("");
  console.log("| step | time | what |");
  console.log("|---|---|---|");
  console.log(
    `| seed | ${seconds(seeded.ms)} | ${FILES} files, ${formatBytes(seeded.result)}, ${USERS} accounts, ${folders.length} folders |`,
  );
  console.log(
    `| backup, full | ${seconds(full.ms)} | ${full.result.objectsCopied} objects, ${formatBytes(full.result.bytesWritten)} written |`,
  );
  console.log(
    `| backup, incremental | ${seconds(incremental.ms)} | ${incremental.result.objectsCopied} new objects, ${formatBytes(incremental.result.bytesWritten)} written |`,
  );
  console.log(
    `| restore | ${seconds(restore.ms)} | ${restoredCounts.files} files, ${restoredCounts.users} accounts into an empty DATA_DIR |`,
  );
  console.log(`| start on the restored data | ${seconds(started.ms)} | migrations checked, drivers opened |`);
  console.log(
    `| verify | ${seconds(verify.ms)} | ${verify.result.tables} tables, ${verify.result.objects} objects, ${formatBytes(verify.result.bytesChecked)} read |`,
  );
  console.log("");
  console.log(
    `Target size after two backups: ${formatBytes(targetBytes)}. Restored counts equal the source's; ${sample.length} sampled files match their SHA-256.`,
  );
  console.log(
    `RTO (restore + start): ${seconds(restore.ms + started.ms)}. RPO: the backup interval (BACKUP_SCHEDULE) plus an incremental backup's ${seconds(incremental.ms)}.`,
  );
}

async function rowCounts(services: Services) {
  const { prisma } = services;
  const [users, folders, files, shares, auditEvents] = await Promise.all([
    prisma.user.count(),
    prisma.folder.count(),
    prisma.file.count(),
    prisma.shareLink.count(),
    prisma.auditEvent.count(),
  ]);
  return { users, folders, files, shares, auditEvents };
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (entry.isFile()) total += fs.statSync(path.join(entry.parentPath, entry.name)).size;
  return total;
}

runBenchmark(main);
