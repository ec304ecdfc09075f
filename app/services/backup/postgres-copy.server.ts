import type { Readable, Writable } from "node:stream";
import pg from "pg";
import copyStreams from "pg-copy-streams";

/**
 * The logical export and import of Coffer's tables with PostgreSQL's COPY (text format), over
 * the `pg` driver the app already uses. Works on any server version the app runs on, embedded or
 * external, without pg_dump (which must match the server's major version).
 */

/**
 * Tables that are not data: the migration log is rebuilt by migrating, not copied; backup_runs
 * records the backups themselves (a snapshot of it always shows the run taking it as running),
 * and a restored instance starts its own history; deferred_object_deletions names objects no row
 * references, which a backup does not hold.
 */
const NOT_DATA = new Set(["_prisma_migrations", "backup_runs", "deferred_object_deletions"]);

export interface TableShape {
  name: string;
  /** Columns COPY reads and writes, in order; generated columns are recomputed by PostgreSQL. */
  columns: string[];
  /** The primary key: dumps are ordered by it (by the whole row without one), so their SHA-256 is reproducible. */
  orderBy: string[];
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // An idle error (the server went away) must not crash the process: the next query fails instead.
  client.on("error", () => {});
  return client;
}

/** The data tables of the public schema, by name. */
export async function tableShapes(client: pg.Client): Promise<TableShape[]> {
  const { rows } = await client.query<{ name: string; columns: string[]; pk: string[] | null }>(`
    SELECT c.relname AS name,
      array(SELECT a.attname::text FROM pg_attribute a
            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
            ORDER BY a.attnum) AS columns,
      (SELECT array(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
                    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum ORDER BY k.n)
       FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS pk
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
    ORDER BY c.relname`);
  return rows.filter((row) => !NOT_DATA.has(row.name)).map((row) => ({ name: row.name, columns: row.columns, orderBy: row.pk ?? [] }));
}

/** Names of the migrations applied, in order. */
export async function appliedMigrations(client: pg.Client): Promise<string[]> {
  const exists = await client.query(`SELECT to_regclass('public._prisma_migrations') IS NOT NULL AS present`);
  if (!exists.rows[0]?.present) return [];
  const { rows } = await client.query<{ migration_name: string }>(
    `SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`,
  );
  return rows.map((row) => row.migration_name);
}

/** A table's rows as COPY text, ordered by its primary key. */
export function copyOut(client: pg.Client, table: TableShape): Readable {
  // Without a primary key, the row's text orders it (a json column has no ordering of its own).
  const order = table.orderBy.length > 0 ? table.orderBy.map((c) => `t.${quoteIdent(c)}`).join(", ") : "t::text";
  const select = table.columns.map((c) => `t.${quoteIdent(c)}`).join(", ");
  return client.query(copyStreams.to(`COPY (SELECT ${select} FROM ${quoteIdent(table.name)} t ORDER BY ${order}) TO STDOUT`));
}

/** Where COPY text for `table` is written; finishes when the server has taken every row. */
export function copyIn(client: pg.Client, table: { name: string; columns: string[] }): Writable {
  const columns = table.columns.map(quoteIdent).join(", ");
  return client.query(copyStreams.from(`COPY ${quoteIdent(table.name)} (${columns}) FROM STDIN`));
}

/**
 * `tables` ordered so that every table comes after the tables its foreign keys reference
 * (self-references are fine: COPY checks them at the end of the statement).
 */
export async function foreignKeyOrder(client: pg.Client, tables: string[]): Promise<string[]> {
  const { rows } = await client.query<{ child: string; parent: string }>(`
    SELECT c.relname AS child, p.relname AS parent
    FROM pg_constraint f
    JOIN pg_class c ON c.oid = f.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
    JOIN pg_class p ON p.oid = f.confrelid
    WHERE f.contype = 'f' AND cn.nspname = 'public' AND f.conrelid <> f.confrelid`);
  const parents = new Map(tables.map((t) => [t, new Set<string>()]));
  for (const { child, parent } of rows) if (parents.has(child) && parents.has(parent)) parents.get(child)!.add(parent);
  const ordered: string[] = [];
  const placed = new Set<string>();
  while (ordered.length < tables.length) {
    const ready = tables.filter((t) => !placed.has(t) && [...parents.get(t)!].every((p) => placed.has(p)));
    if (ready.length === 0) {
      const stuck = tables.filter((t) => !placed.has(t));
      throw new Error(`foreign keys form a cycle between ${stuck.join(", ")}: no load order exists`);
    }
    for (const t of ready) {
      placed.add(t);
      ordered.push(t);
    }
  }
  return ordered;
}

/** Moves every sequence owned by a column past the column's largest value (COPY does not). */
export async function resetSequences(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ table_name: string; column_name: string; sequence: string }>(`
    SELECT t.relname AS table_name, a.attname AS column_name, s.oid::regclass::text AS sequence
    FROM pg_class s
    JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
    WHERE s.relkind = 'S' AND n.nspname = 'public'`);
  for (const row of rows) {
    const column = quoteIdent(row.column_name);
    await client.query(
      `SELECT setval($1::regclass, COALESCE((SELECT max(${column}) FROM ${quoteIdent(row.table_name)}), 1),
                     (SELECT max(${column}) FROM ${quoteIdent(row.table_name)}) IS NOT NULL)`,
      [row.sequence],
    );
  }
}

/** The tables of `tables` that hold at least one row. */
export async function nonEmptyTables(client: pg.Client, tables: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const table of tables) {
    const { rows } = await client.query(`SELECT EXISTS (SELECT 1 FROM ${quoteIdent(table)}) AS present`);
    if (rows[0]?.present) found.push(table);
  }
  return found;
}
