/**
 * The least an upload through a server can cost on this machine: a plain node:http server that
 * takes each PUT body and stores it, with no tus, no hashing, no framework, no database.
 * - local (no S3_ENDPOINT): writes the body to a new file in DATA_DIR and flushes it to disk;
 * - S3: streams the body into a multipart upload with Coffer's own part streamer (the same
 *   S3_PART_SIZE), so the difference to Coffer is tus, authentication, hashing and the app.
 * Coffer is compared with it to separate what the extra hop itself costs (the bytes cross one
 * more socket and process) from what Coffer adds.
 *
 * Answers 201 with the stored file's name or object key. Prints `COFFER_BENCH_READY url=... pid=...`
 * like bench/lib/server.ts.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { S3Client } from "@aws-sdk/client-s3";
import { parseByteSize } from "../../app/config.server";
import { serveForBenchmark } from "./child-server";
import { streamedMultipartUpload } from "./streamed-multipart";

const env = process.env;
const store = env.S3_ENDPOINT ? s3Store() : localStore(env.DATA_DIR!);

const server = http.createServer((req, res) => {
  const size = Number(req.headers["content-length"]);
  if (req.method !== "PUT" || !Number.isSafeInteger(size)) {
    res.writeHead(400).end();
    return;
  }
  store(req, size).then(
    (name) => res.writeHead(201, { "content-type": "text/plain" }).end(name),
    (error) => {
      console.error(error);
      if (!res.headersSent) res.writeHead(500).end();
    },
  );
});

function localStore(directory: string) {
  return async (req: http.IncomingMessage): Promise<string> => {
    const name = `put-${randomUUID()}`;
    try {
      await pipeline(req, fs.createWriteStream(path.join(directory, name), { flush: true }));
    } catch (error) {
      await fsp.rm(path.join(directory, name), { force: true });
      throw error;
    }
    return name;
  };
}

function s3Store() {
  const client = new S3Client({
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION,
    credentials: { accessKeyId: env.S3_ACCESS_KEY!, secretAccessKey: env.S3_SECRET_KEY! },
    forcePathStyle: true,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  const bucket = env.S3_BUCKET!;
  const partSize = parseByteSize(env.S3_PART_SIZE ?? "32MiB")!;
  return (req: http.IncomingMessage, size: number): Promise<string> => streamedMultipartUpload(client, bucket, req, size, partSize);
}

await serveForBenchmark(server);
