import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ObjectNotFoundError, type ObjectStore } from "./types";

/**
 * An advisory lock a backup holds exclusively for its whole run; each move of an object between
 * the hot store and the cold tier takes it shared without waiting, and does not happen when a
 * backup holds it: the backup reads every object where it was when the run began.
 */
export const TIER_MOVE_LOCK = 72707375;

/** The copy in the target store is not the bytes that were read from the source; the source is kept. */
export class ObjectVerifyError extends Error {
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`Object ${key}: the copy does not match the original (${detail}); the original is kept`);
    this.name = "ObjectVerifyError";
  }
}

export interface MovedObject {
  key: string;
  /** Bytes as stored (ciphertext with encryption at rest). */
  size: number;
  /** SHA-256 of the stored bytes. */
  sha256: string;
}

/**
 * Copies `key` from `source` into `target` byte for byte, reads the copy back and compares its
 * size and SHA-256 with what was read from the source (ObjectVerifyError when they differ). The
 * caller deletes the source only after this resolved, so an interrupted move (kill -9) keeps the
 * original and can simply run again: the copy replaces any earlier one. Null when there is nothing
 * to move (the source has no such object, or one of the two was deleted meanwhile).
 */
export async function copyVerified(source: ObjectStore, target: ObjectStore, key: string): Promise<MovedObject | null> {
  const info = await source.stat(key);
  if (!info) return null;
  const hashing = new Hashing();
  try {
    // The pipeline destroys `hashing` with any error of the source, which fails the put.
    pipeline(await source.get(key), hashing).catch(() => {});
    await target.put(key, hashing, { size: info.size });
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return null;
    throw error;
  }
  const sha256 = hashing.hash.digest("hex");
  const stored = await hashOf(target, key).catch((error: unknown) => {
    if (error instanceof ObjectNotFoundError) return null;
    throw error;
  });
  if (!stored) return null;
  if (stored.size !== hashing.bytes) throw new ObjectVerifyError(key, `${stored.size} bytes stored, ${hashing.bytes} read`);
  if (stored.sha256 !== sha256) throw new ObjectVerifyError(key, `SHA-256 ${stored.sha256} stored, ${sha256} read`);
  return { key, size: stored.size, sha256 };
}

/** Size and SHA-256 of an object's stored bytes, read in full. */
export async function hashOf(store: ObjectStore, key: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of await store.get(key)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest("hex") };
}

class Hashing extends Transform {
  readonly hash: Hash = createHash("sha256");
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}
