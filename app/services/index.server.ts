import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { Config } from "~/config.server";
import type { PrismaClient } from "~/generated/prisma/client";
import { createCache } from "./cache/index.server";
import type { Cache } from "./cache/types";
import { openDatabase, type DatabaseHandle } from "./db.server";
import type { JobQueue } from "./job-queue.server";
import { createLogger, type Logger } from "./logger.server";
import type { Mailer } from "./mail.server";
import { DeferredNotifier } from "./notifier.server";
import { createSearchIndex } from "./search/index.server";
import type { SearchIndex } from "./search/types";
import { createTieredObjectStore, type StorageTiers, withEncryption } from "./storage/index.server";
import type { ObjectStore } from "./storage/types";

/**
 * Ends unfinished uploads at once instead of leaving them to the periodic expiry cleanup (an
 * account being deleted). Registered on Services by the app server, which owns the tus store
 * (built by server/tus-host.server).
 */
export interface UploadTerminator {
  /** Never throws: what the store could not remove is logged and left to the periodic cleanup. */
  terminate(uploadIds: string[]): Promise<{ terminated: number; failed: number }>;
  /**
   * Asks requests still writing to these uploads to stop (a deactivated account), keeping what
   * they stored so the upload can resume later. Never throws.
   */
  stop(uploadIds: string[]): Promise<void>;
  /** Lets the tus store sweep every expired upload it still knows; how many it removed. */
  deleteExpired(): Promise<number>;
}

export interface Services {
  config: Config;
  log: Logger;
  db: DatabaseHandle;
  prisma: PrismaClient;
  storage: ObjectStore;
  /** The stores under `storage` (below encryption): the cold tier and a migration's source, when configured. */
  storageTiers: StorageTiers;
  search: SearchIndex;
  cache: Cache;
  notifier: DeferredNotifier;
  /** Null when SMTP_URL is unset: password reset by email is then off. */
  mailer: Mailer | null;
  sessionSecret: string;
  /**
   * Ends unfinished uploads at once. Set by the app server, which owns the tus data store;
   * absent without one (scripts), when their data is left to the expiry sweep.
   */
  uploadTerminator?: UploadTerminator;
  /** The durable job queue, once the background jobs run in this process (domain/jobs startJobs). */
  jobs?: JobQueue;
}

export interface ServicesOptions {
  /**
   * A driver whose service failed and cannot heal (the embedded PostgreSQL that will not restart)
   * reports it here, once; the process must then exit non-zero so that a supervisor restarts it.
   * Without it, the driver logs the reason and exits with code 1 itself.
   */
  onFatal?: (error: Error) => void;
  /** Maintenance commands: share the embedded database of a Coffer server running on DATA_DIR (see openDatabase). */
  attachToRunning?: boolean;
}

/** Opens every configured driver. Fails fast, naming the service that could not be reached. */
export async function createServices(
  config: Config,
  log: Logger = createLogger(config.logLevel),
  options: ServicesOptions = {},
): Promise<Services> {
  fs.mkdirSync(config.dataDir, { recursive: true });
  const opened: Array<() => Promise<void>> = [];
  try {
    const db = await step("database", () =>
      openDatabase(config, log, { onFatal: options.onFatal, attachToRunning: options.attachToRunning }),
    );
    opened.push(() => db.close());
    const tiered = await createTieredObjectStore(config, log);
    const storage = withEncryption(tiered.store, config.encryption, db.prisma);
    await step("object storage", () => storage.init());
    const cache = await createCache(config.cache, { log });
    opened.push(() => cache.close());
    await step("cache", () => cache.health());
    const search = await createSearchIndex(config.search, db.prisma, log);
    await step("search", () => search.init());
    // nodemailer is imported only when SMTP is configured.
    const mailer = config.mail ? (await import("./mail.server")).createMailer(config.mail) : null;
    if (!config.mail) log.warn("SMTP_URL is not set: password reset by email is off. Set SMTP_URL, MAIL_FROM and APP_URL to enable it.");
    return {
      config,
      log,
      db,
      prisma: db.prisma,
      storage,
      storageTiers: tiered.tiers,
      search,
      cache,
      notifier: new DeferredNotifier(),
      mailer,
      sessionSecret: config.sessionSecret ?? persistentSecret(config.dataDir),
    };
  } catch (error) {
    for (const close of opened.reverse()) await close().catch(() => {});
    throw error;
  }
}

export async function closeServices(services: Services): Promise<void> {
  services.mailer?.close();
  await services.cache.close().catch((error) => services.log.error("closing cache failed", { error }));
  await services.db.close().catch((error) => services.log.error("closing database failed", { error }));
}

export class StartupError extends Error {
  constructor(service: string, cause: unknown) {
    super(`Could not start ${service}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "StartupError";
  }
}

async function step<T>(service: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw new StartupError(service, error);
  }
}

/**
 * Without SESSION_SECRET a random secret is generated once and kept in DATA_DIR, so a fresh
 * install is secure and sessions survive restarts.
 */
function persistentSecret(dataDir: string): string {
  const file = path.join(dataDir, "session-secret");
  if (!fs.existsSync(file)) fs.writeFileSync(file, randomBytes(32).toString("hex"), { mode: 0o600 });
  return fs.readFileSync(file, "utf8").trim();
}
