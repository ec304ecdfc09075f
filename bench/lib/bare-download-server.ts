/**
 * The least a download through a server can cost on this machine: a plain node:http server that
 * answers `GET /<key>` (one Range or none) with the stored object, and nothing else: no framework,
 * no session, no database, no metrics.
 * - local (no S3_ENDPOINT): streams the file DATA_DIR/<key> from disk (fs.createReadStream, its
 *   default 64 KiB reads, piped into the response);
 * - S3: a GetObject through the AWS SDK (v3, its node:http handler) whose body is piped into the
 *   response, so the bytes cross the same two sockets as through Coffer.
 *
 * Prints `COFFER_BENCH_READY url=... pid=...` like bench/lib/server.ts.
 */
import fs from "node:fs";
import fsp from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { serveForBenchmark } from "./child-server";

interface Opened {
  body: Readable;
  /** The whole object's size. */
  size: number;
}

/** One request to the store per download (S3: a GET whose answer carries the size; no HEAD first). */
interface Source {
  open(key: string, range: { start: number; end: number | null } | null): Promise<Opened>;
}

const env = process.env;
const source: Source = env.S3_ENDPOINT ? s3Source() : localSource(env.DATA_DIR!);

const server = http.createServer((req, res) => {
  const key = decodeURIComponent((req.url ?? "/").slice(1));
  if (req.method !== "GET" || !/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(key)) {
    res.writeHead(400).end();
    return;
  }
  serve(key, req.headers.range, res).catch((error) => {
    console.error(error);
    if (!res.headersSent) res.writeHead(500).end();
    else res.destroy();
  });
});

async function serve(key: string, rangeHeader: string | undefined, res: http.ServerResponse) {
  const range = parseRange(rangeHeader);
  const { body, size } = await source.open(key, range);
  const headers = { "content-type": "application/octet-stream", "accept-ranges": "bytes" };
  if (range) {
    const end = Math.min(range.end ?? size - 1, size - 1);
    res.writeHead(206, {
      ...headers,
      "content-length": String(end - range.start + 1),
      "content-range": `bytes ${range.start}-${end}/${size}`,
    });
  } else {
    res.writeHead(200, { ...headers, "content-length": String(size) });
  }
  await pipeline(body, res);
}

/** `bytes=a-b` or `bytes=a-`: all the benchmark sends. */
function parseRange(header: string | undefined): { start: number; end: number | null } | null {
  const match = header ? /^bytes=(\d+)-(\d*)$/.exec(header) : null;
  if (!match) return null;
  return { start: Number(match[1]), end: match[2] ? Number(match[2]) : null };
}

function localSource(directory: string): Source {
  return {
    open: async (key, range) => {
      const file = path.join(directory, key);
      const { size } = await fsp.stat(file);
      return { body: fs.createReadStream(file, range ? { start: range.start, end: range.end ?? undefined } : {}), size };
    },
  };
}

function s3Source(): Source {
  const client = new S3Client({
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION,
    credentials: { accessKeyId: env.S3_ACCESS_KEY!, secretAccessKey: env.S3_SECRET_KEY! },
    forcePathStyle: true,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  const Bucket = env.S3_BUCKET!;
  return {
    open: async (Key, range) => {
      const Range = range ? `bytes=${range.start}-${range.end ?? ""}` : undefined;
      const answer = await client.send(new GetObjectCommand({ Bucket, Key, Range }));
      const size = answer.ContentRange ? Number(answer.ContentRange.split("/")[1]) : Number(answer.ContentLength);
      return { body: answer.Body as Readable, size };
    },
  };
}

await serveForBenchmark(server);
