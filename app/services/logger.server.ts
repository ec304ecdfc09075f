import { isSpanContextValid, trace } from "@opentelemetry/api";
import { pino } from "pino";
import type { Config } from "~/config.server";
import { currentLogContext } from "./log-context.server";

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

type Level = keyof Logger;

/** Receives each line (one JSON object, no newline); `isError` for warn and error (stderr by default). */
export type LogWriter = (line: string, isError: boolean) => void;

const LEVEL_VALUES: Record<Level, number> = { debug: 20, info: 30, warn: 40, error: 50 };
const REDACTED = "[redacted]";
/** Fields whose names look secret are redacted whatever they hold. */
const SECRET_FIELD = /pass|secret|token|key|cookie|authorization/i;
/**
 * Secrets inside known shapes, by pino's path-based redaction: request headers a call site might
 * pass on. (Fixed paths cost nothing unless the line has that field; wildcards would cost every line.)
 */
const NESTED_SECRETS = ["headers", "req.headers", "request.headers", "response.headers"].flatMap((headers) =>
  ["cookie", "authorization", '["set-cookie"]', '["x-api-key"]', '["proxy-authorization"]'].map((name) =>
    name.startsWith("[") ? `${headers}${name}` : `${headers}.${name}`,
  ),
);

/**
 * One JSON object per line: `level` (debug|info|warn|error), `time` (ISO 8601), the request's
 * `request_id`, `route` and `user_id` and the active span's `trace_id`/`span_id` when there are
 * any, the fields, and `message`. Fields whose names look secret are redacted; an Error becomes
 * `{ name, message, code }`, with its `stack` on error lines. Lines go to stdout, warn and error
 * to stderr, unless `write` takes them (tests).
 */
export function createLogger(level: Config["logLevel"], write?: LogWriter): Logger {
  const logger = pino(
    {
      level,
      base: null,
      messageKey: "message",
      timestamp: isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: NESTED_SECRETS, censor: REDACTED },
      // One pass builds the line's fields: the request's, then the call's, made safe.
      mixin: (fields, levelValue) => lineFields(fields as Record<string, unknown>, levelValue >= LEVEL_VALUES.error),
      mixinMergeStrategy: (_fields, line) => line,
    },
    lineStream(write),
  );
  const threshold = LEVEL_VALUES[level];
  const at =
    (lvl: Level) =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (LEVEL_VALUES[lvl] < threshold) return;
      logger[lvl](fields ?? {}, message);
    };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/**
 * Personal access tokens (`coffer_pat_…`, app/domain/tokens/token-format.ts) wherever they
 * appear in a line: a URL, an error message, a field of any name. The cheap `includes` keeps
 * the regular expression off the lines (nearly all) that hold none.
 */
function redactAccessTokens(line: string): string {
  return line.includes("coffer_pat_") ? line.replace(/coffer_pat_[A-Za-z0-9_-]*/g, `coffer_pat_${REDACTED}`) : line;
}

let isoSecond = Number.NaN;
let isoPrefix = "";

/**
 * pino's `time` field, ISO 8601 as Date#toISOString writes it, which costs more than the rest of a
 * line: the part up to the second is formatted once a second.
 */
function isoTime(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const ms = now - second * 1000;
  return `,"time":"${isoPrefix}${ms < 10 ? "00" : ms < 100 ? "0" : ""}${ms}Z"`;
}

const secretNames = new Map<string, boolean>();

function isSecretName(name: string): boolean {
  let secret = secretNames.get(name);
  if (secret === undefined) {
    secret = SECRET_FIELD.test(name);
    // Field names are a fixed set written in the code; the cap only guards against a caller passing data as names.
    if (secretNames.size < 10_000) secretNames.set(name, secret);
  }
  return secret;
}

/**
 * The request's `request_id`, `route` and `user_id`, the active span's `trace_id`/`span_id`, then
 * the call's fields with secrets redacted and Errors serialised. Called for every line written, so
 * it stays cheap; a new object each time (pino writes it out as is).
 */
function lineFields(fields: Record<string, unknown>, isError: boolean): Record<string, unknown> {
  const line: Record<string, unknown> = {};
  const context = currentLogContext();
  if (context) {
    line.request_id = context.requestId;
    line.route = context.route;
    if (context.userId) line.user_id = context.userId;
  }
  const span = trace.getActiveSpan()?.spanContext();
  if (span && isSpanContextValid(span)) {
    line.trace_id = span.traceId;
    line.span_id = span.spanId;
  }
  // An explicit `stack` field (some call sites pass one) is not repeated inside the error.
  const withStack = isError && fields.stack === undefined;
  for (const key in fields) {
    const value = fields[key];
    line[key] = isSecretName(key) ? REDACTED : value instanceof Error ? serializeError(value, withStack) : value;
  }
  return line;
}

function serializeError(error: Error, withStack: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { name: error.name, message: error.message };
  const code = (error as { code?: unknown }).code;
  // Always a string, so that log stores map the field to one type.
  if (typeof code === "string" || typeof code === "number") out.code = String(code);
  if (withStack && error.stack) out.stack = error.stack;
  return out;
}

/**
 * pino's destination: process.stdout/stderr.write (not pino's own fd writer, so that whatever
 * replaces or watches those streams, as the tests do, sees every line). pino sets `lastLevel`
 * on a stream that asks for its metadata.
 */
function lineStream(write: LogWriter | undefined) {
  return {
    [Symbol.for("pino.metadata")]: true,
    lastLevel: 0,
    write(written: string) {
      const line = redactAccessTokens(written);
      const isError = this.lastLevel >= LEVEL_VALUES.warn;
      if (write) write(line.endsWith("\n") ? line.slice(0, -1) : line, isError);
      else (isError ? process.stderr : process.stdout).write(line);
    },
  };
}
