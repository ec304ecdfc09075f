import type http from "node:http";
import type { Server as TusServer } from "@tus/server";
import { ERRORS, type CancellationContext, type DataStore, type Upload } from "@tus/utils";
import { metrics } from "~/services/metrics.server";
import { inSpan } from "~/services/tracing/spans.server";
import { publicOrigin, type OriginSettings } from "./public-origin.server";
import { UploadBody } from "./upload-body.server";

const TUS_METHODS = new Set(["POST", "HEAD", "PATCH", "DELETE", "OPTIONS", "GET"]);

/** What each tus request does, as its span is named. */
const TUS_STAGES: Record<string, string> = {
  POST: "create",
  PATCH: "patch",
  HEAD: "head",
  DELETE: "terminate",
  OPTIONS: "options",
  GET: "get",
};

type TusRequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

/**
 * Serves Node requests with @tus/server: each becomes a web Request for `tus.handleWeb`, and the
 * answer goes back to Node.
 *
 * Request bodies do not go through web streams. `TusServer.handle()` converts them with srvx
 * (`Readable.toWeb`, a copy of every socket read), and tus then turns them back into Node streams
 * (`Readable.fromWeb`, a PassThrough, its size limit): on a fast upload those hops cost more CPU
 * than moving the bytes. Here the store reads the Node request itself through one UploadBody,
 * which keeps tus's size limit and cancellation.
 *
 * A client that goes away mid-body ends the body normally, so the store keeps every byte that
 * arrived and the upload resumes from there.
 */
export function tusRequestHandler(tus: TusServer, origin: OriginSettings): TusRequestHandler {
  readBodiesFromNode(tus);
  return async (req, res) => {
    // Only tus's methods (GET, which it refuses itself, included): others, TRACE among them, are
    // not even valid in a web Request.
    if (!TUS_METHODS.has(req.method ?? "")) {
      res.writeHead(405, {
        allow: [...TUS_METHODS].join(", "),
        "content-type": "text/plain; charset=utf-8",
        "cache-control": "no-store",
        ...(req.complete ? {} : { connection: "close" }),
      });
      res.end(`The upload endpoint does not support ${String(req.method).slice(0, 20)} requests.`);
      return;
    }
    let response: Response;
    try {
      response = await inSpan(`tus.${TUS_STAGES[req.method!]}`, { "tus.stage": TUS_STAGES[req.method!] }, () =>
        tus.handleWeb(toWebRequest(req, origin)),
      );
    } catch (error) {
      // The host answers this (a dependency down: 503 with a body); it is still a tus answer, and
      // the rest of a body the store did not take is never read.
      if (!res.headersSent) {
        res.setHeader("Tus-Resumable", "1.0.0");
        if (!req.complete) res.setHeader("Connection", "close");
      }
      throw error;
    }
    if (res.destroyed) return;
    const body = response.body ? Buffer.from(await response.arrayBuffer()) : undefined;
    const headers = Object.fromEntries(response.headers);
    // Never read the rest of a body tus refused; close the connection after the answer instead.
    if (!req.complete) headers.connection = "close";
    res.writeHead(response.status, headers);
    res.end(body);
  };
}

/** The Node request behind each web body tus is given. */
const nodeRequests = new WeakMap<ReadableStream, http.IncomingMessage>();

/**
 * tus reads only the path of this URL (Locations are relative: they resolve against the address
 * the client used, which a proxy's rewritten Host never enters); its origin is the public one.
 */
function toWebRequest(req: http.IncomingMessage, settings: OriginSettings): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else if (value !== undefined) headers.set(name, value);
  }
  const origin = publicOrigin(req, settings) ?? "http://localhost";
  const hasBody = req.method !== "GET" && req.method !== "HEAD" && req.method !== "OPTIONS";
  return new Request(`${origin}${req.url}`, {
    method: req.method,
    headers,
    body: hasBody ? standInBody(req) : null,
    // Node's fetch needs this for a streamed body.
    duplex: "half",
  } as RequestInit);
}

/**
 * What tus sees as the body: a stream that is never read (its high-water mark of 0 keeps it from
 * pulling) and stands for the Node request, which the store reads instead. Should a future tus
 * read it some other way, the upload fails loudly rather than silently losing bytes.
 */
function standInBody(req: http.IncomingMessage): ReadableStream<Uint8Array> {
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        controller.error(new Error("tus read a request body directly; Coffer's stores read it through UploadBody"));
      },
    },
    { highWaterMark: 0 },
  );
  nodeRequests.set(stream, req);
  return stream;
}

type WriteToStore = (
  webStream: ReadableStream | null,
  upload: Upload,
  maxBodySize: number,
  context: CancellationContext,
) => Promise<number>;
type CalculateMaxBodySize = (req: Request, upload: Upload, configuredMaxSize?: number) => Promise<number>;
interface BodyWritingHandler {
  writeToStore: WriteToStore;
  calculateMaxBodySize: CalculateMaxBodySize;
  store: DataStore;
}

/**
 * Makes tus's PATCH and POST (creation with upload) handlers give the store an UploadBody read
 * from the Node request. As in tus's own writeToStore: the body may not exceed `maxBodySize`
 * (413), and a request tus cancels (another request asked for the upload's lock) ends its body
 * gracefully, so the store keeps what arrived.
 */
function readBodiesFromNode(tus: TusServer): void {
  for (const handler of [tus.handlers.PATCH, tus.handlers.POST] as unknown as BodyWritingHandler[]) {
    // A body refused up front (its Content-Length goes past the upload's end) is a failed
    // receive too, like one cut off while it streams.
    const calculateMaxBodySize = handler.calculateMaxBodySize.bind(handler);
    handler.calculateMaxBodySize = async (req, upload, configuredMaxSize) => {
      try {
        return await calculateMaxBodySize(req, upload, configuredMaxSize);
      } catch (error) {
        metrics().uploadsFailed.inc({ stage: "receive" });
        throw error;
      }
    };
    handler.writeToStore = async (webStream, upload, maxBodySize, context) => {
      const req = webStream ? nodeRequests.get(webStream) : undefined;
      if (!req) throw new Error("tus gave the store a body that is not a request's");
      if (context.signal.aborted) throw ERRORS.ABORTED;
      const body = new UploadBody(req, maxBodySize);
      const { tusReceivedBytes, uploadsReceiving, uploadsFailed } = metrics();
      body.observe((chunk) => tusReceivedBytes.inc(chunk.length));
      uploadsReceiving.inc();
      context.signal.addEventListener("abort", body.finish, { once: true });
      try {
        const offset = await handler.store.write(body, upload.id, upload.offset);
        if (body.tooLarge) throw ERRORS.ERR_MAX_SIZE_EXCEEDED;
        return offset;
      } catch (error) {
        uploadsFailed.inc({ stage: "receive" });
        throw body.tooLarge ? ERRORS.ERR_MAX_SIZE_EXCEEDED : error;
      } finally {
        uploadsReceiving.dec();
        context.signal.removeEventListener("abort", body.finish);
        body.destroy();
      }
    };
  }
}
