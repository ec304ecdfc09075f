import type { Readable } from "node:stream";
import { DataStore, type Upload } from "@tus/utils";
import type { CircuitState } from "../dependency.server";
import type { StorageBreaker } from "./storage-breaker.server";
import type { ByteRange, ObjectInfo, ObjectStore, PresignedGetOptions, TusDataStoreOptions } from "./types";

/**
 * A driver (local disk or S3) behind the storage circuit breaker (see StorageBreaker): a dead
 * store costs a fast 503 instead of a timeout on every request. Short requests are bounded by
 * the breaker's timeout; transfers only by their start.
 */
export class GuardedObjectStore implements ObjectStore {
  constructor(
    readonly inner: ObjectStore,
    readonly breaker: StorageBreaker,
  ) {}

  get driver() {
    return this.inner.driver;
  }

  circuitState(): CircuitState {
    return this.breaker.state;
  }

  /** At startup, where a dead store must stop the process rather than be waited out. */
  init(): Promise<void> {
    return this.inner.init();
  }

  put(key: string, body: Readable, options?: { size?: number; contentType?: string }): Promise<{ size: number }> {
    return this.breaker.stream(() => this.inner.put(key, body, options));
  }

  /** Only the start counts (S3's response headers, the file opened); the bytes then stream untimed. */
  async get(key: string, range?: ByteRange): Promise<Readable> {
    return this.breaker.guardStream(await this.breaker.request(() => this.inner.get(key, range)));
  }

  /** Signing asks nothing of the store; while its circuit is open the download streams (and is refused). */
  async presignedGetUrl(key: string, options: PresignedGetOptions): Promise<string | null> {
    if (this.breaker.isOpen || !this.inner.presignedGetUrl) return null;
    return this.inner.presignedGetUrl(key, options);
  }

  stat(key: string): Promise<ObjectInfo | null> {
    return this.breaker.request(() => this.inner.stat(key));
  }

  delete(key: string): Promise<void> {
    return this.breaker.request(() => this.inner.delete(key));
  }

  /** Many keys are many requests: a transfer, not one request. */
  deleteMany(keys: string[]): Promise<void> {
    return this.breaker.stream(() => this.inner.deleteMany(keys));
  }

  /** A server-side copy of a large object takes as long as the store needs to copy it. */
  copy(fromKey: string, toKey: string): Promise<void> {
    return this.breaker.stream(() => this.inner.copy(fromKey, toKey));
  }

  async *list(prefix?: string): AsyncIterable<ObjectInfo> {
    const iterator = await this.breaker.stream(async () => this.inner.list(prefix)[Symbol.asyncIterator]());
    try {
      for (;;) {
        const next = await iterator.next().catch(async (error: unknown) => Promise.reject(await this.breaker.failed(error)));
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await iterator.return?.();
    }
  }

  /** The readiness probe asks the store itself, open circuit or not, with its own timeout. */
  health(): Promise<void> {
    return this.inner.health();
  }

  createTusDataStore(options: TusDataStoreOptions): DataStore {
    return new GuardedTusStore(this.inner.createTusDataStore(options), this.breaker);
  }
}

/**
 * The driver's tus store behind the same breaker. A PATCH asks getUpload (a request, bounded)
 * before write, so a dead store is noticed in time; write itself lasts as long as the client
 * sends, and is only refused while the circuit is open.
 */
export class GuardedTusStore extends DataStore {
  constructor(
    readonly inner: DataStore,
    private readonly breaker: StorageBreaker,
  ) {
    super();
    this.extensions = inner.extensions;
  }

  override create(upload: Upload): Promise<Upload> {
    return this.breaker.request(() => this.inner.create(upload));
  }

  override getUpload(id: string): Promise<Upload> {
    return this.breaker.request(() => this.inner.getUpload(id));
  }

  override write(readable: Readable, id: string, offset: number): Promise<number> {
    return this.breaker.stream(() => this.inner.write(readable, id, offset));
  }

  override remove(id: string): Promise<void> {
    return this.breaker.request(() => this.inner.remove(id));
  }

  override declareUploadLength(id: string, length: number): Promise<void> {
    return this.breaker.request(() => this.inner.declareUploadLength(id, length));
  }

  /** A sweep over every expired upload: background work, not one request. */
  override deleteExpired(): Promise<number> {
    return this.breaker.stream(() => this.inner.deleteExpired());
  }

  override getExpiration(): number {
    return this.inner.getExpiration();
  }

  /**
   * tus's GET handler looks for this before it runs the request hook, which answers GET itself
   * (401 without a session, else 405): without it every GET would be a bare 404.
   */
  read(id: string): Promise<Readable> {
    const inner = this.inner as DataStore & { read?: (id: string) => Promise<Readable> };
    if (!inner.read) throw new Error("This upload store cannot read uploads back.");
    return this.breaker.stream(() => inner.read!(id));
  }
}
