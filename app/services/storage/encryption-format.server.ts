import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";

/**
 * The at-rest format of an encrypted object (see docs/encryption.md):
 *
 *   header (90 bytes) | segment 0 | segment 1 | … | final segment
 *
 * header  = magic (8) | version (1) | log2 segment size (1) | store key id (16)
 *           | wrapped data key: iv (12), ciphertext (32), tag (16) | nonce prefix (4)
 * segment = AES-256-GCM(data key, nonce = prefix | u64 index, AAD = header | u64 index | final flag)
 *           of `segmentSize` plaintext bytes (the final one 0..segmentSize), followed by its 16-byte tag.
 *
 * Every segment is authenticated on its own, so a Range read decrypts only the segments it
 * touches. The index and final flag in the AAD make reordering, dropping or truncating segments
 * fail authentication. The data key is random per object and wrapped by a store key (kept in
 * the database, itself wrapped by the master key), so the header makes the object self-contained
 * apart from the store key: a byte-for-byte copy is a valid object.
 */

export const MAGIC = Buffer.from([0x89, 0x43, 0x46, 0x52, 0x45, 0x4e, 0x43, 0x0a]); // "\x89CFRENC\n"
export const FORMAT_VERSION = 1;
export const DEFAULT_SEGMENT_SIZE = 64 * 1024;
export const STORE_KEY_ID_LENGTH = 16;
const TAG_LENGTH = 16;
const IV_LENGTH = 12;
const KEY_LENGTH = 32;
const WRAPPED_KEY_LENGTH = IV_LENGTH + KEY_LENGTH + TAG_LENGTH;
const NONCE_PREFIX_LENGTH = 4;
/** The part of the header that binds the wrapped data key (everything before it). */
const KEY_AAD_LENGTH = MAGIC.length + 1 + 1 + STORE_KEY_ID_LENGTH;
export const HEADER_LENGTH = KEY_AAD_LENGTH + WRAPPED_KEY_LENGTH + NONCE_PREFIX_LENGTH;

/** The object is encrypted but does not decrypt: tampered, truncated, or wrapped with another key. */
export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DecryptionError";
  }
}

export interface StoreKey {
  /** 16 random bytes naming the key; stored in every header it wraps a data key for. */
  id: Buffer;
  key: Buffer;
}

export interface ObjectHeader {
  bytes: Buffer;
  storeKeyId: Buffer;
  segmentSize: number;
  wrappedKey: Buffer;
  noncePrefix: Buffer;
}

