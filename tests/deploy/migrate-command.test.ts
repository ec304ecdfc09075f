// build/migrate.js, the command the Kubernetes migration Job and Fly's release command run from the
// image: it applies the migrations to an empty database once, and with --external-only it leaves
// an embedded setup alone. Needs the production build (`npm run build`).
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { MIGRATIONS_DIR } from "~/services/migrate.server";
import { createTestDatabase } from "../support/database";

const REPO = path.resolve(import.meta.dirname, "../..");
const MIGRATE = path.join(REPO, "build/migrate.js");

async function migrate(env: Record<string, string>, ...args: string[]) {
  if (!fs.existsSync(MIGRATE)) throw new Error("No build/migrate.js: run `npm run build` first.");
  // Run from elsewhere, as an image's working directory may differ: the migrations are found from the script.
  return promisify(execFile)(process.execPath, [MIGRATE, ...args], {
    cwd: os.tmpdir(),
    env: { PATH: process.env.PATH ?? "", NODE_ENV: "production", ...env },
  });
}

describe("build/migrate.js", () => {
  it("applies every pending migration to DATABASE_URL, then finds nothing to do", async () => {
    const { url } = await createTestDatabase();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query("DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
    const names = fs.readdirSync(MIGRATIONS_DIR).filter((name) => fs.statSync(path.join(MIGRATIONS_DIR, name)).isDirectory());
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-migrate-"));
    try {
      const first = await migrate({ DATABASE_URL: url, DATA_DIR: dataDir }, "--external-only");
      expect(first.stdout.trim()).toBe(`Applied: ${names.sort().join(", ")}`);
      const { rows } = await client.query("SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL");
      expect(rows[0].n).toBe(names.length);
      const second = await migrate({ DATABASE_URL: url, DATA_DIR: dataDir });
      expect(second.stdout.trim()).toBe("Database is up to date.");
    } finally {
      await client.end();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("leaves an embedded setup to the server with --external-only", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-migrate-"));
    try {
      const { stdout } = await migrate({ DATA_DIR: dataDir }, "--external-only");
      expect(stdout).toContain("No DATABASE_URL");
      expect(fs.readdirSync(dataDir)).toEqual([]);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
