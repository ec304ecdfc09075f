// Copying stored objects into a backup target and back (app/domain/backup/objects.server.ts), in
// process on two real local stores: reuse of sound copies, damaged or vanished copies, objects the
// database names but the store lost, and a restore that does not match its manifest.
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { copyObjects, firstObjects, listTargetObjects, restoreObjects } from "~/domain/backup/objects.server";
import { LocalObjectStore } from "~/services/storage/local.server";

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

const sha256 = (data: string) => createHash("sha256").update(data).digest("hex");
const warnings: string[] = [];
const log = { debug() {}, info() {}, error() {}, warn: (message: string) => warnings.push(message) } as never;

async function readText(store: LocalObjectStore, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

describe("backup object copies", () => {
  let source: LocalObjectStore;
  let target: LocalObjectStore;
  const key = randomBytes(32);

  async function newStore(name: string) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-backup-objects-"));
    roots.push(root);
    const store = new LocalObjectStore(path.join(root, name));
    await store.init();
    return store;
  }

  beforeEach(async () => {
    warnings.length = 0;
    source = await newStore("primary");
    target = await newStore("target");
    for (const [name, text] of [
      ["b-key", "bravo"],
      ["a-key", "alpha"],
      ["c-key", "charlie"],
    ])
      await source.put(name, Readable.from([Buffer.from(text)]));
  });

  it("copies each object once, sorted, and lists what it lost; a second run reuses what is there", async () => {
    const present = await listTargetObjects(target);
    const first = await copyObjects({ source, target, key, keys: ["c-key", "a-key", "lost-key", "b-key", "a-key"], present, log });
    expect(first.objects).toEqual([
      { key: "a-key", bytes: 5, sha256: sha256("alpha") },
      { key: "b-key", bytes: 5, sha256: sha256("bravo") },
      { key: "c-key", bytes: 7, sha256: sha256("charlie") },
    ]);
    expect(first).toMatchObject({ copied: 3, missing: ["lost-key"] });
    expect([...(await listTargetObjects(target)).keys()].sort()).toEqual(["a-key", "b-key", "c-key"]);

    // From the earlier manifest when the sizes agree, else read back and hashed: nothing copied.
    const known = new Map([
      ["a-key", first.objects[0]!],
      ["b-key", { ...first.objects[1]!, bytes: 99 }],
    ]);
    const second = await copyObjects({
      source,
      target,
      key,
      keys: ["a-key", "b-key", "c-key"],
      present: await listTargetObjects(target),
      known,
      log,
    });
    expect(second).toEqual({ objects: first.objects, copied: 0, bytesWritten: 0, missing: [] });
    expect(warnings).toEqual([]);
  });

  it("copies again an object whose copy in the target is damaged or gone", async () => {
    await copyObjects({ source, target, key, keys: ["a-key", "b-key"], present: await listTargetObjects(target) });
    const present = await listTargetObjects(target);
    await target.put("object-a-key", Readable.from([randomBytes(present.get("a-key")!)]));
    await target.delete("object-b-key");

    const again = await copyObjects({ source, target, key, keys: ["a-key", "b-key"], present, log });
    expect(again).toMatchObject({ copied: 2, missing: [] });
    expect(warnings).toEqual([
      "backup: an object in the target is damaged or torn; copying it again",
      "backup: an object in the target is damaged or torn; copying it again",
    ]);
    const fresh = await newStore("restored");
    await restoreObjects({ target, key, objects: again.objects, store: fresh });
    expect(await readText(fresh, "a-key")).toBe("alpha");
    expect(await readText(fresh, "b-key")).toBe("bravo");
  });

  it("fails a restore naming an object that is missing or does not match, keeping no bad copy", async () => {
    const { objects } = await copyObjects({ source, target, key, keys: ["a-key"], present: new Map() });
    const fresh = await newStore("restored");
    const restored: string[] = [];

    await expect(restoreObjects({ target, key, objects: [{ ...objects[0]!, sha256: sha256("other") }], store: fresh })).rejects.toThrow(
      /^object-a-key: its SHA-256 is [0-9a-f]{64}, the manifest says/,
    );
    expect(await fresh.stat("a-key")).toBeNull();
    await expect(restoreObjects({ target, key, objects: [{ key: "z-key", bytes: 1, sha256: sha256("z") }], store: fresh })).rejects.toThrow(
      "object-z-key: missing from the backup target",
    );
    await restoreObjects({ target, key, objects, store: fresh, onRestored: (object) => restored.push(object.key) });
    expect(restored).toEqual(["a-key"]);
  });

  it("names at most the first few objects of a store that is not empty", async () => {
    expect(await firstObjects(target)).toEqual([]);
    expect((await firstObjects(source, 2)).length).toBe(2);
    expect((await firstObjects(source)).map((info) => info.key).sort()).toEqual(["a-key", "b-key", "c-key"]);
  });
});
