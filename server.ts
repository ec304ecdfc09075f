import path from "node:path";
import { loadDevelopmentApp, loadProductionApp } from "./app/server/load-runtime.server";
import { startTracing } from "./app/services/tracing/start.server";

/**
 * Starts Coffer. The app's modules come from the Remix server build (development: from Vite),
 * never from imports of this file, so each exists once in the process.
 *
 * `npm run build` compiles this file to build/start.js, which `npm start` runs with plain node;
 * `npm run dev` runs it from source with tsx.
 */
const BUILD_DIR = import.meta.filename.endsWith(".ts") ? path.resolve(import.meta.dirname, "build") : import.meta.dirname;

async function main() {
  // First: the instrumentations patch express, pg, ioredis and the AWS SDK as the app imports them.
  await startTracing();
  const { runtime, mode } = process.env.NODE_ENV === "production" ? await loadProductionApp(BUILD_DIR) : await loadDevelopmentApp();
  let config;
  try {
    config = runtime.loadConfig();
  } catch (error) {
    if (error instanceof runtime.ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const log = runtime.createLogger(config.logLevel);
  const services = await runtime.createServices(config, log, {
    // A driver that cannot heal (the embedded PostgreSQL will not restart): never stay up broken.
    onFatal: (error) => {
      log.error("exiting: a service failed and cannot recover", { reason: error.message });
      process.exit(1);
    },
  });

  const server = await runtime.createAppServer({ services, mode });
  server.httpServer.listen(config.port, config.host, () => {
    log.info("Coffer is listening", {
      url: `http://localhost:${config.port}`,
      database: config.database.embedded ? "embedded-postgres" : "postgres",
      storage: config.storage.driver,
      search: config.search.driver,
      cache: config.cache.driver,
    });
  });

  runtime.handleShutdownSignals({ server, services, closeServices: runtime.closeServices, log });
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
