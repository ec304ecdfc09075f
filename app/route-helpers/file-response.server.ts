import type { Readable } from "node:stream";
import type { FileReply } from "~/domain/files/downloads.server";

/**
 * The Node stream behind each web stream made by `webStream`, for the host to send as it is
 * (see takeNodeBody). On globalThis: the routes (in the Remix build) and the host (server.ts's
 * bundle) are two copies of this module in one process.
 */
const NODE_BODIES_KEY = Symbol.for("coffer.nodeBodies");
const nodeBodies: WeakMap<ReadableStream<Uint8Array>, Readable> = ((globalThis as Record<symbol, unknown>)[NODE_BODIES_KEY] ??=
  new WeakMap()) as WeakMap<ReadableStream<Uint8Array>, Readable>;

/**
 * A Node stream from the domain as the web stream a Response sends, with backpressure. Nothing is
 * read before the first read of the web stream (high water mark 0), so the host can still take
 * the Node stream and pipe it straight to the socket instead: one hop per chunk instead of the
 * web stream's promises and queue, several times fewer for a download of many chunks.
 */
export function webStream(readable: Readable): ReadableStream<Uint8Array> {
  let chunks: AsyncIterator<Buffer | string> | null = null;
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        chunks ??= readable[Symbol.asyncIterator]();
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(typeof next.value === "string" ? Buffer.from(next.value) : next.value);
      },
      async cancel() {
        if (chunks) await chunks.return?.();
        else readable.destroy();
      },
    },
    { highWaterMark: 0 },
  );
  nodeBodies.set(stream, readable);
  return stream;
}

/**
 * The Node stream behind `body` when `body` came from `webStream` and nothing has read it yet;
 * the web stream must not be used afterwards. Undefined for any other body.
 */
export function takeNodeBody(body: ReadableStream<Uint8Array>): Readable | undefined {
  const readable = nodeBodies.get(body);
  if (!readable || body.locked) return undefined;
  nodeBodies.delete(body);
  return readable;
}

/** The Response for a download, inline view or thumbnail the domain answered. */
export function fileResponse(reply: FileReply): Response {
  const body = reply.body === null || typeof reply.body === "string" ? reply.body : webStream(reply.body);
  return new Response(body, { status: reply.status, headers: reply.headers });
}
