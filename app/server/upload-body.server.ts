import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { ERRORS } from "@tus/utils";

/** How much of a request body may wait, unread by the store, before the socket is paused. */
export const BODY_HIGH_WATER_MARK = 1024 * 1024;

/**
 * The body of a tus PATCH (or POST with data), read straight from the Node request.
 *
 * @tus/server hands the store the body through a web stream, `Readable.fromWeb`, a PassThrough
 * and its size-limiting Transform, and Coffer's hashing added another Transform: five hops for
 * every socket read, which on a fast upload cost more CPU than moving the bytes. This one stream
 * does the size limit and lets observers (the upload hash) see each piece as it arrives.
 *
 * A client that goes away mid-body ends the stream normally, so the store keeps every byte that
 * arrived and the upload resumes from there. `finish()` does the same on the server's behalf (tus
 * cancels a request whose lock another request asks for). A body that cannot be resumed (a WebDAV
 * PUT) is told to fail instead (`clientGone: "fail"`), so the store keeps nothing of it.
 */
export class UploadBody extends Readable {
  /** Bytes passed on so far. */
  received = 0;
  /** Set when the body was longer than allowed; the store got only the bytes before it. */
  tooLarge = false;
  private observers: Array<(chunk: Buffer) => void> = [];
  private ended = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly limit: number,
    private readonly options: {
      /** What a client that goes away mid-body does to the stream: end it (tus, the default), or fail it. */
      clientGone?: "end" | "fail";
      /** The error a too-long body fails with; tus's 413 unless given. */
      tooLarge?: () => Error;
    } = {},
  ) {
    super({ highWaterMark: BODY_HIGH_WATER_MARK });
    // The body flows from the start, but a store may begin reading only after an await (S3
    // bookkeeping, opening a file): a too-large body's error would then have no listener and
    // crash the process. The reader still gets the error; `tooLarge` says what happened.
    this.on("error", () => {});
    req.on("data", this.onData);
    req.once("end", this.finish);
    req.once("close", this.gone);
    req.once("error", this.gone);
  }

  /** Calls `observer` with every piece passed on from now on, in order. */
  observe(observer: (chunk: Buffer) => void): void {
    this.observers.push(observer);
  }

  /** Ends the body here: what was passed on is all the store gets. */
  readonly finish = (): void => {
    if (this.ended) return;
    this.ended = true;
    this.detach();
    this.push(null);
  };

  /** The request closed or failed; after its end this changes nothing. */
  private readonly gone = (): void => {
    if (this.ended) return;
    if (this.options.clientGone !== "fail") {
      this.finish();
      return;
    }
    // Every byte arrived; its end comes once the rest is read.
    if (this.req.complete && !this.req.errored) return;
    this.ended = true;
    this.detach();
    this.destroy(new ClientGoneError(this.received));
  };

  override _read(): void {
    if (!this.ended) this.req.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.ended = true;
    this.detach();
    callback(error);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.ended) return;
    this.received += chunk.length;
    if (this.received > this.limit) {
      this.received -= chunk.length;
      this.tooLarge = true;
      this.ended = true;
      this.detach();
      this.destroy(this.options.tooLarge?.() ?? Object.assign(new Error(ERRORS.ERR_MAX_SIZE_EXCEEDED.body), ERRORS.ERR_MAX_SIZE_EXCEEDED));
      return;
    }
    for (const observer of this.observers) observer(chunk);
    if (!this.push(chunk)) this.req.pause();
  };

  private detach() {
    this.req.off("data", this.onData);
    this.req.off("end", this.finish);
    this.req.off("close", this.gone);
    this.req.off("error", this.gone);
  }
}

/** The client went away before the whole body arrived (a body told to fail rather than end). */
export class ClientGoneError extends Error {
  constructor(readonly received: number) {
    super(`The client went away after ${received} bytes of the body`);
    this.name = "ClientGoneError";
  }
}
