/**
 * The load benchmark's baseline: a plain node:http server that answers every GET with a fixed
 * page of BARE_PAGE_BYTES and drains every other request's body before a 201 (a tus creation answers 201), with no framework,
 * database or storage. Driven by the same virtual users as Coffer, it shows what the client and
 * this machine allow at that concurrency. Prints the ready line of bench/lib/app-process.ts.
 */
import http from "node:http";
import { serveForBenchmark } from "./child-server";

const page = Buffer.alloc(Number(process.env.BARE_PAGE_BYTES ?? 30_000), "x");

const server = http.createServer((req, res) => {
  if (req.method === "GET") {
    res.writeHead(200, { "content-type": "text/html", "content-length": page.length }).end(page);
    return;
  }
  req.resume();
  req.on("end", () => res.writeHead(201).end());
});
server.keepAliveTimeout = 60_000;

void serveForBenchmark(server);
