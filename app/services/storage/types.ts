import type { Readable } from "node:stream";
import type { DataStore, KvStore } from "@tus/utils";
import type { CircuitState } from "../dependency.server";

export interface ObjectInfo {
  key: string;
  size: number;
  modifiedAt: Date;
}

/** Inclusive byte range, as in HTTP Range headers. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where file bytes live. Keys are flat, URL-safe strings (no slashes). Every method streams;
 * no implementation may buffer a whole object in memory.
 */
export interface ObjectStore {
  readonly driver: "local" | "s3";
  /** Creates the bucket or directory if missing. */
  init(): Promise<void>;
  /** Streams `body` into `key`, replacing any object there. Resolves with the bytes written. */
  put(key: string, body: Readable, options?: { size?: number; contentType?: string }): Promise<{ size: number }>;
  /** A stream of the object (or of `range` of it). Throws ObjectNotFoundError when missing. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** null when the object does not exist. */
  stat(key: string): Promise<ObjectInfo | null>;
  /** Idempotent: deleting a missing object succeeds. */
  delete(key: string): Promise<void>;
  deleteMany(keys: string[]): Promise<void>;
  /** Server-side copy; bytes never pass through the app. */
  copy(fromKey: string, toKey: string): Promise<void>;
  /** Every object whose key starts with `prefix`, in no particular order. */
  list(prefix?: string): AsyncIterable<ObjectInfo>;
  /** Throws when the store cannot be reached or used. */
  health(): Promise<void>;
  /** The state of the circuit breaker in front of the driver, for stores behind one. */
  circuitState?(): CircuitState | undefined;
  /** The tus data store that writes uploads into this same store, under the upload id as key. */
  createTusDataStore(options: TusDataStoreOptions): DataStore;
  /**
   * Stores that cannot keep every finished tus upload's object as it is (encryption at rest: an
   * upload stored in plaintext, told apart by its tus metadata) copy it into a new object and
   * resolve with that key; the caller deletes the upload's object once the file is recorded.
   * Resolving with `uploadId`, or without this method, the upload's object is kept as it is.
   */
  adoptUpload?(uploadId: string, size: number, metadata?: Record<string, string | null>): Promise<string>;
  /**
   * A short-lived URL from which a client can GET the object straight from the store, answered
   * with the given type and disposition. Null when the store cannot give one for this object (a
   * wrapper over a store without URLs, an object outside the primary store): stream it instead.
   */
  presignedGetUrl?(key: string, options: PresignedGetOptions): Promise<string | null>;
}

export interface PresignedGetOptions {
  expiresInSeconds: number;
  /** The Content-Type the store answers with (S3's response-content-type override). */
  contentType: string;
  /** The Content-Disposition the store answers with (response-content-disposition). */
  contentDisposition: string;
}

export interface TusDataStoreOptions {
  /** How long an unfinished upload lives before cleanup may remove it. */
  expirationPeriodInMilliseconds: number;
  /**
   * Shared upload-metadata store. Given when several app instances must see the same uploads
   * (Redis); otherwise the driver keeps metadata beside the object. Each driver stores its own
   * record shape (the local driver an Upload, the S3 driver an Upload plus the multipart upload
   * id), so any JSON-serialising KvStore from @tus/utils fits.
   */
  kvStore?: KvStore<unknown>;
}

export class ObjectNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`Object not found: ${key}`);
    this.name = "ObjectNotFoundError";
  }
}

export class InvalidObjectKeyError extends Error {
  constructor(readonly key: string) {
    super(`Invalid object key: ${JSON.stringify(key)} (use letters, digits, ".", "_" and "-"; no leading ".")`);
    this.name = "InvalidObjectKeyError";
  }
}

/** The range starts at or beyond the end of the object (HTTP 416), or is malformed. */
export class InvalidRangeError extends Error {
  constructor(
    readonly key: string,
    readonly range: ByteRange,
  ) {
    super(`Range ${range.start}-${range.end} is not satisfiable for ${key}`);
    this.name = "InvalidRangeError";
  }
}

/** `put` was told a size and the body had a different length; nothing was stored. */
export class ObjectSizeMismatchError extends Error {
  constructor(
    readonly key: string,
    readonly expected: number,
    /** Bytes seen before giving up: when larger than `expected`, the body was at least this long. */
    readonly actual: number,
  ) {
    super(`Object ${key}: expected ${expected} bytes, the body had ${actual > expected ? `more than ${expected}` : actual}`);
    this.name = "ObjectSizeMismatchError";
  }
}

/** The body outgrew what one put can store (S3: 10,000 parts). Declaring the size avoids this. */
export class ObjectTooLargeError extends Error {
  constructor(
    readonly key: string,
    readonly limit: number,
  ) {
    super(`Object ${key} is larger than ${limit} bytes, the most one put of unknown size can store; declare its size`);
    this.name = "ObjectTooLargeError";
  }
}

/** Some objects of a `deleteMany` could not be deleted (the others were). */
export class DeleteFailedError extends Error {
  constructor(readonly failures: Array<{ key: string; message: string }>) {
    super(
      `Could not delete ${failures.length} object(s): ${failures
        .slice(0, 5)
        .map((f) => `${f.key} (${f.message})`)
        .join(", ")}`,
    );
    this.name = "DeleteFailedError";
  }
}

/** The store itself (not one object) cannot be reached or used. */
export class StorageUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StorageUnavailableError";
  }
}

// Flat and URL-safe, and never "." / ".." or a hidden name, so a key is always a plain file name.
const OBJECT_KEY = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/;

export function assertValidKey(key: string): void {
  if (!OBJECT_KEY.test(key)) throw new InvalidObjectKeyError(key);
}

export function assertValidRange(key: string, range: ByteRange): void {
  const ok = Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && range.start >= 0 && range.end >= range.start;
  if (!ok) throw new InvalidRangeError(key, range);
}
