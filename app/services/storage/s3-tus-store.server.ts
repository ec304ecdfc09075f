import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { S3Store, type MetadataValue, type Options as S3StoreOptions } from "@tus/s3-store";
import type { Upload } from "@tus/utils";
import { isStorageOutage } from "./outage.server";
import { BLOCK_SIZE, streamParts } from "./s3-part-streamer.server";

type Part = Awaited<ReturnType<S3Store["retrieveParts"]>>[number];

export interface CofferS3StoreOptions extends S3StoreOptions {
  /** Request headers for server-side encryption (S3_SSE), added to every object and multipart creation. */
  sseHeaders: Record<string, string>;
  /**
   * Memory the store may hold for parts being streamed, across all uploads (S3_UPLOAD_MEMORY).
   * Each upload receiving bytes counts two parts' worth (the part being filled, and the previous
   * one until S3 has answered for it), or what remains of it if less; when it is used up, further
   * uploads go through @tus/s3-store's temp files instead.
   */
  streamingMemory: number;
}

/**
 * @tus/s3-store with three changes:
 * - parts stream straight from the request into S3 (see streamParts) instead of through a temp
 *   file each, which @tus/s3-store writes and reads back: that doubled the I/O of every upload;
 * - an upload's offset counts only parts without a gap (1, 2, 3, …), so a part that failed
 *   while a later one succeeded can never make the offset skip bytes;
 * - the Content-MD5 header on DeleteObjects, and SSE headers on object and multipart creations;
 * - an upload whose metadata cannot be read because S3 is down is not "not found".
 */
export class CofferS3Store extends S3Store {
  private freeStreamingMemory: number;

  constructor({ sseHeaders: sse, streamingMemory, ...options }: CofferS3StoreOptions) {
    super(options);
    this.freeStreamingMemory = streamingMemory;
    // S3Store has no option for server-side encryption: its object and multipart creations get
    // the headers here, before signing.
    if (Object.keys(sse).length > 0) {
      this.client.middlewareStack.add(
        (next, context) => async (args) => {
          const request = args.request as { headers?: Record<string, string> };
          if (request.headers && SSE_COMMANDS.has(context.commandName ?? "")) Object.assign(request.headers, sse);
          return next(args);
        },
        { step: "build", name: "coffer:serverSideEncryption" },
      );
    }
    // The AWS SDK sends only a CRC32 checksum, and Swift (like older S3 APIs) insists on MD5.
    // Without it, terminating an upload and expiring old ones fail.
    this.client.middlewareStack.add(
      (next, context) => async (args) => {
        const request = args.request as { headers?: Record<string, string>; body?: unknown };
        const body = request.body;
        if (context.commandName === "DeleteObjectsCommand" && request.headers && (typeof body === "string" || body instanceof Uint8Array)) {
          request.headers["content-md5"] = createHash("md5").update(body).digest("base64");
        }
        return next(args);
      },
      { step: "build", name: "coffer:deleteObjectsContentMd5" },
    );
  }

  protected override async uploadParts(
    metadata: MetadataValue,
    readStream: Readable,
    currentPartNumber: number,
    offset: number,
  ): Promise<number> {
    const size = metadata.file.size;
    const partSize = this.calcOptimalPartSize(size);
    // Held in whole blocks, and never more than the bytes still to come: a small file takes little.
    const memory =
      size === undefined ? 0 : Math.min(PARTS_HELD_PER_UPLOAD * partSize, Math.ceil((size - offset) / BLOCK_SIZE) * BLOCK_SIZE);
    // Without a declared length the last part's size is unknown until the end: spool instead.
    if (size === undefined || memory > this.freeStreamingMemory) {
      return super.uploadParts(metadata, readStream, currentPartNumber, offset);
    }
    this.freeStreamingMemory -= memory;
    try {
      return await streamParts({
        source: readStream,
        offset,
        size,
        partSize,
        minPartSize: this.minPartSize,
        firstPartNumber: currentPartNumber,
        sink: {
          uploadPart: async (partNumber, body, length, signal) => {
            await this.client.uploadPart(
              {
                Bucket: this.bucket,
                Key: metadata.file.id,
                UploadId: metadata["upload-id"],
                PartNumber: partNumber,
                Body: body,
                ContentLength: length,
              },
              { abortSignal: signal },
            );
          },
          uploadIncompletePart: async (body, length) => {
            await this.client.putObject({
              Bucket: this.bucket,
              Key: this.partKey(metadata.file.id, true),
              Body: body,
              ContentLength: length,
              Tagging: this.useCompleteTag("false"),
            });
          },
        },
      });
    } finally {
      this.freeStreamingMemory += memory;
    }
  }

  /**
   * S3Store answers 404 for any failure to read an upload's metadata, and a tus client told 404
   * starts its upload over: a store that is down must fail the request instead (503), so the
   * client resumes once it is back. The metadata read here is cached for S3Store's own read.
   */
  override async getUpload(id: string): Promise<Upload> {
    try {
      await this.getMetadata(id);
    } catch (error) {
      if (isStorageOutage(error)) throw error;
    }
    return super.getUpload(id);
  }

  protected override async retrieveParts(id: string, partNumberMarker?: string): Promise<Part[]> {
    const parts = await super.retrieveParts(id, partNumberMarker);
    // Called recursively per page; only the outermost call sees (and trims) the whole list.
    if (partNumberMarker) return parts;
    const gap = parts.findIndex((part, index) => part.PartNumber !== index + 1);
    return gap === -1 ? parts : parts.slice(0, gap);
  }
}

/** The part being filled, and the one before it until S3 has answered (see streamParts). */
const PARTS_HELD_PER_UPLOAD = 2;

const SSE_COMMANDS = new Set(["PutObjectCommand", "CreateMultipartUploadCommand"]);
