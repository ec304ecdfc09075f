import { Transform, type TransformCallback } from "node:stream";
import { ObjectSizeMismatchError } from "./types";

/**
 * Passes bytes through and counts them. Given an expected size, it fails the stream instead of
 * ending it when the length differs, so the store never commits a short or long object.
 */
export class ByteCounter extends Transform {
  bytes = 0;

  constructor(
    private readonly key: string,
    private readonly expectedSize?: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expectedSize !== undefined && this.bytes > this.expectedSize) {
      callback(new ObjectSizeMismatchError(this.key, this.expectedSize, this.bytes));
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.expectedSize !== undefined && this.bytes !== this.expectedSize) {
      callback(new ObjectSizeMismatchError(this.key, this.expectedSize, this.bytes));
      return;
    }
    callback();
  }
}
