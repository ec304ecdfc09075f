import { isDependencyUnavailable } from "~/services/dependency.server";
import { StorageUnavailableError } from "./types";

/** Network failures of the connection to an S3 server (refused, reset, cut, timed out, no route). */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
]);

/**
 * The store's disk (or its mount) is gone or broken: the directory replaced by a file or
 * unmounted under us, an I/O error, a read-only remount, a dead network filesystem. A missing
 * object (ENOENT) or a full disk is not an outage of the whole store.
 */
const DISK_CODES = new Set(["ENOTDIR", "EIO", "EROFS", "ESTALE", "ENOTCONN", "ENXIO", "ENODEV"]);

/** S3 answers that mean the server is down or overloaded, not that the request was wrong. */
const S3_OUTAGE_CODES = new Set(["ServiceUnavailable", "SlowDown", "InternalError", "RequestTimeout", "TimeoutError"]);

/**
 * True for an error meaning the object store cannot be used right now (network failures,
 * timeouts, S3 5xx, a broken disk); false for a missing key, a bad range, a refused request.
 */
export function isStorageOutage(error: unknown): boolean {
  if (error === null || typeof error !== "object") return false;
  if (isDependencyUnavailable(error) || error instanceof StorageUnavailableError) return true;
  const { code, name, message, $metadata, errors } = error as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    errors?: unknown;
  };
  if (typeof code === "string" && (NETWORK_CODES.has(code) || DISK_CODES.has(code) || S3_OUTAGE_CODES.has(code))) return true;
  if (typeof name === "string" && S3_OUTAGE_CODES.has(name)) return true;
  // minio names only the statuses it knows (403, 404, 503…); an answer without a body and with
  // any other status (a 500, 502 or 504 from the server or a proxy in front of it, a failed HEAD)
  // reaches us with no code and no message: the server is in trouble, not the request.
  if (name === "S3Error" && code === "" && message === "") return true;
  // The AWS SDK puts the HTTP status of S3's answer here (minio maps 503 to SlowDown above).
  const status = $metadata?.httpStatusCode;
  if (typeof status === "number" && status >= 500 && status !== 501) return true;
  if (typeof message === "string" && /socket hang up|other side closed/i.test(message)) return true;
  // Node's connection attempts to every address of a host fail together as one AggregateError.
  if (Array.isArray(errors)) return errors.some(isStorageOutage);
  const cause = (error as { cause?: unknown }).cause;
  return cause !== error && cause instanceof Error && isStorageOutage(cause);
}
