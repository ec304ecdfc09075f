import { describe, expect, it } from "vitest";
import { coalescedStream } from "./coalesced-stream.server";

const view = (text: string) => new TextEncoder().encode(text);

describe("coalescedStream", () => {
  it("passes on what was written in one turn as one block, bytes unchanged", async () => {
    const stream = coalescedStream();
    const out: Buffer[] = [];
    stream.on("data", (block: Buffer) => out.push(block));
    const texts = Array.from({ length: 100 }, (_, i) => `<tr><td>row ${i} – é ’ 😀</td></tr>`);
    for (const text of texts) stream.write(view(text));
    await new Promise((resolve) => setImmediate(resolve));
    expect(out).toHaveLength(1);
    expect(out[0]!.toString()).toBe(texts.join(""));
  });

  it("passes on a block every 64 KiB within one turn", async () => {
    const stream = coalescedStream();
    const out: Buffer[] = [];
    stream.on("data", (block: Buffer) => out.push(block));
    for (let i = 0; i < 100; i++) stream.write(new Uint8Array(2048).fill(i));
    stream.end();
    await new Promise((resolve) => stream.on("end", resolve));
    expect(out.map((block) => block.length)).toEqual([65536, 65536, 65536, 8192]);
    expect(Buffer.concat(out).equals(Buffer.concat(Array.from({ length: 100 }, (_, i) => Buffer.alloc(2048, i))))).toBe(true);
  });

  it("passes on a later turn's writes without waiting for the end", async () => {
    const stream = coalescedStream();
    const out: string[] = [];
    stream.on("data", (block: Buffer) => out.push(block.toString()));
    stream.write(view("<p>shell</p>"));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(out).toEqual(["<p>shell</p>"]);
    stream.write(view("<p>streamed</p>"));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(out).toEqual(["<p>shell</p>", "<p>streamed</p>"]);
    stream.end();
  });
});
