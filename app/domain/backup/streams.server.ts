// Stream plumbing shared by backup, restore and verify.
import { createHash } from "node:crypto";
import { pipeline, type Readable, Transform, type TransformCallback } from "node:stream";

/** Passes bytes through, keeping their SHA-256, their count and the number of newlines (COPY rows). */
export class Digest extends Transform {
  bytes = 0;
  lines = 0;
  private readonly hash = createHash("sha256");
  private digest: string | null = null;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) this.lines++;
    callback(null, chunk);
  }

  /** The hex SHA-256 of every byte seen; call once the stream has ended. */
  sha256(): string {
    this.digest ??= this.hash.digest("hex");
    return this.digest;
  }
}

/**
 * `first` piped through `rest`, as one readable: an error anywhere destroys the last stream
 * with it, so whoever consumes the result (a store's put) fails instead of storing a torn copy.
 */
export function chain(first: Readable, ...rest: Transform[]): Readable {
  const streams = [first, ...rest] as const;
  const last = streams[streams.length - 1] as Readable;
  pipeline(streams as unknown as [Readable, ...Transform[]], () => {});
  return last;
}

/** Reads `stream` to its end, discarding the bytes (they were only needed by a Digest on the way). */
export async function drain(stream: Readable): Promise<void> {
  for await (const _ of stream);
}

/** Runs `run` over `items`, at most `limit` at once; rejects with the first failure after all settled. */
export async function inParallel<T>(items: Iterable<T>, limit: number, run: (item: T) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let failure: unknown = null;
  const worker = async () => {
    for (let next = iterator.next(); !next.done && failure === null; next = iterator.next()) {
      try {
        await run(next.value);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  if (failure !== null) throw failure;
}
