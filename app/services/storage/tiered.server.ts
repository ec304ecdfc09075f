import type { Readable } from "node:stream";
import type { DataStore } from "@tus/utils";
import type { CircuitState } from "../dependency.server";
import { copyVerified, type MovedObject } from "./move.server";
import {
  ObjectNotFoundError,
  type ByteRange,
  type ObjectInfo,
  type ObjectStore,
  type PresignedGetOptions,
  type TusDataStoreOptions,
} from "./types";

/**
 * Two stores seen as one, below encryption at rest (objects are moved as the bytes they are):
 * `primary` holds what is written, `secondary` what has not been moved (a store being migrated
 * from) or what was moved away (the cold tier). Reads try the primary first, then the secondary;
 * writes go to the primary; deletes go to both, so a deleted file never survives in either.
 * The listing covers both, each key once, so the storage check sees every object.
 */
export class TieredObjectStore implements ObjectStore {
  /** Told of each object read from the secondary (the cold tier restores it in the background). Never awaited. */
  onSecondaryRead?: (key: string) => void;
  /** Keys deleted while a move was under way, with the delete's sequence number (see `move`). */
  private readonly deletedDuringMoves = new Map<string, number>();
  private deleteSequence = 0;
  private movesUnderWay = 0;

  constructor(
    readonly primary: ObjectStore,
    readonly secondary: ObjectStore,
  ) {}

  get driver() {
    return this.primary.driver;
  }

  circuitState(): CircuitState | undefined {
    return this.primary.circuitState?.();
  }

  async init(): Promise<void> {
    await this.primary.init();
    await this.secondary.init();
  }

  put(key: string, body: Readable, options?: { size?: number; contentType?: string }): Promise<{ size: number }> {
    return this.primary.put(key, body, options);
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    try {
      return await this.primary.get(key, range);
    } catch (error) {
      if (!(error instanceof ObjectNotFoundError)) throw error;
    }
    const stream = await this.secondary.get(key, range);
    this.onSecondaryRead?.(key);
    return stream;
  }

  /**
   * A URL only for an object in the primary store: one still in the secondary (not yet migrated,
   * or cold) streams through get, which also brings a cold object back.
   */
  async presignedGetUrl(key: string, options: PresignedGetOptions): Promise<string | null> {
    if (!this.primary.presignedGetUrl || !(await this.primary.stat(key))) return null;
    return this.primary.presignedGetUrl(key, options);
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    return (await this.primary.stat(key)) ?? (await this.secondary.stat(key));
  }

  /** Which store holds `key` now; null when neither does. */
  async locate(key: string): Promise<"primary" | "secondary" | null> {
    if (await this.primary.stat(key)) return "primary";
    return (await this.secondary.stat(key)) ? "secondary" : null;
  }

  async delete(key: string): Promise<void> {
    this.noteDeleted([key]);
    await Promise.all([this.primary.delete(key), this.secondary.delete(key)]);
  }

  async deleteMany(keys: string[]): Promise<void> {
    this.noteDeleted(keys);
    const results = await Promise.allSettled([this.primary.deleteMany(keys), this.secondary.deleteMany(keys)]);
    const failed = results.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
  }

  /** Within the primary when the source is there; otherwise the bytes are streamed across into the primary. */
  async copy(fromKey: string, toKey: string): Promise<void> {
    try {
      await this.primary.copy(fromKey, toKey);
      return;
    } catch (error) {
      if (!(error instanceof ObjectNotFoundError)) throw error;
    }
    const info = await this.secondary.stat(fromKey);
    if (!info) throw new ObjectNotFoundError(fromKey);
    await this.primary.put(toKey, await this.secondary.get(fromKey), { size: info.size });
  }

  async *list(prefix?: string): AsyncIterable<ObjectInfo> {
    yield* this.primary.list(prefix);
    // A key in both (a move under way) is listed once, as the primary's.
    for await (const info of this.secondary.list(prefix)) {
      if (!(await this.primary.stat(info.key))) yield info;
    }
  }

  health(): Promise<void> {
    return this.primary.health();
  }

  /** Moves `key` from the secondary into the primary (a migration, a restore from the cold tier). */
  promote(key: string): Promise<MovedObject | null> {
    return this.move(this.secondary, this.primary, key);
  }

  /** Moves `key` from the primary into the secondary (into the cold tier). */
  demote(key: string): Promise<MovedObject | null> {
    return this.move(this.primary, this.secondary, key);
  }

  /**
   * A verified copy (see copyVerified), then the original deleted. Null when there was nothing to
   * move: the object was not in `from`, or was deleted while it was being copied, in which case
   * the copy is deleted too, so a file deleted during a move leaves nothing in either store.
   * (A delete handled by another instance at that moment can leave the copy: the storage check
   * finds it as an orphan.)
   */
  private async move(from: ObjectStore, to: ObjectStore, key: string): Promise<MovedObject | null> {
    const mark = this.deleteSequence;
    this.movesUnderWay++;
    const deletedMeanwhile = () => (this.deletedDuringMoves.get(key) ?? -1) >= mark;
    try {
      let moved: MovedObject | null;
      try {
        moved = await copyVerified(from, to, key);
      } catch (error) {
        // A source deleted under the copy breaks its stream (S3 resets the connection).
        if (!deletedMeanwhile()) throw error;
        moved = null;
      }
      if (deletedMeanwhile()) {
        await Promise.all([to.delete(key), from.delete(key)]);
        return null;
      }
      if (moved) await from.delete(key);
      return moved;
    } finally {
      if (--this.movesUnderWay === 0) this.deletedDuringMoves.clear();
    }
  }

  private noteDeleted(keys: string[]): void {
    if (this.movesUnderWay === 0) return;
    const sequence = this.deleteSequence++;
    for (const key of keys) this.deletedDuringMoves.set(key, sequence);
  }

  /** Uploads are written where everything new is. */
  createTusDataStore(options: TusDataStoreOptions): DataStore {
    return this.primary.createTusDataStore(options);
  }
}

export function isTieredStore(store: ObjectStore): store is TieredObjectStore {
  return store instanceof TieredObjectStore;
}
