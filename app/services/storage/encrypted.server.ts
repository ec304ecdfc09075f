import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { DataStore, Upload } from "@tus/utils";
import { EncryptingTusStore, encryptionHeaderOf } from "./encrypting-tus-store.server";
import { ByteCounter } from "./byte-counter.server";
import {
  cipherRangeFor,
  cipherSize,
  createHeader,
  Decryptor,
  Encryptor,
  HEADER_LENGTH,
  parseHeader,
  plainSize,
  unwrapDataKey,
  type ObjectHeader,
} from "./encryption-format.server";
import type { KeyRing } from "./key-ring.server";
import type { CircuitState } from "../dependency.server";
import {
  assertValidKey,
  assertValidRange,
  InvalidRangeError,
  ObjectNotFoundError,
  type ByteRange,
  type ObjectInfo,
  type ObjectStore,
  type TusDataStoreOptions,
} from "./types";

/**
 * Encryption at rest around either driver: everything written through it is encrypted (see
 * encryption-format.server.ts), everything read is decrypted. Objects without the header's
 * magic were written before encryption was enabled (or are tus uploads begun before uploads were
 * encrypted as they arrive); they are passed through as they are, so encryption can be switched
 * on for an existing install.
 */
export class EncryptedObjectStore implements ObjectStore {
  readonly encrypted = true;

  constructor(
    readonly inner: ObjectStore,
    private readonly keys: KeyRing,
  ) {}

  get driver() {
    return this.inner.driver;
  }

  circuitState(): CircuitState | undefined {
    return this.inner.circuitState?.();
  }

  async init(): Promise<void> {
    await this.inner.init();
    await this.keys.init();
  }

  async put(key: string, body: Readable, options: { size?: number; contentType?: string } = {}): Promise<{ size: number }> {
    assertValidKey(key);
    const { header, dataKey } = createHeader(this.keys.current());
    const counter = new ByteCounter(key, options.size);
    const encryptor = new Encryptor(header, dataKey);
    // Errors of `body` or of the counter destroy `encryptor`, which fails the inner put.
    pipeline(body, counter, encryptor).catch(() => {});
    await this.inner.put(key, encryptor, {
      contentType: options.contentType,
      size: options.size === undefined ? undefined : cipherSize(options.size, header.segmentSize),
    });
    return { size: counter.bytes };
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    assertValidKey(key);
    if (range) return this.getRange(key, range);
    const { head, rest } = await readHead(await this.inner.get(key), HEADER_LENGTH);
    const header = parseHeader(head);
    if (!header) return Readable.from(prepend(head, rest));
    const decryptor = new Decryptor(header, await this.dataKeyOf(header));
    return pipeAndForward(Readable.from(prepend(head.subarray(HEADER_LENGTH), rest)), decryptor);
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    const info = await this.inner.stat(key);
    if (!info) return null;
    const header = await this.headerOf(key, info.size);
    return header ? { ...info, size: plainSize(info.size, header.segmentSize) } : info;
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  deleteMany(keys: string[]): Promise<void> {
    return this.inner.deleteMany(keys);
  }

  /** The header is self-contained, so the ciphertext is copied as it is. */
  copy(fromKey: string, toKey: string): Promise<void> {
    return this.inner.copy(fromKey, toKey);
  }

  async *list(prefix?: string): AsyncIterable<ObjectInfo> {
    for await (const info of this.inner.list(prefix)) {
      // A damaged object is listed with its stored size rather than ending the listing.
      const size = await this.headerOf(info.key, info.size)
        .then((header) => (header ? plainSize(info.size, header.segmentSize) : info.size))
        .catch(() => info.size);
      yield { ...info, size };
    }
  }

  health(): Promise<void> {
    return this.inner.health();
  }

  /** tus uploads are encrypted as they arrive (see EncryptingTusStore). */
  createTusDataStore(options: TusDataStoreOptions): DataStore {
    return new EncryptingTusStore(this.inner.createTusDataStore(options), this.keys);
  }

  /**
   * The key of a finished tus upload's encrypted object. An upload encrypted as it arrived is
   * that object already; one stored in plaintext (begun before uploads were encrypted as they
   * arrive) is streamed through the encryptor into a new object, and the caller deletes the
   * plaintext once the file points at the new key.
   */
  async adoptUpload(uploadId: string, size: number, metadata?: Upload["metadata"]): Promise<string> {
    if (encryptionHeaderOf(metadata)) return uploadId;
    const key = randomBytes(16).toString("hex");
    // Raw bytes: an upload that happens to start with the magic is still plaintext.
    await this.put(key, await this.inner.get(uploadId), { size });
    return key;
  }

  private async getRange(key: string, range: ByteRange): Promise<Readable> {
    assertValidRange(key, range);
    const info = await this.inner.stat(key);
    if (!info) throw new ObjectNotFoundError(key);
    const header = await this.headerOf(key, info.size);
    if (!header) return this.inner.get(key, range);
    const size = plainSize(info.size, header.segmentSize);
    if (range.start >= size) throw new InvalidRangeError(key, range);
    const stored = cipherRangeFor(range.start, range.end, size, header.segmentSize);
    const dataKey = await this.dataKeyOf(header);
    const body = await this.inner.get(key, { start: stored.start, end: stored.end });
    return pipeAndForward(body, new Decryptor(header, dataKey, stored));
  }

  /** The header of an encrypted object; null for a plaintext one. */
  private async headerOf(key: string, storedSize: number): Promise<ObjectHeader | null> {
    if (storedSize < HEADER_LENGTH) return null;
    const stream = await this.inner.get(key, { start: 0, end: HEADER_LENGTH - 1 });
    const { head, rest } = await readHead(stream, HEADER_LENGTH);
    await rest.return?.();
    return parseHeader(head);
  }

  private async dataKeyOf(header: ObjectHeader): Promise<Buffer> {
    return unwrapDataKey(header, await this.keys.get(header.storeKeyId));
  }
}

export function isEncryptedStore(store: ObjectStore): store is EncryptedObjectStore {
  return (store as Partial<EncryptedObjectStore>).encrypted === true;
}

/** Reads the first `length` bytes (fewer if the stream is shorter); `rest` continues after them. */
async function readHead(stream: Readable, length: number): Promise<{ head: Buffer; rest: AsyncIterator<Buffer> }> {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let have = 0;
  try {
    while (have < length) {
      const next = await iterator.next();
      if (next.done) break;
      chunks.push(next.value);
      have += next.value.length;
    }
  } catch (error) {
    stream.destroy();
    throw error;
  }
  const all = Buffer.concat(chunks);
  const head = all.subarray(0, length);
  let extra: Buffer | null = all.length > length ? all.subarray(length) : null;
  const rest: AsyncIterator<Buffer> = {
    next: async () => {
      if (!extra) return iterator.next();
      const value = extra;
      extra = null;
      return { done: false, value };
    },
    return: async () => {
      stream.destroy();
      return { done: true, value: undefined };
    },
  };
  return { head, rest };
}

async function* prepend(first: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  try {
    if (first.length > 0) yield first;
    for (;;) {
      const next = await rest.next();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await rest.return?.();
  }
}

/** `source` piped into `target`; errors of either end up on `target`, and destroying `target` stops `source`. */
function pipeAndForward(source: Readable, target: Decryptor): Readable {
  pipeline(source, target).catch(() => {});
  return target;
}
