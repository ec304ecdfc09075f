import type { ServerResponse } from "node:http";

/**
 * Calls `onChunk` with the byte size of each chunk written to `res` (write and end, 0 for an end
 * without one), just before it is written: after compression, if any, so the bytes on the wire.
 */
export function onBodyChunk(res: ServerResponse, onChunk: (bytes: number) => void): void {
  const sizeOf = (chunk: unknown, encoding: unknown) => {
    if (chunk == null || typeof chunk === "function") return 0;
    return typeof chunk === "string"
      ? Buffer.byteLength(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8")
      : (chunk as Uint8Array).byteLength;
  };
  const write = res.write;
  const end = res.end;
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    onChunk(sizeOf(chunk, rest[0]));
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof res.write;
  res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
    onChunk(sizeOf(chunk, rest[0]));
    return (end as (...args: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as typeof res.end;
}
