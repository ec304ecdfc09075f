// A backup back into an empty database and object store. See docs/backups.md, "Restore".
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type pg from "pg";
import type { Logger } from "~/services/logger.server";
import {
  appliedMigrations,
  connect,
  copyIn,
  foreignKeyOrder,
  nonEmptyTables,
  quoteIdent,
  resetSequences,
  tableShapes,
} from "~/services/backup/postgres-copy.server";
import { MIGRATIONS_DIR, runMigrations } from "~/services/migrate.server";
import type { ObjectStore } from "~/services/storage/types";
import { findManifest } from "./catalog.server";
import { type Manifest, type ManifestObject, type ManifestTable, targetKeys } from "./manifest";
import { firstObjects, openSealed, restoreObjects } from "./objects.server";
import { chain, Digest } from "./streams.server";

export interface RestoreDestination {
  /** The database to fill: it may hold Coffer's tables, but no row in any of them. */
  databaseUrl: string;
  /** The primary object store, raw (objects go back exactly as they were stored); must be empty. */
  storage: ObjectStore;
}

export interface RestoreOptions {
  target: ObjectStore;
  key: Buffer;
  /** The backup to restore; the newest when absent. */
  backupId?: string;
  log?: Logger;
}

export interface RestoreResult {
  manifest: Manifest;
  /** Migrations newer than the backup, applied after its rows were loaded. */
  migrationsApplied: string[];
}

/** The destination is not empty, or cannot take this backup: nothing was changed. */
export class RestoreRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RestoreRefusedError";
  }
}

/**
 * Restores a backup into an empty destination: the database migrated to exactly the backup's
 * migrations, every object copied back and checked, every table loaded by COPY in one
 * transaction, then the migrations newer than the backup applied. Refuses (changing nothing)
 * unless the database has no Coffer row and the store no object. When a step fails, what this
 * restore wrote is removed again, so it can be retried.
 */
export async function restoreBackup(destination: RestoreDestination, options: RestoreOptions): Promise<RestoreResult> {
  const { target, key } = options;
  const log = options.log;
  const manifest = await findManifest(target, key, options.backupId);
  assertMigrationsKnown(manifest);

  const client = await connect(destination.databaseUrl);
  try {
    await assertEmpty(client, destination.storage, manifest);
    await migrateTo(destination.databaseUrl, manifest.migrations);
    log?.info("restore: database migrated to the backup's schema", { id: manifest.id, migrations: manifest.migrations.length });

    const restored: ManifestObject[] = [];
    try {
      await restoreObjects({
        target,
        key,
        objects: manifest.objects,
        store: destination.storage,
        onRestored: (object) => restored.push(object),
      });
      log?.info("restore: objects copied back", { id: manifest.id, objects: restored.length });
      await client.query("BEGIN");
      try {
        await loadTables(client, target, key, manifest);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      }
    } catch (error) {
      await destination.storage.deleteMany(restored.map((o) => o.key)).catch(() => {});
      throw error;
    }
    log?.info("restore: tables loaded", { id: manifest.id, tables: manifest.database.tables.length });
  } finally {
    await client.end().catch(() => {});
  }
  const migrationsApplied = await runMigrations(destination.databaseUrl);
  return { manifest, migrationsApplied };
}

/** A backup made by a newer Coffer has migrations this one does not know: it cannot build that schema. */
function assertMigrationsKnown(manifest: Manifest): void {
  const unknown = manifest.migrations.filter((name) => !fs.existsSync(path.join(MIGRATIONS_DIR, name, "migration.sql")));
  if (unknown.length > 0) {
    throw new RestoreRefusedError(
      `backup ${manifest.id} was made by a newer Coffer (${manifest.appVersion}): migration ${unknown[0]} is unknown here. ` +
        "Restore it with that version or a later one.",
    );
  }
}

