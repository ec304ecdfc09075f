import { createHash } from "node:crypto";
import { pipeline, Readable, type Transform } from "node:stream";
import {
  createHeader,
  DecryptionError,
  Decryptor,
  Encryptor,
  HEADER_LENGTH,
  parseHeader,
  STORE_KEY_ID_LENGTH,
  unwrapDataKey,
} from "../storage/encryption-format.server";

/**
 * Everything written to a backup target is sealed with the backup key in the at-rest format of
 * docs/encryption.md (a random data key per object, wrapped by the backup key; AES-256-GCM
 * segments), so a flipped byte anywhere fails authentication and the target never holds
 * plaintext, file names or rows.
 */

/** Names the backup key in every header, so a wrong key is told apart from corrupt data. */
export function backupKeyId(key: Buffer): Buffer {
  return createHash("sha256").update("coffer backup key id\0").update(key).digest().subarray(0, STORE_KEY_ID_LENGTH);
}

/** Plaintext in, sealed bytes out. */
export function encryptForBackup(key: Buffer): Transform {
  const { header, dataKey } = createHeader({ id: backupKeyId(key), key });
  return new Encryptor(header, dataKey);
}

/** Sealed bytes in, verified plaintext out; fails with DecryptionError naming `what` on any mismatch. */
export function decryptFromBackup(key: Buffer, sealed: Readable, what: string): Readable {
  return Readable.from(decryptChunks(key, sealed, what));
}

async function* decryptChunks(key: Buffer, sealed: Readable, what: string): AsyncGenerator<Buffer> {
  const chunks = sealed[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head = Buffer.alloc(0);
  while (head.length < HEADER_LENGTH) {
    const next = await chunks.next();
    if (next.done) throw new DecryptionError(`${what}: truncated (shorter than its header)`);
    head = Buffer.concat([head, next.value]);
  }
  const header = parseHeader(head);
  if (!header) throw new DecryptionError(`${what}: not a sealed backup file`);
  if (!header.storeKeyId.equals(backupKeyId(key))) throw new DecryptionError(`${what}: sealed with another backup key`);
  let dataKey: Buffer;
  try {
    dataKey = unwrapDataKey(header, key);
  } catch {
    throw new DecryptionError(`${what}: its header does not authenticate (corrupt)`);
  }
  const rest = head.subarray(HEADER_LENGTH);
  async function* body() {
    if (rest.length > 0) yield rest;
    for (;;) {
      const next = await chunks.next();
      if (next.done) return;
      yield next.value;
    }
  }
  const decryptor = new Decryptor(header, dataKey);
  pipeline(Readable.from(body()), decryptor, () => {});
  try {
    yield* decryptor as AsyncIterable<Buffer>;
  } catch (error) {
    if (error instanceof DecryptionError) throw new DecryptionError(`${what}: ${error.message}`);
    throw error;
  }
}
