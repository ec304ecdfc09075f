import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { afterAll, inject } from "vitest";
import { encryptForBackup } from "~/services/backup/backup-crypto.server";
import type { ObjectStore } from "~/services/storage/types";
import type { TestApp } from "./app";

const ROOT = path.resolve(import.meta.dirname, "../..");

export const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

export const newBackupKey = () => randomBytes(32).toString("base64");

/**
 * Every table of the public schema (the migration log aside: a restore rebuilds it by migrating;
 * and the backup runs, which are not backed up)
 * with its row count and a hash of its rows in a fixed order, computed by PostgreSQL itself and
 * not by the backup code under test.
 */
export async function rowHashes(databaseUrl: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ name: string }>(
      `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN ('_prisma_migrations', 'backup_runs') ORDER BY 1`,
    );
    const result: Record<string, string> = {};
    for (const { name } of tables) {
      const { rows } = await client.query<{ n: string; hash: string }>(
        `SELECT count(*) AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS hash FROM "${name}" t`,
      );
      result[name] = `${rows[0]!.n} rows ${rows[0]!.hash}`;
    }
    return result;
  } finally {
    await client.end();
  }
}

/**
 * The AWS SDK's one-time notice that its releases from 2027 need node 22 (this machine has 20):
 * about the runtime, not the command, so it is left out of the stderr the tests read.
 */
const NODE_VERSION_NOTICE =
  /^\(node:\d+\) Warning: NodeVersionSupportWarning:[\s\S]*?\(Use `node --trace-warnings \.\.\.` to show where the warning was created\)\n/m;

/** Runs `npx coffer …` (bin/coffer.mjs) with exactly `env` (and PATH). */
export function runCoffer(env: Record<string, string>, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, "bin/coffer.mjs"), ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, ...env } as unknown as NodeJS.ProcessEnv, timeout: 120_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr: stderr.replace(NODE_VERSION_NOTICE, "") }),
    );
  });
}

/** The app's environment without the database and data directory (to point a command elsewhere). */
export function envWithout(app: TestApp, ...names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(app.env).filter(([name]) => !names.includes(name)));
}

/** The environment of a backup target: a fresh directory, or a second bucket on the test S3 server. */
export function backupTargetEnv(kind: "directory" | "s3"): Record<string, string> {
  const key = randomBytes(32).toString("base64");
  if (kind === "s3") {
    const { s3 } = inject("services");
    return {
      BACKUP_KEY: key,
      BACKUP_S3_BUCKET: `coffer-backup-${randomBytes(5).toString("hex")}`,
      BACKUP_S3_ENDPOINT: s3.endpoint,
      BACKUP_S3_ACCESS_KEY: s3.accessKey,
      BACKUP_S3_SECRET_KEY: s3.secretKey,
      BACKUP_S3_REGION: s3.region,
    };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-backup-target-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  return { BACKUP_KEY: key, BACKUP_DIR: dir };
}

/** A backup id (the format of docs/backups.md) for a start time. */
export function backupId(startedAt: Date): string {
  return `${startedAt.toISOString().replace(/[-:]/g, "").slice(0, 15)}Z-${randomBytes(3).toString("hex")}`;
}

export async function putSealed(target: ObjectStore, key: Buffer, name: string, plain: Buffer): Promise<void> {
  const sealed: Buffer[] = [];
  const encryptor = encryptForBackup(key);
  encryptor.on("data", (chunk: Buffer) => sealed.push(chunk));
  await pipeline(Readable.from([plain]), encryptor);
  await target.put(name, Readable.from([Buffer.concat(sealed)]));
}

/**
 * A complete backup written the way backup-core lays it out (files first, the manifest last),
 * listing `objects` (storage keys); `physical` adds a base backup file and its start LSN.
 */
export async function writeFakeBackup(
  target: ObjectStore,
  key: Buffer,
  options: { startedAt: Date; objects?: string[]; physical?: { startLsn: string; systemId?: string } },
): Promise<string> {
  const id = backupId(options.startedAt);
  await putSealed(target, key, `backup-${id}-db-users`, Buffer.from("users table dump"));
  if (options.physical) await putSealed(target, key, `backup-${id}-base`, Buffer.from("base backup tar"));
  const manifest = {
    format: 1,
    id,
    startedAt: options.startedAt.toISOString(),
    finishedAt: new Date(options.startedAt.getTime() + 60_000).toISOString(),
    appVersion: "test",
    migrations: [],
    database: { embedded: false, snapshotAt: options.startedAt.toISOString(), tables: [] },
    objects: (options.objects ?? []).map((k) => ({ key: k, bytes: 1, sha256: "0".repeat(64) })),
    counts: { users: 0, folders: 0, files: 0, versions: 0, shares: 0, auditEvents: 0, objects: 0, objectBytes: 0 },
    ...(options.physical
      ? {
          physical: {
            ...options.physical,
            stopLsn: options.physical.startLsn,
            startedAt: options.startedAt.toISOString(),
            finishedAt: options.startedAt.toISOString(),
            timeline: 1,
            bytes: 0,
            sha256: "0".repeat(64),
          },
        }
      : {}),
  };
  await putSealed(target, key, `backup-${id}-manifest`, Buffer.from(JSON.stringify(manifest)));
  return id;
}

export async function targetKeys(target: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of target.list()) keys.push(info.key);
  return keys.sort();
}
