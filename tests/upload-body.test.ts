// UploadBody against real HTTP requests on loopback: what the store gets when the request
// ends, goes away, is too long, or is ended by the server.
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { BODY_HIGH_WATER_MARK, ClientGoneError, UploadBody } from "~/server/upload-body.server";

interface Outcome {
  received: Buffer;
  observed: Buffer;
  error: (Error & { status_code?: number }) | null;
  tooLarge: boolean;
}

let server: http.Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/**
 * A server that reads each request through an UploadBody and reports what came out of it.
 * `consume` may read slowly or end the body early; it gets the body and the request.
 */
async function startServer(
  limit: number,
  consume?: (body: UploadBody, req: http.IncomingMessage) => Promise<Buffer[]>,
  options?: ConstructorParameters<typeof UploadBody>[2],
) {
  const outcomes: Array<Promise<Outcome>> = [];
  server = http.createServer((req, res) => {
    const body = new UploadBody(req, limit, options);
    const observed: Buffer[] = [];
    body.observe((chunk) => observed.push(chunk));
    const reading = consume ? consume(body, req) : body.toArray();
    outcomes.push(
      reading
        .then(
          (chunks) => ({ received: Buffer.concat(chunks), observed: Buffer.concat(observed), error: null, tooLarge: body.tooLarge }),
          (error) => ({ received: Buffer.alloc(0), observed: Buffer.concat(observed), error, tooLarge: body.tooLarge }),
        )
        .finally(() => {
          if (!res.destroyed) res.writeHead(204, req.complete ? {} : { connection: "close" }).end();
        }),
    );
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const { port } = server!.address() as AddressInfo;
  return {
    port,
    nextOutcome: async () => {
      while (outcomes.length === 0) await new Promise((r) => setTimeout(r, 5));
      return outcomes.shift()!;
    },
  };
}

/** Sends `data` as a PATCH body in pieces; `stopAfter` destroys the connection after that many bytes. */
function send(port: number, data: Buffer, stopAfter?: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request({ port, host: "127.0.0.1", method: "PATCH", headers: { "content-length": data.length } }, (res) => {
      res.resume();
      res.on("end", resolve);
    });
    req.on("error", () => resolve());
    const limit = stopAfter ?? data.length;
    let at = 0;
    const pump = () => {
      while (at < limit) {
        const piece = data.subarray(at, Math.min(limit, at + 64 * 1024));
        at += piece.length;
        if (!req.write(piece)) return void req.once("drain", pump);
      }
      if (stopAfter === undefined) req.end();
      else
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 50);
    };
    pump();
  });
}

describe("UploadBody", () => {
  it("passes every byte on in order, shows each piece to its observers, and ends with the request", async () => {
    const { port, nextOutcome } = await startServer(Number.MAX_SAFE_INTEGER);
    const data = randomBytes(5 * 1024 * 1024 + 17);
    await send(port, data);
    const outcome = await nextOutcome();
    expect(outcome.error).toBeNull();
    expect(outcome.received.equals(data)).toBe(true);
    expect(outcome.observed.equals(data)).toBe(true);
  });

  it("ends normally with what arrived when the client goes away mid-body", async () => {
    const { port, nextOutcome } = await startServer(Number.MAX_SAFE_INTEGER);
    const data = randomBytes(4 * 1024 * 1024);
    await send(port, data, 1024 * 1024 + 5);
    const outcome = await nextOutcome();
    expect(outcome.error).toBeNull();
    expect(outcome.received.length).toBe(1024 * 1024 + 5);
    expect(outcome.received.equals(data.subarray(0, outcome.received.length))).toBe(true);
    expect(outcome.observed.equals(outcome.received)).toBe(true);
  });

  it("fails instead when told to (a WebDAV PUT), and still ends normally with a whole body", async () => {
    const { port, nextOutcome } = await startServer(Number.MAX_SAFE_INTEGER, undefined, { clientGone: "fail" });
    const data = randomBytes(4 * 1024 * 1024);
    await send(port, data, 1024 * 1024 + 5);
    const cut = await nextOutcome();
    expect(cut.error).toBeInstanceOf(ClientGoneError);
    await send(port, data);
    const whole = await nextOutcome();
    expect(whole.error).toBeNull();
    expect(whole.received.equals(data)).toBe(true);
  });

  it("fails with tus's 413 when the body is longer than allowed, having passed on only the bytes within the limit", async () => {
    const limit = 300 * 1024;
    const { port, nextOutcome } = await startServer(limit, async (body) => {
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of body) chunks.push(chunk as Buffer);
      } catch (error) {
        expect(Buffer.concat(chunks).length).toBeLessThanOrEqual(limit);
        throw error;
      }
      return chunks;
    });
    await send(port, randomBytes(2 * 1024 * 1024));
    const outcome = await nextOutcome();
    expect(outcome.tooLarge).toBe(true);
    expect(outcome.error?.status_code).toBe(413);
    expect(outcome.observed.length).toBeLessThanOrEqual(limit);
  });

  it("keeps a too-long body's failure for its reader when nobody reads yet (no uncaught error)", async () => {
    const limit = 64 * 1024;
    const { port, nextOutcome } = await startServer(limit, async (body) => {
      // As a store does: some bookkeeping first, meanwhile the body overflows.
      await new Promise((r) => setTimeout(r, 200));
      return body.toArray();
    });
    await send(port, randomBytes(1024 * 1024));
    const outcome = await nextOutcome();
    expect(outcome.tooLarge).toBe(true);
    expect(outcome.error?.status_code).toBe(413);
  });

  it("ends when the server ends it, and passes nothing that arrives later", async () => {
    const { port, nextOutcome } = await startServer(Number.MAX_SAFE_INTEGER, async (body) => {
      const chunks: Buffer[] = [];
      let length = 0;
      for await (const chunk of body) {
        chunks.push(chunk as Buffer);
        length += (chunk as Buffer).length;
        if (length >= 256 * 1024) body.finish();
      }
      return chunks;
    });
    const data = randomBytes(8 * 1024 * 1024);
    await send(port, data);
    const outcome = await nextOutcome();
    expect(outcome.error).toBeNull();
    expect(outcome.received.length).toBeGreaterThanOrEqual(256 * 1024);
    expect(outcome.received.length).toBeLessThan(data.length);
    expect(outcome.received.equals(data.subarray(0, outcome.received.length))).toBe(true);
    expect(outcome.observed.equals(outcome.received)).toBe(true);
  });

  it("stops reading the socket while nobody reads the body (memory stays bounded)", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let buffered = -1;
    const { port, nextOutcome } = await startServer(Number.MAX_SAFE_INTEGER, async (body) => {
      await new Promise((r) => setTimeout(r, 300));
      buffered = body.readableLength;
      release();
      return body.toArray();
    });
    const data = randomBytes(32 * 1024 * 1024);
    const sending = send(port, data);
    await released;
    // One socket read beyond the high-water mark at most.
    expect(buffered).toBeGreaterThan(0);
    expect(buffered).toBeLessThanOrEqual(BODY_HIGH_WATER_MARK + 64 * 1024);
    await sending;
    expect((await nextOutcome()).received.equals(data)).toBe(true);
  });
});
