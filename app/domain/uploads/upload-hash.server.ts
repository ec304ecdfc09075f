import { createHash, type Hash } from "node:crypto";
import type { Readable } from "node:stream";
import type { DataStore } from "@tus/utils";
import type { Services } from "~/services/index.server";
import { createFileQueue } from "../files/file-queue.server";
import { deduplicateFile } from "../files/shared-objects.server";

interface HashState {
  hash: Hash;
  /** Bytes hashed so far; equals the upload's stored offset while the state is usable. */
  offset: number;
  touchedAt: number;
}

/** States of uploads untouched this long are dropped (the upload then gets a background hash). */
const STATE_TTL_MS = 24 * 3600 * 1000;

/**
 * SHA-256 of tus uploads, computed in the same pass as the bytes stream into the store.
 * The running hash lives in this process; when a resumed upload arrives at another instance,
 * after a restart, or after a write stored fewer bytes than it hashed, the in-stream hash is
 * given up and the file is hashed from storage once it is complete.
 */
export class UploadHasher {
  private states = new Map<string, HashState>();

  /**
   * Wraps the store's write so every byte written also goes through the upload's hash. Request
   * bodies (UploadBody) show each piece they pass on; any other source is written unhashed, and
   * the finished file is then hashed from storage.
   */
  wrap(datastore: DataStore): void {
    const write = datastore.write.bind(datastore);
    // A store that keeps only whole steps of this many bytes (encryption: whole segments) may
    // store less than a write received.
    const granularity = (datastore as { offsetGranularity?: number }).offsetGranularity;
    datastore.write = async (readable: Readable, id: string, offset: number) => {
      this.prune();
      const previous = this.states.get(id);
      this.states.delete(id);
      const hash = previous?.offset === offset ? previous.hash : offset === 0 ? createHash("sha256") : null;
      let hashed = 0;
      // The hash as it was at the last granularity boundary, for a write that keeps only whole steps.
      let atBoundary = null as { hash: Hash; offset: number } | null;
      const hashing = hash !== null && isObservable(readable);
      if (hashing) {
        readable.observe((chunk) => {
          if (!granularity) {
            hash.update(chunk);
            hashed += chunk.length;
            return;
          }
          let at = 0;
          while (at < chunk.length) {
            const position = offset + hashed;
            const take = Math.min(granularity - (position % granularity), chunk.length - at);
            hash.update(chunk.subarray(at, at + take));
            hashed += take;
            at += take;
            if ((position + take) % granularity === 0) atBoundary = { hash: hash.copy(), offset: position + take };
          }
        });
      }
      const newOffset = await write(readable, id, offset);
      if (hashing) {
        const kept = newOffset === offset + hashed ? hash : atBoundary?.offset === newOffset ? atBoundary.hash : null;
        if (kept) this.states.set(id, { hash: kept, offset: newOffset, touchedAt: Date.now() });
      }
      return newOffset;
    };
  }

  /** The hex digest when every byte of a finished upload went through this process's hash. */
  take(id: string, size: number): string | null {
    const state = this.states.get(id);
    this.states.delete(id);
    return state && state.offset === size ? state.hash.digest("hex") : null;
  }

  forget(id: string): void {
    this.states.delete(id);
  }

  private prune() {
    const cutoff = Date.now() - STATE_TTL_MS;
    for (const [id, state] of this.states) if (state.touchedAt < cutoff) this.states.delete(id);
  }
}

/** A body that shows each piece it passes on (UploadBody), so no Transform is needed to see them. */
function isObservable(readable: Readable): readable is Readable & { observe(observer: (chunk: Buffer) => void): void } {
  return typeof (readable as { observe?: unknown }).observe === "function";
}

/** Reads a stored file back to compute its SHA-256, for uploads whose in-stream hash was lost. */
export async function hashStoredFile(services: Services, fileId: string): Promise<string | null> {
  const file = await services.prisma.file.findUnique({ where: { id: fileId }, select: { storageKey: true, sha256: true, size: true } });
  if (!file || file.sha256) return file?.sha256 ?? null;
  const hash = createHash("sha256");
  if (file.size > 0n) {
    const stream = await services.storage.get(file.storageKey);
    for await (const chunk of stream) hash.update(chunk as Buffer);
  }
  const digest = hash.digest("hex");
  // Only if the content is still the one hashed (a replace may have happened meanwhile).
  // Raw SQL: bookkeeping leaves the file's modified time (@updatedAt) as it is.
  const updated = await services.prisma
    .$executeRaw`UPDATE files SET sha256 = ${digest} WHERE id = ${fileId} AND storage_key = ${file.storageKey} AND sha256 IS NULL`;
  if (updated === 1 && services.config.storageDedup) {
    const hashed = await services.prisma.file.findUnique({ where: { id: fileId } });
    if (hashed) await deduplicateFile(services, hashed);
  }
  return digest;
}

/** Hashes of finished uploads whose in-stream hash was lost, one file at a time, as durable jobs when they run. */
export const hashQueue = createFileQueue("file-hash", hashStoredFile, "could not hash a finished upload");
