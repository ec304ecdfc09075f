// The cold tier as an S3 storage class (COLD_STORAGE_CLASS), against the test S3 server.
//
// What Swift cannot do, and so is not tested here: Swift's S3 API accepts only the STANDARD
// class (any other x-amz-storage-class is refused with 400 InvalidStorageClass, on a put and on a
// copy), and never names a class in its answers. So no object is ever really in STANDARD_IA here,
// and a read of a cold object cannot be noticed by the class S3 names in the answer. What is tested
// for real: the in-place rewrite (a server-side copy onto the same key, with a class) keeps the
// bytes, type and metadata; the domain's moves, marks and audit events through that rewrite; and a
// class the server refuses failing the move clearly while the file stays hot and readable. The
// restore on read is tested with the one thing Swift lacks added by a relay in front of it: the
// `x-amz-storage-class` header AWS S3 sends with a read of an object in STANDARD_IA.
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import * as Minio from "minio";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { updateSettings } from "~/domain/admin/settings.server";
import { moveUnreadToCold, restoreFromCold } from "~/domain/storage-tiers/cold-tier.server";
import { metrics } from "~/services/metrics.server";
import { S3ObjectStore } from "~/services/storage/s3.server";
import { StorageClassTier } from "~/services/storage/storage-class-tier.server";
import { startTestApp, type TestApp } from "./support/app";
import { registerPerson, type Person, uploadForm } from "./support/people";
import { s3Config } from "./support/s3";

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Until the clock has passed the next whole second (S3 dates objects to the second). */
const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1100 - (Date.now() % 1000)));

const failures = () =>
  metrics()
    .storageTierMoveFailures.get()
    .then((metric) => metric.values.find((v) => v.labels.move === "to_cold")?.value ?? 0);

describe("S3 objects rewritten in place in a storage class", () => {
  it("keeps the bytes, the content type and the user metadata, and says when there is no object", async () => {
    const config = s3Config();
    const store = new S3ObjectStore(config);
    await store.init();
    const url = new URL(config.endpoint);
    const client = new Minio.Client({
      endPoint: url.hostname,
      port: Number(url.port),
      useSSL: false,
      accessKey: config.accessKey,
      secretKey: config.secretKey,
      region: config.region,
      pathStyle: true,
    });
    const bytes = randomBytes(300_000);
    // User metadata, as other writers leave on objects.
    await client.putObject(config.bucket, "in-place", bytes, bytes.length, { "Content-Type": "application/pdf", "x-amz-meta-kept": "yes" });
    const before = (await store.stat("in-place"))!;
    await nextSecond();

    expect(await store.setStorageClass("in-place", "STANDARD")).toMatchObject({ key: "in-place", size: bytes.length });
    // A new object was written over the old one.
    expect((await store.stat("in-place"))!.modifiedAt.getTime()).toBeGreaterThan(before.modifiedAt.getTime());
    expect(sha256(await readAll(await store.get("in-place")))).toBe(sha256(bytes));
    expect((await client.statObject(config.bucket, "in-place")).metaData).toMatchObject({ "content-type": "application/pdf", kept: "yes" });

    expect(await store.setStorageClass("no-such-object", "STANDARD")).toBeNull();
    await expect(store.setStorageClass("in-place", "STANDARD_IA")).rejects.toMatchObject({ code: "InvalidStorageClass" });
    expect(sha256(await readAll(await store.get("in-place")))).toBe(sha256(bytes));
  });

  it("rewrites an object too large for one copy request part by part", async () => {
    const config = s3Config();
    // Every object counts as over the one-shot copy limit (5 GiB on S3).
    const store = new S3ObjectStore(config, { maxSingleCopySize: 1 });
    await store.init();
    const bytes = randomBytes(config.partSize + 123_456);
    await store.put("large", Readable.from([bytes]), { size: bytes.length, contentType: "video/mp4" });
    const before = (await store.stat("large"))!;
    await nextSecond();

    expect(await store.setStorageClass("large", "STANDARD")).toMatchObject({ key: "large", size: bytes.length });
    expect((await store.stat("large"))!.modifiedAt.getTime()).toBeGreaterThan(before.modifiedAt.getTime());
    const answer = (await store.get("large")) as Readable & { headers: Record<string, string> };
    expect(answer.headers["content-type"]).toBe("video/mp4");
    expect(sha256(await readAll(answer))).toBe(sha256(bytes));
  });
});

