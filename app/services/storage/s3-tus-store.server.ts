import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { S3Store, type MetadataValue, type Options as S3StoreOptions } from "@tus/s3-store";
import { ERRORS, Upload } from "@tus/utils";
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
 * @tus/s3-store with these changes:
 * - a small upload (up to the minimum part size) is one PutObject instead of a multipart upload
 *   (create, part, list, complete: each a request, and Swift's multipart completion is costly):
 *   its bytes are gathered in memory and put once they are all there (see SmallUploads);
 * - parts stream straight from the request into S3 (see streamParts) instead of through a temp
 *   file each, which @tus/s3-store writes and reads back: that doubled the I/O of every upload;
 * - an upload's offset counts only parts without a gap (1, 2, 3, …), so a part that failed
 *   while a later one succeeded can never make the offset skip bytes;
 * - the Content-MD5 header on DeleteObjects, and SSE headers on object and multipart creations;
 * - an upload whose metadata cannot be read because S3 is down is not "not found".
 */
export class CofferS3Store extends S3Store {
  private freeStreamingMemory: number;
  private readonly small: SmallUploads;

  constructor({ sseHeaders: sse, streamingMemory, ...options }: CofferS3StoreOptions) {
    super(options);
    this.freeStreamingMemory = streamingMemory;
    this.small = new SmallUploads(this);
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

  /** A small upload starts no multipart upload: only its record is saved (and an empty file is put at once). */
  override async create(upload: Upload): Promise<Upload> {
    if (upload.size === undefined || upload.size > this.minPartSize) return super.create(upload);
    upload.creation_date = new Date().toISOString();
    upload.storage = { type: "s3", path: upload.id, bucket: this.bucket };
    if (upload.size === 0) await this.small.put(upload, Buffer.alloc(0));
    await this.saveMetadata(upload, SINGLE_PUT);
    return upload;
  }

  override async write(src: Readable, id: string, offset: number): Promise<number> {
    const metadata = await this.getMetadata(id);
    if (!isSinglePut(metadata)) return super.write(src, id, offset);
    const size = metadata.file.size ?? 0;
    // Out of streaming memory: this one becomes a multipart upload after all.
    if (size > this.freeStreamingMemory) {
      await this.startMultipart(metadata);
      return super.write(src, id, offset);
    }
    this.freeStreamingMemory -= size;
    try {
      return await this.small.write(metadata.file, src, offset);
    } finally {
      this.freeStreamingMemory += size;
    }
  }

  override async remove(id: string): Promise<void> {
    const metadata = await this.getMetadata(id).catch(() => null);
    if (!metadata || !isSinglePut(metadata)) return super.remove(id);
    await this.small.remove(id);
    await this.clearCache(id);
  }

  /** Turns a small upload into a multipart one (its incomplete part, if any, is taken up by S3Store's write). */
  private async startMultipart(metadata: MetadataValue): Promise<void> {
    const created = await this.client.createMultipartUpload({
      Bucket: this.bucket,
      Key: metadata.file.id,
      Metadata: { "tus-version": "1.0.0" },
    });
    const uploadId = created.UploadId ?? "";
    await this.saveMetadata(metadata.file, uploadId);
    await this.cache.set(metadata.file.id, {
      ...metadata,
      "upload-id": uploadId,
    });
  }

  /** For SmallUploads: S3Store's own helpers, which are protected. */
  get smallUploadAccess() {
    return {
      client: this.client,
      bucket: this.bucket,
      partKey: (id: string) => this.partKey(id, true),
      infoKey: (id: string) => this.infoKey(id),
      clearCache: (id: string) => this.clearCache(id),
    };
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
    let metadata: MetadataValue | undefined;
    try {
      metadata = await this.getMetadata(id);
    } catch (error) {
      if (isStorageOutage(error)) throw error;
    }
    if (metadata && isSinglePut(metadata)) return this.small.getUpload(metadata.file);
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

/** The multipart upload id recorded for a small upload, which has none. */
const SINGLE_PUT = "";

function isSinglePut(metadata: MetadataValue): boolean {
  return !metadata["upload-id"];
}

/**
 * Small uploads: one PutObject of the whole file once every byte is there. A request that ends
 * before that (a lost connection) keeps what arrived in the upload's incomplete-part object
 * (`<id>.part`, as S3Store keeps the tail of a big upload), and the next request continues from
 * it, so the upload resumes where it stopped.
 */
class SmallUploads {
  constructor(private readonly store: CofferS3Store) {}

  private get s3() {
    return this.store.smallUploadAccess;
  }

  async write(file: Upload, src: Readable, offset: number): Promise<number> {
    const size = file.size ?? 0;
    const earlier = offset > 0 ? await this.readPart(file.id) : Buffer.alloc(0);
    if (earlier.length !== offset) throw ERRORS.INVALID_OFFSET;
    const chunks: Buffer[] = [earlier];
    let length = earlier.length;
    for await (const chunk of src) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
    }
    if (length === offset) return offset;
    const body = Buffer.concat(chunks, length);
    if (length >= size) {
      await this.put(file, body);
      if (offset > 0)
        await this.s3.client.deleteObject({
          Bucket: this.s3.bucket,
          Key: this.s3.partKey(file.id),
        });
      await this.s3.clearCache(file.id);
    } else {
      await this.s3.client.putObject({
        Bucket: this.s3.bucket,
        Key: this.s3.partKey(file.id),
        Body: body,
        ContentLength: length,
      });
    }
    return length;
  }

  async put(file: Upload, body: Buffer): Promise<void> {
    const contentType = file.metadata?.contentType;
    await this.s3.client.putObject({
      Bucket: this.s3.bucket,
      Key: file.id,
      Body: body,
      ContentLength: body.length,
      ...(contentType ? { ContentType: contentType } : {}),
    });
  }

  /** Its offset: what its incomplete part holds, or all of it once the object is there. */
  async getUpload(file: Upload): Promise<Upload> {
    const partial = await this.headSize(this.s3.partKey(file.id));
    const offset = partial ?? ((await this.headSize(file.id)) === undefined ? 0 : (file.size ?? 0));
    return new Upload({ ...file, offset, size: file.size });
  }

  async remove(id: string): Promise<void> {
    await this.s3.client.deleteObjects({
      Bucket: this.s3.bucket,
      Delete: {
        Objects: [{ Key: id }, { Key: this.s3.infoKey(id) }, { Key: this.s3.partKey(id) }],
      },
    });
  }

  private async readPart(id: string): Promise<Buffer> {
    try {
      const { Body } = await this.s3.client.getObject({
        Bucket: this.s3.bucket,
        Key: this.s3.partKey(id),
      });
      return Buffer.from((await Body?.transformToByteArray()) ?? []);
    } catch (error) {
      if (isNotFound(error)) return Buffer.alloc(0);
      throw error;
    }
  }

  private async headSize(key: string): Promise<number | undefined> {
    try {
      return (await this.s3.client.headObject({ Bucket: this.s3.bucket, Key: key })).ContentLength;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}

function isNotFound(error: unknown): boolean {
  const e = error as {
    name?: string;
    Code?: string;
    $metadata?: { httpStatusCode?: number };
  } | null;
  return e?.name === "NoSuchKey" || e?.name === "NotFound" || e?.Code === "NoSuchKey" || e?.$metadata?.httpStatusCode === 404;
}
