import type { S3ObjectStore } from "./s3.server";
import type { ObjectStore } from "./types";

/** An object moved into or out of the cold tier. */
export interface ColdMove {
  key: string;
  /** Bytes as stored (ciphertext with encryption at rest). */
  size: number;
  /** SHA-256 of the stored bytes, when the move read them (a move between two stores does). */
  sha256?: string;
}

/**
 * Where unread objects go and come back from: a second store (COLD_STORAGE, a TieredObjectStore)
 * or a storage class of the S3 primary store (COLD_STORAGE_CLASS, a StorageClassTier).
 */
export interface ColdTier {
  /** Moves `key` into the cold tier. Null when there was nothing to move. */
  demote(key: string): Promise<ColdMove | null>;
  /** Moves `key` back out of it. Null when there was nothing to move. */
  promote(key: string): Promise<ColdMove | null>;
  /** Deletes `key` from the hot store and the cold tier. */
  delete(key: string): Promise<void>;
  /** Told of each read served from the cold tier (the domain restores the object). Never awaited. */
  onSecondaryRead?: (key: string) => void;
}

/**
 * The cold tier as a storage class of the S3 primary store: an object moves by being rewritten in
 * place in that class (a server-side copy onto itself, same bucket and key), and back in STANDARD.
 * Reads need nothing: the object is where it always was, and S3 names its class in the answer,
 * which is how a read of a cold object is noticed. Only classes read at once are allowed (config).
 * Server-side copies never pass the bytes through Coffer, so there is nothing to hash.
 */
export class StorageClassTier implements ColdTier {
  onSecondaryRead?: (key: string) => void;

  constructor(
    /** The hot store as the app uses it (behind its breaker), for deletes. */
    private readonly hot: ObjectStore,
    /** The S3 driver under it, whose objects change class. */
    private readonly driver: S3ObjectStore,
    readonly storageClass: string,
  ) {
    driver.onStorageClassRead = (key, storageClass) => {
      if (storageClass === this.storageClass) this.onSecondaryRead?.(key);
    };
  }

  demote(key: string): Promise<ColdMove | null> {
    return this.rewrite(key, this.storageClass);
  }

  promote(key: string): Promise<ColdMove | null> {
    return this.rewrite(key, "STANDARD");
  }

  delete(key: string): Promise<void> {
    return this.hot.delete(key);
  }

  private async rewrite(key: string, storageClass: string): Promise<ColdMove | null> {
    try {
      const info = await this.driver.setStorageClass(key, storageClass);
      return info ? { key, size: info.size } : null;
    } catch (error) {
      if ((error as { code?: unknown }).code === "InvalidStorageClass") throw new StorageClassRefusedError(storageClass, error);
      throw error;
    }
  }
}

/** The S3 server does not offer the class (Swift offers only STANDARD); the object stays as it was. */
export class StorageClassRefusedError extends Error {
  constructor(storageClass: string, cause: unknown) {
    super(
      `the S3 server refuses storage class ${storageClass} (${(cause as Error).message}); the object stays where it was. ` +
        "Set COLD_STORAGE_CLASS to a class the server offers, or use COLD_STORAGE",
      { cause },
    );
    this.name = "StorageClassRefusedError";
  }
}
