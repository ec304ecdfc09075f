// The store-key ring and master-key rotation (app/services/storage/key-ring.server.ts) against a
// real database: which store key encrypts, how keys under an old master key stay readable, and
// what rotation does, repeated or interrupted. The HTTP test of `npm run keys:rotate` runs it in a
// child process; this one checks each outcome directly.
import { randomBytes } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { type MasterKey, parseMasterKey } from "~/config.server";
import { STORE_KEY_ID_LENGTH, wrapKey } from "~/services/storage/encryption-format.server";
import { KeyRing, MasterKeyMissingError, rotateMasterKey, StoreKeyMissingError } from "~/services/storage/key-ring.server";
import { createTestDatabase, type TestDatabase } from "./support/database";

const masterKey = (): MasterKey => parseMasterKey(randomBytes(32).toString("base64"))!;

describe("KeyRing and rotateMasterKey", () => {
  let db: TestDatabase;
  let oldKey: MasterKey;
  let newKey: MasterKey;

  beforeEach(async () => {
    db ??= await createTestDatabase();
    await db.prisma.encryptionKey.deleteMany();
    oldKey = masterKey();
    newKey = masterKey();
  });

  it("creates one store key on first start, and every later ring uses that same key", async () => {
    const first = new KeyRing(db.prisma, [oldKey]);
    await first.init();
    const second = new KeyRing(db.prisma, [oldKey]);
    await second.init();

    expect(await db.prisma.encryptionKey.count()).toBe(1);
    expect(second.current().id.equals(first.current().id)).toBe(true);
    expect(second.current().key.equals(first.current().key)).toBe(true);
    expect((await second.get(first.current().id)).equals(first.current().key)).toBe(true);
  });

  it("encrypts with the oldest store key and reads a newer one it learns of later", async () => {
    const ring = new KeyRing(db.prisma, [oldKey]);
    await ring.init();
    // Another instance, started at the same moment, created a store key of its own.
    const id = randomBytes(STORE_KEY_ID_LENGTH).toString("hex");
    const key = randomBytes(32);
    const wrappedKey = new Uint8Array(wrapKey(oldKey.key, key, Buffer.from(`coffer store key ${id}`)));
    await db.prisma.encryptionKey.create({ data: { id, masterKeyId: oldKey.id, wrappedKey, createdAt: new Date(Date.now() + 60_000) } });

    expect((await ring.get(Buffer.from(id, "hex"))).equals(key)).toBe(true);
    const restarted = new KeyRing(db.prisma, [oldKey]);
    await restarted.init();
    expect(restarted.current().id.equals(ring.current().id)).toBe(true);
    await expect(ring.get(randomBytes(STORE_KEY_ID_LENGTH))).rejects.toBeInstanceOf(StoreKeyMissingError);
  });

  it("refuses to start without a master key, or before init", async () => {
    expect(() => new KeyRing(db.prisma, [])).toThrow(/at least one master key/);
    expect(() => new KeyRing(db.prisma, [oldKey]).current()).toThrow(/init\(\) was not called/);
  });

  it("names the missing master key when a store key was wrapped with one that is not configured", async () => {
    await new KeyRing(db.prisma, [oldKey]).init();
    const error = await new KeyRing(db.prisma, [newKey]).init().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MasterKeyMissingError);
    expect((error as MasterKeyMissingError).masterKeyId).toBe(oldKey.id);
    expect((error as Error).message).toContain("ENCRYPTION_PREVIOUS_MASTER_KEYS");
  });

  it("re-wraps every store key with the new master key, once; the old key can then go", async () => {
    const before = new KeyRing(db.prisma, [oldKey]);
    await before.init();
    const lines: string[] = [];

    const first = await rotateMasterKey(db.prisma, [newKey, oldKey], (line) => lines.push(line));
    expect(first).toEqual({ total: 1, rewrapped: 1, alreadyCurrent: 0 });
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^\\[1/1\\] store key [0-9a-f]+: re-wrapped from ${oldKey.id} to ${newKey.id}$`)),
    ]);
    const row = await db.prisma.encryptionKey.findFirstOrThrow();
    expect(row.masterKeyId).toBe(newKey.id);
    expect(row.rotatedAt).not.toBeNull();

    expect(await rotateMasterKey(db.prisma, [newKey, oldKey])).toEqual({ total: 1, rewrapped: 0, alreadyCurrent: 1 });

    const after = new KeyRing(db.prisma, [newKey]);
    await after.init();
    expect(after.current().key.equals(before.current().key)).toBe(true);
  });

  it("stops at a store key it cannot unwrap, naming it, and changes nothing", async () => {
    await new KeyRing(db.prisma, [oldKey]).init();
    const row = await db.prisma.encryptionKey.findFirstOrThrow();

    await expect(rotateMasterKey(db.prisma, [newKey])).rejects.toBeInstanceOf(MasterKeyMissingError);
    // The right id with other key material: the wrapped key fails authentication.
    const impostor = { id: oldKey.id, key: randomBytes(32) };
    await expect(rotateMasterKey(db.prisma, [newKey, impostor])).rejects.toThrow(
      new RegExp(`store key ${row.id} does not unwrap with master key ${oldKey.id}`),
    );
    await expect(rotateMasterKey(db.prisma, [])).rejects.toThrow(/No master key configured/);
    expect((await db.prisma.encryptionKey.findFirstOrThrow()).masterKeyId).toBe(oldKey.id);
  });
});
