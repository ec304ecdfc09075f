import type { Readable } from "node:stream";
import { createReadableStreamFromReadable, createRequestHandler, type AppLoadContext, type ServerBuild } from "@remix-run/node";
import type express from "express";

/**
 * Express → Remix, like @remix-run/express's handler, except that the body comes from
 * `res.locals.requestBody` when a middleware has already read the start of it (the CSRF check),
 * and that responses are written at the pace the client reads them (Remix's own writer ignores
 * backpressure, so a slow download would pull the whole file into memory).
 */
export function remixRequestHandler(options: {
  build: ServerBuild | (() => Promise<ServerBuild>);
  mode: string;
  getLoadContext: (req: express.Request, res: express.Response) => AppLoadContext;
}): express.RequestHandler {
  const handleRequest = createRequestHandler(options.build, options.mode);
  return async (req, res, next) => {
    try {
      const response = await handleRequest(remixRequest(req, res), options.getLoadContext(req, res));
      await sendResponse(res, response);
    } catch (error) {
      next(error);
    }
  };
}

function remixRequest(req: express.Request, res: express.Response): Request {
  const forwardedPort = Number.parseInt(req.get("X-Forwarded-Host")?.split(":")[1] ?? "", 10);
  const hostPort = Number.parseInt(req.get("host")?.split(":")[1] ?? "", 10);
  const port = Number.isSafeInteger(forwardedPort) ? forwardedPort : Number.isSafeInteger(hostPort) ? hostPort : null;
  // req.hostname and req.protocol honour the "trust proxy" setting.
  const url = new URL(`${req.protocol}://${req.hostname}${port ? `:${port}` : ""}${req.originalUrl}`);
  let controller: AbortController | null = new AbortController();
  const init: RequestInit & { duplex?: "half" } = { method: req.method, headers: requestHeaders(req.headers), signal: controller.signal };
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

function requestHeaders(incoming: express.Request["headers"]): Headers {
  const headers = new Headers();
  for (const [key, values] of Object.entries(incoming)) {
    if (Array.isArray(values)) for (const value of values) headers.append(key, value);
    else if (values) headers.set(key, values);
  }
  return headers;
}

async function sendResponse(res: express.Response, response: Response): Promise<void> {
  res.statusMessage = response.statusText;
  res.status(response.status);
  for (const [key, value] of response.headers.entries()) res.append(key, value);
  if (response.headers.get("Content-Type")?.match(/text\/event-stream/i)) res.flushHeaders();
  if (response.body) await writeWithBackpressure(response.body, res);
  else res.end();
}

/** Writes the body, waiting for "drain" whenever the socket's buffer is full; stops when the client goes away. */
async function writeWithBackpressure(body: ReadableStream<Uint8Array>, res: express.Response): Promise<void> {
  const reader = body.getReader();
  const gone = () => res.destroyed || res.writableEnded;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        res.end();
        return;
      }
      if (gone()) break;
      const flushable = res as express.Response & { flush?: () => void };
      const accepted = res.write(value);
      flushable.flush?.();
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
