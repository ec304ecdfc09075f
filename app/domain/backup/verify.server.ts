// Proving a backup by restoring it: into a scratch PostgreSQL, compared with its manifest.
import type pg from "pg";
import type { Logger } from "~/services/logger.server";
import { connect, copyOut, tableShapes } from "~/services/backup/postgres-copy.server";
import { startScratchPostgres } from "~/services/backup/scratch-postgres.server";
import { runMigrations } from "~/services/migrate.server";
import { DecryptionError } from "~/services/storage/encryption-format.server";
import type { ObjectStore } from "~/services/storage/types";
import { referencedObjectKeys } from "../storage-check/storage-check.server";
import { BackupNotFoundError, InvalidManifestError, listBackupIds, readManifest } from "./catalog.server";
import { type Manifest, targetKeys } from "./manifest";
import { describeSealed } from "./objects.server";
import { loadTables, migrateTo, RestoreRefusedError } from "./restore.server";
import { Digest, drain, chain, inParallel } from "./streams.server";

const READ_CONCURRENCY = 4;
/** Problems kept in the report; the count says how many there were. */
const MAX_LISTED = 200;

export interface VerifyProblem {
  /** What is wrong: a target key (`backup-<id>-db-users`, `object-<key>`), or `counts`, `migrations`. */
  what: string;
  detail: string;
}

export interface VerifyReport {
  id: string;
  ok: boolean;
  problems: VerifyProblem[];
  problemCount: number;
  tables: number;
  objects: number;
  /** Plaintext bytes read back and hashed (dumps and objects). */
  bytesChecked: number;
  durationMs: number;
}

export interface VerifyOptions {
  target: ObjectStore;
  key: Buffer;
  /** The newest backup when absent. */
  backupId?: string;
  log?: Logger;
  /** Where the scratch PostgreSQL's temporary directory goes (the system's temp directory by default). */
  scratchDir?: string;
}

/**
 * Restores a backup into a scratch instance (its own embedded PostgreSQL on a free port, in a
 * temporary directory) and compares it with the manifest: each table's rows and SHA-256 as
 * loaded and as read back, the counts, every object's size and SHA-256 read from the target,
 * that every object the restored rows reference is in the backup, and that the migrations newer
 * than the backup apply. Every problem names what is wrong.
 */
export async function verifyBackup(options: VerifyOptions): Promise<VerifyReport> {
  const started = Date.now();
  const { target, key } = options;
  const id = options.backupId ?? (await listBackupIds(target)).at(-1);
  if (!id) throw new BackupNotFoundError(null);
  let manifest: Manifest;
  try {
    manifest = await readManifest(target, key, id);
  } catch (error) {
    if (!(error instanceof DecryptionError || error instanceof InvalidManifestError)) throw error;
    // A damaged manifest is a damaged backup: reported like any other problem, by name.
    const what = targetKeys.manifest(id);
    return {
      id,
      ok: false,
      problems: [{ what, detail: describe(error, what) }],
      problemCount: 1,
      tables: 0,
      objects: 0,
      bytesChecked: 0,
      durationMs: Date.now() - started,
    };
  }
  const report: VerifyReport = {
    id: manifest.id,
    ok: false,
    problems: [],
    problemCount: 0,
    tables: manifest.database.tables.length,
    objects: manifest.objects.length,
    bytesChecked: 0,
    durationMs: 0,
  };
  const problem = (what: string, detail: string) => {
    report.problemCount++;
    if (report.problems.length < MAX_LISTED) report.problems.push({ what, detail });
    options.log?.warn("verify: problem", { id: manifest.id, what, detail });
  };

  await verifyDatabase(manifest, options, report, problem);
  await inParallel(manifest.objects, READ_CONCURRENCY, async (object) => {
    const what = targetKeys.object(object.key);
    try {
      const found = await describeSealed(target, key, object.key);
      report.bytesChecked += found.bytes;
      if (found.bytes !== object.bytes || found.sha256 !== object.sha256)
        problem(what, `holds ${found.bytes} bytes with SHA-256 ${found.sha256}, the manifest says ${object.bytes} bytes, ${object.sha256}`);
    } catch (error) {
      problem(what, describe(error, what));
    }
  });
  const objectBytes = manifest.objects.reduce((sum, o) => sum + o.bytes, 0);
  if (manifest.counts.objects !== manifest.objects.length || manifest.counts.objectBytes !== objectBytes)
    problem(
      "counts",
      `the manifest counts ${manifest.counts.objects} objects of ${manifest.counts.objectBytes} bytes and lists ${manifest.objects.length} of ${objectBytes}`,
    );

  report.ok = report.problemCount === 0;
  report.durationMs = Date.now() - started;
  return report;
}

