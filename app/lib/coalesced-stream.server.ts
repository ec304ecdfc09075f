import { Transform, type TransformCallback } from "node:stream";

/** Large enough that a whole page is a handful of writes; small enough not to hold a long page back. */
const BLOCK_BYTES = 64 * 1024;

/**
 * A pass-through for React's streamed HTML that joins its many small chunks (React writes 2 KiB
 * views) into blocks: everything written in one turn of the event loop, or 64 KiB, whichever comes
 * first. Each chunk used to cross the stream, the web stream Remix wants, the compression and the
 * socket on its own. What a later turn writes (a streamed Suspense boundary) is passed on in that
 * turn, so nothing waits for the end of the page.
 */
export function coalescedStream(): Transform {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let scheduled = false;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= BLOCK_BYTES) pushPending();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(() => {
          scheduled = false;
          if (!stream.destroyed) pushPending();
        });
      }
      callback();
    },
    flush(callback: TransformCallback) {
      pushPending();
      callback();
    },
  });
  function pushPending() {
    if (pendingBytes === 0) return;
    const block = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    stream.push(block);
  }
  return stream;
}
