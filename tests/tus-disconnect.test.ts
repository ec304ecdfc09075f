// A client whose connection drops in the middle of a PATCH body loses nothing that reached the
// server: the next HEAD reports every received byte, and the upload finishes from there. Also the
// other ways a body reaches the store (too long, sent with the creation request).
// Through the whole app (Express, the tus request adapter, the real stores).
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type DriverSet, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { captureStderr } from "./support/stderr";
import { createUpload, patchThenDrop, patchUpload, tusHeaders, uploadOffset } from "./support/tus";

const MiB = 1024 * 1024;
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

describe.each<{ label: string; drivers: DriverSet }>([
  { label: "local disk", drivers: { storage: "local", cache: "memory" } },
  { label: "S3 (5 MiB parts)", drivers: { storage: "s3", cache: "redis" } },
])("a PATCH cut off mid-body ($label)", ({ drivers }) => {
  let app: TestApp;
  let client: TestClient;
  beforeAll(async () => {
    app = await startTestApp(drivers);
    client = new TestClient(app.url);
    await client.register("Dora", "dora@example.com");
  });
  afterAll(() => app?.close());

  it("keeps the received bytes, whether the cut falls under or over the S3 minimum part size, and the upload completes", async () => {
    const bytes = randomBytes(16 * MiB + 99);
    const url = await createUpload(app, client, { name: "cut.bin", size: bytes.length });

    // 1 MiB arrives of a PATCH announcing everything (under the 5 MiB minimum: a parked part on S3).
    await patchThenDrop(client, url, 0, bytes.subarray(0, MiB), bytes.length);
    await expect.poll(() => uploadOffset(client, url), { timeout: 10_000 }).toBe(MiB);

    // Then 6.5 MiB more (over the minimum: a shorter part on S3).
    await patchThenDrop(client, url, MiB, bytes.subarray(MiB, 7.5 * MiB), bytes.length - MiB);
    await expect.poll(() => uploadOffset(client, url), { timeout: 10_000 }).toBe(7.5 * MiB);

    const last = await patchUpload(client, url, 7.5 * MiB, new Uint8Array(bytes.subarray(7.5 * MiB)));
    expect(last.status).toBe(204);
    expect(Number(last.headers.get("upload-offset"))).toBe(bytes.length);

    const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "cut.bin" } });
    const download = await fetch(`${app.url}/download/${file.id}`, { headers: { cookie: client.cookieHeader } });
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(sha256(bytes));
    // The in-stream hash was given up at the cut; the background hash fills it in.
    await expect
      .poll(async () => (await app.services.prisma.file.findUniqueOrThrow({ where: { id: file.id } })).sha256, { timeout: 15_000 })
      .toBe(sha256(bytes));
  });

  it("prints nothing to stderr when a cut ends a part request early (the AWS SDK would warn of it)", async () => {
    const bytes = randomBytes(8 * MiB);
    const url = await createUpload(app, client, { name: "quiet.bin", size: bytes.length });
    const stderr = captureStderr();
    let printed: string;
    try {
      // A cut 1 MiB into the first part, then one 1 MiB into the second.
      await patchThenDrop(client, url, 0, bytes.subarray(0, MiB), bytes.length);
      await expect.poll(() => uploadOffset(client, url), { timeout: 10_000 }).toBe(MiB);
      await patchThenDrop(client, url, MiB, bytes.subarray(MiB, 6 * MiB), bytes.length - MiB);
      await expect.poll(() => uploadOffset(client, url), { timeout: 10_000 }).toBe(6 * MiB);
    } finally {
      printed = stderr.stop();
    }
    expect(printed).not.toContain("non-retryable streaming request");
    expect((await patchUpload(client, url, 6 * MiB, new Uint8Array(bytes.subarray(6 * MiB)))).status).toBe(204);
  });

  it("refuses a body longer than the upload, closes that connection, and keeps the upload usable", async () => {
    const bytes = randomBytes(2 * MiB);
    const url = await createUpload(app, client, { name: "long.bin", size: bytes.length });
    const tooLong = await patchUpload(client, url, 0, new Uint8Array(Buffer.concat([bytes, randomBytes(MiB)])));
    expect(tooLong.status).toBe(413);
    expect(tooLong.headers.get("connection")).toBe("close");
    const offset = await uploadOffset(client, url);
    const rest = await patchUpload(client, url, offset, new Uint8Array(bytes.subarray(offset)));
    expect(rest.status).toBe(204);
    const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "long.bin" } });
    const download = await fetch(`${app.url}/download/${file.id}`, { headers: { cookie: client.cookieHeader } });
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(sha256(bytes));
  });

  it("takes the bytes sent with the creation request (creation-with-upload) and hashes them on the way", async () => {
    const bytes = randomBytes(6 * MiB + 7);
    const created = await fetch(`${app.url}/api/uploads`, {
      method: "POST",
      headers: tusHeaders(client, {
        "Upload-Length": String(bytes.length),
        "Upload-Metadata": `filename ${Buffer.from("at-once.bin").toString("base64")}`,
        "Content-Type": "application/offset+octet-stream",
      }),
      body: new Uint8Array(bytes),
    });
    expect(created.status).toBe(201);
    expect(Number(created.headers.get("upload-offset"))).toBe(bytes.length);
    const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "at-once.bin" } });
    expect(file.sha256).toBe(sha256(bytes));
    const download = await fetch(`${app.url}/download/${file.id}`, { headers: { cookie: client.cookieHeader } });
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(sha256(bytes));
  });
});