type Problem = (what: string, detail: string) => void;

async function verifyDatabase(manifest: Manifest, options: VerifyOptions, report: VerifyReport, problem: Problem): Promise<void> {
  const scratch = await startScratchPostgres(options.scratchDir);
  try {
    try {
      await migrateTo(scratch.url, manifest.migrations);
    } catch (error) {
      problem(
        "migrations",
        error instanceof RestoreRefusedError ? error.message : `the backup's schema cannot be built: ${describe(error)}`,
      );
      return;
    }
    const client = await connect(scratch.url);
    try {
      const failed = new Set<string>();
      // The scratch server is ours (superuser): each table loads on its own, so every damaged one is named.
      await client.query("SET session_replication_role = replica");
      await client.query("BEGIN");
      await loadTables(client, options.target, options.key, manifest, {
        onTableError: (table, error) => {
          failed.add(table.name);
          problem(targetKeys.table(manifest.id, table.name), describe(error, targetKeys.table(manifest.id, table.name)));
        },
      });
      await client.query("COMMIT");
      await client.query("SET session_replication_role = DEFAULT");
      const rows = await compareTables(client, manifest, failed, report, problem);
      if (failed.size === 0) {
        compareCounts(manifest, rows, problem);
        await compareReferences(client, manifest, problem);
      }
    } finally {
      await client.end().catch(() => {});
    }
    try {
      await runMigrations(scratch.url);
    } catch (error) {
      problem("migrations", `the migrations newer than the backup do not apply to it: ${describe(error)}`);
    }
  } finally {
    await scratch.stop();
  }
}

/** Each loaded table read back from the scratch database: the same rows, in the same COPY text. */
async function compareTables(
  client: pg.Client,
  manifest: Manifest,
  failed: Set<string>,
  report: VerifyReport,
  problem: Problem,
): Promise<Map<string, number>> {
  const shapes = new Map((await tableShapes(client)).map((shape) => [shape.name, shape]));
  const rows = new Map<string, number>();
  for (const table of manifest.database.tables) {
    if (failed.has(table.name)) continue;
    const digest = new Digest();
    await drain(chain(copyOut(client, { name: table.name, columns: table.columns, orderBy: shapes.get(table.name)!.orderBy }), digest));
    report.bytesChecked += digest.bytes;
    rows.set(table.name, digest.lines);
    if (digest.sha256() !== table.sha256 || digest.lines !== table.rows)
      problem(
        targetKeys.table(manifest.id, table.name),
        `restored, the table reads back as ${digest.lines} rows with SHA-256 ${digest.sha256()}, the manifest says ${table.rows}, ${table.sha256}`,
      );
  }
  return rows;
}

function compareCounts(manifest: Manifest, rows: Map<string, number>, problem: Problem): void {
  const n = (table: string) => rows.get(table) ?? 0;
  const restored = {
    users: n("users"),
    folders: n("folders"),
    files: n("files"),
    versions: n("file_versions"),
    shares: n("share_links") + n("user_shares"),
    auditEvents: n("audit_events"),
  };
  for (const [name, count] of Object.entries(restored)) {
    const expected = manifest.counts[name as keyof typeof restored];
    if (count !== expected) problem("counts", `${name}: the manifest counts ${expected}, the restored database has ${count}`);
  }
}

/** Every object the restored rows reference must be in the backup, or that file could not be downloaded. */
async function compareReferences(client: pg.Client, manifest: Manifest, problem: Problem): Promise<void> {
  const listed = new Set(manifest.objects.map((o) => o.key));
  await client.query("BEGIN");
  try {
    for await (const key of referencedObjectKeys(client)) {
      if (!listed.has(key)) problem(targetKeys.object(key), "the restored database references it, but the backup does not hold it");
    }
  } finally {
    await client.query("COMMIT").catch(() => {});
  }
}

function describe(error: unknown, prefix?: string): string {
  const message = error instanceof Error ? error.message : String(error);
  return prefix && message.startsWith(`${prefix}: `) ? message.slice(prefix.length + 2) : message;
}
