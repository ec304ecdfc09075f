import { ConfigError, loadConfig } from "~/config.server";
import { createLogger } from "~/services/logger.server";

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
  const log = createLogger(config.logLevel);
  await startSdk(config.tracing, config.trustProxy, log);
  const { endpoint, protocol, sampler, samplerRatio, serviceName } = config.tracing;
  log.info("tracing on", {
    // The origin alone: a path or query could carry a hosted backend's key.
    endpoint: new URL(endpoint).origin,
    protocol,
    sampler: sampler.endsWith("traceidratio") ? `${sampler} ${samplerRatio}` : sampler,
    serviceName,
  });
  return true;
}
