import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import path from "node:path";
import { Readable } from "node:stream";
import sharp from "sharp";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { eraseAccount } from "~/domain/accounts/account-deletion.server";
import { SYSTEM_ACTOR } from "~/domain/audit/audit.server";
import { copyItem } from "~/domain/files/copy.server";
import { addFile } from "~/domain/files/files.server";
import { getRootFolder } from "~/domain/files/folders.server";
import { deduplicateFile } from "~/domain/files/shared-objects.server";
import { generateThumbnail, thumbnailKeyFor } from "~/domain/files/thumbnails.server";
import { deleteForever, purgeExpiredTrash } from "~/domain/files/trash-purge.server";
import { trashItem } from "~/domain/files/trash.server";
import { deleteObjectsQuietly, pruneVersions } from "~/domain/files/versions.server";
import { hashStoredFile } from "~/domain/uploads/upload-hash.server";
import { isEncryptedStore } from "~/services/storage/encrypted.server";
import type { ObjectStore } from "~/services/storage/types";
import { startTestApp, type DriverSet, type TestApp } from "./support/app";
import { registerPerson, uploadForm, type Person } from "./support/people";
import { createUpload, patchUpload } from "./support/tus";

const MASTER_KEY = randomBytes(32).toString("base64");
const ROOT = path.resolve(import.meta.dirname, "..");

/** `coffer <args>` as an operator runs it, with the app's configuration. */
function runCli(app: TestApp, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, "bin/coffer.mjs"), ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, ...app.env } as unknown as NodeJS.ProcessEnv, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}
const YEAR_LATER = () => new Date(Date.now() + 365 * 24 * 3600 * 1000);
const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

