/**
 * What server.ts needs to start the app. app/entry.server.tsx re-exports it, so server.ts takes
 * these from the Remix server build (or, in development, from Vite's module graph) and the
 * process runs one copy of the app's modules instead of two.
 */
export { ConfigError, loadConfig } from "~/config.server";
export { createAppServer } from "./app.server";
export { handleShutdownSignals } from "./shutdown.server";
export { closeServices, createServices } from "~/services/index.server";
export { createLogger } from "~/services/logger.server";
