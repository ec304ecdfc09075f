/**
 * A bare tus server for comparison: @tus/server on a plain node:http server with the data store
 * from Coffer's own storage driver (same S3 settings, same part size and concurrency, same
 * local directory), but no Express, no Remix, no session check, no database and no hooks.
 * The difference between this and Coffer is what Coffer adds on the upload path.
 *
 * BENCH_BATCH_BODY=<size> (e.g. 1MiB) makes it an experiment. By default @tus/server.handle()
 * turns the Node request into a web stream (srvx → Readable.toWeb, which copies every socket
 * read, 10-64 KiB, and pauses/resumes the socket whenever more than 16 KiB is queued) and back
 * into a Node stream for the store. With BENCH_BATCH_BODY the request body is instead handed to
 * tus.handleWeb() as a web stream of batches of at least that size, without the per-read copy.
 *
 * BENCH_BARE_STORE=plain uses the stores as published instead of Coffer's: @tus/file-store (no
 * flush to disk at the end, one write per socket read) or @tus/s3-store (CreateMultipartUpload,
 * parts and CompleteMultipartUpload for every upload, the .info object beside it), in the same
 * directory or bucket: the bare tus server any app could start from (bench:files).
 *
 * Configured from the same environment as the app (loadConfig); prints
 * `COFFER_BENCH_READY url=... pid=...` like bench/lib/server.ts.
 */
import http from "node:http";
import { FileStore } from "@tus/file-store";
import { S3Store } from "@tus/s3-store";
import { MemoryLocker, Server as TusServer } from "@tus/server";
import type { DataStore } from "@tus/utils";
import { loadConfig, parseByteSize } from "../../app/config.server";
import { createObjectStore } from "../../app/services/storage/index.server";
import { serveForBenchmark } from "./child-server";

async function main() {
  const config = loadConfig(process.env);
  const storage = await createObjectStore(config.storage);
  await storage.init();
  const tus = new TusServer({
    path: "/api/uploads",
    datastore:
      process.env.BENCH_BARE_STORE === "plain"
        ? plainStore(config.storage, config.uploads.expiryMs)
        : storage.createTusDataStore({ expirationPeriodInMilliseconds: config.uploads.expiryMs }),
    locker: new MemoryLocker(),
    relativeLocation: true,
    maxSize: config.uploads.maxSize,
  });
  const batch = parseByteSize(process.env.BENCH_BATCH_BODY ?? "");
  const server = http.createServer((req, res) => {
    const handled = batch ? handleBatched(tus, req, res, batch) : tus.handle(req, res);
    handled.catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await serveForBenchmark(server);
}

/** @tus/file-store or @tus/s3-store as published, on the app's directory or bucket. */
function plainStore(storage: ReturnType<typeof loadConfig>["storage"], expirationPeriodInMilliseconds: number): DataStore {
  if (storage.driver === "local") return new FileStore({ directory: storage.directory, expirationPeriodInMilliseconds });
  return new S3Store({
    partSize: storage.partSize,
    expirationPeriodInMilliseconds,
    useTags: false,
    s3ClientConfig: {
      bucket: storage.bucket,
      region: storage.region,
      endpoint: storage.endpoint,
      credentials: { accessKeyId: storage.accessKey, secretAccessKey: storage.secretKey },
      forcePathStyle: storage.forcePathStyle,
      // Swift answers aws-chunked bodies with 501.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    },
  });
}

/** The request as a web Request whose body arrives in batches of at least `size` bytes. */
async function handleBatched(tus: TusServer, req: http.IncomingMessage, res: http.ServerResponse, size: number) {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v);
  }
  const aborted = new AbortController();
  req.once("close", () => {
    if (!req.complete) aborted.abort();
  });
  let body: ReadableStream<Uint8Array> | null = null;
  if (req.method !== "GET" && req.method !== "HEAD" && req.method !== "OPTIONS") {
    let chunks: Buffer[] = [];
    let length = 0;
    body = new ReadableStream<Uint8Array>(
      {
        start(controller) {
          const emit = () => {
            controller.enqueue(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length));
            chunks = [];
            length = 0;
          };
          req.on("data", (chunk: Buffer) => {
            chunks.push(chunk);
            length += chunk.length;
            if (length < size) return;
            emit();
            if ((controller.desiredSize ?? 0) <= 0) req.pause();
          });
          req.on("end", () => {
            if (length > 0) emit();
            controller.close();
          });
          req.on("error", (error) => controller.error(error));
        },
        pull() {
          req.resume();
        },
        cancel(reason) {
          req.destroy(reason instanceof Error ? reason : undefined);
        },
      },
      { highWaterMark: 2 },
    );
  }
  const request = new Request(`http://${req.headers.host ?? "localhost"}${req.url}`, {
    method: req.method,
    headers,
    body,
    signal: aborted.signal,
    // Node's fetch needs this for a streamed body.
    duplex: "half",
  });
  const response = await tus.handleWeb(request);
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}

main().catch((error) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
