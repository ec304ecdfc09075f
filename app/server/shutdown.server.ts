import os from "node:os";
import { signalOwnPostmaster } from "~/services/embedded-postgres.server";
import type { Services } from "~/services/index.server";
import type { Logger } from "~/services/logger.server";
import { flushSpans } from "~/services/tracing/state.server";
import type { AppServer } from "./app.server";

/** Past the grace period, how long closing may take before the process gives up and exits 1. */
const STUCK_AFTER_GRACE_MS = 30_000;
/**
 * A signal this soon after the first is that same signal twice: the process group got it, and
 * a wrapper in the group (npm, a shell script) passes it on again.
 */
const REPEATED_SIGNAL_MS = 1_000;

/**
 * SIGTERM or SIGINT shuts the app down gracefully (AppServer.shutdown, then the drivers, the
 * embedded PostgreSQL included) and exits 0; a second signal (a second or more later) exits at
 * once. Each step is one log line, with `ms` since the signal.
 */
export function handleShutdownSignals(options: {
  server: AppServer;
  services: Services;
  closeServices: (services: Services) => Promise<void>;
  log: Logger;
}): void {
  const { server, services, closeServices, log } = options;
  let signalledAt: number | null = null;
  const since = () => Math.round(performance.now() - signalledAt!);
  const step = (name: string, fields: Record<string, unknown> = {}) => log.info(`shutdown: ${name}`, { ms: since(), ...fields });

  const shutdown = async (signal: NodeJS.Signals) => {
    const { shutdownGraceMs: graceMs, shutdownDelayMs: delayMs } = services.config;
    setTimeout(
      () => {
        log.error("shutdown: stuck, exiting", { ms: since() });
        process.exit(1);
      },
      delayMs + graceMs + STUCK_AFTER_GRACE_MS,
    ).unref();
    let exitCode = 0;
    await server
      .shutdown({
        graceMs,
        delayMs,
        step: (name, fields) =>
          step(name, name === "draining" || name === "leaving the load balancer's pool" ? { signal, ...fields } : fields),
      })
      .catch((error) => {
        exitCode = 1;
        log.error("shutdown: closing the server failed", { ms: since(), error });
      });
    const closing = performance.now();
    await closeServices(services);
    step("drivers closed", { tookMs: Math.round(performance.now() - closing) });
    // The last requests' spans are still batched (OTEL_BSP_SCHEDULE_DELAY); no-op without tracing.
    await flushSpans();
    step("complete", { exitCode });
    process.exit(exitCode);
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (signalledAt === null) {
      signalledAt = performance.now();
      void shutdown(signal);
      return;
    }
    if (since() < REPEATED_SIGNAL_MS) {
      log.info("shutdown: repeated signal ignored", { ms: since(), signal });
      return;
    }
    const exitCode = 128 + (os.constants.signals[signal] ?? 15);
    log.warn("shutdown: second signal, exiting now", { ms: since(), signal, exitCode });
    stopEmbeddedPostgresNow(services, log);
    process.exit(exitCode);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

/**
 * Without waiting: asks our embedded PostgreSQL for its fast shutdown, so exiting at once does
 * not orphan it (the next start would stop it anyway).
 */
function stopEmbeddedPostgresNow(services: Services, log: Logger): void {
  const { database } = services.config;
  if (!database.embedded) return;
  try {
    signalOwnPostmaster(database.dataDir);
  } catch (error) {
    log.warn("shutdown: could not signal the embedded PostgreSQL", { error });
  }
}
