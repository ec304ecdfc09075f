import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tus from "tus-js-client";
import { describe, expect, it } from "vitest";
import { startTestApp, type DriverSet } from "./support/app";
import { TestClient } from "./support/client";

const MiB = 1024 * 1024;
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

/** The app stops mid-upload and a new process, on the same data, lets the client carry on. */
describe.each<{ label: string; drivers: DriverSet }>([
  { label: "local disk, memory cache", drivers: { storage: "local", cache: "memory" } },
  { label: "S3, Redis", drivers: { storage: "s3", cache: "redis" } },
])("an upload survives a server restart ($label)", ({ drivers }) => {
  it("resumes from the stored offset after the server restarts", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-restart-"));
    const bytes = randomBytes(12 * MiB);
    const first = await startTestApp(drivers, { DATA_DIR: dataDir });
    const client = new TestClient(first.url);
    await client.register("Rita", "rita@example.com");

    const uploadPath = await new Promise<string>((resolve, reject) => {
      const upload = new tus.Upload(bytes, {
        endpoint: `${first.url}/api/uploads`,
        chunkSize: 6 * MiB,
        metadata: { filename: "restart.bin" },
        headers: { cookie: client.cookieHeader },
        retryDelays: [],
        onChunkComplete: (_size, accepted) => {
          if (accepted >= 6 * MiB) void upload.abort().then(() => resolve(new URL(upload.url!).pathname));
        },
        onError: reject,
      });
      upload.start();
    });
    await first.close();

    // The same deployment restarted: same data, database, bucket and Redis prefix (tus metadata lives there).
    const second = await startTestApp(drivers, {
      DATA_DIR: dataDir,
      DATABASE_URL: first.env.DATABASE_URL,
      ...(first.env.S3_BUCKET ? { S3_BUCKET: first.env.S3_BUCKET } : {}),
      ...(first.env.REDIS_PREFIX ? { REDIS_PREFIX: first.env.REDIS_PREFIX } : {}),
    });
    const head = await fetch(`${second.url}${uploadPath}`, {
      method: "HEAD",
      headers: { cookie: client.cookieHeader, "Tus-Resumable": "1.0.0" },
    });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("upload-offset"))).toBe(6 * MiB);
    await new Promise<void>((resolve, reject) => {
      new tus.Upload(bytes, {
        uploadUrl: `${second.url}${uploadPath}`,
        chunkSize: 6 * MiB,
        headers: { cookie: client.cookieHeader },
        retryDelays: [],
        onSuccess: () => resolve(),
        onError: reject,
      }).start();
    });
    const file = await second.services.prisma.file.findFirstOrThrow({ where: { name: "restart.bin" } });
    const download = await fetch(`${second.url}/download/${file.id}`, { headers: { cookie: client.cookieHeader } });
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(sha256(bytes));
    await expect
      .poll(async () => (await second.services.prisma.file.findUniqueOrThrow({ where: { id: file.id } })).sha256)
      .toBe(sha256(bytes));
    await second.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});