/** AES-256-GCM key wrapping: iv | ciphertext | tag, bound to `aad`. */
export function wrapKey(kek: Buffer, key: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV_LENGTH);
  const cipher = createCipheriv("aes-256-gcm", kek, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(key), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

export function unwrapKey(kek: Buffer, wrapped: Buffer, aad: Buffer): Buffer {
  if (wrapped.length !== WRAPPED_KEY_LENGTH) throw new DecryptionError("A wrapped key has the wrong length.");
  const decipher = createDecipheriv("aes-256-gcm", kek, wrapped.subarray(0, IV_LENGTH));
  decipher.setAAD(aad);
  decipher.setAuthTag(wrapped.subarray(IV_LENGTH + KEY_LENGTH));
  try {
    return Buffer.concat([decipher.update(wrapped.subarray(IV_LENGTH, IV_LENGTH + KEY_LENGTH)), decipher.final()]);
  } catch {
    throw new DecryptionError("A wrapped key does not unwrap with the given key (wrong key or tampered data).");
  }
}

/** A fresh header and the data key it wraps, for one new object. */
export function createHeader(storeKey: StoreKey, segmentSize = DEFAULT_SEGMENT_SIZE): { header: ObjectHeader; dataKey: Buffer } {
  const shift = Math.log2(segmentSize);
  if (!Number.isInteger(shift) || shift < 10 || shift > 24)
    throw new Error(`Segment size must be a power of two between 1 KiB and 16 MiB, got ${segmentSize}`);
  const dataKey = randomBytes(KEY_LENGTH);
  const prefix = Buffer.concat([MAGIC, Buffer.from([FORMAT_VERSION, shift]), storeKey.id]);
  const wrappedKey = wrapKey(storeKey.key, dataKey, prefix);
  const noncePrefix = randomBytes(NONCE_PREFIX_LENGTH);
  const bytes = Buffer.concat([prefix, wrappedKey, noncePrefix]);
  return { header: { bytes, storeKeyId: Buffer.from(storeKey.id), segmentSize, wrappedKey, noncePrefix }, dataKey };
}

export function hasMagic(bytes: Buffer): boolean {
  return bytes.length >= MAGIC.length && bytes.subarray(0, MAGIC.length).equals(MAGIC);
}

/** null when `bytes` does not start with the magic (a plaintext object). */
export function parseHeader(bytes: Buffer): ObjectHeader | null {
  if (!hasMagic(bytes)) return null;
  if (bytes.length < HEADER_LENGTH) throw new DecryptionError("The encrypted object's header is truncated.");
  const version = bytes[MAGIC.length];
  if (version !== FORMAT_VERSION) throw new DecryptionError(`Unknown encryption format version ${version}.`);
  const shift = bytes[MAGIC.length + 1]!;
  if (shift < 10 || shift > 24) throw new DecryptionError("The encrypted object's header is corrupt.");
  const header = Buffer.from(bytes.subarray(0, HEADER_LENGTH));
  return {
    bytes: header,
    storeKeyId: header.subarray(MAGIC.length + 2, KEY_AAD_LENGTH),
    segmentSize: 2 ** shift,
    wrappedKey: header.subarray(KEY_AAD_LENGTH, KEY_AAD_LENGTH + WRAPPED_KEY_LENGTH),
    noncePrefix: header.subarray(KEY_AAD_LENGTH + WRAPPED_KEY_LENGTH),
  };
}

/** The object's data key, unwrapped with the store key its header names. */
export function unwrapDataKey(header: ObjectHeader, storeKey: Buffer): Buffer {
  return unwrapKey(storeKey, header.wrappedKey, header.bytes.subarray(0, KEY_AAD_LENGTH));
}

/** Stored size of an object of `plainSize` bytes (header and one tag per segment; at least one segment). */
export function cipherSize(plainSize: number, segmentSize = DEFAULT_SEGMENT_SIZE): number {
  const segments = Math.max(1, Math.ceil(plainSize / segmentSize));
  return HEADER_LENGTH + plainSize + segments * TAG_LENGTH;
}

/** Plaintext size of a stored object of `storedSize` bytes; throws when no plaintext size fits. */
export function plainSize(storedSize: number, segmentSize: number): number {
  const body = storedSize - HEADER_LENGTH;
  const segments = Math.ceil(body / (segmentSize + TAG_LENGTH));
  const size = body - segments * TAG_LENGTH;
  if (body < TAG_LENGTH || size < 0 || cipherSize(size, segmentSize) !== storedSize) {
    throw new DecryptionError("The encrypted object has an impossible length (truncated or corrupt).");
  }
  return size;
}

export interface CipherRange {
  /** Inclusive byte range of the stored object to read. */
  start: number;
  end: number;
  firstSegment: number;
  finalSegment: number;
  /** Plaintext bytes to drop from the first decrypted segment, then bytes to pass on. */
  skip: number;
  length: number;
}

/** The stored bytes holding plaintext bytes `start..end` (inclusive, clamped to the object). */
export function cipherRangeFor(start: number, end: number, size: number, segmentSize: number): CipherRange {
  const last = Math.min(end, size - 1);
  const stride = segmentSize + TAG_LENGTH;
  const firstSegment = Math.floor(start / segmentSize);
  const lastSegment = Math.floor(last / segmentSize);
  const finalSegment = Math.max(0, Math.ceil(size / segmentSize) - 1);
  const stored = cipherSize(size, segmentSize);
  return {
    start: HEADER_LENGTH + firstSegment * stride,
    end: Math.min(HEADER_LENGTH + (lastSegment + 1) * stride, stored) - 1,
    firstSegment,
    finalSegment,
    skip: start - firstSegment * segmentSize,
    length: last - start + 1,
  };
}

function nonceFor(prefix: Buffer, index: number): Buffer {
  const nonce = Buffer.alloc(IV_LENGTH);
  prefix.copy(nonce, 0);
  nonce.writeBigUInt64BE(BigInt(index), NONCE_PREFIX_LENGTH);
  return nonce;
}

function segmentAad(header: Buffer, index: number, final: boolean): Buffer {
  const aad = Buffer.alloc(header.length + 9);
  header.copy(aad, 0);
  aad.writeBigUInt64BE(BigInt(index), header.length);
  aad[header.length + 8] = final ? 1 : 0;
  return aad;
}

/** One encrypted segment as stored: its ciphertext, then its tag. */
export function sealSegment(header: ObjectHeader, dataKey: Buffer, index: number, final: boolean, plaintext: Buffer): Buffer {
  const cipher = createCipheriv("aes-256-gcm", dataKey, nonceFor(header.noncePrefix, index));
  cipher.setAAD(segmentAad(header.bytes, index, final));
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** Stored bytes from the start of the object to the start of segment `index`. */
export function cipherOffsetOfSegment(index: number, segmentSize: number): number {
  return HEADER_LENGTH + index * (segmentSize + TAG_LENGTH);
}

/**
 * How many plaintext bytes the first `storedBytes` of an object of `plainSize` bytes hold in
 * whole segments: a partly stored segment (or header) counts for nothing.
 */
export function sealedPlainBytes(storedBytes: number, plainSize: number, segmentSize: number): number {
  if (storedBytes >= cipherSize(plainSize, segmentSize)) return plainSize;
  if (storedBytes < HEADER_LENGTH) return 0;
  return Math.floor((storedBytes - HEADER_LENGTH) / (segmentSize + TAG_LENGTH)) * segmentSize;
}

/** Plaintext in, header and encrypted segments out; holds at most one segment. */
export class Encryptor extends Transform {
  private readonly segment: Buffer;
  private filled = 0;
  private index = 0;
  private headerSent = false;

  constructor(
    private readonly header: ObjectHeader,
    private readonly dataKey: Buffer,
  ) {
    super();
    this.segment = Buffer.allocUnsafe(header.segmentSize);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.sendHeader();
    let offset = 0;
    while (offset < chunk.length) {
      // A full segment is sealed only once more bytes show it is not the final one.
      if (this.filled === this.segment.length) this.seal(false);
      const taken = chunk.copy(this.segment, this.filled, offset);
      this.filled += taken;
      offset += taken;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.sendHeader();
    this.seal(true);
    callback();
  }

  private sendHeader() {
    if (this.headerSent) return;
    this.headerSent = true;
    this.push(this.header.bytes);
  }

  private seal(final: boolean) {
    this.push(sealSegment(this.header, this.dataKey, this.index, final, this.segment.subarray(0, this.filled)));
    this.index++;
    this.filled = 0;
  }
}

export interface DecryptorOptions {
  /** Index of the first segment in the input. */
  firstSegment?: number;
  /** Index of the object's final segment, when known (Range reads); otherwise the input's end marks it. */
  finalSegment?: number;
  skip?: number;
  /** Plaintext bytes expected out; fewer is an error. */
  length?: number;
}

/** Encrypted segments in (no header), verified plaintext out; holds at most one segment. */
export class Decryptor extends Transform {
  private readonly segment: Buffer;
  private filled = 0;
  private index: number;
  private skip: number;
  private remaining: number;

  constructor(
    private readonly header: ObjectHeader,
    private readonly dataKey: Buffer,
    private readonly options: DecryptorOptions = {},
  ) {
    super();
    this.segment = Buffer.allocUnsafe(header.segmentSize + TAG_LENGTH);
    this.index = options.firstSegment ?? 0;
    this.skip = options.skip ?? 0;
    this.remaining = options.length ?? Number.POSITIVE_INFINITY;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      let offset = 0;
      while (offset < chunk.length) {
        if (this.filled === this.segment.length) this.open(this.options.finalSegment === this.index);
        const taken = chunk.copy(this.segment, this.filled, offset);
        this.filled += taken;
        offset += taken;
      }
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.filled < TAG_LENGTH) throw new DecryptionError("The encrypted object is truncated.");
      this.open(this.options.finalSegment === undefined || this.options.finalSegment === this.index);
      if (this.options.length !== undefined && this.remaining > 0) throw new DecryptionError("The encrypted object is truncated.");
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  private open(final: boolean) {
    if (this.filled < TAG_LENGTH) throw new DecryptionError("The encrypted object is truncated.");
    const bodyLength = this.filled - TAG_LENGTH;
    const decipher = createDecipheriv("aes-256-gcm", this.dataKey, nonceFor(this.header.noncePrefix, this.index));
    decipher.setAAD(segmentAad(this.header.bytes, this.index, final));
    decipher.setAuthTag(this.segment.subarray(bodyLength, this.filled));
    let plain: Buffer;
    try {
      // Nothing is passed on before final() has verified the tag.
      plain = Buffer.concat([decipher.update(this.segment.subarray(0, bodyLength)), decipher.final()]);
    } catch {
      throw new DecryptionError(`Segment ${this.index} of the encrypted object does not authenticate (tampered, truncated or reordered).`);
    }
    this.index++;
    this.filled = 0;
    if (this.skip > 0) {
      const dropped = Math.min(this.skip, plain.length);
      plain = plain.subarray(dropped);
      this.skip -= dropped;
    }
    if (plain.length > this.remaining) plain = plain.subarray(0, this.remaining);
    this.remaining -= plain.length;
    if (plain.length > 0) this.push(plain);
  }
}
