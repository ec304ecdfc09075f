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
}

/**
 * Streams an upload's bytes into S3 parts as they arrive: each part is one UploadPart request
 * whose body is fed straight from `source` (no temp files, no re-reading), and the next part
 * starts while the previous one's response is outstanding.
 *
 * Every byte of the part being filled is also kept in memory (at most one part, `partSize`)
 * until its request has taken the whole body. That copy is what makes it safe:
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
  const { source, sink, size, partSize, minPartSize } = options;
  let offset = options.offset;
  let partNumber = options.firstPartNumber;
  let stored = 0;
  const sent: Array<Promise<void>> = [];
  let sentFailure = null as { error: unknown } | null;
  let part: OpenPart | null = null;

  const trackSent = (length: number, done: Promise<void>) => {
    const settled = done.then(
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
        part ??= new OpenPart(sink, partNumber++, Math.min(partSize, size - offset));
        const take = Math.min(part.remaining, data.length);
        await part.write(take === data.length ? data : data.subarray(0, take));
        data = data.subarray(take);
        offset += take;
        if (part.remaining === 0) {
          const { outcome } = await part.finish();
          trackSent(part.length, outcome);
          part = null;
        }
      }
    }
    if (part) {
      // The source ended inside a part: keep what arrived.
      const received = part.received;
      const atUploadEnd = offset === size;
      await part.abort();
      if (received >= minPartSize || atUploadEnd) trackSent(received, part.storeRetained());
      else trackSent(received, sink.uploadIncompletePart(Readable.from(part.retained, { objectMode: false }), received));
      part = null;
    }
  } catch (error) {
    await part?.abort();
    await Promise.allSettled(sent);
    throw error;
  }
  await Promise.allSettled(sent);
  await Promise.all(sent);
  return stored;
}

/** One part being filled: its streaming request, and the in-memory copy of what it was sent. */
class OpenPart {
  readonly retained: Buffer[] = [];
  received = 0;
  private body: PassThrough | null = new PassThrough({ highWaterMark: 1024 * 1024 });
  private readonly controller = new AbortController();
  private readonly streaming: Promise<void>;
  private streamFailed = false;

  constructor(
    private readonly sink: PartSink,
    readonly number: number,
    readonly length: number,
  ) {
    // Failures surface through the request's promise; the body only needs to stop.
    this.body!.on("error", () => {});
    this.streaming = sink.uploadPart(number, this.body!, length, this.controller.signal);
    this.streaming.catch(() => {
      this.streamFailed = true;
      this.body?.destroy();
      this.body = null;
    });
  }

  get remaining(): number {
    return this.length - this.received;
  }

  async write(data: Buffer): Promise<void> {
    this.retained.push(data);
    this.received += data.length;
    const body = this.body;
    if (!body || this.streamFailed || body.write(data)) return;
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
    const body = this.body;
    if (body && !this.streamFailed) {
      body.end();
      const consumed = await new Promise<boolean>((resolve) => {
        body.once("end", () => resolve(true));
        body.once("close", () => resolve(false));
      });
      if (consumed) {
        this.body = null;
        this.retained.length = 0;
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
    const chunks = this.retained.splice(0);
    const length = chunks.reduce((total, chunk) => total + chunk.length, 0);
    return this.sink.uploadPart(this.number, Readable.from(chunks, { objectMode: false }), length, new AbortController().signal);
  }
}
