import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { afterEach, describe, expect, it } from "vitest";
import { LocalObjectStore } from "~/services/storage/local.server";
import type { ObjectStore } from "~/services/storage/types";
import { readArchivedWal, shipWal, WalConflictError, walKey } from "./wal-shipper.server";

const key = randomBytes(32);
/** The staged WAL's cluster (pg_control_system()'s system_identifier). */
const systemId = "7581234567890123456";
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

async function scene() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-wal-ship-"));
  dirs.push(root);
  const stagingDir = path.join(root, "staging");
  fs.mkdirSync(stagingDir);
  const store = new LocalObjectStore(path.join(root, "target"));
  await store.init();
  let puts = 0;
  let failReads = 0;
  // Counts uploads; can make the read-back fail, as a process killed right after its upload would stop there.
  const target: ObjectStore = Object.assign(Object.create(store) as ObjectStore, {
    put: (...args: Parameters<ObjectStore["put"]>) => {
      puts++;
      return store.put(...args);
    },
    get: (...args: Parameters<ObjectStore["get"]>) => {
      if (failReads > 0) {
        failReads--;
        return Promise.reject(new Error("killed"));
      }
      return store.get(...args);
    },
  });
  return { stagingDir, target, puts: () => puts, failNextRead: () => void failReads++ };
}

describe("the WAL shipper", () => {
  it("ships staged files in order and removes them once they are readable from the target", async () => {
    const { stagingDir, target } = await scene();
    const segments = ["000000010000000000000002", "000000010000000000000001", "00000002.history"];
    const contents = new Map(segments.map((name) => [name, randomBytes(70_000)]));
    for (const [name, bytes] of contents) fs.writeFileSync(path.join(stagingDir, name), bytes);
    fs.writeFileSync(path.join(stagingDir, ".000000010000000000000003.tmp"), "half a copy");

    expect(await shipWal({ stagingDir, target, key, systemId })).toEqual({ shipped: 3, waiting: 0 });
    for (const [name, bytes] of contents)
      expect((await buffer(await readArchivedWal(target, key, walKey(systemId, name)))).equals(bytes)).toBe(true);
    expect(fs.readdirSync(stagingDir)).toEqual([".000000010000000000000003.tmp"]);
  });

  it("resumes after a crash between upload and clean-up, sending the segment once", async () => {
    const { stagingDir, target, puts, failNextRead } = await scene();
    const name = "000000010000000000000007";
    const bytes = randomBytes(100_000);
    fs.writeFileSync(path.join(stagingDir, name), bytes);
    failNextRead();
    await expect(shipWal({ stagingDir, target, key, systemId })).rejects.toThrow("killed");
    expect(fs.existsSync(path.join(stagingDir, name))).toBe(true);
    expect(puts()).toBe(1);

    expect(await shipWal({ stagingDir, target, key, systemId })).toEqual({ shipped: 0, waiting: 0 });
    expect(puts()).toBe(1);
    expect(fs.existsSync(path.join(stagingDir, name))).toBe(false);
    expect((await buffer(await readArchivedWal(target, key, walKey(systemId, name)))).equals(bytes)).toBe(true);
  });

  it("keeps a staged file that differs from the one already archived under its name", async () => {
    const { stagingDir, target } = await scene();
    const name = "000000010000000000000009";
    fs.writeFileSync(path.join(stagingDir, name), randomBytes(1000));
    await shipWal({ stagingDir, target, key, systemId });
    const other = randomBytes(1000);
    fs.writeFileSync(path.join(stagingDir, name), other);
    await expect(shipWal({ stagingDir, target, key, systemId })).rejects.toThrow(WalConflictError);
    expect(fs.readFileSync(path.join(stagingDir, name)).equals(other)).toBe(true);
  });

  it("ships a new cluster's WAL beside an older cluster's files of the same names", async () => {
    const { stagingDir, target } = await scene();
    const name = "000000010000000000000001";
    const older = randomBytes(1000);
    fs.writeFileSync(path.join(stagingDir, name), older);
    await shipWal({ stagingDir, target, key, systemId });
    // After initdb (a logical restore) the names start again, under another system identifier.
    const newer = randomBytes(1000);
    fs.writeFileSync(path.join(stagingDir, name), newer);
    const restored = "7581234567890999999";
    expect(await shipWal({ stagingDir, target, key, systemId: restored })).toEqual({ shipped: 1, waiting: 0 });
    expect((await buffer(await readArchivedWal(target, key, walKey(systemId, name)))).equals(older)).toBe(true);
    expect((await buffer(await readArchivedWal(target, key, walKey(restored, name)))).equals(newer)).toBe(true);
  });
});

describe("the WAL shipper, after a torn upload", () => {
  it("sends a segment again whose archived copy does not decrypt", async () => {
    const { stagingDir, target } = await scene();
    const name = "00000001000000000000000A";
    const bytes = randomBytes(5000);
    await target.put(walKey(systemId, name), Readable.from([randomBytes(40)]));
    fs.writeFileSync(path.join(stagingDir, name), bytes);
    expect(await shipWal({ stagingDir, target, key, systemId })).toEqual({ shipped: 1, waiting: 0 });
    expect((await buffer(await readArchivedWal(target, key, walKey(systemId, name)))).equals(bytes)).toBe(true);
  });
});
