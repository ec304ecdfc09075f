import type { Config } from "../../app/config.server";
import { closeServices, createServices, type Services } from "../../app/services/index.server";
import { createLogger } from "../../app/services/logger.server";

/** What every `coffer` subcommand shares. */
export const EXIT = { ok: 0, problems: 1, usage: 2, failed: 3 } as const;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

/**
 * Runs `work` on the app's services, logging to stderr (stdout holds the result), with a signal
 * that Ctrl-C or SIGTERM aborts, so long work stops between batches and can be run again.
 */
export async function withInterruptibleServices<T>(
  config: Config,
  work: (services: Services, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const log = createLogger(config.logLevel, (line) => process.stderr.write(`${line}\n`));
  const services = await createServices(config, log);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop).once("SIGTERM", stop);
  try {
    return await work(services, controller.signal);
  } finally {
    process.off("SIGINT", stop).off("SIGTERM", stop);
    await closeServices(services);
  }
}
