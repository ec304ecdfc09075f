import http from "node:http";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";
import compression from "compression";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import { writeWithBackpressure } from "./remix-handler.server";

/**
 * A page body goes through the compression middleware as Remix streams it. Everything rendered at
 * once must go out as one compressed block (not a flushed block per chunk), and a part streamed
 * later (a deferred loader's data) must still reach the browser before the response ends.
 */
let server: http.Server | null = null;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = null;
});

async function serve(body: () => ReadableStream<Uint8Array>): Promise<string> {
  const app = express();
  app.use(compression());
  app.get("/", (_req, res, next) => {
    res.type("html");
    writeWithBackpressure(body(), res).catch(next);
  });
  server = http.createServer(app);
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** The gzip-encoded response as the raw pieces the socket delivered. */
function getRaw(url: string): Promise<{ pieces: Buffer[] }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers: { "accept-encoding": "gzip" } }, (res) => {
      expect(res.headers["content-encoding"]).toBe("gzip");
      const pieces: Buffer[] = [];
      res.on("data", (piece: Buffer) => {
        pieces.push(piece);
      });
      res.on("end", () => resolve({ pieces }));
      res.on("error", reject);
    });
  });
}

const chunk = (index: number) => new TextEncoder().encode(`<tr><td>row ${index}</td><td>${"x".repeat(2000)}</td></tr>\n`);

describe("writeWithBackpressure behind compression", () => {
  it("compresses chunks written in one turn together and sends them whole", async () => {
    const url = await serve(
      () =>
        new ReadableStream({
          start(controller) {
            for (let i = 0; i < 150; i++) controller.enqueue(chunk(i));
            controller.close();
          },
        }),
    );
    const { pieces } = await getRaw(url);
    const text = zlib.gunzipSync(Buffer.concat(pieces)).toString();
    expect(text).toBe(Array.from({ length: 150 }, (_, i) => new TextDecoder().decode(chunk(i))).join(""));
    // One sync flush per chunk used to add 5 bytes of block marker per chunk and defeat the
    // compression across chunks: 150 near-identical rows came to about 7,000 bytes, as one block to about 2,000.
    expect(Buffer.concat(pieces).length).toBeLessThan(3000);
  });

  it("sends what was written before a pause without waiting for the end", async () => {
    let release: () => void = () => {};
    const later = new Promise<void>((resolve) => (release = resolve));
    const url = await serve(
      () =>
        new ReadableStream({
          async start(controller) {
            controller.enqueue(new TextEncoder().encode("<p>shell</p>"));
            await later;
            controller.enqueue(new TextEncoder().encode("<p>deferred</p>"));
            controller.close();
          },
        }),
    );
    const text = await new Promise<string>((resolve, reject) => {
      http.get(url, { headers: { "accept-encoding": "gzip" } }, (res) => {
        let received = "";
        const gunzip = res.pipe(zlib.createGunzip());
        gunzip.on("data", (data: Buffer) => {
          received += data.toString();
          // The shell arrived while the rest is still held back: now let the rest come.
          if (received === "<p>shell</p>") release();
        });
        gunzip.on("end", () => resolve(received));
        gunzip.on("error", reject);
      });
    });
    expect(text).toBe("<p>shell</p><p>deferred</p>");
  });
});
