/**
 * Starts Coffer (production build) from the environment, like server.ts, but on a free port of
 * 127.0.0.1, and prints one line `COFFER_BENCH_READY url=... pid=...` when it listens. Run by
 * bench/lib/app-process.ts as its own process so that the server's memory can be measured
 * apart from the benchmark client's.
 *
 * It stops on SIGTERM/SIGINT, and also when its parent goes away (the IPC channel closes), so
 * a crashed benchmark leaves no server behind.
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { AddressInfo } from "node:net";
import type { ServerBuild } from "@remix-run/node";
import { loadConfig } from "../../app/config.server";
import { createAppServer } from "../../app/server/app.server";
import { closeServices, createServices } from "../../app/services/index.server";
import { createLogger } from "../../app/services/logger.server";

const BUILD = path.resolve(import.meta.dirname, "../../build");

async function main() {
  const serverBuild = path.join(BUILD, "server/index.js");
  if (!fs.existsSync(serverBuild)) throw new Error(`No production build at ${serverBuild}: run \`npm run build\``);
  const config = loadConfig(process.env);
  const services = await createServices(config, createLogger(config.logLevel));
  const build = (await import(pathToFileURL(serverBuild).href)) as ServerBuild;
  const server = await createAppServer({ services, mode: { kind: "production", build, clientDir: path.join(BUILD, "client") } });
  await new Promise<void>((resolve) => server.httpServer.listen(0, "127.0.0.1", resolve));
  const { port } = server.httpServer.address() as AddressInfo;

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(1), 10_000).unref();
    await server.close().catch(() => {});
    await closeServices(services).catch(() => {});
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
  process.on("disconnect", () => void stop());
  // bench/memory.ts asks for the heap over the IPC channel (RSS it reads from /proc itself).
  process.on("message", (message: unknown) => {
    if (message !== "memory-usage") return;
    const { heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
    process.send?.({ memoryUsage: { heapUsed, heapTotal, external, arrayBuffers } });
  });

  process.stdout.write(`COFFER_BENCH_READY url=http://127.0.0.1:${port} pid=${process.pid}\n`);
}

main().catch((error) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
