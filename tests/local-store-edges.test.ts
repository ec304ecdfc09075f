// The local-disk object store (app/services/storage/local.server.ts) when its directory holds
// something it did not put there, or loses its temp directory: the cases the driver contract in
// storage.contract.test.ts does not reach because every driver would need its own way to cause them.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { LocalObjectStore } from "~/services/storage/local.server";
import { DeleteFailedError, ObjectNotFoundError } from "~/services/storage/types";

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

describe("local object store edges", () => {
  let directory: string;
  let store: LocalObjectStore;

  beforeEach(async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-local-edges-"));
    roots.push(root);
    directory = path.join(root, "objects");
    store = new LocalObjectStore(directory);
    await store.init();
    await store.put("kept", Readable.from([Buffer.from("kept bytes")]));
  });

  it("treats a directory where an object should be as no object: not found, no stat, not listed", async () => {
    fs.mkdirSync(path.join(directory, "stray"));

    await expect(store.get("stray")).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await store.stat("stray")).toBeNull();
    const keys: string[] = [];
    for await (const info of store.list()) keys.push(info.key);
    expect(keys).toEqual(["kept"]);
  });

  it("deletes what it can of a batch and names each object it could not delete", async () => {
    fs.mkdirSync(path.join(directory, "stray"));
    await store.put("other", Readable.from([Buffer.from("x")]));

    const error = await store.deleteMany(["kept", "stray", "other", "never-existed"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeleteFailedError);
    expect((error as DeleteFailedError).failures).toEqual([{ key: "stray", message: expect.stringMatching(/EISDIR|EPERM/) }]);
    expect(await store.stat("kept")).toBeNull();
    expect(await store.stat("other")).toBeNull();
    expect(fs.statSync(path.join(directory, "stray")).isDirectory()).toBe(true);
  });

  it("does not call an object missing when only the temp directory is, and leaves the object as it was", async () => {
    fs.rmSync(path.join(directory, ".tmp"), { recursive: true });

    const error = await store.copy("kept", "copied").catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(ObjectNotFoundError);
    expect((error as NodeJS.ErrnoException).code).toBe("ENOENT");
    expect(await store.stat("copied")).toBeNull();
    expect(fs.readFileSync(path.join(directory, "kept"), "utf8")).toBe("kept bytes");

    await expect(store.copy("missing", "copied")).rejects.toBeInstanceOf(ObjectNotFoundError);
  });
});
