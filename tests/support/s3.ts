import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ListMultipartUploadsCommand, S3Client } from "@aws-sdk/client-s3";
import { inject } from "vitest";
import type { S3StorageConfig } from "~/services/storage/s3.server";
import type { TestApp } from "./app";

const MiB = 2 ** 20;
const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL("../../scripts/s3-test-server.sh", import.meta.url));

/** The S3 driver's configuration against the test S3 server, on a fresh bucket name. */
export function s3Config(overrides: Partial<S3StorageConfig> = {}): S3StorageConfig {
  const { s3 } = inject("services");
  return {
    driver: "s3",
    endpoint: s3.endpoint,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    region: s3.region,
    bucket: `coffer-test-${randomBytes(5).toString("hex")}`,
    forcePathStyle: true,
    partSize: 5 * MiB,
    uploadConcurrency: 4,
    uploadMemory: 64 * MiB,
    ...overrides,
  };
}

/** Incomplete multipart uploads in the app's bucket, asked of the S3 server itself. */
export async function incompleteMultipartUploads(app: TestApp): Promise<number> {
  const s3 = inject("services").s3;
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey },
  });
  try {
    const result = await client.send(new ListMultipartUploadsCommand({ Bucket: app.env.S3_BUCKET }));
    return result.Uploads?.length ?? 0;
  } finally {
    client.destroy();
  }
}

/**
 * A TCP relay in front of the test S3 server that keeps every byte sent to it, so a test can
 * check what an app stored (parts of unfinished multipart uploads included, which the S3 API
 * does not let anyone read back). Point S3_ENDPOINT at `endpoint`.
 */
export async function recordingS3Relay() {
  const target = new URL(inject("services").s3.endpoint);
  let received: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(socket).add(upstream);
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    socket.pipe(upstream).pipe(socket);
    const end = () => {
      socket.destroy();
      upstream.destroy();
      sockets.delete(socket);
      sockets.delete(upstream);
    };
    socket.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    /** Everything sent to S3 since the start or the last `clear()`. */
    sent: () => Buffer.concat(received),
    clear: () => void (received = []),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Caps a bucket of the test S3 server at `bytes` in all (Swift's container quota, on the bucket
 * and on the container of its multipart parts): a put that would pass it is refused with 413
 * EntityTooLarge, as a bucket with a quota on any S3 server refuses it once full.
 */
export async function setBucketQuota(bucket: string, bytes: number): Promise<void> {
  const { s3 } = inject("services");
  await run("bash", [SCRIPT, "quota", s3.dataDir, bucket, String(bytes)], { timeout: 60_000 });
}
