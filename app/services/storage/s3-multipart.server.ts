import { createHash } from "node:crypto";
import type * as Minio from "minio";
import { ObjectTooLargeError } from "./types";

export const MAX_PARTS = 10_000;

/**
 * Streams `source` into `key` with at most `partsInFlight` parts uploading at once, so memory
 * stays at about (partsInFlight + 1) × partSize. A body shorter than one part is one plain PUT.
 *
 * Why not minio's putObject: it only notices a failing source by hanging forever, and it cannot
 * clean up after itself on Swift (it finds its multipart uploads by listing them with an empty
 * delimiter, which Swift's s3api answers with nothing). Here the upload id is known, so a failed
 * put is always aborted and leaves no parts behind.
 */
export async function multipartPut(options: {
  client: Minio.Client;
  bucket: string;
  key: string;
  source: AsyncIterable<Buffer>;
  partSize: number;
  partsInFlight: number;
  headers: Record<string, string>;
}): Promise<void> {
  const { client, bucket, key, partSize, headers } = options;
  let upload: MultipartUpload | undefined;
  try {
    for await (const part of partsOf(options.source, partSize)) {
      // A short part is the last one; alone, it is a whole object.
      if (!upload && part.length < partSize) {
        await client.putObject(bucket, key, part, part.length, headers);
        return;
      }
      upload ??= await MultipartUpload.start(client, bucket, key, headers, options.partsInFlight);
      await upload.add(part);
    }
    if (upload) await upload.complete();
    else await client.putObject(bucket, key, Buffer.alloc(0), 0, headers);
  } catch (error) {
    await upload?.abort();
    throw error;
  }
}

class MultipartUpload {
  private readonly parts: Array<Promise<{ part: number; etag: string }>> = [];
  private readonly inFlight = new Set<Promise<unknown>>();

  private constructor(
    private readonly client: Minio.Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly uploadId: string,
    private readonly partsInFlight: number,
  ) {}

  static async start(client: Minio.Client, bucket: string, key: string, headers: Record<string, string>, partsInFlight: number) {
    const uploadId = await client.initiateNewMultipartUpload(bucket, key, headers);
    return new MultipartUpload(client, bucket, key, uploadId, partsInFlight);
  }

  /** Starts uploading `data`; resolves once there is room for another part. */
  async add(data: Buffer): Promise<void> {
    const partNumber = this.parts.length + 1;
    if (partNumber > MAX_PARTS) throw new ObjectTooLargeError(this.key, MAX_PARTS * data.length);
    const uploading = this.client.uploadPart(
      {
        bucketName: this.bucket,
        objectName: this.key,
        uploadID: this.uploadId,
        partNumber,
        headers: { "Content-MD5": createHash("md5").update(data).digest("base64") },
      },
      data,
    );
    this.parts.push(uploading);
    this.inFlight.add(uploading);
    // Failures surface through the race below or through complete(); never unhandled.
    uploading.then(
      () => this.inFlight.delete(uploading),
      () => {},
    );
    while (this.inFlight.size >= this.partsInFlight) await Promise.race(this.inFlight);
  }

  async complete(): Promise<void> {
    const parts = await Promise.all(this.parts);
    await this.client.completeMultipartUpload(this.bucket, this.key, this.uploadId, parts);
  }

  async abort(): Promise<void> {
    await Promise.allSettled(this.parts);
    await this.client.abortMultipartUpload(this.bucket, this.key, this.uploadId).catch(() => {});
  }
}

/** Regroups a byte stream into `partSize` buffers; only the last may be shorter. */
async function* partsOf(source: AsyncIterable<Buffer>, partSize: number): AsyncGenerator<Buffer> {
  let chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of source) {
    let rest = chunk;
    while (length + rest.length >= partSize) {
      const take = partSize - length;
      chunks.push(rest.subarray(0, take));
      yield Buffer.concat(chunks, partSize);
      chunks = [];
      length = 0;
      rest = rest.subarray(take);
    }
    if (rest.length > 0) {
      chunks.push(rest);
      length += rest.length;
    }
  }
  if (length > 0) yield Buffer.concat(chunks, length);
}
