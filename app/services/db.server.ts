import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import type { Config } from "~/config.server";
import { PrismaClient } from "~/generated/prisma/client";
import { measureQuery } from "./database-metrics.server";
import { createDatabaseBreaker, describeDatabaseError, guardPrisma, type WriteHook } from "./database-outage.server";
import type { Breaker, CircuitState } from "./dependency.server";
import type { Logger } from "./logger.server";
import { walStagingDir } from "./backup/wal-archive.server";
import { runMigrations } from "./migrate.server";
import { watchEmbeddedPostgres, type Watchdog } from "./postgres-watchdog.server";

export type Database = PrismaClient;

export interface DatabaseHandle {
  /** Every call goes through the database breaker: an outage rejects with a 503 error. */
  prisma: PrismaClient;
  url: string;
  embedded: boolean;
  /** Rejects with a one-line reason when the database does not answer. */
  health(): Promise<void>;
  /** The server's version, e.g. "18.1"; asked of the database itself, also while the breaker is open. */
  serverVersion(): Promise<string>;
  /** The state of the breaker in front of every database call. */
  circuitState(): CircuitState;
  /**
   * Calls `listener` after each model write through `prisma` succeeds (raw SQL is not seen), so
   * that what this process caches of the database (the session cache) can be dropped. Returns
   * a function that removes the listener.
   */
  onWrite(listener: WriteHook): () => void;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** The embedded server died and cannot be restarted. */
  onFatal?: (error: Error) => void;
  /**
   * With the embedded database: when a running Coffer server already runs it on DATA_DIR, connect
   * to that one instead of refusing to start (maintenance commands). It is neither watched nor stopped.
   */
  attachToRunning?: boolean;
}

/** A new connection that the server has not accepted within this time counts as an outage. */
const CONNECT_TIMEOUT_MS = 1_500;

/**
 * Bounds how long opening a connection may take. Set on the client, not the pool, where the same
 * option would also bound the wait for a busy pool's free connection, which transactions queued
 * on a storage lock legitimately spend seconds in.
 */
class BoundedClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super({ ...(typeof config === "string" ? { connectionString: config } : config), connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  }
}

export function createPrismaClient(url: string): PrismaClient {
  return new PrismaClient({
    adapter: new PrismaPg({ connectionString: url, Client: BoundedClient, keepAlive: true } as pg.PoolConfig),
  });
}

/** Connects to DATABASE_URL or starts the embedded server, then applies pending migrations. */
export async function openDatabase(config: Config, log: Logger, options: OpenDatabaseOptions = {}): Promise<DatabaseHandle> {
  const embeddedModule = config.database.embedded ? await import("./embedded-postgres.server") : null;
  const attached =
    config.database.embedded && options.attachToRunning ? embeddedModule!.runningEmbeddedPostgresUrl(config.database.dataDir) : null;
  const embedded =
    config.database.embedded && !attached
      ? await embeddedModule!.startEmbeddedPostgres({
          dataDir: config.database.dataDir,
          port: config.database.port,
          // Point-in-time recovery: on by default once a backup target is configured.
          walStagingDir: config.backup?.walArchive ? walStagingDir(config.dataDir) : undefined,
        })
      : null;
  const url = attached ?? (embedded ? embedded.url : (config.database as { url: string }).url);
  if (attached) log.info("using the embedded PostgreSQL of the running Coffer server");
  try {
    const applied = await runMigrations(url);
    for (const name of applied) log.info(`applied migration ${name}`);
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  const watchdog: Watchdog | null = embedded
    ? watchEmbeddedPostgres(embedded, {
        log,
        onFatal:
          options.onFatal ??
          ((error) => {
            log.error("exiting: the database cannot recover", { reason: error.message });
            process.exit(1);
          }),
      })
    : null;
  const raw = createPrismaClient(url);
  const breaker: Breaker = createDatabaseBreaker((state) => {
    if (state === "open") log.warn("database unreachable: answering 503 until it is back", { breaker: state });
    else if (state === "closed") log.info("database reachable again", { breaker: state });
  });
  const writeListeners = new Set<WriteHook>();
  const afterWrite: WriteHook = (model, operation, args) => {
    for (const listener of writeListeners) listener(model, operation, args);
  };
  return {
    prisma: guardPrisma(raw, breaker, measureQuery, afterWrite),
    url,
    embedded: config.database.embedded,
    async health() {
      // The unguarded client: readiness asks the database itself, also while the breaker is open.
      await raw.$queryRaw`SELECT 1`.catch((error: unknown) => {
        throw new Error(describeDatabaseError(error));
      });
    },
    async serverVersion() {
      const [row] = await raw.$queryRaw<Array<{ server_version: string }>>`SHOW server_version`.catch((error: unknown) => {
        throw new Error(describeDatabaseError(error));
      });
      return row?.server_version ?? "";
    },
    circuitState: () => breaker.state,
    onWrite(listener) {
      writeListeners.add(listener);
      return () => writeListeners.delete(listener);
    },
    async close() {
      // First the watchdog, so stopping the server is never taken for a crash.
      await watchdog?.stop();
      breaker.shutdown();
      await raw.$disconnect();
      await embedded?.stop();
    },
  };
}