describe.each<{ label: string; drivers: DriverSet; env: Record<string, string> }>([
  { label: "local disk", drivers: { storage: "local", cache: "memory" }, env: {} },
  { label: "S3, encrypted at rest", drivers: { storage: "s3", cache: "redis" }, env: { ENCRYPTION_MASTER_KEY: MASTER_KEY } },
])("deduplication ($label)", ({ drivers, env }) => {
  let app: TestApp;
  let ann: Person;
  let ben: Person;

  beforeAll(async () => {
    app = await startTestApp(drivers, { SEARCH_CONTENT: "false", STORAGE_DEDUP: "true", ...env });
    ann = await registerPerson(app, "Ann Archive", "ann@example.com");
    ben = await registerPerson(app, "Ben Backup", "ben@example.com");
  });

  /** The store under encryption at rest: objects exactly as stored. */
  const raw = (): ObjectStore => (isEncryptedStore(app.services.storage) ? app.services.storage.inner : app.services.storage);
  const exists = async (key: string) => (await raw().stat(key)) !== null;
  const row = (id: string) => app.services.prisma.file.findUniqueOrThrow({ where: { id } });
  const rootOf = async (person: Person) => (await getRootFolder(app.services, person.id)).id;
  const actor = (person: Person) => ({ id: person.id, role: "USER" as const });

  /** "Delete forever": to the trash, then out of it. */
  async function destroy(person: Person, kind: "file" | "folder", id: string) {
    await trashItem(app.services, actor(person), kind, id);
    await deleteForever(app.services, actor(person), kind, id, SYSTEM_ACTOR);
  }

  /** A tus upload into the person's root (in-stream hash: deduplicated as it completes); the file id. */
  async function uploadTus(person: Person, name: string, data: Buffer): Promise<string> {
    const url = await createUpload(app, person.client, { name, size: data.length });
    const patch = await patchUpload(person.client, url, 0, new Uint8Array(data));
    expect(patch.status).toBe(204);
    return patch.headers.get("coffer-file-id")!;
  }

  async function uploadByForm(person: Person, name: string, data: Buffer, onConflict?: string, type = "text/plain"): Promise<string> {
    const folderId = await rootOf(person);
    const form = new FormData();
    if (onConflict) form.append("onConflict", onConflict);
    form.append("file", new Blob([new Uint8Array(data)], { type }), name);
    const response = await person.client.postMultipart(`/files/${folderId}`, form);
    expect(response.status, await response.clone().text()).toBeLessThan(400);
    return (await app.services.prisma.file.findFirstOrThrow({ where: { folderId, name, trashedAt: null } })).id;
  }

  /** The SHA-256 of what a download of the file returns (null unless 200). */
  async function downloaded(person: Person, fileId: string): Promise<string | null> {
    const response = await person.client.get(`/download/${fileId}`);
    if (response.status !== 200) return null;
    return sha256(Buffer.from(await response.arrayBuffer()));
  }

  /** Every key in `keys` exists exactly when a file, version or thumbnail names it. */
  async function expectObjectsMatchRows(keys: string[]) {
    for (const key of new Set(keys)) {
      const named =
        (await app.services.prisma.file.count({ where: { OR: [{ storageKey: key }, { thumbnailKey: key }] } })) +
        (await app.services.prisma.fileVersion.count({ where: { storageKey: key } }));
      expect({ key, exists: await exists(key) }).toEqual({ key, exists: named > 0 });
    }
  }

  /** A row for `data` stored in an object of its own (no deduplication yet), as an upload leaves it before its hash. */
  async function storedUnhashed(person: Person, name: string, data: Buffer) {
    const storageKey = randomBytes(16).toString("hex");
    await app.services.storage.put(storageKey, Readable.from([data]), { size: data.length });
    return addFile(app.services, {
      ownerId: person.id,
      folderId: await rootOf(person),
      name,
      size: data.length,
      mimeType: "application/octet-stream",
      storageKey,
      sha256: null,
    });
  }

  it("stores two identical uploads (tus and form) once; deleting one keeps the other's bytes", async () => {
    const data = randomBytes(200_000);
    const first = await uploadTus(ann, "holiday.jpg", data);
    const { storageKey } = await row(first);
    const second = await uploadByForm(ann, "holiday copy.jpg", data);
    expect((await row(second)).storageKey).toBe(storageKey);
    expect(await downloaded(ann, second)).toBe(sha256(data));

    await destroy(ann, "file", first);
    expect(await exists(storageKey)).toBe(true);
    expect(await downloaded(ann, second)).toBe(sha256(data));

    await destroy(ann, "file", second);
    expect(await exists(storageKey)).toBe(false);
  });

  it("deletes the newcomer's own object, so the store holds one object for the contents", async () => {
    const data = randomBytes(70_000);
    const first = await uploadTus(ann, "scan.pdf", data);
    const before = new Set<string>();
    for await (const info of raw().list()) before.add(info.key);
    await uploadTus(ann, "scan (again).pdf", data);
    const added: string[] = [];
    for await (const info of raw().list()) if (!before.has(info.key) && !/\.(info|json)$/.test(info.key)) added.push(info.key);
    expect(added).toEqual([]);
    expect(await exists((await row(first)).storageKey)).toBe(true);
  });

  it("keeps the other copy through the trash purge, and removes the object with the last one", async () => {
    const data = randomBytes(50_000);
    const first = await uploadTus(ann, "purged.bin", data);
    const second = await uploadTus(ben, "kept.bin", data);
    const { storageKey } = await row(first);
    expect((await row(second)).storageKey).toBe(storageKey);

    await trashItem(app.services, actor(ann), "file", first);
    await purgeExpiredTrash(app.services, YEAR_LATER());
    expect(await app.services.prisma.file.count({ where: { id: first } })).toBe(0);
    expect(await downloaded(ben, second)).toBe(sha256(data));

    await trashItem(app.services, actor(ben), "file", second);
    await purgeExpiredTrash(app.services, YEAR_LATER());
    expect(await exists(storageKey)).toBe(false);
  });

  it("keeps a file's bytes when a version with the same contents is purged", async () => {
    const original = randomBytes(40_000);
    const file = await uploadByForm(ann, "report.txt", original);
    const { storageKey } = await row(file);
    // A new version, then the original again: the version and the current contents share one object.
    await uploadByForm(ann, "report.txt", randomBytes(40_000), "replace");
    await uploadByForm(ann, "report.txt", original, "replace");
    expect((await row(file)).storageKey).toBe(storageKey);
    const versions = await app.services.prisma.fileVersion.findMany({ where: { fileId: file } });
    expect(versions.map((v) => v.storageKey)).toContain(storageKey);

    const keys = await app.services.prisma.$transaction((tx) => pruneVersions(tx, file, 0));
    await deleteObjectsQuietly(app.services, keys);
    expect(await app.services.prisma.fileVersion.count({ where: { fileId: file } })).toBe(0);
    expect(await downloaded(ann, file)).toBe(sha256(original));
    await expectObjectsMatchRows(keys);
  });

  it("keeps another account's copy when an account is deleted, either way round", async () => {
    const cleo = await registerPerson(app, "Cleo Gone", "cleo@example.com");
    const dan = await registerPerson(app, "Dan Gone", "dan@example.com");
    const data = randomBytes(60_000);
    // Cleo uploads first (her object is the shared one), Dan second.
    const cleos = await uploadTus(cleo, "shared.bin", data);
    const dans = await uploadTus(dan, "shared.bin", data);
    const annsCopy = await uploadTus(ann, "from-cleo.bin", data);
    const { storageKey } = await row(cleos);
    expect((await row(dans)).storageKey).toBe(storageKey);

    await eraseAccount(app.services, cleo.id, { actor: SYSTEM_ACTOR });
    expect(await downloaded(dan, dans)).toBe(sha256(data));
    await eraseAccount(app.services, dan.id, { actor: SYSTEM_ACTOR });
    expect(await downloaded(ann, annsCopy)).toBe(sha256(data));
    await destroy(ann, "file", annsCopy);
    expect(await exists(storageKey)).toBe(false);
  });

  it("copies a file or a folder by sharing its objects; each copy outlives its source", async () => {
    const data = randomBytes(30_000);
    const source = await uploadTus(ann, "copied.bin", data);
    const { storageKey } = await row(source);
    const folder = await app.services.prisma.folder.create({
      data: { ownerId: ann.id, parentId: await rootOf(ann), name: "Copies", nameKey: "copies" },
    });
    const objectsBefore = await countObjects();
    const response = await ann.client.postForm(`/details/file/${source}`, { intent: "copy", destination: folder.id, policy: "cancel" });
    expect(response.status).toBe(302);
    const copy = await app.services.prisma.file.findFirstOrThrow({ where: { folderId: folder.id, name: "copied.bin" } });
    expect(copy.storageKey).toBe(storageKey);
    expect(await countObjects()).toBe(objectsBefore);
    // Quotas stay logical: the copy counts its full size.
    const used = async () => (await app.services.prisma.user.findUniqueOrThrow({ where: { id: ann.id } })).storageUsed;
    const folderCopy = await app.services.prisma.folder.create({
      data: { ownerId: ann.id, parentId: await rootOf(ann), name: "Copies of copies", nameKey: "copies of copies" },
    });
    const usedBefore = await used();
    await copyItem(app.services, actor(ann), "folder", folder.id, folderCopy.id, "cancel");
    expect(await used()).toBe(usedBefore + BigInt(data.length));
    const nested = await app.services.prisma.file.findFirstOrThrow({
      where: { ownerId: ann.id, name: "copied.bin", folder: { parentId: folderCopy.id } },
    });
    expect(nested.storageKey).toBe(storageKey);

    await destroy(ann, "file", source);
    await destroy(ann, "folder", folder.id);
    expect(await downloaded(ann, nested.id)).toBe(sha256(data));
    await destroy(ann, "folder", folderCopy.id);
    expect(await exists(storageKey)).toBe(false);
  });

  it("deduplicates a file whose hash comes later, from the hash job", async () => {
    const data = randomBytes(25_000);
    const first = await uploadTus(ann, "hashed-now.bin", data);
    const later = await storedUnhashed(ann, "hashed-later.bin", data);
    expect(await exists(later.storageKey)).toBe(true);
    expect(await hashStoredFile(app.services, later.id)).toBe(sha256(data));
    expect((await row(later.id)).storageKey).toBe((await row(first)).storageKey);
    expect(await exists(later.storageKey)).toBe(false);
    expect(await downloaded(ann, later.id)).toBe(sha256(data));
  });

  it("deduplicates contents stored twice before (coffer dedup)", async () => {
    const data = randomBytes(33_000);
    const files = [await storedUnhashed(ann, "before-1.bin", data), await storedUnhashed(ben, "before-2.bin", data)];
    for (const file of files) await app.services.prisma.file.update({ where: { id: file.id }, data: { sha256: sha256(data) } });
    const keys = files.map((f) => f.storageKey).sort();
    const cli = await runCli(app, ["dedup"]);
    expect(cli.stderr).toBe("");
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain("1 now share one object");
    for (const file of files) expect((await row(file.id)).storageKey).toBe(keys[0]);
    expect(await exists(keys[1]!)).toBe(false);
    expect(await downloaded(ann, files[0]!.id)).toBe(sha256(data));
    expect(await downloaded(ben, files[1]!.id)).toBe(sha256(data));
    expect((await runCli(app, ["dedup"])).stdout).toContain("Examined 0 file(s)");
  });

  it("never loses bytes when a duplicate is linked while its original is deleted", async () => {
    const stat = app.services.storage.stat.bind(app.services.storage);
    for (let round = 0; round < 12; round++) {
      const data = randomBytes(10_000 + round);
      const original = await uploadTus(ann, `race-${round}.bin`, data);
      const newcomer = await storedUnhashed(ann, `race-${round} (2).bin`, data);
      const keys = [(await row(original)).storageKey, newcomer.storageKey];
      await app.services.prisma.file.update({ where: { id: newcomer.id }, data: { sha256: sha256(data) } });
      const hashed = await row(newcomer.id);
      // Odd rounds: the link has just seen the original's object when the deletion runs.
      const slowStat = round % 2 === 1;
      const spy = vi.spyOn(app.services.storage, "stat").mockImplementation(async (key) => {
        const info = await stat(key);
        if (slowStat) await new Promise((resolve) => setTimeout(resolve, 300));
        return info;
      });
      try {
        await Promise.all([
          deduplicateFile(app.services, hashed),
          new Promise((resolve) => setTimeout(resolve, slowStat ? 20 : round)).then(() => destroy(ann, "file", original)),
        ]);
      } finally {
        spy.mockRestore();
      }
      expect(await downloaded(ann, newcomer.id)).toBe(sha256(data));
      await expectObjectsMatchRows(keys);
    }
  });

  it("never loses bytes when a file is copied while it is deleted", async () => {
    const root = await rootOf(ann);
    for (let round = 0; round < 8; round++) {
      const data = randomBytes(12_000 + round);
      const source = await uploadTus(ann, `copy-race-${round}.bin`, data);
      const { storageKey } = await row(source);
      const folder = await app.services.prisma.folder.create({
        data: { ownerId: ann.id, parentId: root, name: `race target ${round}`, nameKey: `race target ${round}` },
      });
      const [copied] = await Promise.allSettled([
        copyItem(app.services, actor(ann), "file", source, folder.id, "cancel"),
        destroy(ann, "file", source),
      ]);
      if (copied.status === "fulfilled") expect(await downloaded(ann, copied.value.id)).toBe(sha256(data));
      else expect(copied.reason).toMatchObject({ status: 404 });
      await expectObjectsMatchRows([storageKey]);
    }
  });

  it("shares the thumbnail of shared contents, and deletes it with the last file", async () => {
    const image = await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 5, g: 90, b: 30 } } })
      .png()
      .toBuffer();
    const first = await uploadByForm(ann, "leaf.png", image, undefined, "image/png");
    const second = await uploadByForm(ben, "leaf.png", image, undefined, "image/png");
    await generateThumbnail(app.services, first);
    await generateThumbnail(app.services, second);
    const [a, b] = [await row(first), await row(second)];
    expect(a.thumbnailKey).toBeTruthy();
    expect(b.thumbnailKey).toBe(a.thumbnailKey);
    await destroy(ann, "file", first);
    expect(await exists(a.thumbnailKey!)).toBe(true);
    expect((await ben.client.get(`/thumbnail/${second}`)).status).toBe(200);
    await destroy(ben, "file", second);
    expect(await exists(a.thumbnailKey!)).toBe(false);
  });

  it("makes the thumbnail from the shared object when the file is linked while its own is read", async () => {
    const image = await sharp({ create: { width: 120, height: 90, channels: 3, background: { r: 200, g: 20, b: 90 } } })
      .png()
      .toBuffer();
    // Rows straight into the table: no background thumbnail job races this test's own call.
    const stored = async (person: Person) => {
      const storageKey = randomBytes(16).toString("hex");
      await app.services.storage.put(storageKey, Readable.from([image]), { size: image.length });
      return app.services.prisma.file.create({
        data: {
          ownerId: person.id,
          folderId: await rootOf(person),
          name: "berry.png",
          nameKey: "berry.png",
          size: image.length,
          mimeType: "image/png",
          storageKey,
          sha256: sha256(image),
        },
      });
    };
    const original = await stored(ann);
    const file = await stored(ben);
    const get = app.services.storage.get.bind(app.services.storage);
    const spy = vi.spyOn(app.services.storage, "get").mockImplementation(async (key, range) => {
      // The link lands (and deletes the file's own object) just as the thumbnail reads it.
      if (key === file.storageKey) await deduplicateFile(app.services, await row(file.id));
      return get(key, range);
    });
    try {
      expect(await generateThumbnail(app.services, file.id)).toBe("made");
    } finally {
      spy.mockRestore();
    }
    const linked = await row(file.id);
    expect(linked.storageKey).toBe(original.storageKey);
    expect(linked.thumbnailKey).toBe(thumbnailKeyFor(original.storageKey));
    expect(await exists(file.storageKey)).toBe(false);
    expect(await exists(linked.thumbnailKey!)).toBe(true);
  });

  async function countObjects(): Promise<number> {
    let count = 0;
    for await (const info of raw().list()) if (!/\.(info|json)$/.test(info.key)) count++;
    return count;
  }

  if (env.ENCRYPTION_MASTER_KEY) {
    it("never links new contents to an object stored before encryption was on", async () => {
      const data = randomBytes(20_000);
      const storageKey = randomBytes(16).toString("hex");
      await raw().put(storageKey, Readable.from([data]), { size: data.length });
      const plaintext = await addFile(app.services, {
        ownerId: ann.id,
        folderId: await rootOf(ann),
        name: "old-plaintext.bin",
        size: data.length,
        mimeType: "application/octet-stream",
        storageKey,
        sha256: sha256(data),
      });
      const fresh = await uploadTus(ann, "new-encrypted.bin", data);
      expect((await row(fresh)).storageKey).not.toBe(plaintext.storageKey);
      expect(await downloaded(ann, fresh)).toBe(sha256(data));
      expect(await downloaded(ann, plaintext.id)).toBe(sha256(data));
    });
  }
});

