import type { Readable } from "node:stream";
import { DataStore, type Upload } from "@tus/utils";
import { inSpan } from "~/services/tracing/spans.server";
import type { ByteRange, ObjectInfo, ObjectStore, PresignedGetOptions, TusDataStoreOptions } from "./types";

/**
 * Each call to the store is a span (`storage.put`, `storage.tus.write`, …) with the driver and
 * the operation, never a key or a file name. Used only when tracing is on (createObjectStore).
 */
export class TracedObjectStore implements ObjectStore {
  constructor(readonly inner: ObjectStore) {}

  get driver() {
    return this.inner.driver;
  }

  private span<T>(operation: string, work: () => Promise<T>): Promise<T> {
    return inSpan(`storage.${operation}`, { "storage.driver": this.inner.driver, "storage.operation": operation }, work);
  }

  init(): Promise<void> {
    return this.inner.init();
  }

  put(key: string, body: Readable, options?: { size?: number; contentType?: string }): Promise<{ size: number }> {
    return this.span("put", () => this.inner.put(key, body, options));
  }

  /** Until the stream starts: its bytes flow afterwards, outside any span. */
  get(key: string, range?: ByteRange): Promise<Readable> {
    return this.span("get", () => this.inner.get(key, range));
  }

  async presignedGetUrl(key: string, options: PresignedGetOptions): Promise<string | null> {
    return (await this.inner.presignedGetUrl?.(key, options)) ?? null;
  }

  stat(key: string): Promise<ObjectInfo | null> {
    return this.span("stat", () => this.inner.stat(key));
  }

  delete(key: string): Promise<void> {
    return this.span("delete", () => this.inner.delete(key));
  }

  deleteMany(keys: string[]): Promise<void> {
    return this.span("delete_many", () => this.inner.deleteMany(keys));
  }

  copy(fromKey: string, toKey: string): Promise<void> {
    return this.span("copy", () => this.inner.copy(fromKey, toKey));
  }

  list(prefix?: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }

  health(): Promise<void> {
    return this.inner.health();
  }

  createTusDataStore(options: TusDataStoreOptions): DataStore {
    return new TracedTusStore(this.inner.createTusDataStore(options), this.inner.driver);
  }
}

/** The driver's tus store, each call a `storage.tus.<operation>` span. */
export class TracedTusStore extends DataStore {
  constructor(
    readonly inner: DataStore,
    private readonly driver: ObjectStore["driver"],
  ) {
    super();
    this.extensions = inner.extensions;
  }

  private span<T>(operation: string, work: () => Promise<T>): Promise<T> {
    return inSpan(`storage.tus.${operation}`, { "storage.driver": this.driver, "storage.operation": `tus.${operation}` }, work);
  }

  override create(upload: Upload): Promise<Upload> {
    return this.span("create", () => this.inner.create(upload));
  }

  override getUpload(id: string): Promise<Upload> {
    return this.span("get_upload", () => this.inner.getUpload(id));
  }

  override write(readable: Readable, id: string, offset: number): Promise<number> {
    return this.span("write", () => this.inner.write(readable, id, offset));
  }

  override remove(id: string): Promise<void> {
    return this.span("remove", () => this.inner.remove(id));
  }

  override declareUploadLength(id: string, length: number): Promise<void> {
    return this.span("declare_length", () => this.inner.declareUploadLength(id, length));
  }

  override deleteExpired(): Promise<number> {
    return this.span("delete_expired", () => this.inner.deleteExpired());
  }

  override getExpiration(): number {
    return this.inner.getExpiration();
  }

  /** tus's GET handler looks for this (see GuardedTusStore.read). */
  read(id: string): Promise<Readable> {
    const inner = this.inner as DataStore & { read?: (id: string) => Promise<Readable> };
    if (!inner.read) throw new Error("This upload store cannot read uploads back.");
    return inner.read(id);
  }
}
