import type { Readable } from "node:stream";
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import type { MetadataValue } from "@tus/s3-store";
import type { DataStore, KvStore } from "@tus/utils";
import * as Minio from "minio";
import { ConfigError, type Config } from "~/config.server";
import type { Logger } from "~/services/logger.server";
import { MAX_PARTS, streamingPut } from "./s3-multipart.server";
import { sdkLogger, silentLogger } from "./s3-sdk-logger.server";
import { CofferS3Store } from "./s3-tus-store.server";
import {
  assertValidKey,
  assertValidRange,
  DeleteFailedError,
  InvalidRangeError,
  ObjectNotFoundError,
  StorageUnavailableError,
  type ByteRange,
  type ObjectInfo,
  type ObjectStore,
  type PresignedGetOptions,
  type TusDataStoreOptions,
} from "./types";

export type S3StorageConfig = Extract<Config["storage"], { driver: "s3" }>;

export interface S3ObjectStoreTuning {
  /** Objects larger than this are copied part by part (S3 and Swift refuse one-shot copies over 5 GiB). */
  maxSingleCopySize?: number;
  healthTimeoutMs?: number;
}

const MiB = 2 ** 20;
const MAX_SINGLE_COPY_SIZE = 5 * 2 ** 30;
const NOT_FOUND_CODES = new Set(["NoSuchKey", "NotFound"]);

/** Objects in one bucket of any S3-compatible server (AWS, MinIO, Ceph, R2, Swift's s3api). */
export class S3ObjectStore implements ObjectStore {
  readonly driver = "s3";
  /**
   * Told of each read the server answers naming a storage class (S3 names any class but
   * STANDARD): the storage-class cold tier learns of reads of cold objects this way. Never awaited.
   */
  onStorageClassRead?: (key: string, storageClass: string) => void;
  private readonly bucket: string;
  private readonly client: Minio.Client;
  /** The AWS SDK's client, which puts stream through (as tus uploads do); made on first use. */
  private sdkClient?: S3Client;
  private readonly maxSingleCopySize: number;
  private readonly healthTimeoutMs: number;
  private readonly sseHeaders: Record<string, string>;

  constructor(
    private readonly config: S3StorageConfig,
    tuning: S3ObjectStoreTuning = {},
    /** Receives the AWS SDK's messages (at debug level). The MinIO client logs nothing. */
    private readonly log: Logger = silentLogger,
  ) {
    this.bucket = config.bucket;
    this.client = createClient(config);
    this.maxSingleCopySize = tuning.maxSingleCopySize ?? MAX_SINGLE_COPY_SIZE;
    this.healthTimeoutMs = tuning.healthTimeoutMs ?? 5_000;
    this.sseHeaders = sseHeaders(config.sse);
  }

  async init(): Promise<void> {
    if (await this.client.bucketExists(this.bucket)) return;
    try {
      await this.client.makeBucket(this.bucket, this.config.region);
    } catch (error) {
      // Another instance created it first.
      if (errorCode(error) !== "BucketAlreadyOwnedByYou") throw error;
    }
  }

  async put(key: string, body: Readable, options: { size?: number; contentType?: string } = {}): Promise<{ size: number }> {
    assertValidKey(key);
    this.sdkClient ??= new S3Client(this.sdkClientConfig());
    return streamingPut({
      client: this.sdkClient,
      bucket: this.bucket,
      key,
      source: body,
      size: options.size,
      partSize: this.partSizeFor(options.size),
      contentType: options.contentType,
      sse: this.config.sse
        ? { ServerSideEncryption: this.config.sse.type, ...(this.config.sse.kmsKeyId ? { SSEKMSKeyId: this.config.sse.kmsKeyId } : {}) }
        : {},
    });
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    assertValidKey(key);
    if (range) assertValidRange(key, range);
    try {
      const stream = range
        ? await this.client.getPartialObject(this.bucket, key, range.start, range.end - range.start + 1)
        : await this.client.getObject(this.bucket, key);
      const storageClass = (stream as Readable & { headers?: Record<string, unknown> }).headers?.["x-amz-storage-class"];
      if (this.onStorageClassRead && typeof storageClass === "string") this.onStorageClassRead(key, storageClass);
      return stream;
    } catch (error) {
      if (isNotFound(error)) throw new ObjectNotFoundError(key);
      if (range && errorCode(error) === "InvalidRange") throw new InvalidRangeError(key, range);
      throw error;
    }
  }

