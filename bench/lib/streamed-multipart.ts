import { randomUUID } from "node:crypto";
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, type S3Client, UploadPartCommand } from "@aws-sdk/client-s3";
import { streamParts } from "../../app/services/storage/s3-part-streamer.server";

/**
 * A multipart upload whose parts are fed straight from `source` (Coffer's part streamer: one
 * UploadPart request per part, the next one starting while the previous answer is pending).
 * Resolves with the new object's key.
 */
export async function streamedMultipartUpload(
  client: S3Client,
  bucket: string,
  source: AsyncIterable<Buffer>,
  size: number,
  partSize: number,
): Promise<string> {
  const key = `streamed-${randomUUID()}`;
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const parts: Array<{ PartNumber: number; ETag?: string }> = [];
  await streamParts({
    source,
    offset: 0,
    size,
    partSize,
    minPartSize: 5 * 2 ** 20,
    firstPartNumber: 1,
    sink: {
      uploadPart: async (PartNumber, Body, ContentLength, abortSignal) => {
        const { ETag } = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber, Body, ContentLength }), {
          abortSignal,
        });
        parts.push({ PartNumber, ETag });
      },
      uploadIncompletePart: async () => {
        throw new Error(`the source ended before its ${size} bytes`);
      },
    },
  });
  parts.sort((a, b) => a.PartNumber - b.PartNumber);
  await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
  return key;
}
