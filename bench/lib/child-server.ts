import type http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Listens on a free port of 127.0.0.1, prints the ready line bench/lib/app-process.ts waits for,
 * and stops on SIGTERM/SIGINT or when the parent benchmark goes away (the IPC channel closes).
 */
export async function serveForBenchmark(server: http.Server): Promise<void> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const stop = () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.on("disconnect", stop);
  process.stdout.write(`COFFER_BENCH_READY url=http://127.0.0.1:${port} pid=${process.pid}\n`);
}
