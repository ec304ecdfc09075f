import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import path from "node:path";
import pg from "pg";
import type { TestApp } from "./app";

const ROOT = path.resolve(import.meta.dirname, "../..");

export const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

export const newBackupKey = () => randomBytes(32).toString("base64");

/**
 * Every table of the public schema (the migration log aside: a restore rebuilds it by migrating)
 * with its row count and a hash of its rows in a fixed order, computed by PostgreSQL itself and
 * not by the backup code under test.
 */
export async function rowHashes(databaseUrl: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ name: string }>(
      `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_prisma_migrations' ORDER BY 1`,
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

/** Runs `npx coffer …` (bin/coffer.mjs) with exactly `env` (and PATH). */
export function runCoffer(env: Record<string, string>, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, "bin/coffer.mjs"), ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, ...env } as unknown as NodeJS.ProcessEnv, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

/** The app's environment without the database and data directory (to point a command elsewhere). */
export function envWithout(app: TestApp, ...names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(app.env).filter(([name]) => !names.includes(name)));
}
