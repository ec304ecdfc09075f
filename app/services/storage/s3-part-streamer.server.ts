import { PassThrough, Readable } from "node:stream";

/** What the streamer needs from S3: the two ways of storing bytes of an unfinished upload. */
export interface PartSink {
  /** Stores `body` (exactly `length` bytes) as part `partNumber` of the multipart upload. */
  uploadPart(partNumber: number, body: Readable, length: number, signal: AbortSignal): Promise<void>;
  /** Parks bytes too few for a part (under the S3 minimum) until the next write of the upload. */
  uploadIncompletePart(body: Readable, length: number): Promise<void>;
}

export interface StreamPartsOptions {
  source: AsyncIterable<Buffer>;
  sink: PartSink;
  /** Upload offset at which `source` starts; part boundaries are counted from here. */
  offset: number;
  /** The upload's total size. */
  size: number;
  partSize: number;
  /** Parts below this size (except the upload's last) are parked as an incomplete part. */
  minPartSize: number;
  firstPartNumber: number;
  /** Where parts are held in memory; a process-wide pool of 1 MiB blocks unless given. */
  pool?: BlockPool;
}

/** Size of the blocks parts are held in (unless a pool of its own is given). */
export const BLOCK_SIZE = 1024 * 1024;

/**
 * Fixed-size blocks that hold the parts being sent, reused from part to part.
 *
 * Holding the request's own buffers instead (one per socket read, 15–64 KiB) kept each of them
 * alive for as long as a part takes to fill, long enough for V8 to move them to the old
 * generation: 1 GiB uploaded then meant a full garbage collection every 30 MiB or so, which on
 * Coffer's heap cost more CPU than the upload itself. Copied into blocks, the request's buffers
 * die young, and the bytes go to S3 in block-sized writes instead of one per socket read.
 */
export class BlockPool {
  private free: Buffer[] = [];
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly blockSize = BLOCK_SIZE,
    /** Free blocks kept for reuse; more are left to the garbage collector. */
    private readonly maxFree = 64,
    /** Free blocks are all dropped after this long without use, so an idle server holds none. */
    private readonly idleMs = 30_000,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.blockSize);
  }

  give(blocks: Buffer[]): void {
    for (const block of blocks) if (this.free.length < this.maxFree) this.free.push(block);
    this.idleTimer?.refresh();
    this.idleTimer ??= setTimeout(() => {
      this.free = [];
      this.idleTimer = null;
    }, this.idleMs).unref();
  }

  get freeBlocks(): number {
    return this.free.length;
  }
}

const sharedPool = new BlockPool();

/**
 * Streams an upload's bytes into S3 parts as they arrive: each part is one UploadPart request
 * whose body is fed straight from `source` (no temp files, no re-reading), and the next part
 * starts while the previous one's response is outstanding.
 *
 * Every byte of a part is also copied into blocks from `pool`, which the request is fed from and
 * which are kept until S3 has answered for the part (so at most two parts per upload: the one
 * being filled, and the previous one until its answer). That copy is what makes it safe:
 * - when `source` ends inside a part (a client disconnect, a tus chunk not on a part boundary),
 *   the part's request is aborted and the bytes received are stored from memory, as a shorter
 *   part or, under the S3 minimum, as the incomplete part, so nothing the client sent is lost;
 * - when a part's request fails while its body is still streaming (the store timed out a slow
 *   client, a connection reset), the rest of the part is collected in memory and sent as one
 *   request once complete.
 * A part that fails after its request took the whole body fails the write; the upload then resumes
 * after the last stored part (the store only counts parts without gaps).
 *
 * Resolves with the number of bytes stored.
 */
