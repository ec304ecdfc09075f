import http from "node:http";
import { randomBytes } from "node:crypto";
import { pipeline, Readable, Transform } from "node:stream";
import { beforeAll, describe, expect, it } from "vitest";
import { addFile } from "~/domain/files/files.server";
import { getRootFolder } from "~/domain/files/folders.server";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

const SIZE = 48 * 1024 * 1024;

/**
 * A download is read from storage at the pace the client takes it: a client that stops reading
 * must not make the server pull the rest of the file into memory.
 */
describe("downloads under backpressure", () => {
  let app: TestApp;
  let client: TestClient;
  let fileId: string;
  let storageBytesRead = 0;

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    client = new TestClient(app.url);
    await client.register("Slow Reader", "slow@example.com");
    const user = await app.services.prisma.user.findUniqueOrThrow({ where: { email: "slow@example.com" } });
    const storageKey = randomBytes(16).toString("hex");
    const chunk = randomBytes(1024 * 1024);
    await app.services.storage.put(
      storageKey,
      Readable.from(
        (function* () {
          for (let i = 0; i < SIZE / chunk.length; i++) yield chunk;
        })(),
      ),
      { size: SIZE },
    );
    const root = await getRootFolder(app.services, user.id);
    fileId = (
      await addFile(app.services, {
        ownerId: user.id,
        folderId: root.id,
        name: "big.bin",
        size: SIZE,
        mimeType: "application/octet-stream",
        storageKey,
        sha256: null,
      })
    ).id;
    // Count what the app reads from storage (the same services object serves the HTTP requests).
    const storage = app.services.storage;
    const get = storage.get.bind(storage);
    storage.get = async (key, range) => {
      const source = await get(key, range);
      const counter = new Transform({
        transform(data: Buffer, _encoding, callback) {
          storageBytesRead += data.length;
          callback(null, data);
        },
      });
      // pipeline, not pipe: when the app destroys the stream it got (the client left), the
      // source's file handle must close too, not wait for garbage collection (DEP0137).
      return pipeline(source, counter, () => {});
    };
  });

  it("stops reading storage while the client does not read, and releases it when the client leaves", async () => {
    storageBytesRead = 0;
    const url = new URL(`/download/${fileId}`, app.url);
    const request = http.get(url, { headers: { cookie: client.cookieHeader } });
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      request.on("response", resolve);
      request.on("error", reject);
    });
    expect(response.statusCode).toBe(200);
    response.pause();
    // Give the server time to read ahead as far as it would.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const whilePaused = storageBytesRead;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(storageBytesRead).toBe(whilePaused);
    // Socket buffers and a few stream chunks, far from the 48 MiB file.
    expect(whilePaused).toBeLessThan(12 * 1024 * 1024);
    request.destroy();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(storageBytesRead).toBeLessThan(12 * 1024 * 1024);
  });

  it("still sends the whole file to a client that reads it", async () => {
    const response = await client.get(`/download/${fileId}`);
    expect(response.status).toBe(200);
    expect((await response.arrayBuffer()).byteLength).toBe(SIZE);
  });
});
