import path from "node:path";
import { pathToFileURL } from "node:url";
import type { ServerBuild } from "@remix-run/node";
import { ConfigError, loadConfig } from "./app/config.server";
import { createAppServer } from "./app/server/app.server";
import { closeServices, createServices } from "./app/services/index.server";
import { createLogger } from "./app/services/logger.server";

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const log = createLogger(config.logLevel);
  const services = await createServices(config, log);

  const buildDir = path.resolve(import.meta.dirname, "build");
  const mode = config.isProduction
    ? {
        kind: "production" as const,
        build: (await import(pathToFileURL(path.join(buildDir, "server/index.js")).href)) as ServerBuild,
        clientDir: path.join(buildDir, "client"),
      }
    : { kind: "development" as const };
  const server = await createAppServer({ services, mode });
  server.httpServer.listen(config.port, config.host, () => {
    log.info("Coffer is listening", {
      url: `http://localhost:${config.port}`,
      database: config.database.embedded ? "embedded-postgres" : "postgres",
      storage: config.storage.driver,
      search: config.search.driver,
      cache: config.cache.driver,
    });
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal });
    const force = setTimeout(() => process.exit(1), 15_000).unref();
    await server.close().catch((error) => log.error("closing server failed", { error }));
    await closeServices(services);
    clearTimeout(force);
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
