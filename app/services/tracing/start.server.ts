import { ConfigError, loadConfig } from "~/config.server";

/**
 * Starts tracing when the OTEL_* variables ask for it, before anything else of the app is loaded
 * (server.ts calls it first). Off, it costs one look at the environment: the SDK is never imported.
 * An invalid configuration starts nothing here; the app's own loadConfig reports it and exits.
 */
export async function startTracing(env: Record<string, string | undefined> = process.env): Promise<boolean> {
  let config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return false;
    throw error;
  }
  if (!config.tracing) return false;
  const { startSdk } = await import("./sdk.server");
  await startSdk(config.tracing, config.trustProxy);
  return true;
}
