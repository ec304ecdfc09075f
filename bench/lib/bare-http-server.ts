/**
 * The least an upload over HTTP can cost on this machine: a plain node:http server that writes
 * each PUT body to a new file in DATA_DIR and flushes it to disk, with no tus, no hashing, no
 * framework. Coffer's local-disk upload is compared with it to separate what HTTP itself costs
 * (the bytes cross a socket: two more copies than a file copy) from what Coffer adds.
 *
 * Prints `COFFER_BENCH_READY url=... pid=...` like bench/lib/server.ts.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { pipeline } from "node:stream/promises";

const directory = process.env.DATA_DIR!;
const server = http.createServer((req, res) => {
  if (req.method !== "PUT") {
    res.writeHead(405).end();
    return;
  }
  const name = `put-${randomUUID()}`;
  pipeline(req, fs.createWriteStream(path.join(directory, name), { flush: true })).then(
    () => res.writeHead(201, { "content-type": "text/plain" }).end(name),
    () => {
      void fsp.rm(path.join(directory, name), { force: true });
      if (!res.headersSent) res.writeHead(500).end();
    },
  );
});
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`COFFER_BENCH_READY url=http://127.0.0.1:${port} pid=${process.pid}\n`);
});
const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 5_000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.on("disconnect", stop);
