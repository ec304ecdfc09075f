import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedDatabase, startEmbeddedPostgres } from "~/services/embedded-postgres.server";
import { freePort } from "./setup/free-port";

const ROOT = path.resolve(import.meta.dirname, "..");

function coffer(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, "bin/coffer.mjs"), ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, ...env } as unknown as NodeJS.ProcessEnv, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

/**
 * Maintenance commands on the embedded database while the server runs. This test process plays
 * the running server: it owns the cluster in DATA_DIR/postgres, on a port other than the
 * configured one, as a server started with another EMBEDDED_PG_PORT would.
 */
describe("coffer commands beside a running server on embedded PostgreSQL", () => {
  let dataDir: string;
  let database: EmbeddedDatabase;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-attach-"));
    fs.chmodSync(dataDir, 0o755);
    database = await startEmbeddedPostgres({ dataDir: path.join(dataDir, "postgres"), port: await freePort() });
  }, 120_000);

  afterAll(async () => {
    await database?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("use the server's cluster instead of refusing, and leave it running", async () => {
    const env = { DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), LOG_LEVEL: "info" };
    const first = await coffer(["fsck", "--json"], env);
    expect(first.stderr).toContain("using the embedded PostgreSQL of the running Coffer server");
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ objects: 0, rows: 0 });
    // Still up and serving: a second command attaches again.
    expect((await coffer(["fsck"], env)).code).toBe(0);
    const pid = Number(fs.readFileSync(path.join(dataDir, "postgres", "postmaster.pid"), "utf8").split("\n")[0]);
    expect(() => process.kill(pid, 0)).not.toThrow();
  }, 120_000);
});
