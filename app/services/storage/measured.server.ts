import type { Readable } from "node:stream";
import { DataStore, type Upload } from "@tus/utils";
import { measured, metrics, zeroOperations } from "../metrics.server";
import {
  type ByteRange,
  InvalidObjectKeyError,
  InvalidRangeError,
  type ObjectInfo,
  ObjectNotFoundError,
  type ObjectStore,
  type PresignedGetOptions,
  ObjectSizeMismatchError,
  type TusDataStoreOptions,
} from "./types";

/** The operations of coffer_storage_operation_*: the ObjectStore's and its tus store's, a fixed set. */
export const STORAGE_OPERATIONS = [
  "put",
  "get",
  "stat",
  "delete",
  "delete_many",
  "copy",
  "list",
  "tus_create",
  "tus_get_upload",
  "tus_write",
  "tus_remove",
  "tus_declare_length",
  "tus_delete_expired",
  "tus_read",
] as const;
type StorageOperation = (typeof STORAGE_OPERATIONS)[number];

/** What the caller asked wrong, not a store that failed: a missing object, a bad key or range, a body of another size. */
function isAnswer(error: unknown): boolean {
  return (
    error instanceof ObjectNotFoundError ||
    error instanceof InvalidObjectKeyError ||
    error instanceof InvalidRangeError ||
    error instanceof ObjectSizeMismatchError ||
    // tus's own refusals (an unknown upload id, a wrong offset) carry their HTTP status.
    (typeof (error as { status_code?: unknown } | null)?.status_code === "number" && (error as { status_code: number }).status_code < 500)
  );
}

/**
 * A driver with each operation timed and its failures counted by operation and driver. It sits
 * under the circuit breaker (GuardedObjectStore), so calls the open breaker refuses never reach
 * the driver and are not measured; the health probe and init are not operations.
 */
export class MeasuredObjectStore implements ObjectStore {
  constructor(readonly inner: ObjectStore) {
    const { storageDuration, storageErrors } = metrics();
    zeroOperations(storageDuration, storageErrors, inner.driver, STORAGE_OPERATIONS);
  }

  get driver() {
    return this.inner.driver;
  }

  private run<T>(operation: StorageOperation, call: () => Promise<T>): Promise<T> {
    const { storageDuration, storageErrors } = metrics();
    return measured(storageDuration, storageErrors, { driver: this.inner.driver, operation }, call, isAnswer);
  }

  init(): Promise<void> {
    return this.inner.init();
  }

  put(key: string, body: Readable, options?: { size?: number; contentType?: string }): Promise<{ size: number }> {
    return this.run("put", () => this.inner.put(key, body, options));
  }

  get(key: string, range?: ByteRange): Promise<Readable> {
    return this.run("get", () => this.inner.get(key, range));
  }

  /** Not an operation on the store: the URL is signed locally. */
  async presignedGetUrl(key: string, options: PresignedGetOptions): Promise<string | null> {
    return (await this.inner.presignedGetUrl?.(key, options)) ?? null;
  }

  stat(key: string): Promise<ObjectInfo | null> {
    return this.run("stat", () => this.inner.stat(key));
  }

  delete(key: string): Promise<void> {
    return this.run("delete", () => this.inner.delete(key));
  }

  deleteMany(keys: string[]): Promise<void> {
    return this.run("delete_many", () => this.inner.deleteMany(keys));
  }

  copy(fromKey: string, toKey: string): Promise<void> {
    return this.run("copy", () => this.inner.copy(fromKey, toKey));
  }

  /** One observation per listing, from its start to its last page. */
  async *list(prefix?: string): AsyncIterable<ObjectInfo> {
    const { storageDuration, storageErrors } = metrics();
    const labels = { driver: this.inner.driver, operation: "list" };
    const started = performance.now();
    try {
      yield* this.inner.list(prefix);
    } catch (error) {
      if (!isAnswer(error)) storageErrors.inc(labels);
      throw error;
    } finally {
      storageDuration.observe(labels, (performance.now() - started) / 1000);
    }
  }

  health(): Promise<void> {
    return this.inner.health();
  }

  createTusDataStore(options: TusDataStoreOptions): DataStore {
    return new MeasuredTusStore(this.inner.createTusDataStore(options), this.inner.driver);
  }
}

/** The driver's tus store, measured like the object store. */
export class MeasuredTusStore extends DataStore {
  constructor(
    readonly inner: DataStore,
    private readonly driver: ObjectStore["driver"],
  ) {
    super();
    this.extensions = inner.extensions;
  }

  private run<T>(operation: StorageOperation, call: () => Promise<T>): Promise<T> {
    const { storageDuration, storageErrors } = metrics();
    return measured(storageDuration, storageErrors, { driver: this.driver, operation }, call, isAnswer);
  }

  override create(upload: Upload): Promise<Upload> {
    return this.run("tus_create", () => this.inner.create(upload));
  }

  override getUpload(id: string): Promise<Upload> {
    return this.run("tus_get_upload", () => this.inner.getUpload(id));
  }

  override write(readable: Readable, id: string, offset: number): Promise<number> {
    return this.run("tus_write", () => this.inner.write(readable, id, offset));
  }

  override remove(id: string): Promise<void> {
    return this.run("tus_remove", () => this.inner.remove(id));
  }

  override declareUploadLength(id: string, length: number): Promise<void> {
    return this.run("tus_declare_length", () => this.inner.declareUploadLength(id, length));
  }

  override deleteExpired(): Promise<number> {
    return this.run("tus_delete_expired", () => this.inner.deleteExpired());
  }

  override getExpiration(): number {
    return this.inner.getExpiration();
  }

  read(id: string): Promise<Readable> {
    const inner = this.inner as DataStore & { read?: (id: string) => Promise<Readable> };
    if (!inner.read) throw new Error("This upload store cannot read uploads back.");
    return this.run("tus_read", () => inner.read!(id));
  }
}
