import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { describe, expect, it } from "vitest";
import { decryptFromBackup, encryptForBackup } from "./backup-crypto.server";

const key = randomBytes(32);

async function seal(plain: Buffer, withKey = key): Promise<Buffer> {
  return buffer(Readable.from([plain]).pipe(encryptForBackup(withKey)));
}

function open(sealed: Buffer, withKey = key): Promise<Buffer> {
  // Small chunks, so the header and the segments arrive split.
  const chunks = Array.from({ length: Math.ceil(sealed.length / 1000) }, (_, i) => sealed.subarray(i * 1000, (i + 1) * 1000));
  return buffer(decryptFromBackup(withKey, Readable.from(chunks), "db-users"));
}

describe("backup encryption", () => {
  it("round-trips empty and multi-segment contents, never writing the plaintext", async () => {
    for (const size of [0, 1, 64 * 1024, 200_000]) {
      const plain = randomBytes(size);
      const sealed = await seal(plain);
      if (size > 64) expect(sealed.includes(plain.subarray(0, 64))).toBe(false);
      expect((await open(sealed)).equals(plain)).toBe(true);
    }
  });

  it("names the file when a byte is flipped anywhere", async () => {
    const sealed = await seal(randomBytes(150_000));
    for (const at of [10, 100, 70_000, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[at] ^= 0x01;
      await expect(open(bad)).rejects.toThrow(/^db-users: /);
    }
  });

  it("tells a wrong key from corruption, and rejects truncation", async () => {
    const sealed = await seal(randomBytes(1000));
    await expect(open(sealed, randomBytes(32))).rejects.toThrow("db-users: sealed with another backup key");
    await expect(open(sealed.subarray(0, sealed.length - 5))).rejects.toThrow(/db-users: .*(truncated|authenticate)/);
    await expect(open(sealed.subarray(0, 20))).rejects.toThrow("db-users: truncated");
    await expect(open(Buffer.alloc(200))).rejects.toThrow("db-users: not a sealed backup file");
  });
});
