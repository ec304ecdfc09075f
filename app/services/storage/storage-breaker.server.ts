import { PassThrough, type Readable } from "node:stream";
import { type CircuitState, createBreaker, DependencyUnavailableError, isDependencyUnavailable } from "~/services/dependency.server";
import type { Logger } from "~/services/logger.server";
import { isStorageOutage } from "./outage.server";

/**
 * A stat, a delete or the start of a download takes S3 tens of milliseconds; one that takes this
 * long counts as an outage, which keeps a hung store's answer within 2 s.
 */
const REQUEST_TIMEOUT_MS = 1_500;

export interface StorageBreakerOptions {
  log?: Logger;
  /** How long a short request (a stat, the start of a download) may take before it counts as an outage. */
  requestTimeoutMs?: number;
  resetMs?: number;
}

/**
 * The circuit breaker in front of the object store. Calls come in two kinds:
 * - requests, which answer quickly (a stat, a delete, the start of a download: S3's response
 *   headers): each is bounded by a short timeout;
 * - streams, which last as long as their body does (an upload, a large copy): never timed out,
 *   only refused at once while the circuit is open, and counted when they fail for an outage.
 *   They never go through the breaker itself, so a long transfer can never hold the circuit
 *   half-open while it runs.
 * Either way an outage surfaces as DependencyUnavailableError (503), other errors as they are.
 */
export class StorageBreaker {
  private readonly breaker;
  private readonly retryAfterSeconds: number;

  constructor(options: StorageBreakerOptions = {}) {
    const resetMs = options.resetMs ?? 5_000;
    this.retryAfterSeconds = Math.max(1, Math.ceil(resetMs / 1000));
    this.breaker = createBreaker("storage", {
      isOutage: isStorageOutage,
      timeoutMs: options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
      resetMs,
      onStateChange: (state) => {
        if (state === "open") options.log?.warn("object storage unreachable: refusing its requests for a while", { dependency: "storage" });
        else if (state === "closed") options.log?.info("object storage reachable again", { dependency: "storage" });
      },
    });
  }

  get isOpen(): boolean {
    return this.breaker.isOpen;
  }

  get state(): CircuitState {
    return this.breaker.state;
  }

  /** A call that answers quickly; it fails as an outage when it takes too long. */
  request<T>(call: () => Promise<T>): Promise<T> {
    return this.breaker.run(call);
  }

  /** A call that may run as long as the bytes it moves; refused at once while the circuit is open. */
  async stream<T>(call: () => Promise<T>): Promise<T> {
    if (this.breaker.isOpen) await this.breaker.run(async () => undefined);
    try {
      return await call();
    } catch (error) {
      throw await this.failed(error);
    }
  }

  /**
   * The error to surface for a failure seen outside `request` and `stream` (a stream that broke
   * midway): an outage is counted and becomes DependencyUnavailableError, anything else is kept.
   */
  async failed(error: unknown): Promise<unknown> {
    if (isDependencyUnavailable(error) || !isStorageOutage(error)) return error;
    return this.breaker.run(() => Promise.reject(error)).catch((converted: unknown) => converted);
  }

  /** Same as `failed`, at once: the outage is counted in the background. */
  failedNow(error: unknown): unknown {
    if (isDependencyUnavailable(error) || !isStorageOutage(error)) return error;
    void this.failed(error);
    return new DependencyUnavailableError("storage", this.retryAfterSeconds, { cause: error });
  }

  /**
   * `source` as handed on, with a failure for an outage midway (S3 gone while a download
   * streams) turned into DependencyUnavailableError; destroying the result stops `source`.
   */
  guardStream(source: Readable): Readable {
    const guarded = new PassThrough({ highWaterMark: source.readableHighWaterMark });
    source.on("error", (error) => guarded.destroy(toError(this.failedNow(error))));
    guarded.on("close", () => {
      if (!source.destroyed) source.destroy();
    });
    source.pipe(guarded);
    return guarded;
  }

  shutdown(): void {
    this.breaker.shutdown();
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
