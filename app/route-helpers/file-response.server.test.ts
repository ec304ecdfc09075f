import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { takeNodeBody, webStream } from "./file-response.server";

describe("webStream", () => {
  it("reads nothing before its first read, then gives every chunk", async () => {
    let reads = 0;
    const source = new Readable({
      read() {
        reads++;
        this.push(reads <= 3 ? Buffer.from(`chunk ${reads};`) : null);
      },
    });
    const stream = webStream(source);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(reads).toBe(0);
    expect(await new Response(stream).text()).toBe("chunk 1;chunk 2;chunk 3;");
  });

  it("destroys the source when the web stream is cancelled", async () => {
    const source = Readable.from(["a", "b", "c"]);
    await webStream(source).cancel();
    expect(source.destroyed).toBe(true);
  });

  it("hands the Node stream to the host once, and not after the web stream was read", async () => {
    const source = Readable.from([Buffer.from("x")]);
    const stream = webStream(source);
    expect(takeNodeBody(stream)).toBe(source);
    expect(takeNodeBody(stream)).toBeUndefined();

    const read = webStream(Readable.from([Buffer.from("y")]));
    const reader = read.getReader();
    await reader.read();
    expect(takeNodeBody(read)).toBeUndefined();
    expect(takeNodeBody(new ReadableStream())).toBeUndefined();
  });
});
