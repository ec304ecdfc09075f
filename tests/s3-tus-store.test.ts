// The S3 driver's tus data store against a real S3 server (Swift s3api, started by the test
// setup): parts streamed from the request, bytes kept across writes that end anywhere, and
// offsets that never count a part after a gap.
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import { Readable } from "node:stream";
import { S3Client, UploadPartCommand } from "@aws-sdk/client-s3";
import { Upload, type DataStore } from "@tus/utils";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { createLogger } from "~/services/logger.server";
import { S3ObjectStore, type S3StorageConfig } from "~/services/storage/s3.server";
import { s3Config } from "./support/s3";
import { captureStderr } from "./support/stderr";

const MiB = 2 ** 20;

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** A request body: the bytes in socket-sized chunks. */
const body = (data: Buffer) =>
  Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += 64 * 1024) yield data.subarray(i, i + 64 * 1024);
    })(),
    { objectMode: false },
  );

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function newUpload(datastore: DataStore, size: number): Promise<string> {
  const id = `up-${randomBytes(6).toString("hex")}`;
  await datastore.create(new Upload({ id, size, offset: 0, metadata: {}, creation_date: new Date().toISOString() }));
  return id;
}

describe("S3 tus data store", () => {
  let store: S3ObjectStore;
  let datastore: DataStore;
  let config: S3StorageConfig;
  beforeAll(async () => {
    config = s3Config();
    store = new S3ObjectStore(config);
    await store.init();
    datastore = store.createTusDataStore({ expirationPeriodInMilliseconds: 3600_000 });
  });

  it("keeps every byte of writes that end anywhere: mid-part under the minimum, mid-part over it, on a boundary", async () => {
    const data = randomBytes(23 * MiB + 777);
    const id = await newUpload(datastore, data.length);
    // Ends 1 MiB into part 2 (parked as the incomplete part), then 6.5 MiB into part 3 (a shorter
    // part), then exactly on a part boundary, then the rest.
    const cuts = [6 * MiB, 13 * MiB + MiB / 2, 18 * MiB + MiB / 2, data.length];
    let offset = 0;
    for (const cut of cuts) {
      const newOffset = await datastore.write(body(data.subarray(offset, cut)), id, offset);
      expect(newOffset).toBe(cut);
      expect((await datastore.getUpload(id)).offset).toBe(cut);
      offset = cut;
    }
    expect(sha256(await readAll(await store.get(id)))).toBe(sha256(data));
  });

  it("counts only parts without a gap, so a failed part never makes the offset skip bytes", async () => {
    const data = randomBytes(16 * MiB);
    const id = await newUpload(datastore, data.length);
    await datastore.write(body(data.subarray(0, 5 * MiB)), id, 0);
    // As if part 2 had failed while part 3 succeeded.
    const uploadId = await multipartUploadIdOf(id);
    await rawClient().send(
      new UploadPartCommand({
        Bucket: config.bucket,
        Key: id,
        UploadId: uploadId,
        PartNumber: 3,
        Body: data.subarray(10 * MiB, 15 * MiB),
        ContentLength: 5 * MiB,
      }),
    );

    expect((await datastore.getUpload(id)).offset).toBe(5 * MiB);
    expect(await datastore.write(body(data.subarray(5 * MiB)), id, 5 * MiB)).toBe(data.length);
    expect(sha256(await readAll(await store.get(id)))).toBe(sha256(data));
  });

  it("spools through temp files, correctly, when its streaming memory is used up", async () => {
    // Memory for one streaming upload: two parts of 5 MiB.
    const tight = new S3ObjectStore(s3Config({ bucket: config.bucket, uploadMemory: 10 * MiB }));
    const tightStore = tight.createTusDataStore({ expirationPeriodInMilliseconds: 3600_000 });
    const uploads = await Promise.all(
      [0, 1, 2].map(async () => {
        const data = randomBytes(11 * MiB + 5);
        return { data, id: await newUpload(tightStore, data.length) };
      }),
    );
    // Three at once with memory for one: two go the temp-file way.
    await Promise.all(uploads.map(({ data, id }) => tightStore.write(body(data), id, 0)));
    for (const { data, id } of uploads) expect(sha256(await readAll(await store.get(id)))).toBe(sha256(data));
    // The memory was given back: a later upload streams again and is stored as well.
    const data = randomBytes(7 * MiB);
    const id = await newUpload(tightStore, data.length);
    expect(await tightStore.write(body(data), id, 0)).toBe(data.length);
    expect(sha256(await readAll(await store.get(id)))).toBe(sha256(data));
  });

  it("stores a zero-byte and a one-part upload", async () => {
    for (const size of [0, 1234]) {
      const data = randomBytes(size);
      const id = await newUpload(datastore, size);
      expect(await datastore.write(body(data), id, 0)).toBe(size);
      expect(sha256(await readAll(await store.get(id)))).toBe(sha256(data));
    }
  });

  it("stores a small upload with one put, keeping what a cut-off request brought for the next one", async () => {
    const data = randomBytes(3 * MiB + 5);
    const id = await newUpload(datastore, data.length);
    // No multipart upload is started for it.
    expect(await multipartUploadIdOf(id, { expectOne: false })).toBeUndefined();
    expect((await datastore.getUpload(id)).offset).toBe(0);
    // A request that ends early: its bytes wait in the incomplete part, and the offset says so.
    expect(await datastore.write(body(data.subarray(0, MiB + 3)), id, 0)).toBe(MiB + 3);
    expect((await datastore.getUpload(id)).offset).toBe(MiB + 3);
    expect(await store.stat(id)).toBeNull();
    expect(await datastore.write(body(data.subarray(MiB + 3)), id, MiB + 3)).toBe(data.length);
    expect(sha256(await readAll(await store.get(id)))).toBe(sha256(data));
    expect((await datastore.getUpload(id)).offset).toBe(data.length);
    expect(await store.stat(`${id}.part`)).toBeNull();
    // Removing it (termination) leaves nothing of it.
    await datastore.remove(id);
    for (const key of [id, `${id}.info`, `${id}.part`]) expect(await store.stat(key)).toBeNull();
  });

  it("turns a small upload into a multipart one when its streaming memory is used up", async () => {
    const tight = new S3ObjectStore(s3Config({ bucket: config.bucket, uploadMemory: MiB }));
    const tightStore = tight.createTusDataStore({ expirationPeriodInMilliseconds: 3600_000 });
    const data = randomBytes(2 * MiB);
    const id = await newUpload(tightStore, data.length);
    expect(await tightStore.write(body(data), id, 0)).toBe(data.length);
    expect(sha256(await readAll(await store.get(id)))).toBe(sha256(data));
  });

  it("writes the AWS SDK's messages to Coffer's log at debug level, not to stderr", async () => {
    const lines: Array<{ level: string; message: string; command?: string }> = [];
    const log = createLogger("debug", (line) => {
      lines.push(JSON.parse(line));
      return true;
    });
    const logged = new S3ObjectStore(s3Config({ bucket: config.bucket }), {}, log).createTusDataStore({
      expirationPeriodInMilliseconds: 3600_000,
    });
    const data = randomBytes(7 * MiB);
    const id = await newUpload(logged, data.length);
    const stderr = captureStderr();
    let printed: string;
    try {
      // Ends 1 MiB into the second part: that part's request is cut short.
      expect(await logged.write(body(data.subarray(0, 6 * MiB)), id, 0)).toBe(6 * MiB);
    } finally {
      printed = stderr.stop();
    }
    expect(printed).not.toContain("non-retryable streaming request");
    expect(lines).toContainEqual(
      expect.objectContaining({ level: "debug", message: "S3 client: An error was encountered in a non-retryable streaming request." }),
    );
    // Each command is logged by name (its input, request bodies included, is left out).
    expect(lines).toContainEqual(
      expect.objectContaining({ level: "debug", message: "S3 client: UploadPartCommand", command: "UploadPartCommand" }),
    );
    expect(lines.every((line) => line.level === "debug")).toBe(true);
    expect(await logged.write(body(data.subarray(6 * MiB)), id, 6 * MiB)).toBe(data.length);
    expect(sha256(await readAll(await store.get(id)))).toBe(sha256(data));
  });

  it("fails a write whose store goes away mid-part with an error for Coffer to report, printing nothing itself", async () => {
    const { s3 } = inject("services");
    const target = new URL(s3.endpoint);
    // A relay to the S3 server that can be cut: the store then stops answering mid-request.
    const sockets = new Set<net.Socket>();
    const relay = net.createServer((client) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on("error", () => {});
        socket.on("close", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
    const { port } = relay.address() as net.AddressInfo;
    const lines: Array<{ level: string; message: string; error?: { message: string } }> = [];
    const log = createLogger("debug", (line) => {
      lines.push(JSON.parse(line));
      return true;
    });
    const relayed = new S3ObjectStore(
      s3Config({ bucket: config.bucket, endpoint: `http://127.0.0.1:${port}` }),
      {},
      log,
    ).createTusDataStore({ expirationPeriodInMilliseconds: 3600_000 });
    // Over the minimum part size, so it streams as a multipart upload (a smaller one is one put).
    const data = randomBytes(6 * MiB);
    const id = await newUpload(relayed, data.length);
    const cutMidPart = Readable.from(
      (async function* () {
        yield data.subarray(0, 2 * MiB);
        await new Promise((resolve) => setTimeout(resolve, 200));
        relay.close();
        for (const socket of sockets) socket.destroy();
        yield data.subarray(2 * MiB);
      })(),
      { objectMode: false },
    );

    const stderr = captureStderr();
    let printed: string;
    try {
      await expect(relayed.write(cutMidPart, id, 0)).rejects.toThrow();
    } finally {
      printed = stderr.stop();
    }
    expect(printed).not.toContain("non-retryable streaming request");
    expect(lines.some((line) => line.message.includes("non-retryable streaming request"))).toBe(true);
    expect(lines.every((line) => line.level === "debug")).toBe(true);
  });

  function rawClient() {
    return new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      credentials: { accessKeyId: config.accessKey, secretAccessKey: config.secretKey },
      forcePathStyle: true,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  async function multipartUploadIdOf(key: string): Promise<string>;
  async function multipartUploadIdOf(key: string, options: { expectOne: false }): Promise<string | undefined>;
  async function multipartUploadIdOf(key: string, { expectOne = true } = {}): Promise<string | undefined> {
    const { ListMultipartUploadsCommand } = await import("@aws-sdk/client-s3");
    const list = await rawClient().send(new ListMultipartUploadsCommand({ Bucket: config.bucket, Prefix: key }));
    const upload = list.Uploads?.find((u) => u.Key === key);
    if (expectOne) expect(upload?.UploadId).toBeDefined();
    return upload?.UploadId;
  }
});
