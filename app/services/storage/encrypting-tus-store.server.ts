import { Readable } from "node:stream";
import { DataStore, ERRORS, Upload } from "@tus/utils";
import {
  cipherOffsetOfSegment,
  cipherSize,
  createHeader,
  DEFAULT_SEGMENT_SIZE,
  parseHeader,
  plainSize,
  sealedPlainBytes,
  sealSegment,
  unwrapDataKey,
  type ObjectHeader,
} from "./encryption-format.server";
import type { KeyRing } from "./key-ring.server";

/** Upload metadata entry holding the object's header (base64): the data key in it is wrapped. */
export const ENCRYPTION_METADATA_KEY = "cofferEncryptionHeader";

/** The header of an upload encrypted as it arrives; null for an upload stored in plaintext. */
export function encryptionHeaderOf(metadata: Upload["metadata"]): ObjectHeader | null {
  const value = metadata?.[ENCRYPTION_METADATA_KEY];
  return value ? parseHeader(Buffer.from(value, "base64")) : null;
}

/**
 * A tus data store that encrypts uploads as they arrive, around the driver's own store (local
 * FileStore or the S3 store): the inner store only ever sees the encrypted object (header, then
 * sealed segments, see encryption-format.server.ts), sized and offset in stored bytes, while tus
 * and the client see plaintext sizes and offsets.
 *
 * A segment is sealed only once all its plaintext has arrived; a body that ends inside a segment
 * (a disconnect, a chunk not on a segment boundary) stores the whole segments before it and
 * reports their end as the offset, so the client sends the rest again. The finished upload is the
 * encrypted object, kept under the upload's id.
 *
 * Uploads created before this store (plaintext, no header in their metadata) pass through as
 * they are; they are encrypted when they finish (EncryptedObjectStore.adoptUpload).
 */
export class EncryptingTusStore extends DataStore {
  /** tus offsets of encrypted uploads move in whole segments (the upload hash keeps up with it). */
  readonly offsetGranularity: number;

  constructor(
    private readonly inner: DataStore,
    private readonly keys: KeyRing,
    private readonly segmentSize?: number,
  ) {
    super();
    this.extensions = inner.extensions;
    this.offsetGranularity = segmentSize ?? DEFAULT_SEGMENT_SIZE;
  }

  override async create(upload: Upload): Promise<Upload> {
    // Coffer refuses deferred lengths before this (the final segment must be known as it is sealed).
    if (upload.size === undefined) throw { status_code: 400, body: "The upload must declare its size (Upload-Length)." };
    const { header } = createHeader(this.keys.current(), this.segmentSize);
    upload.metadata = { ...upload.metadata, [ENCRYPTION_METADATA_KEY]: header.bytes.toString("base64") };
    const stored = new Upload({ ...upload, size: cipherSize(upload.size, header.segmentSize), offset: 0 });
    await this.inner.create(stored);
    upload.creation_date = stored.creation_date;
    upload.storage = stored.storage;
    // An empty upload finishes at creation: its object is the header and one empty final segment.
    if (upload.size === 0) await this.write(Readable.from([]), upload.id, 0);
    return upload;
  }

  override async getUpload(id: string): Promise<Upload> {
    const stored = await this.inner.getUpload(id);
    const header = encryptionHeaderOf(stored.metadata);
    if (!header || stored.size === undefined) return stored;
    const size = plainSize(stored.size, header.segmentSize);
    return new Upload({ ...stored, size, offset: sealedPlainBytes(stored.offset, size, header.segmentSize) });
  }

  override async write(readable: Readable, id: string, offset: number): Promise<number> {
    const stored = await this.inner.getUpload(id);
    const header = encryptionHeaderOf(stored.metadata);
    if (!header || stored.size === undefined) return this.inner.write(readable, id, offset);
    const segmentSize = header.segmentSize;
    const size = plainSize(stored.size, segmentSize);
    if (sealedPlainBytes(stored.offset, size, segmentSize) !== offset) throw ERRORS.INVALID_OFFSET;
    const firstSegment = offset / segmentSize;
    // The store may hold part of the next segment: a write that failed keeps what it stored, and
    // S3 parts do not end on segment boundaries. That segment is sealed again from the resent
    // plaintext, which gives the same bytes, and only the rest of it is written.
    const start = offset === 0 ? 0 : cipherOffsetOfSegment(firstSegment, segmentSize);
    const dataKey = unwrapDataKey(header, await this.keys.get(header.storeKeyId));
    const segments = sealSegments(readable, { header, dataKey, size, firstSegment, skip: stored.offset - start });
    const written = await this.inner.write(Readable.from(segments, { objectMode: false }), id, stored.offset);
    return sealedPlainBytes(written, size, segmentSize);
  }

  override remove(id: string): Promise<void> {
    return this.inner.remove(id);
  }

  override declareUploadLength(id: string, length: number): Promise<void> {
    return this.inner.declareUploadLength(id, length);
  }

  override deleteExpired(): Promise<number> {
    return this.inner.deleteExpired();
  }

  override getExpiration(): number {
    return this.inner.getExpiration();
  }
}

interface SealOptions {
  header: ObjectHeader;
  dataKey: Buffer;
  /** The upload's plaintext size: the segment that ends there is the final one. */
  size: number;
  firstSegment: number;
  /** Stored bytes already in the store from where this write starts (the header counts). */
  skip: number;
}

/**
 * The stored bytes for plaintext from segment `firstSegment` on (the header first, from segment
 * 0): each segment is sealed once complete, and plaintext after the last complete one is dropped.
 * Holds one segment of plaintext.
 */
async function* sealSegments(source: AsyncIterable<Buffer>, options: SealOptions): AsyncGenerator<Buffer> {
  const { header, dataKey, size } = options;
  const segmentSize = header.segmentSize;
  const finalIndex = Math.max(0, Math.ceil(size / segmentSize) - 1);
  let skip = options.skip;
  const emit = (bytes: Buffer): Buffer | null => {
    if (skip >= bytes.length) {
      skip -= bytes.length;
      return null;
    }
    const out = skip > 0 ? bytes.subarray(skip) : bytes;
    skip = 0;
    return out;
  };
  let index = options.firstSegment;
  const lengthOf = (segment: number) => Math.min(segmentSize, size - segment * segmentSize);
  const seal = (plaintext: Buffer) => emit(sealSegment(header, dataKey, index, index === finalIndex, plaintext));

  if (index === 0) {
    const out = emit(header.bytes);
    if (out) yield out;
  }
  if (size === 0) {
    const out = seal(Buffer.alloc(0));
    if (out) yield out;
    return;
  }
  const carry = Buffer.allocUnsafe(segmentSize);
  let filled = 0;
  for await (const chunk of source) {
    let at = 0;
    while (at < chunk.length) {
      if (index > finalIndex) throw new Error(`The upload received more than its declared size of ${size} bytes`);
      const length = lengthOf(index);
      const take = Math.min(length - filled, chunk.length - at);
      let plaintext: Buffer | null = null;
      if (filled === 0 && take === length) {
        plaintext = chunk.subarray(at, at + take); // a whole segment in this piece: no copy
      } else {
        chunk.copy(carry, filled, at, at + take);
        filled += take;
        if (filled === length) plaintext = carry.subarray(0, length);
      }
      at += take;
      if (plaintext) {
        const out = seal(plaintext);
        index++;
        filled = 0;
        if (out) yield out;
      }
    }
  }
}
