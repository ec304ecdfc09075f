/**
 * The least a page can cost over HTTP on this machine: a plain node:http server answering each
 * GET with a static body held in memory (no framework, database, rendering or compression).
 * bench/folder-pages.ts first PUTs, under a name, the HTML Coffer gave for a page, then times
 * GETs of it beside Coffer's. Prints `COFFER_BENCH_READY url=... pid=...` like bench/lib/server.ts.
 */
import http from "node:http";
import { serveForBenchmark } from "./child-server";

const pages = new Map<string, Buffer>();

const server = http.createServer((req, res) => {
  const name = req.url ?? "/";
  if (req.method === "PUT") {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      pages.set(name, Buffer.concat(chunks));
      res.writeHead(204).end();
    });
    return;
  }
  const body = pages.get(name);
  if (req.method !== "GET" || !body) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": body.length, "cache-control": "no-store" }).end(body);
});

await serveForBenchmark(server);
