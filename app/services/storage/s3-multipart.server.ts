import type { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { streamParts } from "./s3-part-streamer.server";
import { ObjectSizeMismatchError, ObjectTooLargeError } from "./types";

export const MAX_PARTS = 10_000;

/**
 * Bodies that end within this many bytes are held in memory and stored with one PutObject: a
 * multipart upload costs three more requests (and Swift's completion is slow), which a sync of
 * many small files would pay for each.
 */
export const SINGLE_PUT_LIMIT = 5 * 2 ** 20;

export interface StreamingPutOptions {
  client: S3Client;
  bucket: string;
  key: string;
  source: Readable;
  /** The body's length when known: the last part is then sized exactly, and any other length fails. */
  size?: number;
  partSize: number;
  contentType?: string;
  /** Server-side encryption (S3_SSE), as PutObject and CreateMultipartUpload parameters. */
  sse: { ServerSideEncryption?: "AES256" | "aws:kms"; SSEKMSKeyId?: string };
}

/**
 * Streams `source` into `key` through the tus path's part streamer (streamParts): each part is
 * one UploadPart request fed from 1 MiB blocks of a shared pool as the bytes arrive, with an
 * unsigned payload and no per-part Content-MD5 (the AWS SDK sends neither unless required), so
 * the only pass over the bytes here is the copy into the blocks. Memory: two parts at most (the
 * one being filled, and the previous one until S3 has answered).
 *
 * A body that fails (a client gone mid-body) or whose length differs from `size` rejects the put;
 * the multipart upload is then aborted, so nothing is stored and no parts are left behind.
 *
 * Why not minio's putObject: it only notices a failing source by hanging forever, and it cannot
 * clean up after itself on Swift (it finds its multipart uploads by listing them with an empty
 * delimiter, which Swift's s3api answers with nothing). Here the upload id is known.
 */
export async function streamingPut(options: StreamingPutOptions): Promise<{ size: number }> {
  const { client, bucket, key, size, partSize } = options;
  const limit = size ?? MAX_PARTS * partSize;
  const chunks = options.source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let received = 0;
  const next = async (): Promise<Buffer | null> => {
    const step = await chunks.next();
    if (step.done) return null;
    const chunk = step.value;
    received += chunk.length;
    if (received > limit) {
      if (size !== undefined) throw new ObjectSizeMismatchError(key, size, received);
      throw new ObjectTooLargeError(key, limit);
    }
    return chunk;
  };

  // The head of the body: all of it when it is small.
  const head: Buffer[] = [];
  const headLimit = Math.min(SINGLE_PUT_LIMIT, partSize);
  let ended = false;
  try {
    while (received <= headLimit) {
      const chunk = await next();
      if (chunk === null) {
        ended = true;
        break;
      }
      head.push(chunk);
    }
  } catch (error) {
    await chunks.return?.();
    throw error;
  }
  if (ended) {
    if (size !== undefined && received !== size) throw new ObjectSizeMismatchError(key, size, received);
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: Buffer.concat(head, received),
        ContentLength: received,
        ContentType: options.contentType,
        ...options.sse,
      }),
    );
    return { size: received };
  }

  const created = await client.send(
    new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: options.contentType, ...options.sse }),
  );
  const uploadId = created.UploadId!;
  const etags = new Map<number, string>();
  try {
    const stored = await streamParts({
      source: (async function* () {
        yield* head.splice(0);
        for (let chunk = await next(); chunk !== null; chunk = await next()) yield chunk;
      })(),
      offset: 0,
      size: limit,
      partSize,
      // Every part the body ends inside is its last: stored as it is, whatever its length.
      minPartSize: 0,
      firstPartNumber: 1,
      sink: {
        uploadPart: async (partNumber, body, length, signal) => {
          const answer = await client.send(
            new UploadPartCommand({
              Bucket: bucket,
              Key: key,
              UploadId: uploadId,
              PartNumber: partNumber,
              Body: body,
              ContentLength: length,
            }),
            { abortSignal: signal },
          );
          etags.set(partNumber, answer.ETag ?? "");
        },
        uploadIncompletePart: () => Promise.reject(new Error("A put has no incomplete part")),
      },
    });
    if (size !== undefined && stored !== size) throw new ObjectSizeMismatchError(key, size, stored);
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: [...etags].sort(([a], [b]) => a - b).map(([PartNumber, ETag]) => ({ PartNumber, ETag })) },
      }),
    );
    return { size: stored };
  } catch (error) {
    await chunks.return?.().catch(() => {});
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => {});
    throw error;
  }
}