async function assertEmpty(client: pg.Client, storage: ObjectStore, manifest: Manifest): Promise<void> {
  const problems: string[] = [];
  const shapes = await tableShapes(client);
  const full = await nonEmptyTables(
    client,
    shapes.map((t) => t.name),
  );
  if (full.length > 0) problems.push(`the database already holds Coffer data (rows in ${full.join(", ")})`);
  const applied = await appliedMigrations(client);
  const ahead = applied.find((name, i) => manifest.migrations[i] !== name);
  if (ahead) problems.push(`the database was migrated past this backup (migration ${ahead}, which backup ${manifest.id} does not have)`);
  const objects = await firstObjects(storage);
  if (objects.length > 0)
    problems.push(
      `the object store is not empty (${objects.length >= 5 ? "at least " : ""}${objects.length} object(s), e.g. ${objects[0]!.key})`,
    );
  if (problems.length > 0) {
    throw new RestoreRefusedError(
      `refusing to restore: ${problems.join("; ")}. Restore into an empty DATA_DIR, database and bucket; nothing was changed.`,
    );
  }
}

/** Applies exactly `names` (a backup's migrations), so the backup's rows fit the schema. */
export async function migrateTo(databaseUrl: string, names: string[]): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-restore-migrations-"));
  try {
    for (const name of names) {
      fs.mkdirSync(path.join(dir, name));
      fs.copyFileSync(path.join(MIGRATIONS_DIR, name, "migration.sql"), path.join(dir, name, "migration.sql"));
    }
    await runMigrations(databaseUrl, dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface LoadOptions {
  /**
   * Load each table on its own and report its failure here instead of failing the load: for a
   * scratch instance (verify), where the session may skip foreign-key checks.
   */
  onTableError?: (table: ManifestTable, error: Error) => void;
}

/**
 * COPYs every table of the backup in (inside the caller's transaction), checking each dump's
 * row count and SHA-256 against the manifest. User triggers are off meanwhile: the rows are
 * loaded as they were, and derived columns (storage counters) are already in them.
 */
export async function loadTables(client: pg.Client, target: ObjectStore, key: Buffer, manifest: Manifest, options: LoadOptions = {}) {
  const byName = new Map(manifest.database.tables.map((t) => [t.name, t]));
  const present = new Set((await tableShapes(client)).map((t) => t.name));
  const missing = [...byName.keys()].filter((name) => !present.has(name));
  if (missing.length > 0) throw new Error(`the schema has no table ${missing.join(", ")} that backup ${manifest.id} holds`);
  const order = await foreignKeyOrder(client, [...byName.keys()]);
  for (const name of order) await client.query(`ALTER TABLE ${quoteIdent(name)} DISABLE TRIGGER USER`);
  for (const name of order) {
    const table = byName.get(name)!;
    if (!options.onTableError) {
      await loadTable(client, target, key, manifest.id, table);
      continue;
    }
    await client.query("SAVEPOINT coffer_table");
    try {
      await loadTable(client, target, key, manifest.id, table);
      await client.query("RELEASE SAVEPOINT coffer_table");
    } catch (error) {
      await client.query("ROLLBACK TO SAVEPOINT coffer_table");
      options.onTableError(table, error as Error);
    }
  }
  for (const name of order) await client.query(`ALTER TABLE ${quoteIdent(name)} ENABLE TRIGGER USER`);
  await resetSequences(client);
}

async function loadTable(client: pg.Client, target: ObjectStore, key: Buffer, id: string, table: ManifestTable): Promise<void> {
  const name = targetKeys.table(id, table.name);
  const digest = new Digest();
  const rows = chain(await openSealed(target, key, name), digest);
  const sink = copyIn(client, table);
  await new Promise<void>((resolve, reject) => {
    let failure: Error | null = null;
    rows.on("error", (error) => {
      failure = error;
      // Ends the COPY with CopyFail, so the server discards the partial table; settles on "close".
      sink.destroy(error);
    });
    sink.on("error", (error) => {
      failure ??= error;
    });
    sink.on("close", () => (failure ? reject(failure) : resolve()));
    rows.pipe(sink);
  });
  if (digest.sha256() !== table.sha256 || digest.lines !== table.rows)
    throw new Error(
      `${name}: holds ${digest.lines} rows with SHA-256 ${digest.sha256()}, the manifest says ${table.rows} rows, ${table.sha256}`,
    );
}
