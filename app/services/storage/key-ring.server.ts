import { randomBytes } from "node:crypto";
import type { PrismaClient } from "~/generated/prisma/client";
import type { MasterKey } from "~/config.server";
import { DecryptionError, STORE_KEY_ID_LENGTH, unwrapKey, wrapKey, type StoreKey } from "./encryption-format.server";

/** An object (or a store key) is wrapped with a master key that the configuration does not hold. */
export class MasterKeyMissingError extends Error {
  constructor(readonly masterKeyId: string) {
    super(
      `Master key ${masterKeyId} is needed but not configured: add it back to ENCRYPTION_PREVIOUS_MASTER_KEYS ` +
        "(and run `npm run keys:rotate` to re-wrap with the current ENCRYPTION_MASTER_KEY).",
    );
    this.name = "MasterKeyMissingError";
  }
}

export class StoreKeyMissingError extends Error {
  constructor(readonly storeKeyId: string) {
    super(`Store key ${storeKeyId} named by an encrypted object is not in the database (encryption_keys).`);
    this.name = "StoreKeyMissingError";
  }
}

type Db = Pick<PrismaClient, "encryptionKey">;

/** Prisma's Bytes are Uint8Arrays over a plain ArrayBuffer. */
function bytes(buffer: Buffer): Uint8Array<ArrayBuffer> {
  return new Uint8Array(buffer);
}

function storeKeyAad(id: string): Buffer {
  return Buffer.from(`coffer store key ${id}`);
}

/**
 * Store keys, unwrapped with the configured master keys and kept in memory. The oldest store
 * key encrypts new objects, so every instance picks the same one; the others (e.g. created by
 * instances starting at the same moment) stay readable.
 */
export class KeyRing {
  private readonly keys = new Map<string, Buffer>();
  private writing?: StoreKey;

  constructor(
    private readonly db: Db,
    /** The first is the current master key. */
    private readonly masterKeys: MasterKey[],
  ) {
    if (masterKeys.length === 0) throw new Error("KeyRing needs at least one master key");
  }

  /** Creates the first store key if there is none; fails when a store key's master key is missing. */
  async init(): Promise<void> {
    if ((await this.db.encryptionKey.count()) === 0) {
      const id = randomBytes(STORE_KEY_ID_LENGTH).toString("hex");
      const master = this.masterKeys[0]!;
      await this.db.encryptionKey.create({
        data: { id, masterKeyId: master.id, wrappedKey: bytes(wrapKey(master.key, randomBytes(32), storeKeyAad(id))) },
      });
    }
    const rows = await this.db.encryptionKey.findMany({ orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
    for (const row of rows) this.keys.set(row.id, this.unwrap(row));
    const first = rows[0]!;
    this.writing = { id: Buffer.from(first.id, "hex"), key: this.keys.get(first.id)! };
  }

  /** The store key that wraps the data keys of new objects. */
  current(): StoreKey {
    if (!this.writing) throw new Error("KeyRing.init() was not called");
    return this.writing;
  }

  async get(id: Buffer): Promise<Buffer> {
    const hex = id.toString("hex");
    const known = this.keys.get(hex);
    if (known) return known;
    const row = await this.db.encryptionKey.findUnique({ where: { id: hex } });
    if (!row) throw new StoreKeyMissingError(hex);
    const key = this.unwrap(row);
    this.keys.set(hex, key);
    return key;
  }

  private unwrap(row: { id: string; masterKeyId: string; wrappedKey: Uint8Array }): Buffer {
    const master = this.masterKeys.find((k) => k.id === row.masterKeyId);
    if (!master) throw new MasterKeyMissingError(row.masterKeyId);
    return unwrapKey(master.key, Buffer.from(row.wrappedKey), storeKeyAad(row.id));
  }
}

export interface RotationResult {
  total: number;
  rewrapped: number;
  alreadyCurrent: number;
}

/**
 * Re-wraps every store key with the current master key. Touches only the database: object
 * headers name store keys, not master keys. Idempotent (keys already under the current master
 * key are skipped) and resumable (each key is one conditional update).
 */
export async function rotateMasterKey(
  db: Db,
  masterKeys: MasterKey[],
  progress: (line: string) => void = () => {},
): Promise<RotationResult> {
  const current = masterKeys[0];
  if (!current) throw new Error("No master key configured: set ENCRYPTION_MASTER_KEY");
  const rows = await db.encryptionKey.findMany({ orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
  const result: RotationResult = { total: rows.length, rewrapped: 0, alreadyCurrent: 0 };
  for (const [index, row] of rows.entries()) {
    const step = `[${index + 1}/${rows.length}] store key ${row.id}`;
    if (row.masterKeyId === current.id) {
      result.alreadyCurrent++;
      progress(`${step}: already wrapped with ${current.id}`);
      continue;
    }
    const old = masterKeys.find((k) => k.id === row.masterKeyId);
    if (!old) throw new MasterKeyMissingError(row.masterKeyId);
    const aad = storeKeyAad(row.id);
    let key: Buffer;
    try {
      key = unwrapKey(old.key, Buffer.from(row.wrappedKey), aad);
    } catch (error) {
      if (error instanceof DecryptionError) throw new Error(`${step} does not unwrap with master key ${old.id}: ${error.message}`);
      throw error;
    }
    // Only if nobody rotated it meanwhile.
    const updated = await db.encryptionKey.updateMany({
      where: { id: row.id, masterKeyId: row.masterKeyId },
      data: { masterKeyId: current.id, wrappedKey: bytes(wrapKey(current.key, key, aad)), rotatedAt: new Date() },
    });
    if (updated.count === 1) result.rewrapped++;
    else result.alreadyCurrent++;
    progress(`${step}: re-wrapped from ${old.id} to ${current.id}`);
  }
  return result;
}
