// The local-disk object store (app/services/storage/local.server.ts) when its directory holds
// something it did not put there, or loses its temp directory: the cases the driver contract in
// storage.contract.test.ts does not reach because every driver would need its own way to cause them.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { ERRORS, Upload } from "@tus/utils";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { LocalObjectStore } from "~/services/storage/local.server";
import { DeleteFailedError, ObjectNotFoundError, StorageUnavailableError } from "~/services/storage/types";

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

  describe("its tus data store", () => {
    const tusStore = () => store.createTusDataStore({ expirationPeriodInMilliseconds: 3600_000 });

    it("takes an upload of unknown length, and reads the length declared later", async () => {
      const tus = tusStore();
      await tus.create(new Upload({ id: "deferred", offset: 0 }));
      expect(await tus.write(Readable.from([Buffer.from("abc")]), "deferred", 0)).toBe(3);
      await tus.declareUploadLength!("deferred", 3);
      expect(await tus.getUpload("deferred")).toMatchObject({ id: "deferred", size: 3, offset: 3 });
    });

    it("keeps what arrived before the client's stream failed, and says the write failed", async () => {
      const tus = tusStore();
      await tus.create(new Upload({ id: "broken", size: 10, offset: 0 }));
      async function* dropsOut() {
        yield Buffer.from("1234");
        throw new Error("the upload stream broke off");
      }
      await expect(tus.write(Readable.from(dropsOut()), "broken", 0)).rejects.toBe(ERRORS.FILE_WRITE_ERROR);
      expect(fs.readFileSync(path.join(directory, "broken"), "utf8")).toBe("1234");
      expect((await tus.getUpload("broken")).offset).toBe(4);
    });

    it("fails a write to an upload whose file is gone as that upload's failure, not an outage", async () => {
      const tus = tusStore();
      await tus.create(new Upload({ id: "vanished", size: 3, offset: 0 }));
      fs.rmSync(path.join(directory, "vanished"));
      await expect(tus.write(Readable.from([Buffer.from("abc")]), "vanished", 0)).rejects.toBe(ERRORS.FILE_WRITE_ERROR);
    });

    it("reports an outage when the store's directory is gone", async () => {
      const tus = tusStore();
      await tus.create(new Upload({ id: "orphan", size: 3, offset: 0 }));
      fs.rmSync(directory, { recursive: true });
      await expect(tus.write(Readable.from([Buffer.from("abc")]), "orphan", 0)).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(tus.getUpload("orphan")).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(tus.create(new Upload({ id: "next", size: 3, offset: 0 }))).rejects.toThrow(/is missing/);
    });
  });
});
