import type { EmbeddedDatabase, ServerExit } from "./embedded-postgres.server";
import type { Logger } from "./logger.server";

export interface WatchdogOptions {
  log: Logger;
  /** The server cannot be brought back: the process must end so a supervisor restarts it. */
  onFatal: (error: Error) => void;
  /** Waits before each restart attempt; their number bounds the attempts. */
  backoffMs?: number[];
  /** How long one attempt may take to start the server. */
  attemptTimeoutMs?: number;
  /** More unexpected exits than this within `crashWindowMs` is a crash loop: give up. */
  maxCrashes?: number;
  crashWindowMs?: number;
}

export interface Watchdog {
  /** Stops watching; waits for a restart in progress, so the caller may then stop the server. */
  stop(): Promise<void>;
}

const DEFAULT_BACKOFF_MS = [0, 500, 1_000, 2_000, 4_000];

/**
 * Restarts the embedded PostgreSQL when it exits without being asked to (killed, crashed), with
 * backoff and one log line per attempt. When every attempt fails, or it keeps dying, it calls
 * onFatal: Coffer never stays up without its database.
 */
export function watchEmbeddedPostgres(server: Pick<EmbeddedDatabase, "onUnexpectedExit" | "restart">, options: WatchdogOptions): Watchdog {
  const { log } = options;
  const backoffMs = options.backoffMs ?? DEFAULT_BACKOFF_MS;
  const maxCrashes = options.maxCrashes ?? 5;
  const crashWindowMs = options.crashWindowMs ?? 5 * 60_000;
  const crashes: number[] = [];
  let stopped = false;
  let recovering: Promise<void> | null = null;
  let wake: (() => void) | null = null;

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const fatal = (reason: string, fields: Record<string, unknown>) => {
    log.error("embedded PostgreSQL cannot be restarted: exiting so that a supervisor restarts Coffer", { reason, ...fields });
    options.onFatal(new Error(`The embedded PostgreSQL cannot be restarted: ${reason}`));
  };

  const recover = async (exit: ServerExit) => {
    const now = Date.now();
    crashes.push(now);
    while (crashes.length > 0 && crashes[0]! < now - crashWindowMs) crashes.shift();
    log.error("embedded PostgreSQL stopped unexpectedly; restarting it", { exitCode: exit.code, signal: exit.signal });
    if (crashes.length > maxCrashes) {
      fatal(`it stopped ${crashes.length} times within ${Math.round(crashWindowMs / 1000)} s`, {});
      return;
    }
    let reason = "";
    for (const [index, delay] of backoffMs.entries()) {
      const attempt = index + 1;
      if (delay > 0) await pause(delay);
      if (stopped) return;
      const started = Date.now();
      try {
        await server.restart(options.attemptTimeoutMs);
        log.info("embedded PostgreSQL restarted", { attempt, ms: Date.now() - started });
        return;
      } catch (error) {
        if (stopped) return;
        reason = error instanceof Error ? error.message : String(error);
        const next = backoffMs[index + 1];
        log.warn("embedded PostgreSQL restart failed", {
          attempt,
          of: backoffMs.length,
          reason,
          ...(next === undefined ? {} : { retryInMs: next }),
        });
      }
    }
    fatal(reason, { attempts: backoffMs.length });
  };

  server.onUnexpectedExit((exit) => {
    if (stopped || recovering) return;
    recovering = recover(exit).finally(() => {
      recovering = null;
    });
  });

  return {
    async stop() {
      stopped = true;
      wake?.();
      await recovering;
    },
  };
}
