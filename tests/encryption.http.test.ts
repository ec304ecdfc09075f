import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import * as tus from "tus-js-client";
import { afterAll, describe, expect, it } from "vitest";
import { parseMasterKey } from "~/config.server";
import { createPrismaClient } from "~/services/db.server";
import { isEncryptedStore } from "~/services/storage/encrypted.server";
import { cipherSize } from "~/services/storage/encryption-format.server";
import type { ObjectStore } from "~/services/storage/types";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { createTestDatabase } from "./support/database";

const MiB = 2 ** 20;
const ROOT = path.resolve(import.meta.dirname, "..");
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

function tusUpload(app: TestApp, client: TestClient, data: Buffer, filename: string): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const upload = new tus.Upload(data, {
      endpoint: `${app.url}/api/uploads`,
      uploadSize: data.length,
      chunkSize: 4 * MiB,
      metadata: { filename },
      headers: { cookie: client.cookieHeader },
      retryDelays: [],
      onSuccess: () => resolve(undefined),
      onError: (error) => resolve(error),
    });
    upload.start();
  });
}

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The stored bytes, below the encryption layer. */
async function storedBytes(app: TestApp, key: string): Promise<Buffer> {
  const storage: ObjectStore = app.services.storage;
  if (!isEncryptedStore(storage)) throw new Error("encryption is not on");
  return readAll(await storage.inner.get(key));
}

/** The same signed-in user against another instance of the app. */
function sameUser(client: TestClient, app: TestApp): TestClient {
  const next = new TestClient(app.url);
  next.cookies = new Map(client.cookies);
  return next;
}

const keyA = randomBytes(32).toString("base64");
const keyB = randomBytes(32).toString("base64");

