import type { PrismaClient } from "~/generated/prisma/client";
import { type Breaker, createBreaker, DependencyUnavailableError, isDependencyUnavailable } from "./dependency.server";

/** Prisma's codes for "the server is not there": cannot reach, timed out, closed the connection, no pooled connection. */
const OUTAGE_PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024", "P2037"]);
/** The driver adapter's kinds for the same (DatabaseNotReachable is ECONNREFUSED or an unknown host). */
const OUTAGE_ADAPTER_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);
const OUTAGE_SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);
/**
 * SQLSTATE classes and codes of a server going away: 08 connection exception, 57P01 admin
 * shutdown, 57P02 crash shutdown, 57P03 cannot connect now (starting up, recovering), 53300 too many connections.
 */
const OUTAGE_SQLSTATE = /^(08...|57P0[123]|53300)$/;
/** node-postgres and pg-pool say these in plain Errors without a code ("timeout expired": a connect timeout). */
const OUTAGE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|^timeout expired$|not queryable|Can't reach database server|Server has closed the connection|Timed out fetching a new connection/i;

/**
 * True when `error` says the database is down or unreachable (refused or dropped connections,
 * connect and pool timeouts, a server shutting down or still starting), not that a query was
 * wrong (constraint violations, missing rows, syntax).
 */
export function isDatabaseOutage(error: unknown): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const current = queue.shift();
    if (current === null || typeof current !== "object" || seen.has(current) || seen.size > 8) continue;
    seen.add(current);
    if (isDependencyUnavailable(current)) return false;
    const fields = current as {
      code?: unknown;
      kind?: unknown;
      originalCode?: unknown;
      message?: unknown;
      cause?: unknown;
      meta?: unknown;
    };
    const code = typeof fields.code === "string" ? fields.code : undefined;
    if (code && (OUTAGE_PRISMA_CODES.has(code) || OUTAGE_SOCKET_CODES.has(code) || OUTAGE_SQLSTATE.test(code))) return true;
    if (typeof fields.kind === "string" && OUTAGE_ADAPTER_KINDS.has(fields.kind)) return true;
    if (fields.kind === "postgres" && typeof code === "string" && OUTAGE_SQLSTATE.test(code)) return true;
    if (typeof fields.originalCode === "string" && OUTAGE_SQLSTATE.test(fields.originalCode)) return true;
    // Known request errors (a unique violation, a missing row) carry a P2xxx code: their text is theirs.
    const known = code !== undefined && /^P2\d{3}$/.test(code) && code !== "P2010";
    if (!known && typeof fields.message === "string" && OUTAGE_MESSAGE.test(fields.message)) return true;
    queue.push(fields.cause, (fields.meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError);
  }
  return false;
}

/**
 * One line about a database error for the log and /readyz: the last line of Prisma's message
 * (the earlier ones quote the calling code), without connection strings.
 */
export function describeDatabaseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith("→") && !/^\d+\s/.test(line) && !/invocation/.test(line));
  const line = (lines.at(-1) ?? "unknown database error").replace(/^Raw query failed\. Code: `[^`]*`\. Message: /, "");
  // node-postgres's words for its connect timeout.
  if (line === "timeout expired") return "The database did not accept a connection in time";
  return line
    .replace(/`/g, "")
    .replace(/\w+:\/\/\S+/g, "<url>")
    .slice(0, 200);
}

/** A restarted embedded server is back within a second or two: try again soon. */
const RESET_MS = 2_000;
const RETRY_AFTER_SECONDS = RESET_MS / 1000;

/** The breaker for every database call: a refused or dropped connection costs a fast 503, not a hang. */
export function createDatabaseBreaker(onStateChange?: (state: "open" | "half-open" | "closed") => void): Breaker {
  return createBreaker("database", {
    isOutage: isDatabaseOutage,
    // Statements may wait long on purpose (advisory locks, transactions of 60 s and more): time
    // bounds come from the pool's connection timeout instead (see createPrismaClient).
    timeoutMs: false,
    resetMs: RESET_MS,
    onStateChange,
  });
}

/** Runs a query that passed the breaker (`model` undefined for raw SQL): where queries are measured. */
export type QueryHook = (model: string | undefined, operation: string, run: () => Promise<unknown>) => Promise<unknown>;

/** A model write that succeeded (`args` as the caller passed them), for caches of what it may change. */
export type WriteHook = (model: string, operation: string, args: unknown) => void;

const WRITE_OPERATIONS = new Set([
  "create",
  "createMany",
  "createManyAndReturn",
  "update",
  "updateMany",
  "updateManyAndReturn",
  "upsert",
  "delete",
  "deleteMany",
]);

/**
 * `prisma` with every operation behind `breaker`: model queries, raw queries and each statement
 * of a transaction through a query extension, and the start of interactive transactions (which
 * no extension sees) by wrapping `$transaction`. An outage rejects with DependencyUnavailableError
 * (503); other errors pass unchanged.
 */
export function guardPrisma(
  prisma: PrismaClient,
  breaker: Breaker,
  around: QueryHook = (_model, _operation, run) => run(),
  afterWrite?: WriteHook,
): PrismaClient {
  const extended = prisma.$extends({
    query: {
      $allOperations({ model, operation, args, query }) {
        const result = breaker.run(() => around(model, operation, () => query(args)));
        if (!afterWrite || !model || !WRITE_OPERATIONS.has(operation)) return result;
        return result.then((value) => {
          afterWrite(model, operation, args);
          return value;
        });
      },
    },
  }) as unknown as PrismaClient;
  const transaction = (...args: unknown[]) => {
    if (breaker.isOpen) return Promise.reject(new DependencyUnavailableError("database", RETRY_AFTER_SECONDS));
    return (extended.$transaction as (...a: unknown[]) => Promise<unknown>)(...args).catch((error: unknown) => {
      if (isDatabaseOutage(error)) throw new DependencyUnavailableError("database", RETRY_AFTER_SECONDS, { cause: error });
      throw error;
    });
  };
  return new Proxy(extended, {
    get(target, property, receiver) {
      if (property === "$transaction") return transaction;
      return Reflect.get(target, property, receiver);
    },
  });
}
