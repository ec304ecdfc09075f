import type { Options as S3StoreOptions } from "@tus/s3-store";
import type { Logger } from "~/services/logger.server";

export type SdkLogger = NonNullable<S3StoreOptions["s3ClientConfig"]["logger"]>;

/**
 * The AWS SDK's own log output, as debug lines in Coffer's log. Without a logger the SDK writes
 * some of it to the console: a warning "An error was encountered in a non-retryable streaming
 * request" for every part request that ends early, which Coffer does on purpose when a client's
 * upload connection is cut. Failures that matter reach Coffer as errors of the calls, and are
 * reported by Coffer's own handling of them.
 */
export function sdkLogger(log: Logger): SdkLogger {
  const write =
    (sdkLevel: string) =>
    (...content: unknown[]) =>
      log.debug(`S3 client: ${describe(content)}`, { sdkLevel, ...fieldsOf(content) });
  return { trace: write("trace"), debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

function describe(content: unknown[]): string {
  const words = content.flatMap((item) => {
    if (typeof item === "string") return [item.trim()];
    if (item instanceof Error) return [];
    const command = commandOf(item);
    return command ? [command.commandName] : [];
  });
  return words.join(" ") || "(no message)";
}

/**
 * The SDK logs each command as { clientName, commandName, input, output | error, metadata }. The
 * input holds request bodies (streams), so only names, status and the error are kept.
 */
function fieldsOf(content: unknown[]): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const item of content) {
    if (item instanceof Error) fields.error = item;
    const command = commandOf(item);
    if (!command) continue;
    fields.command = command.commandName;
    if (command.error instanceof Error) fields.error = command.error;
    const metadata = command.metadata as { httpStatusCode?: unknown; attempts?: unknown } | undefined;
    if (typeof metadata?.httpStatusCode === "number") fields.status = metadata.httpStatusCode;
    if (typeof metadata?.attempts === "number") fields.attempts = metadata.attempts;
  }
  return fields;
}

function commandOf(item: unknown): { commandName: string; error?: unknown; metadata?: unknown } | null {
  if (typeof item !== "object" || item === null || !("commandName" in item)) return null;
  const { commandName } = item as { commandName: unknown };
  return typeof commandName === "string" ? (item as { commandName: string }) : null;
}

/** Drops everything: for stores made outside the app (scripts, tests) without a log. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
