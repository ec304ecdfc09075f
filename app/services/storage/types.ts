import type { Readable } from "node:stream";
import type { DataStore } from "@tus/utils";

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
  list(prefix?: string): AsyncIterable<ObjectInfo>;
  /** Throws when the store cannot be reached or used. */
  health(): Promise<void>;
  /** The tus data store that writes uploads into this same store, under the upload id as key. */
  createTusDataStore(options: TusDataStoreOptions): DataStore;
}

export interface TusDataStoreOptions {
  /** How long an unfinished upload lives before cleanup may remove it. */
  expirationPeriodInMilliseconds: number;
  /**
   * Shared upload-metadata store. Given when several app instances must see the same uploads
   * (Redis); otherwise the driver keeps metadata beside the object.
   */
  kvStore?: import("@tus/utils").KvStore<import("@tus/utils").Upload>;
}

export class ObjectNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`Object not found: ${key}`);
    this.name = "ObjectNotFoundError";
  }
}
