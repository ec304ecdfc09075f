import type { Readable } from "node:stream";
import { createReadableStreamFromReadable, createRequestHandler, type AppLoadContext, type ServerBuild } from "@remix-run/node";
import type express from "express";
import { isOneClickUnsubscribe } from "./origin-check.server";
import { publicOrigin, type OriginSettings } from "./public-origin.server";
import { withRouteBoundary } from "./route-boundary.server";
import { takeNodeBody } from "~/route-helpers/file-response.server";

/**
 * Express → Remix, like @remix-run/express's handler, except that
 * - the request's URL is on Coffer's public origin (APP_URL when set, else from a trusted
 *   proxy's X-Forwarded-Host/-Proto or the request's own: see publicOrigin);
 * - the body comes from `res.locals.requestBody` when a middleware has already read the start of
 *   it (the CSRF check);
 * - responses are written at the pace the client reads them (Remix's own writer ignores
 *   backpressure, so a slow download would pull the whole file into memory);
 * - every loader and action runs inside one error boundary (withRouteBoundary).
 */
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

export function remixRequestHandler(options: {
  build: ServerBuild | (() => Promise<ServerBuild>);
  mode: string;
  origin: OriginSettings;
  getLoadContext: (req: express.Request, res: express.Response) => AppLoadContext;
}): express.RequestHandler {
  const { build } = options;
  const handleRequest = createRequestHandler(
    typeof build === "function" ? async () => withRouteBoundary(await build()) : withRouteBoundary(build),
    options.mode,
  );
  return async (req, res, next) => {
    try {
      // Methods a web Request refuses to carry (the fetch standard forbids them): never a page's.
      if (FORBIDDEN_METHODS.has(req.method)) {
        res
          .status(405)
          .set({ Allow: "GET, HEAD, POST", "Cache-Control": "no-store" })
          .type("text/plain")
          .send(`${req.method} is not supported here.`);
        return;
      }
      const origin = publicOrigin(req, options.origin);
      // Origin-form targets only ("/path?query"): an absolute-form one names a host of its own.
      if (!origin || !req.originalUrl.startsWith("/")) {
        res
          .status(400)
          .type("text/plain")
          .set("Cache-Control", "no-store")
          .send("Bad request: the Host header or the request target is not valid.");
        return;
      }
      const response = await handleRequest(remixRequest(req, res, origin), options.getLoadContext(req, res));
      await sendResponse(res, response);
    } catch (error) {
      next(error);
    }
  };
}

function remixRequest(req: express.Request, res: express.Response, origin: string): Request {
  const url = new URL(`${origin}${req.originalUrl}`);
  let controller: AbortController | null = new AbortController();
  const init: RequestInit & { duplex?: "half" } = {
    method: req.method,
    headers: requestHeaders(req.headers, url.host, isOneClickUnsubscribe(req)),
    signal: controller.signal,
  };
  if (req.method !== "GET" && req.method !== "HEAD") {
    const body = (res.locals.requestBody as Readable | undefined) ?? req;
    init.body = createReadableStreamFromReadable(body);
    init.duplex = "half";
  }
  // Abort loaders and actions when the client goes away before the response is complete.
  res.on("finish", () => (controller = null));
  res.on("close", () => controller?.abort());
  return new Request(url.href, init);
}

/**
 * The request's headers, with Host set to the public origin's host and X-Forwarded-Host left out.
 * Remix refuses (with a 500) any action whose Origin differs from X-Forwarded-Host or Host, which
 * is every form behind a proxy that rewrites Host. originCheck has already refused foreign Origins
 * against the public origin, so Remix is given the host that check used.
 */
function requestHeaders(incoming: express.Request["headers"], publicHost: string, oneClickUnsubscribe = false): Headers {
  const headers = new Headers();
  for (const [key, values] of Object.entries(incoming)) {
    if (key === "host" || key === "x-forwarded-host") continue;
    // RFC 8058's POST comes from the mail provider, whose Origin is its own: exempt on purpose
    // (isOneClickUnsubscribe), so Remix's Origin check must not see it either.
    if (key === "origin" && oneClickUnsubscribe) continue;
    if (Array.isArray(values)) for (const value of values) headers.append(key, value);
    else if (values) headers.set(key, values);
  }
  headers.set("host", publicHost);
  return headers;
}

async function sendResponse(res: express.Response, response: Response): Promise<void> {
  res.statusMessage = response.statusText;
  res.status(response.status);
  for (const [key, value] of response.headers.entries()) res.append(key, value);
  if (response.headers.get("Content-Type")?.match(/text\/event-stream/i)) res.flushHeaders();
  const stored = response.body ? takeNodeBody(response.body) : undefined;
  if (stored) await pipeToResponse(stored, res);
  else if (response.body) await writeWithBackpressure(response.body, res);
  else res.end();
}

/**
 * Stored bytes (a download, a view, a ZIP) straight from their Node stream to the socket, at the
 * pace the client reads. A client that leaves ends it quietly (the source is destroyed and its
 * file or S3 stream released); a source that fails midway fails the request, which cuts the
 * response (see the last-resort error handler). Not stream.pipeline: that adds two more "close"
 * listeners to a response that already has nearly ten (Node warns from eleven on).
 */
function pipeToResponse(source: Readable, res: express.Response): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      if (!res.write(chunk)) source.pause();
    };
    const onDrain = () => source.resume();
    const onEnd = () => {
      stop();
      res.end();
      resolve();
    };
    const onError = (error: Error) => {
      stop();
      res.destroy(error);
      reject(error);
    };
    const onClose = () => {
      stop();
      source.destroy();
      resolve();
    };
    const stop = () => {
      source.off("data", onData).off("end", onEnd).off("error", onError);
      res.off("drain", onDrain).off("close", onClose);
    };
    source.on("data", onData).once("end", onEnd).once("error", onError);
    res.on("drain", onDrain).once("close", onClose);
  });
}

/**
 * Writes the body, waiting for "drain" whenever the socket's buffer is full; stops when the client
 * goes away. What arrived is flushed through the compression once per turn of the event loop, so
 * that a streamed part (a deferred loader's data) goes out as soon as it is rendered, while a page
 * rendered at once (hundreds of React's 2 KiB chunks) is compressed and sent as one block, not
 * one flushed deflate block and socket write per chunk.
 */
export async function writeWithBackpressure(body: ReadableStream<Uint8Array>, res: express.Response): Promise<void> {
  const reader = body.getReader();
  const gone = () => res.destroyed || res.writableEnded;
  const flush = flushOncePerTurn(res);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        res.end();
        return;
      }
      if (gone()) break;
      const accepted = res.write(value);
      flush();
      if (!accepted && !gone()) await drainedOrClosed(res);
      if (gone()) break;
    }
    // The client left: release the source (an open file or S3 stream) instead of reading it on.
    await reader.cancel().catch(() => {});
  } catch (error) {
    await reader.cancel(error).catch(() => {});
    res.destroy(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
}

/** Calls the compression middleware's `res.flush()` after what is written in this turn of the event loop. */
function flushOncePerTurn(res: express.Response): () => void {
  const flushable = res as express.Response & { flush?: () => void };
  let scheduled = false;
  return () => {
    if (scheduled || !flushable.flush) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      if (!res.destroyed && !res.writableEnded) flushable.flush?.();
    });
  };
}

/** Resolves at the next "drain" or "close", removing both listeners either way. */
function drainedOrClosed(res: express.Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
