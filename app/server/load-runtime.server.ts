import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { ServerBuild } from "@remix-run/node";
import type { AppServerOptions } from "./app.server";
import type * as Runtime from "./runtime.server";

/**
 * Loads the app for server.ts (and the benchmark server) without importing app modules of its
 * own: only type imports above, so the app's modules exist once per process.
 */
export type AppRuntime = typeof Runtime;

export interface LoadedApp {
  runtime: AppRuntime;
  mode: AppServerOptions["mode"];
}

/** The production build in `buildDir` (`npm run build`). */
export async function loadProductionApp(buildDir: string): Promise<LoadedApp> {
  const entry = path.join(buildDir, "server/index.js");
  let build: ServerBuild;
  try {
    build = (await import(pathToFileURL(entry).href)) as ServerBuild;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND" && (error as Error).message.includes(entry)) {
      throw new Error(`There is no production build at ${entry}: run \`npm run build\` first.`);
    }
    throw error;
  }
  return { runtime: runtimeOf(build), mode: { kind: "production", build, clientDir: path.join(buildDir, "client") } };
}

/** The app from source through Vite (middleware mode, HMR), for `npm run dev`. */
export async function loadDevelopmentApp(): Promise<LoadedApp> {
  const { createServer } = await import("vite");
  // Never listens: the app's HTTP server hands it the WebSocket upgrades, so Vite's HMR socket
  // shares the app's port although Vite starts before that server exists.
  const upgrades = http.createServer();
  const sigtermListeners = new Set(process.listeners("SIGTERM"));
  const vite = await createServer({ server: { middlewareMode: true, hmr: { server: upgrades } } });
  try {
    const build = (await vite.ssrLoadModule("virtual:remix/server-build")) as ServerBuild;
    ignoreViteExitHandlers(sigtermListeners);
    return { runtime: runtimeOf(build), mode: { kind: "development", vite, upgrades } };
  } catch (error) {
    await vite.close();
    throw error;
  }
}

/**
 * A Vite server not in middleware mode (the Remix plugin starts one to compile the routes)
 * exits the process on SIGTERM, and when stdin ends, after closing itself: that cut Coffer's
 * graceful shutdown short and left the embedded PostgreSQL running. Coffer's own shutdown
 * closes Vite, so those handlers go.
 */
function ignoreViteExitHandlers(sigtermListenersBefore: Set<NodeJS.SignalsListener>): void {
  for (const listener of process.listeners("SIGTERM")) {
    if (sigtermListenersBefore.has(listener)) continue;
    process.off("SIGTERM", listener);
    process.stdin.off("end", listener);
  }
}

function runtimeOf(build: ServerBuild): AppRuntime {
  const runtime = (build.entry.module as { runtime?: AppRuntime }).runtime;
  if (!runtime) throw new Error("The server build does not export the app runtime (app/entry.server.tsx): run `npm run build` again.");
  return runtime;
}
