import type { Config } from "~/config.server";

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const LEVELS = ["debug", "info", "warn", "error"] as const;
const SECRET_FIELD = /pass|secret|token|key|cookie|authorization/i;

/** One JSON object per line on stdout/stderr; fields whose names look secret are redacted. */
export function createLogger(
  level: Config["logLevel"],
  write = (line: string, isError: boolean) => (isError ? process.stderr : process.stdout).write(line + "\n"),
): Logger {
  const threshold = LEVELS.indexOf(level);
  const log =
    (lvl: (typeof LEVELS)[number]) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      if (LEVELS.indexOf(lvl) < threshold) return;
      const safe: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(fields)) {
        safe[k] = SECRET_FIELD.test(k) ? "[redacted]" : v instanceof Error ? { name: v.name, message: v.message } : v;
      }
      write(JSON.stringify({ time: new Date().toISOString(), level: lvl, message, ...safe }), lvl === "error" || lvl === "warn");
    };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}