describe.each(["local", "s3"] as const)("encryption at rest over HTTP, %s storage", (storage) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-enc-"));
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  let databaseUrl: string;
  let bucket: string;
  let client: TestClient;
  const legacy = randomBytes(200_000);
  const viaTus = randomBytes(3 * MiB + 12_345);
  const viaForm = randomBytes(MiB + 77);
  const files = new Map<string, Buffer>([
    ["legacy.bin", legacy],
    ["tus.bin", viaTus],
    ["form.bin", viaForm],
  ]);

  const start = async (env: Record<string, string>) =>
    startTestApp(
      { storage, cache: "memory" },
      { DATABASE_URL: databaseUrl, DATA_DIR: dataDir, ...(bucket ? { S3_BUCKET: bucket } : {}), ...env },
    );

  async function fileId(app: TestApp, name: string) {
    return (await app.services.prisma.file.findFirstOrThrow({ where: { name } })).id;
  }

  async function expectDownloads(app: TestApp, user: TestClient) {
    for (const [name, data] of files) {
      const id = await fileId(app, name);
      const whole = await user.get(`/download/${id}`);
      expect(whole.status, name).toBe(200);
      expect(Number(whole.headers.get("content-length"))).toBe(data.length);
      expect(sha256(new Uint8Array(await whole.arrayBuffer())), name).toBe(sha256(data));
      const ranges: Array<[number, number]> = [
        [0, 99],
        [65_530, 65_545], // across the first segment boundary
        [65_536, 2 * 65_536 - 1], // exactly the second segment
        [data.length - 100, data.length - 1], // the last, partial segment
        [100_000, data.length - 1],
      ];
      for (const [from, to] of ranges) {
        const part = await user.get(`/download/${id}`, { range: `bytes=${from}-${to}` });
        expect(part.status, `${name} ${from}-${to}`).toBe(206);
        expect(part.headers.get("content-range")).toBe(`bytes ${from}-${to}/${data.length}`);
        expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(from, to + 1)), `${name} ${from}-${to}`).toBe(true);
      }
      const unsatisfiable = await user.get(`/download/${id}`, { range: `bytes=${data.length}-` });
      expect(unsatisfiable.status).toBe(416);
    }
  }

  it("keeps reading files stored before encryption, encrypts new tus and form uploads, serves them (and a copy) whole and by Range", async () => {
    databaseUrl = (await createTestDatabase()).url;
    const plain = await start({});
    bucket = plain.env.S3_BUCKET ?? "";
    client = new TestClient(plain.url);
    await client.register("Eve Encrypted", "eve@example.com");
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(legacy)]), "legacy.bin");
    expect((await client.postMultipart("/files", form)).status).toBe(200);
    await plain.close();

    const app = await start({ ENCRYPTION_MASTER_KEY: keyA });
    const user = sameUser(client, app);
    expect(await tusUpload(app, user, viaTus, "tus.bin")).toBeUndefined();
    const upload = new FormData();
    upload.append("file", new Blob([new Uint8Array(viaForm)]), "form.bin");
    expect((await user.postMultipart("/files", upload)).status).toBe(200);

    for (const [name, data] of [
      ["tus.bin", viaTus],
      ["form.bin", viaForm],
    ] as const) {
      const file = await app.services.prisma.file.findFirstOrThrow({ where: { name } });
      expect(file.sha256).toBe(sha256(data));
      const stored = await storedBytes(app, file.storageKey);
      expect(stored.length).toBe(cipherSize(data.length));
      expect(stored.includes(data.subarray(1000, 1032)), `${name}: plaintext in the stored bytes`).toBe(false);
      expect((await app.services.storage.stat(file.storageKey))?.size).toBe(data.length);
    }
    // Only the files' objects are left: the tus upload, encrypted as it arrived, is its file's object.
    const tusFile = await app.services.prisma.file.findFirstOrThrow({ where: { name: "tus.bin" } });
    const fileKeys = (await app.services.prisma.file.findMany({ select: { storageKey: true } })).map((f) => f.storageKey);
    await expect
      .poll(async () => {
        const keys: string[] = [];
        for await (const info of app.services.storage.list()) keys.push(info.key);
        return keys.sort();
      })
      .toEqual(fileKeys.sort());
    expect(tusFile.storageKey).toMatch(/^[0-9a-f]{32}$/);

    // The file stored before encryption is still plaintext and still downloads.
    const legacyFile = await app.services.prisma.file.findFirstOrThrow({ where: { name: "legacy.bin" } });
    expect((await storedBytes(app, legacyFile.storageKey)).equals(legacy)).toBe(true);
    await expectDownloads(app, user);

    // Copying a file copies its ciphertext server-side; the copy downloads, whole and by Range.
    const root = await app.services.prisma.folder.findFirstOrThrow({ where: { id: tusFile.folderId } });
    const copied = await user.postForm(`/details/file/${tusFile.id}`, { intent: "copy", destination: root.id, policy: "keep-both" });
    expect(copied.status).toBe(302);
    const copy = await app.services.prisma.file.findFirstOrThrow({ where: { sha256: tusFile.sha256, NOT: { id: tusFile.id } } });
    expect((await storedBytes(app, copy.storageKey)).equals(await storedBytes(app, tusFile.storageKey))).toBe(true);
    expect(sha256(new Uint8Array(await (await user.get(`/download/${copy.id}`)).arrayBuffer()))).toBe(sha256(viaTus));
    const part = await user.get(`/download/${copy.id}`, { range: "bytes=70000-200000" });
    expect(Buffer.from(await part.arrayBuffer()).equals(viaTus.subarray(70_000, 200_001))).toBe(true);
    await app.services.prisma.file.delete({ where: { id: copy.id } });
    await app.close();
  });

  it("rotates the master key in the database only; afterwards only the new key is needed", async () => {
    const run = (env: Record<string, string>) =>
      promisify(execFile)(path.join(ROOT, "node_modules/.bin/tsx"), ["scripts/rotate-keys.ts"], {
        cwd: ROOT,
        env: { NODE_ENV: "test", PATH: process.env.PATH, DATABASE_URL: databaseUrl, DATA_DIR: dataDir, ...env },
      });
    const app = await start({ ENCRYPTION_MASTER_KEY: keyA });
    const keyRows = await app.services.prisma.encryptionKey.findMany();
    const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "tus.bin" } });
    const storedBefore = sha256(await storedBytes(app, file.storageKey));
    await app.close();

    const first = await run({ ENCRYPTION_MASTER_KEY: keyB, ENCRYPTION_PREVIOUS_MASTER_KEYS: keyA });
    expect(first.stdout).toContain(`re-wrapped from ${parseMasterKey(keyA)!.id} to ${parseMasterKey(keyB)!.id}`);
    expect(first.stdout).toContain(`${keyRows.length} store key(s), ${keyRows.length} re-wrapped`);
    const again = await run({ ENCRYPTION_MASTER_KEY: keyB, ENCRYPTION_PREVIOUS_MASTER_KEYS: keyA });
    expect(again.stdout).toContain(`${keyRows.length} store key(s), 0 re-wrapped, ${keyRows.length} already current`);
    // Without the old key listed, rotation says which key it needs.
    await expect(run({ ENCRYPTION_MASTER_KEY: randomBytes(32).toString("base64") })).rejects.toMatchObject({
      stderr: expect.stringContaining(`Master key ${parseMasterKey(keyB)!.id} is needed but not configured`),
    });
    const db = createPrismaClient(databaseUrl);
    const events = await db.auditEvent.findMany({ where: { action: "admin.encryption_key_rotated" }, orderBy: { createdAt: "asc" } });
    await db.$disconnect();
    expect(events.map((e) => [e.outcome, (e.details as { rewrapped?: number }).rewrapped])).toEqual([
      ["success", keyRows.length],
      ["success", 0],
      ["failure", undefined],
    ]);
    expect(events[0]!.actorLabel).toBe("operator (npm run keys:rotate)");
    // A bad key is refused by name, without echoing it.
    await expect(run({ ENCRYPTION_MASTER_KEY: "short" })).rejects.toMatchObject({
      stderr: expect.stringContaining("ENCRYPTION_MASTER_KEY: must be base64"),
    });

    // Only the new key now: everything reads, and no object was rewritten.
    const rotated = await start({ ENCRYPTION_MASTER_KEY: keyB });
    expect(sha256(await storedBytes(rotated, file.storageKey))).toBe(storedBefore);
    await expectDownloads(rotated, sameUser(client, rotated));
    await rotated.close();

    // The old key alone no longer opens the store keys: the app refuses to start, naming the key.
    await expect(start({ ENCRYPTION_MASTER_KEY: keyA })).rejects.toThrow(
      /Could not start object storage: Master key [0-9a-f]{16} is needed/,
    );
  });
});
