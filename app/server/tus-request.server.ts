import type http from "node:http";
import type { Server as TusServer } from "@tus/server";

/** How much of a request body may wait, unread by the store, before the socket is paused. */
const BODY_HIGH_WATER_MARK = 1024 * 1024;

/**
 * Hands a Node request to @tus/server as a web Request, and its answer back to Node.
 *
 * `TusServer.handle()` does the same through srvx, whose body stream (`Readable.toWeb`) copies
 * every socket read and pauses the socket whenever 16 KiB are queued: on a fast upload that is
 * most of the server's CPU. Here the body stream passes the socket's buffers on as they are and
 * queues up to 1 MiB before pausing.
 *
 * A client that goes away mid-body ends the body stream normally, so the store keeps every byte
 * that arrived and the upload resumes from there.
 */
export async function handleTusRequest(tus: TusServer, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const response = await tus.handleWeb(toWebRequest(req));
  if (res.destroyed) return;
  const body = response.body ? Buffer.from(await response.arrayBuffer()) : undefined;
  const headers = Object.fromEntries(response.headers);
  // Never read the rest of a body tus refused; close the connection after the answer instead.
  if (!req.complete) headers.connection = "close";
  res.writeHead(response.status, headers);
  res.end(body);
}

function toWebRequest(req: http.IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else if (value !== undefined) headers.set(name, value);
  }
  const protocol = "encrypted" in req.socket && req.socket.encrypted ? "https" : "http";
  const hasBody = req.method !== "GET" && req.method !== "HEAD" && req.method !== "OPTIONS";
  return new Request(`${protocol}://${req.headers.host ?? "localhost"}${req.url}`, {
    method: req.method,
    headers,
    body: hasBody ? bodyStream(req) : null,
    // Node's fetch needs this for a streamed body.
    duplex: "half",
  } as RequestInit);
}

function bodyStream(req: http.IncomingMessage): ReadableStream<Uint8Array> {
  let closed = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const close = () => {
          if (closed) return;
          closed = true;
          controller.close();
        };
        req.on("data", (chunk: Buffer) => {
          if (closed) return;
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        });
        req.once("end", close);
        // A disconnect: what arrived is all there is (see above).
        req.once("close", close);
        req.once("error", close);
      },
      pull() {
        req.resume();
      },
      cancel() {
        // tus stopped reading (body too large, store failed): the answer closes the connection.
        closed = true;
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: BODY_HIGH_WATER_MARK }),
  );
}
