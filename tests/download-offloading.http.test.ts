import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { loadConfig } from "~/config.server";
import { getRootFolder } from "~/domain/files/folders.server";
import { LocalObjectStore } from "~/services/storage/local.server";
import { S3ObjectStore } from "~/services/storage/s3.server";
import { TieredObjectStore } from "~/services/storage/tiered.server";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

/**
 * DOWNLOAD_REDIRECT=presigned against Swift's s3api: an authorised download is a 302 to a
 * presigned URL of the store, which serves the bytes (with Range) under the file's name and type
 * until it expires; access, share link rules and usage are checked and counted as before.
 */
const EXPIRES_SECONDS = 3;

function tokenFrom(text: string): string {
  const match = /\/s\/([A-Za-z0-9_-]{43})/.exec(text);
  if (!match) throw new Error("no share URL in the page");
  return match[1]!;
}

describe("download offloading to presigned S3 URLs", () => {
  let app: TestApp;
  let owner: TestClient;
  let stranger: TestClient;
  let visitor: TestClient;
  let fileId: string;
  const bytes = randomBytes(300_000);

  beforeAll(async () => {
    app = await startTestApp(
      { storage: "s3", cache: "memory" },
      { DOWNLOAD_REDIRECT: "presigned", DOWNLOAD_REDIRECT_SECONDS: String(EXPIRES_SECONDS) },
    );
    owner = new TestClient(app.url);
    stranger = new TestClient(app.url);
    visitor = new TestClient(app.url);
    await owner.register("Olivia Offload", "olivia-offload@example.com");
    await stranger.register("Sam Stranger", "sam-offload@example.com");
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(bytes)], { type: "application/pdf" }), "Rapport été.pdf");
    const user = await app.services.prisma.user.findUniqueOrThrow({ where: { email: "olivia-offload@example.com" } });
    const root = await getRootFolder(app.services, user.id);
    expect((await owner.postMultipart(`/files/${root.id}`, form)).status).toBe(200);
    fileId = (await app.services.prisma.file.findFirstOrThrow({ where: { name: "Rapport été.pdf" } })).id;
  });

  it("answers a download with a short-lived URL from which the store serves the file, named and typed", async () => {
    const response = await owner.get(`/download/${fileId}`);
    expect(response.status).toBe(302);
    expect(response.headers.get("cache-control")).toBe("private, no-store");
    const location = new URL(response.headers.get("location")!);
    expect(location.origin).toBe(new URL(inject("services").s3.endpoint).origin);
    expect(location.searchParams.get("X-Amz-Expires")).toBe(String(EXPIRES_SECONDS));

    // No cookie: the URL alone is the permission.
    const direct = await fetch(location);
    expect(direct.status).toBe(200);
    expect(Buffer.from(await direct.arrayBuffer()).equals(bytes)).toBe(true);
    expect(direct.headers.get("content-type")).toBe("application/pdf");
    expect(direct.headers.get("content-disposition")).toBe(
      `attachment; filename="Rapport _t_.pdf"; filename*=UTF-8''Rapport%20%C3%A9t%C3%A9.pdf`,
    );
    const range = await fetch(location, { headers: { range: "bytes=1000-1999" } });
    expect(range.status).toBe(206);
    expect(Buffer.from(await range.arrayBuffer()).equals(bytes.subarray(1000, 2000))).toBe(true);
  });

  it("gives nobody without access a URL, and answers HEAD and a stale Range itself", async () => {
    const refused = await stranger.get(`/download/${fileId}`);
    expect(refused.status).toBe(404);
    expect(refused.headers.get("location")).toBeNull();
    const anonymous = await visitor.get(`/download/${fileId}`);
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get("location")).toMatch(/^\/login\?/);

    const head = await owner.request(`/download/${fileId}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(bytes.length));
    const outside = await owner.get(`/download/${fileId}`, { range: `bytes=${bytes.length}-` });
    expect(outside.status).toBe(416);
  });

  it("makes a URL that stops working once it expires", async () => {
    const location = (await owner.get(`/download/${fileId}`)).headers.get("location")!;
    await new Promise((resolve) => setTimeout(resolve, (EXPIRES_SECONDS + 1.5) * 1000));
    const expired = await fetch(location);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toMatch(/expired/i);
  });

  it("counts share link downloads against their limit before redirecting", async () => {
    const created = await owner.postForm("/shares", { intent: "create-link", item: `file:${fileId}`, maxDownloads: "1" });
    expect(created.status).toBe(200);
    const token = tokenFrom(await created.text());
    const first = await visitor.get(`/s/${token}/download/${fileId}`);
    expect(first.status).toBe(302);
    expect(first.headers.get("referrer-policy")).toBe("no-referrer");
    expect((await fetch(first.headers.get("location")!)).status).toBe(200);
    const link = await app.services.prisma.shareLink.findUniqueOrThrow({ where: { token } });
    expect(link.downloadCount).toBe(1);
    const used = await app.services.prisma.activity.count({ where: { subjectId: link.id, action: "share.used" } });
    expect(used).toBe(1);

    const second = await visitor.get(`/s/${token}/download/${fileId}`);
    expect(second.status).toBe(410);
    expect(second.headers.get("location")).toBeNull();
  });
});

describe("which objects get a presigned URL", () => {
  const { s3 } = inject("services");
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("is only an object in the primary store: one still in the secondary (cold, or being migrated from) streams", async () => {
    const primary = new S3ObjectStore({
      driver: "s3",
      endpoint: s3.endpoint,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      region: s3.region,
      bucket: `coffer-offload-${randomBytes(4).toString("hex")}`,
      forcePathStyle: true,
      partSize: 5 * 2 ** 20,
      uploadConcurrency: 2,
      uploadMemory: 64 * 2 ** 20,
    });
    await primary.init();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-offload-cold-"));
    dirs.push(dir);
    const cold = new LocalObjectStore(dir);
    await cold.init();
    const tiered = new TieredObjectStore(primary, cold);
    await primary.put("hot-object", Readable.from([Buffer.from("hot")]));
    await cold.put("cold-object", Readable.from([Buffer.from("cold")]));
    const options = { expiresInSeconds: 60, contentType: "text/plain", contentDisposition: "attachment" };

    const hot = await tiered.presignedGetUrl("hot-object", options);
    expect(await (await fetch(hot!)).text()).toBe("hot");
    expect(await tiered.presignedGetUrl("cold-object", options)).toBeNull();
    expect(await new TieredObjectStore(cold, primary).presignedGetUrl("hot-object", options)).toBeNull();
  });

  it("is refused at startup without S3 storage and with encryption at rest", () => {
    const base = { SESSION_SECRET: "test-secret-that-is-at-least-32-characters-long", DOWNLOAD_REDIRECT: "presigned" };
    expect(() => loadConfig(base)).toThrow(/DOWNLOAD_REDIRECT: presigned needs S3 storage/);
    const s3Env = { ...base, S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey };
    expect(loadConfig(s3Env).downloadRedirect).toEqual({ expiresSeconds: 60 });
    expect(() => loadConfig({ ...s3Env, ENCRYPTION_MASTER_KEY: randomBytes(32).toString("base64") })).toThrow(
      /DOWNLOAD_REDIRECT: presigned cannot be used with ENCRYPTION_MASTER_KEY/,
    );
    expect(loadConfig({ ...s3Env, DOWNLOAD_REDIRECT: "off" }).downloadRedirect).toBeUndefined();
  });
});
