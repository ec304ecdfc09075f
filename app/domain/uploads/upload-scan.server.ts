import type { Readable } from "node:stream";
import type { DataStore } from "@tus/utils";
import type { Services } from "~/services/index.server";
import { beginScan, type StreamScan } from "../files/malware-scans.server";

interface ScanState {
  scan: StreamScan;
  /** Bytes fed to the scan; equals the upload's stored offset while the state is usable. */
  offset: number;
  touchedAt: number;
}

/** Scans of uploads untouched this long are dropped (clamd has long closed them anyway). */
const STATE_TTL_MS = 3600 * 1000;

/**
 * Malware scans of tus uploads, fed in the same pass as the bytes stream into the store, like
 * UploadHasher (decision 0040). One clamd INSTREAM session per upload stays open across its PATCH
 * requests in this process. When it cannot go on (a resumed upload arriving at another instance
 * or after a restart, a write that stored fewer bytes than it fed, clamd closing an idle session,
 * clamd down), the scan is dropped and the finished upload is recorded "pending": the rescan job
 * scans it from storage, and until then it is not served.
 */
export class UploadScanner {
  private states = new Map<string, ScanState>();

  constructor(private readonly services: Services) {}

  wrap(datastore: DataStore): void {
    const write = datastore.write.bind(datastore);
    datastore.write = async (readable: Readable, id: string, offset: number) => {
      this.prune();
      const previous = this.states.get(id);
      this.states.delete(id);
      let scan: StreamScan | null = null;
      if (previous && previous.offset === offset && !previous.scan.failed) scan = previous.scan;
      else {
        previous?.scan.abort();
        if (offset === 0 && isObservable(readable)) scan = beginScan(this.services);
      }
      if (scan && !isObservable(readable)) {
        scan.abort();
        scan = null;
      }
      const fedBefore = scan?.fed ?? 0;
      if (scan && isObservable(readable)) {
        const feeding = scan;
        readable.observe((chunk) => feeding.feed(chunk));
      }
      let newOffset: number;
      try {
        newOffset = await write(readable, id, offset);
      } catch (error) {
        scan?.abort();
        throw error;
      }
      // Only a scan that saw exactly the bytes stored goes on (encryption may keep fewer).
      if (scan && !scan.failed && newOffset === offset + (scan.fed - fedBefore)) {
        this.states.set(id, { scan, offset: newOffset, touchedAt: Date.now() });
      } else scan?.abort();
      return newOffset;
    };
  }

  /** The scan of a finished upload when every byte went through it in this process; else null. */
  take(id: string, size: number): StreamScan | null {
    const state = this.states.get(id);
    this.states.delete(id);
    if (state && state.offset === size && !state.scan.failed) return state.scan;
    state?.scan.abort();
    return null;
  }

  forget(id: string): void {
    this.states.get(id)?.scan.abort();
    this.states.delete(id);
  }

  private prune() {
    const cutoff = Date.now() - STATE_TTL_MS;
    for (const [id, state] of this.states) {
      if (state.touchedAt < cutoff) {
        state.scan.abort();
        this.states.delete(id);
      }
    }
  }
}

function isObservable(readable: Readable): readable is Readable & { observe(observer: (chunk: Buffer) => void): void } {
  return typeof (readable as { observe?: unknown }).observe === "function";
}