export async function streamParts(options: StreamPartsOptions): Promise<number> {
  const { source, sink, size, partSize, minPartSize, pool = sharedPool } = options;
  let offset = options.offset;
  let partNumber = options.firstPartNumber;
  let stored = 0;
  const sent: Array<Promise<void>> = [];
  let sentFailure = null as { error: unknown } | null;
  let part: OpenPart | null = null;

  // A part's blocks go back to the pool once its request is over: until then the socket may
  // still be writing from them, or they are needed to send the part again.
  const trackSent = (sending: OpenPart, length: number, done: Promise<void>) => {
    const settled = done
      .finally(() => sending.release())
      .then(
        () => {
          stored += length;
        },
        (error) => {
          sentFailure ??= { error };
          throw error;
        },
      );
    settled.catch(() => {});
    sent.push(settled);
  };

  try {
    for await (const chunk of source) {
      let data = chunk;
      while (data.length > 0) {
        if (sentFailure) throw sentFailure.error;
        if (offset >= size) throw new Error(`The upload received more than its declared size of ${size} bytes`);
        part ??= new OpenPart(sink, pool, partNumber++, Math.min(partSize, size - offset));
        const take = Math.min(part.remaining, data.length);
        await part.write(take === data.length ? data : data.subarray(0, take));
        data = data.subarray(take);
        offset += take;
        if (part.remaining === 0) {
          const { outcome } = await part.finish();
          trackSent(part, part.length, outcome);
          part = null;
        }
      }
    }
    if (part) {
      // The source ended inside a part: keep what arrived.
      const received = part.received;
      const atUploadEnd = offset === size;
      await part.abort();
      if (received >= minPartSize || atUploadEnd) trackSent(part, received, part.storeRetained());
      else trackSent(part, received, sink.uploadIncompletePart(Readable.from(part.retained(), { objectMode: false }), received));
      part = null;
    }
  } catch (error) {
    await part?.abort();
    part?.release();
    await Promise.allSettled(sent);
    throw error;
  }
  await Promise.allSettled(sent);
  await Promise.all(sent);
  return stored;
}

/** One part being filled: its streaming request, and the in-memory copy of what it was sent. */
class OpenPart {
  received = 0;
  private blocks: Buffer[] = [];
  /** Bytes in the last block. */
  private filled = 0;
  private body: PassThrough | null;
  private readonly controller = new AbortController();
  private readonly streaming: Promise<void>;
  private streamFailed = false;

  constructor(
    private readonly sink: PartSink,
    private readonly pool: BlockPool,
    readonly number: number,
    readonly length: number,
  ) {
    this.body = new PassThrough({ highWaterMark: pool.blockSize });
    // Failures surface through the request's promise; the body only needs to stop.
    this.body.on("error", () => {});
    this.streaming = sink.uploadPart(number, this.body, length, this.controller.signal);
    this.streaming.catch(() => {
      this.streamFailed = true;
      this.body?.destroy();
      this.body = null;
    });
  }

  get remaining(): number {
    return this.length - this.received;
  }

  /** Copies `data` into the part's blocks; each block goes to the request once full. */
  async write(data: Buffer): Promise<void> {
    let at = 0;
    while (at < data.length) {
      if (this.blocks.length === 0 || this.filled === this.pool.blockSize) {
        this.blocks.push(this.pool.take());
        this.filled = 0;
      }
      const copied = data.copy(this.blocks.at(-1)!, this.filled, at);
      this.filled += copied;
      this.received += copied;
      at += copied;
      if (this.filled === this.pool.blockSize) await this.send(this.blocks.at(-1)!);
    }
  }

  /** What the part holds so far. */
  retained(): Buffer[] {
    return this.blocks.map((block, index) => (index === this.blocks.length - 1 ? block.subarray(0, this.filled) : block));
  }

  /** Hands the blocks back; only once nothing can read them any more. */
  release(): void {
    this.pool.give(this.blocks);
    this.blocks = [];
    this.filled = 0;
  }

  private async send(bytes: Buffer): Promise<void> {
    const body = this.body;
    if (!body || this.streamFailed || body.write(bytes)) return;
    // Wait for the request to take more, unless it fails meanwhile (then the copy carries on).
    await new Promise<void>((resolve) => {
      const done = () => {
        body.off("drain", done);
        body.off("close", done);
        resolve();
      };
      body.once("drain", done);
      body.once("close", done);
    });
  }

  /**
   * The part is full: ends its body and waits until the request has taken all of it. Only then
   * is the copy in memory dropped; a request that failed before (even on the last buffered
   * bytes) is retried from memory. Resolves with the part's outcome.
   */
  async finish(): Promise<{ outcome: Promise<void> }> {
    if (this.filled > 0 && this.filled < this.pool.blockSize) await this.send(this.blocks.at(-1)!.subarray(0, this.filled));
    const body = this.body;
    if (body && !this.streamFailed) {
      body.end();
      const consumed = await new Promise<boolean>((resolve) => {
        body.once("end", () => resolve(true));
        body.once("close", () => resolve(false));
      });
      if (consumed) {
        this.body = null;
        return { outcome: this.streaming };
      }
    }
    return { outcome: this.storeRetained() };
  }

  /** Stops the streaming request (the part is not complete, so S3 must not keep it). */
  async abort(): Promise<void> {
    this.controller.abort();
    this.body?.destroy();
    this.body = null;
    await this.streaming.catch(() => {});
  }

  /** Sends what was received, from memory, as this part. */
  storeRetained(): Promise<void> {
    return this.sink.uploadPart(
      this.number,
      Readable.from(this.retained(), { objectMode: false }),
      this.received,
      new AbortController().signal,
    );
  }
}