  /** Signed here, with no request to the store (the region is configured). */
  async presignedGetUrl(key: string, options: PresignedGetOptions): Promise<string> {
    assertValidKey(key);
    return this.client.presignedGetObject(this.bucket, key, options.expiresInSeconds, {
      "response-content-type": options.contentType,
      "response-content-disposition": options.contentDisposition,
      // Whoever holds the URL may fetch it until it expires; no shared cache should keep the bytes.
      "response-cache-control": "private, no-cache",
    });
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    assertValidKey(key);
    try {
      const info = await this.client.statObject(this.bucket, key);
      return { key, size: info.size, modifiedAt: info.lastModified };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    try {
      await this.client.removeObject(this.bucket, key);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async deleteMany(keys: string[]): Promise<void> {
    keys.forEach(assertValidKey);
    if (keys.length === 0) return;
    // minio batches by 1000 and sends the Content-MD5 that DeleteObjects requires.
    const results = await this.client.removeObjects(this.bucket, keys);
    const failures = results
      .map((result) => result?.Error)
      .filter((failure) => failure && !NOT_FOUND_CODES.has(failure.Code ?? ""))
      .map((failure) => ({ key: failure!.Key ?? "?", message: `${failure!.Code}: ${failure!.Message}` }));
    if (failures.length > 0) throw new DeleteFailedError(failures);
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    assertValidKey(fromKey);
    assertValidKey(toKey);
    const client = this.client;
    try {
      const source = await client.statObject(this.bucket, fromKey);
      if (source.size <= this.maxSingleCopySize) {
        // One request, so the copy is of one version; no precondition needed.
        await client.copyObject(
          new Minio.CopySourceOptions({ Bucket: this.bucket, Object: fromKey }),
          new Minio.CopyDestinationOptions({ Bucket: this.bucket, Object: toKey, Headers: this.sseHeaders }),
        );
      } else {
        await this.copyInParts(fromKey, toKey, source);
      }
    } catch (error) {
      if (isNotFound(error)) throw new ObjectNotFoundError(fromKey);
      throw error;
    }
  }

  /**
   * Rewrites `key` in place in `storageClass` (a server-side copy onto itself): the bytes, the
   * content type, user metadata and server-side encryption stay. Null when there is no such object.
   * The metadata is given again (REPLACE): S3 lets an object be copied onto itself with COPY only
   * when its class changes, Swift never.
   */
  async setStorageClass(key: string, storageClass: string): Promise<ObjectInfo | null> {
    assertValidKey(key);
    let source: Minio.BucketItemStat;
    try {
      source = await this.client.statObject(this.bucket, key);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
    const headers = {
      ...keptMetadata(source.metaData ?? {}),
      ...this.sseHeaders,
      "x-amz-storage-class": storageClass,
      "x-amz-metadata-directive": "REPLACE",
    };
    try {
      if (source.size <= this.maxSingleCopySize) {
        await this.client.copyObject(
          new Minio.CopySourceOptions({
            Bucket: this.bucket,
            Object: key,
            // The object copied is the one measured, or the copy fails.
            MatchUnmodifiedSince: source.lastModified.toUTCString(),
          }),
          new Minio.CopyDestinationOptions({ Bucket: this.bucket, Object: key, Headers: headers }),
        );
      } else {
        await this.copyInParts(key, key, source, headers);
      }
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
    return { key, size: source.size, modifiedAt: new Date() };
  }

  async *list(prefix = ""): AsyncIterable<ObjectInfo> {
    for await (const item of this.client.listObjectsV2(this.bucket, prefix, true)) {
      if (item.name !== undefined) yield { key: item.name, size: item.size, modifiedAt: item.lastModified };
    }
  }

  async health(): Promise<void> {
    let exists: boolean;
    try {
      exists = await withTimeout(this.client.bucketExists(this.bucket), this.healthTimeoutMs);
    } catch (error) {
      throw new StorageUnavailableError(`S3 storage at ${this.config.endpoint} is not usable: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (!exists) throw new StorageUnavailableError(`S3 bucket "${this.bucket}" does not exist at ${this.config.endpoint}`);
  }

  createTusDataStore(options: TusDataStoreOptions): DataStore {
    return new CofferS3Store({
      s3ClientConfig: { bucket: this.bucket, ...this.sdkClientConfig() },
      // S3Store raises this per upload (calcOptimalPartSize) so 10,000 parts always suffice.
      partSize: this.config.partSize,
      maxConcurrentPartUploads: this.config.uploadConcurrency,
      streamingMemory: this.config.uploadMemory,
      // Swift has no object tagging; expiry then works from the multipart uploads' start dates.
      useTags: false,
      expirationPeriodInMilliseconds: options.expirationPeriodInMilliseconds,
      // The S3 driver's records are S3Store MetadataValues (see TusDataStoreOptions.kvStore).
      cache: options.kvStore as KvStore<MetadataValue> | undefined,
      sseHeaders: this.sseHeaders,
    });
  }

  /** The AWS SDK client's configuration, for puts and for the tus store. */
  private sdkClientConfig(): S3ClientConfig {
    return {
      region: this.config.region,
      endpoint: this.config.endpoint,
      credentials: { accessKeyId: this.config.accessKey, secretAccessKey: this.config.secretKey },
      forcePathStyle: this.config.forcePathStyle,
      // Otherwise the SDK streams bodies as aws-chunked with trailing checksums, which Swift
      // (and other S3-compatible servers) answer with 501, and sends a checksum of every part.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      // Otherwise the SDK prints to stderr whenever a part request is cut short on purpose.
      logger: sdkLogger(this.log),
    };
  }

  /**
   * The configured part size, raised for objects too big for 10,000 of them. With an unknown
   * size the configured size is used, which caps such puts at 10,000 parts (312 GiB at 32 MiB).
   */
  private partSizeFor(size: number | undefined): number {
    if (size === undefined) return this.config.partSize;
    const needed = Math.ceil(size / MAX_PARTS / MiB) * MiB;
    return Math.max(this.config.partSize, needed);
  }

  /** Server-side multipart copy (UploadPartCopy), for sources over the one-shot copy limit. */
  private async copyInParts(
    fromKey: string,
    toKey: string,
    source: Minio.BucketItemStat,
    /** The new object's headers; by default its source's content type. */
    headers?: Record<string, string>,
  ): Promise<void> {
    const client = this.client;
    const partSize = Math.max(this.config.partSize, Math.ceil(source.size / MAX_PARTS));
    const contentType = source.metaData?.["content-type"];
    const initiate = headers
      ? Object.fromEntries(Object.entries(headers).filter(([name]) => name !== "x-amz-metadata-directive"))
      : { ...(contentType ? { "Content-Type": contentType } : {}), ...this.sseHeaders };
    const uploadId = await client.initiateNewMultipartUpload(this.bucket, toKey, initiate);
    try {
      const partCount = Math.ceil(source.size / partSize);
      const parts = await mapConcurrently(partCount, this.config.uploadConcurrency, async (index) => {
        const start = index * partSize;
        const end = Math.min(start + partSize, source.size) - 1;
        return client.uploadPart({
          bucketName: this.bucket,
          objectName: toKey,
          uploadID: uploadId,
          partNumber: index + 1,
          headers: {
            "x-amz-copy-source": `${this.bucket}/${fromKey}`,
            "x-amz-copy-source-range": `bytes=${start}-${end}`,
            // Every part must come from the version that was measured. (Not If-Match: Swift
            // compares it with its internal manifest ETag for multipart objects and always fails.)
            "x-amz-copy-source-if-unmodified-since": source.lastModified.toUTCString(),
          },
        });
      });
      await client.completeMultipartUpload(this.bucket, toKey, uploadId, parts);
    } catch (error) {
      await client.abortMultipartUpload(this.bucket, toKey, uploadId).catch(() => {});
      throw error;
    }
  }
}

const KEPT_HEADERS = new Set(["content-type", "content-encoding", "content-disposition", "content-language", "cache-control"]);

/**
 * The headers an object's copy must be given again to stay the same object: its standard headers,
 * and its user metadata (minio's stat lists it without the `x-amz-meta-` prefix). The `x-amz-…`
 * attributes (class, encryption) are the copy's own.
 */
function keptMetadata(metaData: Record<string, unknown>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(metaData)) {
    const lower = name.toLowerCase();
    if (value === undefined || value === null || lower.startsWith("x-amz-")) continue;
    if (KEPT_HEADERS.has(lower)) headers[name] = String(value);
    else if (lower !== "if-match" && lower !== "if-none-match") headers[`x-amz-meta-${lower}`] = String(value);
  }
  return headers;
}

/** Request headers asking the S3 store to encrypt what it writes (S3_SSE, S3_SSE_KMS_KEY_ID). */
export function sseHeaders(sse: S3StorageConfig["sse"]): Record<string, string> {
  if (!sse) return {};
  return {
    "x-amz-server-side-encryption": sse.type,
    ...(sse.kmsKeyId ? { "x-amz-server-side-encryption-aws-kms-key-id": sse.kmsKeyId } : {}),
  };
}

function errorCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error ? String(error.code) : undefined;
}

function isNotFound(error: unknown): boolean {
  return NOT_FOUND_CODES.has(errorCode(error) ?? "");
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `task(0..count-1)` with at most `limit` at a time; results in index order. */
async function mapConcurrently<T>(count: number, limit: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < count && !failed) {
      const index = next++;
      try {
        results[index] = await task(index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return results;
}

function createClient(config: S3StorageConfig): Minio.Client {
  const url = new URL(config.endpoint);
  if (url.pathname !== "/" || url.search) {
    throw new ConfigError([`S3_ENDPOINT: must be a bare origin such as https://s3.example.com, got ${config.endpoint}`]);
  }
  const useSSL = url.protocol === "https:";
  return new Minio.Client({
    endPoint: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: config.accessKey,
    secretKey: config.secretKey,
    region: config.region,
    pathStyle: config.forcePathStyle,
  });
}
