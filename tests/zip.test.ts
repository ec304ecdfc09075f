import { Readable } from "node:stream";
import yauzl from "yauzl";
import { describe, expect, it } from "vitest";
import { safeZipSegment, zipStream, type ZipEntry } from "~/domain/files/zip.server";
import { webStream } from "~/route-helpers/file-response.server";
import type { Services } from "~/services/index.server";

function listZip(buffer: Buffer): Promise<Array<{ name: string; bytes: Buffer; method: number }>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(error);
      const out: Array<{ name: string; bytes: Buffer; method: number }> = [];
      zip.on("end", () => resolve(out));
      zip.on("error", reject);
      zip.on("entry", (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith("/")) {
          out.push({ name: entry.fileName, bytes: Buffer.alloc(0), method: entry.compressionMethod });
          return zip.readEntry();
        }
        zip.openReadStream(entry, (err, stream) => {
          if (err || !stream) return reject(err);
          const chunks: Buffer[] = [];
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("end", () => {
            out.push({ name: entry.fileName, bytes: Buffer.concat(chunks), method: entry.compressionMethod });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

describe("safeZipSegment", () => {
  it.each([
    ["..", "__"],
    [".", "_"],
    ["", "unnamed"],
    ["a/b\\c", "a_b_c"],
    ["bad\u0000\u0007name\u009f.txt", "badname.txt"],
    ["  spaced  ", "spaced"],
    [".env", ".env"],
  ])("%j → %j", (raw, safe) => {
    expect(safeZipSegment(raw)).toBe(safe);
  });

  it("keeps names within 255 bytes", () => {
    expect(Buffer.byteLength(safeZipSegment("é".repeat(200)), "utf8")).toBeLessThanOrEqual(255);
  });
});

describe("zipStream", () => {
  it("opens stored objects lazily, one at a time, and stores them uncompressed", async () => {
    let open = 0;
    let maxOpen = 0;
    const opened: string[] = [];
    const objects: Record<string, Buffer> = {
      a: Buffer.alloc(300_000, 1),
      b: Buffer.alloc(200_000, 2),
      c: Buffer.from("third"),
    };
    const services = {
      log: { error: () => {} },
      storage: {
        async get(key: string) {
          opened.push(key);
          open++;
          maxOpen = Math.max(maxOpen, open);
          const stream = Readable.from([objects[key].subarray(0, 100_000), objects[key].subarray(100_000)]);
          stream.on("close", () => open--);
          return stream;
        },
      },
    } as unknown as Services;
    const when = new Date("2026-01-02T03:04:05Z");
    const entries: ZipEntry[] = [
      { kind: "folder", path: "docs", mtime: when },
      { kind: "file", path: "docs/a.bin", mtime: when, size: objects.a.length, storageKey: "a" },
      { kind: "folder", path: "empty", mtime: when },
      { kind: "file", path: "b.bin", mtime: when, size: objects.b.length, storageKey: "b" },
      { kind: "file", path: "c.txt", mtime: when, size: 5, storageKey: "c" },
    ];
    const stream = webStream(zipStream(services, entries));
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Nothing is opened before the archive is read, beyond the first entry it is working on.
    expect(opened.length).toBeLessThanOrEqual(1);
    const buffer = Buffer.from(await new Response(stream).arrayBuffer());
    expect(maxOpen).toBe(1);
    expect(opened).toEqual(["a", "b", "c"]);
    const listed = await listZip(buffer);
    expect(listed.map((e) => e.name)).toEqual(["docs/", "docs/a.bin", "empty/", "b.bin", "c.txt"]);
    expect(listed.find((e) => e.name === "docs/a.bin")!.bytes.equals(objects.a)).toBe(true);
    expect(listed.find((e) => e.name === "b.bin")!.bytes.equals(objects.b)).toBe(true);
    expect(listed.filter((e) => !e.name.endsWith("/")).every((e) => e.method === 0)).toBe(true);
  });

  it("fails the stream, rather than sending a corrupt archive quietly, when an object is missing", async () => {
    const services = {
      log: { error: () => {} },
      storage: {
        async get() {
          throw new Error("Object not found: gone");
        },
      },
    } as unknown as Services;
    const stream = webStream(zipStream(services, [{ kind: "file", path: "x.bin", mtime: new Date(), size: 10, storageKey: "gone" }]));
    await expect(new Response(stream).arrayBuffer()).rejects.toThrow();
  });
});

describe("zipStream beyond 4 GiB", () => {
  it("writes ZIP64 records when an entry is larger than 4 GiB, in bounded memory", { timeout: 240_000 }, async () => {
    const size = 4 * 1024 ** 3 + 1024 * 1024;
    const chunk = Buffer.alloc(4 * 1024 * 1024);
    const services = {
      log: { error: () => {} },
      storage: {
        async get() {
          let left = size;
          return new Readable({
            read() {
              if (left === 0) return this.push(null);
              const n = Math.min(left, chunk.length);
              left -= n;
              this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
            },
          });
        },
      },
    } as unknown as Services;
    const stream = webStream(
      zipStream(services, [
        { kind: "file", path: "huge.bin", mtime: new Date(), size, storageKey: "huge" },
        { kind: "file", path: "after.bin", mtime: new Date(), size: 0, storageKey: "none" },
      ]),
    );
    let total = 0;
    let tail = Buffer.alloc(0);
    const heapBefore = process.memoryUsage().rss;
    let peak = heapBefore;
    for await (const part of stream as unknown as AsyncIterable<Uint8Array>) {
      total += part.length;
      tail = Buffer.concat([tail, Buffer.from(part)]).subarray(-4096);
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    expect(total).toBeGreaterThan(size);
    // ZIP64 end of central directory record and locator.
    expect(tail.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(true);
    expect(tail.includes(Buffer.from([0x50, 0x4b, 0x06, 0x07]))).toBe(true);
    expect(peak - heapBefore).toBeLessThan(512 * 1024 * 1024);
  });
});