describe("deduplication off (STORAGE_DEDUP=false)", () => {
  let app: TestApp;
  let eve: Person;

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" }, { SEARCH_CONTENT: "false", STORAGE_DEDUP: "false" });
    eve = await registerPerson(app, "Eve Apart", "eve@example.com");
  });

  it("gives duplicates and copies their own objects", async () => {
    const data = randomBytes(30_000);
    const root = (await getRootFolder(app.services, eve.id)).id;
    expect((await uploadForm(eve.client, root, "one.bin", data)).status).toBeLessThan(400);
    expect((await uploadForm(eve.client, root, "two.bin", data)).status).toBeLessThan(400);
    const [one, two] = await Promise.all(
      ["one.bin", "two.bin"].map((name) => app.services.prisma.file.findFirstOrThrow({ where: { name, ownerId: eve.id } })),
    );
    expect(one.storageKey).not.toBe(two.storageKey);
    const folder = await app.services.prisma.folder.create({
      data: { ownerId: eve.id, parentId: root, name: "Copies", nameKey: "copies" },
    });
    const copied = await copyItem(app.services, { id: eve.id, role: "USER" }, "file", one.id, folder.id, "cancel");
    const copy = await app.services.prisma.file.findUniqueOrThrow({ where: { id: copied.id } });
    expect(copy.storageKey).not.toBe(one.storageKey);
    expect(await app.services.storage.stat(copy.storageKey)).not.toBeNull();
  });
});
