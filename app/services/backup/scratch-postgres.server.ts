import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEmbeddedPostgres } from "../embedded-postgres.server";
import { freePort } from "../free-port.server";

export interface ScratchPostgres {
  /** A superuser connection to its empty database. */
  url: string;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/**
 * A throwaway embedded PostgreSQL in its own temporary directory on a free port: where `coffer
 * verify` restores a backup, apart from the instance's own database.
 */
export async function startScratchPostgres(parent = os.tmpdir()): Promise<ScratchPostgres> {
  const dir = fs.mkdtempSync(path.join(parent, "coffer-verify-"));
  try {
    const server = await startEmbeddedPostgres({ dataDir: path.join(dir, "data"), port: await freePort(), database: "coffer_verify" });
    return {
      url: server.url,
      async stop() {
        await server.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