describe("cold tier as a storage class (S3 encrypted at rest)", () => {
  let app: TestApp;
  let ada: Person;
  let rootId: string;

  const uploadOld = async (name: string, bytes: Buffer) => {
    expect((await uploadForm(ada.client, rootId, name, bytes)).status).toBeLessThan(400);
    const file = await app.services.prisma.file.findFirstOrThrow({ where: { name } });
    await app.services.prisma.$executeRaw`UPDATE files SET updated_at = now() - interval '40 days' WHERE id = ${file.id}`;
    return file;
  };
  const download = async (fileId: string) => {
    const response = await ada.client.get(`/download/${fileId}`);
    expect(response.status).toBe(200);
    return Buffer.from(await response.arrayBuffer());
  };

  beforeAll(async () => {
    app = await startTestApp(
      { storage: "s3", cache: "memory" },
      { COLD_STORAGE_CLASS: "STANDARD_IA", ENCRYPTION_MASTER_KEY: randomBytes(32).toString("base64") },
    );
    ada = await registerPerson(app, "Ada", "ada@example.com");
    rootId = (await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId: ada.id, parentId: null } })).id;
    await updateSettings(app.services, { coldTierAfterDays: 30 });
  });

  it("is the configured tier: a class Swift refuses fails the move clearly, and the file stays hot and readable", async () => {
    const tier = app.services.storageTiers.cold;
    expect(tier).toBeInstanceOf(StorageClassTier);
    expect((tier as StorageClassTier).storageClass).toBe("STANDARD_IA");
    const bytes = randomBytes(200_000);
    const file = await uploadOld("refused.bin", bytes);
    const failedBefore = await failures();

    expect(await moveUnreadToCold(app.services)).toEqual({ moved: 0, bytes: 0, failed: 1 });
    await expect(tier!.demote(file.storageKey)).rejects.toThrow(
      /^the S3 server refuses storage class STANDARD_IA \(The storage class you specified is not valid\.\); the object stays where it was\. Set COLD_STORAGE_CLASS/,
    );
    expect(await failures()).toBe(failedBefore + 1);
    expect((await app.services.prisma.file.findUniqueOrThrow({ where: { id: file.id } })).coldAt).toBeNull();
    expect(sha256(await download(file.id))).toBe(sha256(bytes));
    expect(await app.services.prisma.auditEvent.count({ where: { action: "storage.moved_to_cold" } })).toBe(0);
    await app.services.prisma.file.delete({ where: { id: file.id } });
  });

  it("moves unread files cold in place, serves them meanwhile, and brings them back", async () => {
    // STANDARD, the one class Swift takes, in place of STANDARD_IA: the same rewrites happen.
    const hot = app.services.storageTiers.primary;
    const driver = new S3ObjectStore({ ...(app.services.config.storage as ConstructorParameters<typeof S3ObjectStore>[0]) });
    app.services.storageTiers.cold = new StorageClassTier(hot, driver, "STANDARD");
    const bytes = randomBytes(500_000);
    const file = await uploadOld("unread.bin", bytes);
    const recent = await uploadOld("recent.bin", randomBytes(1000));
    await app.services.prisma.file.update({ where: { id: recent.id }, data: { lastReadAt: new Date() } });
    const stored = (await hot.stat(file.storageKey))!;
    await nextSecond();

    expect(await moveUnreadToCold(app.services)).toMatchObject({ moved: 1, failed: 0 });
    const cold = await app.services.prisma.file.findUniqueOrThrow({ where: { id: file.id } });
    expect(cold.coldAt).not.toBeNull();
    expect((await app.services.prisma.file.findUniqueOrThrow({ where: { id: recent.id } })).coldAt).toBeNull();
    // Rewritten where it was: the same key in the same bucket, newer, the same size.
    const rewritten = (await hot.stat(file.storageKey))!;
    expect(rewritten.size).toBe(stored.size);
    expect(rewritten.modifiedAt.getTime()).toBeGreaterThan(stored.modifiedAt.getTime());
    const audit = await app.services.prisma.auditEvent.findFirstOrThrow({ where: { action: "storage.moved_to_cold" } });
    expect(audit.details).toMatchObject({ objects: 1, keys: [file.storageKey] });
    // Encrypted at rest: the ciphertext was copied as it is and still decrypts.
    expect(sha256(await download(file.id))).toBe(sha256(bytes));

    await nextSecond();
    expect(await restoreFromCold(app.services, file.storageKey)).toBe(true);
    expect((await app.services.prisma.file.findUniqueOrThrow({ where: { id: file.id } })).coldAt).toBeNull();
    expect((await hot.stat(file.storageKey))!.modifiedAt.getTime()).toBeGreaterThan(rewritten.modifiedAt.getTime());
    expect(await app.services.prisma.auditEvent.count({ where: { action: "storage.restored_from_cold" } })).toBe(1);
    expect(sha256(await download(file.id))).toBe(sha256(bytes));
    // Gone meanwhile: nothing to move.
    expect(await restoreFromCold(app.services, "no-such-object")).toBe(false);
  });
});

