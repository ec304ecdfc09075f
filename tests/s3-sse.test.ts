import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { Server as TusServer } from "@tus/server";
import { Upload as TusUpload } from "tus-js-client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { S3ObjectStore, sseHeaders, type S3StorageConfig } from "~/services/storage/s3.server";

/**
 * S3_SSE passthrough. The test S3 server (Swift's s3api without its encryption middleware)
 * refuses server-side encryption with 501, so these tests check what reaches the server: a
 * recording proxy sits between the driver and Swift and keeps every request's headers.
 */

const MiB = 2 ** 20;

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

let proxy: http.Server;
let proxyUrl: string;
const seen: Seen[] = [];

beforeAll(async () => {
  const target = new URL(inject("services").s3.endpoint);
  proxy = http.createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    // Headers (Host included) are passed on unchanged, so the request signatures stay valid.
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", (error) => res.destroy(error));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => proxy.close(() => resolve())));

function config(sse?: S3StorageConfig["sse"]): S3StorageConfig {
  const { s3 } = inject("services");
  return {
    driver: "s3",
    endpoint: proxyUrl,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    region: s3.region,
    bucket: `coffer-sse-${randomBytes(5).toString("hex")}`,
    forcePathStyle: true,
    partSize: 5 * MiB,
    uploadConcurrency: 2,
    uploadMemory: 64 * 2 ** 20,
    ...(sse ? { sse } : {}),
  };
}

function writesTo(key: string): Seen[] {
  return seen.filter((r) => (r.method === "PUT" || r.method === "POST") && r.url.includes(key));
}

describe("S3 server-side encryption headers", () => {
  it("maps the settings to the S3 headers", () => {
    expect(sseHeaders(undefined)).toEqual({});
    expect(sseHeaders({ type: "AES256" })).toEqual({ "x-amz-server-side-encryption": "AES256" });
    expect(sseHeaders({ type: "aws:kms", kmsKeyId: "arn:aws:kms:k1" })).toEqual({
      "x-amz-server-side-encryption": "aws:kms",
      "x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:k1",
    });
  });

  it("sends nothing extra when unset, and such puts work", async () => {
    const store = new S3ObjectStore(config());
    await store.init();
    const key = `plain-${randomBytes(4).toString("hex")}`;
    await store.put(key, Readable.from([randomBytes(1000)]));
    const writes = writesTo(key);
    expect(writes.length).toBeGreaterThan(0);
    for (const w of writes) expect(w.headers["x-amz-server-side-encryption"]).toBeUndefined();
  });

  it.each([
    ["AES256", { type: "AES256" as const }],
    ["aws:kms with a key id", { type: "aws:kms" as const, kmsKeyId: "coffer-test-key" }],
  ])("%s: single puts, multipart creations, copies and tus uploads carry the headers", async (_label, sse) => {
    const plain = new S3ObjectStore(config());
    await plain.init();
    const store = new S3ObjectStore({ ...config(sse), bucket: (plain as unknown as { bucket: string }).bucket });
    const expected = sseHeaders(sse);
    const expectHeaders = (key: string, what: string) => {
      const writes = writesTo(key);
      expect(writes.length, what).toBeGreaterThan(0);
      for (const w of writes) {
        for (const [name, value] of Object.entries(expected)) expect(w.headers[name], `${what}: ${w.method} ${w.url}`).toBe(value);
      }
    };

    // Swift answers 501 "Server-side encryption is not supported": the headers got there.
    const small = `sse-small-${randomBytes(4).toString("hex")}`;
    await expect(store.put(small, Readable.from([randomBytes(1000)]))).rejects.toThrow(/not supported|NotImplemented/i);
    expectHeaders(small, "single put");

    const large = `sse-large-${randomBytes(4).toString("hex")}`;
    await expect(store.put(large, Readable.from([randomBytes(6 * MiB)]))).rejects.toThrow(/not supported|NotImplemented/i);
    expectHeaders(large, "multipart put");

    const source = `sse-source-${randomBytes(4).toString("hex")}`;
    await plain.put(source, Readable.from([randomBytes(100)]));
    const copy = `sse-copy-${randomBytes(4).toString("hex")}`;
    await expect(store.copy(source, copy)).rejects.toThrow(/not supported|NotImplemented/i);
    expectHeaders(copy, "copy");

    const tus = new TusServer({ path: "/files", datastore: store.createTusDataStore({ expirationPeriodInMilliseconds: 3600_000 }) });
    const server = http.createServer((req, res) => void tus.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/files`;
      const upload = async (size: number) => {
        const before = seen.length;
        const error = await new Promise<Error | null>((resolve) => {
          new TusUpload(randomBytes(size), { endpoint, retryDelays: [], onSuccess: () => resolve(null), onError: resolve }).start();
        });
        expect(error).not.toBeNull();
        return seen.slice(before).filter((r) => r.method === "POST" || r.method === "PUT");
      };
      // A small upload is one PutObject (its record is written first): every write carries the headers.
      const smallWrites = await upload(1000);
      expect(smallWrites.length, "a small tus upload writes").toBeGreaterThan(0);
      for (const w of smallWrites) {
        for (const [name, value] of Object.entries(expected)) expect(w.headers[name], `${w.method} ${w.url}`).toBe(value);
      }
      const creations = (await upload(6 * MiB)).filter((r) => r.method === "POST" && r.url.includes("uploads"));
      expect(creations.length, "a large tus upload creates a multipart upload").toBeGreaterThan(0);
      for (const c of creations) {
        for (const [name, value] of Object.entries(expected)) expect(c.headers[name]).toBe(value);
      }
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
