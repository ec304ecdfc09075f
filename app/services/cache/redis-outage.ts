/** Socket errors that mean the Redis server cannot be reached (or stopped answering). */
const OUTAGE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** What ioredis rejects a command with while the connection is down, and Redis's own "not now" replies. */
const OUTAGE_MESSAGES = [
  /^Connection is closed/,
  /^Stream isn't writeable/,
  /^Command timed out/,
  /^Reached the max retries per request limit/,
  /^connect ETIMEDOUT/,
  /^LOADING /,
  /^MASTERDOWN /,
  /^TRYAGAIN /,
];

/**
 * True for an error that says Redis is down or unreachable, as opposed to a refused command (a
 * wrong type, a script error): only the first should open the circuit and answer 503.
 */
export function isRedisOutage(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === "MaxRetriesPerRequestError") return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && OUTAGE_CODES.has(code)) return true;
  return OUTAGE_MESSAGES.some((pattern) => pattern.test(error.message));
}

/** Rejects a command at once while the connection is known to be down, instead of queueing it. */
export class RedisDisconnectedError extends Error {
  constructor(address: string) {
    super(`Connection is closed: Redis at ${address} is unreachable`);
    this.name = "RedisDisconnectedError";
  }
}
