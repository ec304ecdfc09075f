// Unit tests of the part streamer's bookkeeping, with an in-memory part sink standing in for S3
// so that failures can be injected at exact points. The same code against a real S3 server
// (Swift s3api) is tested in s3-tus-store.test.ts and the storage contract suite.
import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { BlockPool, streamParts, type PartSink } from "~/services/storage/s3-part-streamer.server";

const KiB = 1024;

interface StoredPart {
  number: number;
  data: Buffer;
}

/** Keeps what it is sent; `failPart` makes the streaming request of that part fail after `afterBytes`. */
class MemorySink implements PartSink {
  parts = new Map<number, Buffer>();
  incomplete: Buffer | null = null;
  attempts: number[] = [];
  aborted: number[] = [];
  constructor(private readonly faults: { failPart?: number; afterBytes?: number; failAfterBody?: number; stall?: boolean } = {}) {}

  async uploadPart(number: number, body: Readable, length: number, signal: AbortSignal): Promise<void> {
    this.attempts.push(number);
    const firstAttempt = this.attempts.filter((n) => n === number).length === 1;
    if (this.faults.stall) {
      await new Promise<void>((_, reject) => signal.addEventListener("abort", () => reject(new Error("aborted"))));
    }
    const chunks: Buffer[] = [];
    let received = 0;
    try {
      for await (const chunk of body) {
        if (signal.aborted) throw new Error("aborted");
        chunks.push(chunk as Buffer);
        received += (chunk as Buffer).length;
        if (firstAttempt && this.faults.failPart === number && received >= (this.faults.afterBytes ?? 0)) {
          throw new Error("connection reset by the store");
        }
      }
    } catch (error) {
      if (signal.aborted) this.aborted.push(number);
      throw error;
    }
    if (signal.aborted) {
      this.aborted.push(number);
      throw new Error("aborted");
    }
    if (received !== length) throw new Error(`part ${number}: got ${received} of ${length} bytes`);
    if (this.faults.failAfterBody === number) throw new Error("InternalError");
    this.parts.set(number, Buffer.concat(chunks));
  }

  async uploadIncompletePart(body: Readable, length: number): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    this.incomplete = Buffer.concat(chunks);
    expect(this.incomplete.length).toBe(length);
  }

  storedParts(): StoredPart[] {
    return [...this.parts].sort(([a], [b]) => a - b).map(([number, data]) => ({ number, data }));
  }
}

/**
 * Keeps references to the pieces of each body, as a socket's write queue does, and reads them
 * only when it answers, a while after the body ended: a block reused before the answer would
 * show up as wrong bytes.
 */
class LateReadingSink implements PartSink {
  parts = new Map<number, Buffer>();
  async uploadPart(number: number, body: Readable, length: number): Promise<void> {
    const pieces: Buffer[] = [];
    for await (const piece of body) pieces.push(piece as Buffer);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const data = Buffer.concat(pieces);
    if (data.length !== length) throw new Error(`part ${number}: got ${data.length} of ${length} bytes`);
    this.parts.set(number, data);
  }
  async uploadIncompletePart(): Promise<void> {
    throw new Error("not expected");
  }
}

/** A pool that counts the blocks out, so a test can see them all come back. */
class CountingPool extends BlockPool {
  out = 0;
  override take(): Buffer {
    this.out++;
    return super.take();
  }
  override give(blocks: Buffer[]): void {
    this.out -= blocks.length;
    super.give(blocks);
  }
}

async function* chunksOf(data: Buffer, size = 7 * KiB, counter?: { pulled: number }) {
  for (let i = 0; i < data.length; i += size) {
    const chunk = data.subarray(i, i + size);
    if (counter) counter.pulled += chunk.length;
    yield chunk;
  }
}

const PART = 64 * KiB;
const MIN = 20 * KiB;

