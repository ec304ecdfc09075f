import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { MIGRATIONS_DIR, runMigrations } from "~/services/migrate.server";
import { createTestDatabase } from "./support/database";

async function emptyDatabase() {
  const db = await createTestDatabase();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  // Start from nothing, as a brand-new production database would.
  await client.query(`DROP SCHEMA public CASCADE; CREATE SCHEMA public;`);
  await client.end();
  return db.url;
}

describe("migration runner", () => {
  it("applies every migration once and records them the way prisma migrate deploy does", async () => {
    const url = await emptyDatabase();
    const names = fs
      .readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(await runMigrations(url)).toEqual(names);
    expect(await runMigrations(url)).toEqual([]);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const rows = await client.query(
      `SELECT migration_name, checksum, finished_at, applied_steps_count, rolled_back_at FROM _prisma_migrations ORDER BY migration_name`,
    );
    await client.end();
    expect(rows.rows.map((r) => r.migration_name)).toEqual(names);
    for (const row of rows.rows) {
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.applied_steps_count).toBe(1);
      expect(row.rolled_back_at).toBeNull();
    }
  });

  it("refuses to continue when an applied migration was edited, and rolls back a failing one", async () => {
    const url = await emptyDatabase();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-migrations-"));
    fs.mkdirSync(path.join(dir, "001_first"));
    fs.writeFileSync(path.join(dir, "001_first", "migration.sql"), "CREATE TABLE first_table (id int);");
    expect(await runMigrations(url, dir)).toEqual(["001_first"]);

    fs.writeFileSync(path.join(dir, "001_first", "migration.sql"), "CREATE TABLE first_table (id bigint);");
    await expect(runMigrations(url, dir)).rejects.toThrow(/was changed after it was applied/);
    fs.writeFileSync(path.join(dir, "001_first", "migration.sql"), "CREATE TABLE first_table (id int);");

    fs.mkdirSync(path.join(dir, "002_broken"));
    fs.writeFileSync(path.join(dir, "002_broken", "migration.sql"), "CREATE TABLE half_done (id int); SELECT no_such_function();");
    await expect(runMigrations(url, dir)).rejects.toThrow(/Migration 002_broken failed/);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const table = await client.query(`SELECT to_regclass('public.half_done') AS t`);
    await client.end();
    expect(table.rows[0].t).toBeNull();
    await expect(runMigrations(url, dir)).rejects.toThrow(/needs manual repair/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("npm run db:migrate", () => {
  it("migrates DATABASE_URL and reports when it is already up to date", async () => {
    const { spawnSync } = await import("node:child_process");
    const url = await emptyDatabase();
    const run = () =>
      spawnSync("npx", ["tsx", "scripts/migrate.ts"], {
        cwd: path.resolve(import.meta.dirname, ".."),
        env: { ...process.env, DATABASE_URL: url },
        encoding: "utf8",
        timeout: 60_000,
      });
    const first = run();
    expect(first.status).toBe(0);
    expect(first.stdout).toContain("Applied: 20261125000000_init");
    const second = run();
    expect(second.stdout).toContain("Database is up to date.");
  });
});
