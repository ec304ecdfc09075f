/**
 * Starts Coffer (production build) from the environment, like server.ts, but on a free port of
 * 127.0.0.1, and prints one line `COFFER_BENCH_READY url=... pid=...` when it listens. Run by
 * bench/lib/app-process.ts as its own process so that the server's memory can be measured
 * apart from the benchmark client's.
 *
 * It stops on SIGTERM/SIGINT, and also when its parent goes away (the IPC channel closes), so
 * a crashed benchmark leaves no server behind.
 */
import path from "node:path";
import type { AddressInfo } from "node:net";
import { loadProductionApp } from "../../app/server/load-runtime.server";
import { startTracing } from "../../app/services/tracing/start.server";

// COFFER_BENCH_BUILD: another production build (bench:folder-pages and bench:bulk compare two).
const BUILD = process.env.COFFER_BENCH_BUILD
  ? path.resolve(process.env.COFFER_BENCH_BUILD)
  : path.resolve(import.meta.dirname, "../../build");

async function main() {
  // Like server.ts: tracing first (when OTEL_* asks for it), then the app's modules from the build only, once.
  await startTracing();
  const { runtime, mode } = await loadProductionApp(BUILD);
  const config = runtime.loadConfig(process.env);
  const services = await runtime.createServices(config, runtime.createLogger(config.logLevel));
  const server = await runtime.createAppServer({ services, mode });
  await new Promise<void>((resolve) => server.httpServer.listen(0, "127.0.0.1", resolve));
  const { port } = server.httpServer.address() as AddressInfo;

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(1), 10_000).unref();
    await server.close().catch(() => {});
    await runtime.closeServices(services).catch(() => {});
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