describe("streamParts", () => {
  it("cuts the stream into parts of exactly the part size, numbered on from the first, and counts what it stored", async () => {
    const data = randomBytes(3 * PART + 5 * KiB);
    const sink = new MemorySink();
    const stored = await streamParts({
      source: chunksOf(data),
      sink,
      offset: 0,
      size: data.length,
      partSize: PART,
      minPartSize: MIN,
      firstPartNumber: 4,
    });
    expect(stored).toBe(data.length);
    const parts = sink.storedParts();
    expect(parts.map((p) => p.number)).toEqual([4, 5, 6, 7]);
    expect(parts.map((p) => p.data.length)).toEqual([PART, PART, PART, 5 * KiB]);
    expect(Buffer.concat(parts.map((p) => p.data)).equals(data)).toBe(true);
    expect(sink.incomplete).toBeNull();
  });

  it("counts part boundaries from the upload offset it starts at", async () => {
    const size = 10 * PART;
    const data = randomBytes(PART + 10 * KiB);
    const sink = new MemorySink();
    const stored = await streamParts({
      source: chunksOf(data),
      sink,
      offset: 4 * PART,
      size,
      partSize: PART,
      minPartSize: MIN,
      firstPartNumber: 5,
    });
    expect(stored).toBe(data.length);
    // The source stopped 10 KiB into part 6 (under the minimum): parked as the incomplete part.
    expect(sink.storedParts().map((p) => [p.number, p.data.length])).toEqual([[5, PART]]);
    expect(sink.incomplete?.equals(data.subarray(PART))).toBe(true);
    expect(sink.aborted).toEqual([6]);
  });

  it("keeps a part cut short by a disconnect: as a shorter part when it reaches the minimum", async () => {
    const size = 4 * PART;
    const data = randomBytes(PART + 40 * KiB);
    const sink = new MemorySink();
    const stored = await streamParts({
      source: chunksOf(data),
      sink,
      offset: 0,
      size,
      partSize: PART,
      minPartSize: MIN,
      firstPartNumber: 1,
    });
    expect(stored).toBe(data.length);
    const parts = sink.storedParts();
    expect(parts.map((p) => p.data.length)).toEqual([PART, 40 * KiB]);
    expect(Buffer.concat(parts.map((p) => p.data)).equals(data)).toBe(true);
    expect(sink.incomplete).toBeNull();
  });

  it("stores an upload's last part whatever its size", async () => {
    const data = randomBytes(PART + 3 * KiB);
    const sink = new MemorySink();
    await streamParts({ source: chunksOf(data), sink, offset: 0, size: data.length, partSize: PART, minPartSize: MIN, firstPartNumber: 1 });
    expect(sink.storedParts().map((p) => p.data.length)).toEqual([PART, 3 * KiB]);
  });

  it("re-sends a part from memory when its request fails while the body is still streaming", async () => {
    const data = randomBytes(3 * PART);
    const sink = new MemorySink({ failPart: 2, afterBytes: 20 * KiB });
    const stored = await streamParts({
      source: chunksOf(data),
      sink,
      offset: 0,
      size: data.length,
      partSize: PART,
      minPartSize: MIN,
      firstPartNumber: 1,
    });
    expect(stored).toBe(data.length);
    expect(sink.attempts.filter((n) => n === 2)).toHaveLength(2);
    expect(Buffer.concat(sink.storedParts().map((p) => p.data)).equals(data)).toBe(true);
  });

  it("fails the write when a part fails after its whole body was sent, with nothing left running", async () => {
    const data = randomBytes(4 * PART);
    const sink = new MemorySink({ failAfterBody: 2 });
    await expect(
      streamParts({ source: chunksOf(data), sink, offset: 0, size: data.length, partSize: PART, minPartSize: MIN, firstPartNumber: 1 }),
    ).rejects.toThrow("InternalError");
    const settledParts = [...sink.parts.keys()];
    await new Promise((r) => setTimeout(r, 50));
    expect([...sink.parts.keys()]).toEqual(settledParts);
    expect(sink.parts.has(1)).toBe(true);
    expect(sink.parts.has(2)).toBe(false);
  });

  it("refuses more bytes than the upload's size", async () => {
    const data = randomBytes(PART + 10);
    const sink = new MemorySink();
    await expect(
      streamParts({ source: chunksOf(data), sink, offset: 0, size: PART, partSize: PART, minPartSize: MIN, firstPartNumber: 1 }),
    ).rejects.toThrow(/more than its declared size/);
  });

  it("stops reading the source while the store does not take the part's body (memory stays bounded)", async () => {
    const size = 64 * 1024 * KiB;
    const data = randomBytes(8 * 1024 * KiB);
    const counter = { pulled: 0 };
    const sink = new MemorySink({ stall: true });
    async function* source() {
      yield* chunksOf(data, 64 * KiB, counter);
    }
    const writing = streamParts({
      source: source(),
      sink,
      offset: 0,
      size,
      partSize: 32 * 1024 * KiB,
      minPartSize: MIN,
      firstPartNumber: 1,
    });
    writing.catch(() => {});
    await new Promise((r) => setTimeout(r, 200));
    // The body stream buffers one 1 MiB block on each side, plus the block being filled; nothing
    // beyond that is read.
    expect(counter.pulled).toBeLessThanOrEqual(3 * 1024 * KiB + 64 * KiB);
    expect(counter.pulled).toBeGreaterThan(0);
  });

  it("never reuses a block while the request of its part may still read from it", async () => {
    const data = randomBytes(6 * PART + 123);
    const sink = new LateReadingSink();
    const pool = new CountingPool(4 * KiB, 4);
    const stored = await streamParts({
      source: chunksOf(data),
      sink,
      offset: 0,
      size: data.length,
      partSize: PART,
      minPartSize: MIN,
      firstPartNumber: 1,
      pool,
    });
    expect(stored).toBe(data.length);
    expect(Buffer.concat([...sink.parts].sort(([a], [b]) => a - b).map(([, part]) => part)).equals(data)).toBe(true);
    expect(pool.out).toBe(0);
  });

  it("gives every block back to the pool, whether parts succeed, fail or are cut short", async () => {
    const data = randomBytes(3 * PART + 5 * KiB);
    for (const faults of [{}, { failPart: 2, afterBytes: 10 * KiB }, { failAfterBody: 2 }]) {
      const pool = new CountingPool(4 * KiB);
      const sink = new MemorySink(faults);
      await streamParts({
        source: chunksOf(data),
        sink,
        offset: 0,
        size: data.length,
        partSize: PART,
        minPartSize: MIN,
        firstPartNumber: 1,
        pool,
      }).catch(() => {});
      expect(pool.out).toBe(0);
      expect(pool.freeBlocks).toBeGreaterThan(0);
    }
    // A source that stops mid-part, under the minimum part size (parked) and over it.
    for (const cut of [PART + 5 * KiB, PART + 30 * KiB]) {
      const pool = new CountingPool(4 * KiB);
      const sink = new MemorySink();
      const stored = await streamParts({
        source: chunksOf(data.subarray(0, cut)),
        sink,
        offset: 0,
        size: data.length,
        partSize: PART,
        minPartSize: MIN,
        firstPartNumber: 1,
        pool,
      });
      expect(stored).toBe(cut);
      expect(pool.out).toBe(0);
    }
  });
});