/**
 * An HTTP relay in front of the test S3 server that answers reads of `coldKeys` with the header
 * AWS S3 sends for an object in STANDARD_IA, which Swift never sends. Everything else passes as is
 * (the Host header too, so signatures still verify).
 */
async function classNamingRelay(coldKeys: Set<string>) {
  const upstream = new URL(inject("services").s3.endpoint);
  const server = http.createServer((request, response) => {
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers },
      (answer) => {
        const key = decodeURIComponent(new URL(request.url!, "http://relay").pathname.split("/")[2] ?? "");
        const named = request.method === "GET" && (answer.statusCode ?? 500) < 300 && coldKeys.has(key);
        response.writeHead(answer.statusCode ?? 502, { ...answer.headers, ...(named ? { "x-amz-storage-class": "STANDARD_IA" } : {}) });
        answer.pipe(response);
      },
    );
    forward.on("error", () => response.destroy());
    request.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("cold tier as a storage class: a read of a cold file brings it back", () => {
  const coldKeys = new Set<string>();
  let relay: Awaited<ReturnType<typeof classNamingRelay>>;
  let app: TestApp;
  let ada: Person;

  beforeAll(async () => {
    relay = await classNamingRelay(coldKeys);
    app = await startTestApp({ storage: "s3", cache: "memory" }, { S3_ENDPOINT: relay.endpoint, COLD_STORAGE_CLASS: "STANDARD_IA" });
    ada = await registerPerson(app, "Ada", "ada@example.com");
  });
  afterAll(async () => {
    await app?.close();
    await relay?.close();
  });

  it("notices the class S3 names when a person downloads it, and rewrites it in STANDARD", async () => {
    const rootId = (await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId: ada.id, parentId: null } })).id;
    const bytes = randomBytes(100_000);
    expect((await uploadForm(ada.client, rootId, "cold.bin", bytes)).status).toBeLessThan(400);
    const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "cold.bin" } });
    // As moveUnreadToCold leaves it on S3 (Swift cannot put it in STANDARD_IA).
    await app.services.prisma.file.update({ where: { id: file.id }, data: { coldAt: new Date() } });
    coldKeys.add(file.storageKey);
    // Background reads (hashing, the storage check) do not bring it back: only a person's.
    await app.services.storage.get(file.storageKey).then((stream) => stream.destroy());
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await app.services.prisma.file.findUniqueOrThrow({ where: { id: file.id } })).coldAt).not.toBeNull();

    const response = await ada.client.get(`/download/${file.id}`);
    expect(response.status).toBe(200);
    expect(sha256(Buffer.from(await response.arrayBuffer()))).toBe(sha256(bytes));
    // A job, queued and polled for: on a busy machine it can take a while.
    await expect
      .poll(async () => (await app.services.prisma.file.findUniqueOrThrow({ where: { id: file.id } })).coldAt, {
        timeout: 90_000,
        message: "the download did not bring the file back from the cold tier",
      })
      .toBeNull();
    const audit = await app.services.prisma.auditEvent.findFirstOrThrow({ where: { action: "storage.restored_from_cold" } });
    expect(audit.details).toMatchObject({ key: file.storageKey, bytes: expect.any(Number) });
  }, 150_000);
});
