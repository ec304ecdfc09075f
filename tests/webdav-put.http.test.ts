import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditActor } from "~/domain/audit/audit.server";
import { storageUsage } from "~/domain/files/quota.server";
import { createToken } from "~/domain/tokens/tokens.server";
import { startTestApp, type TestApp } from "./support/app";
import { registerPerson, type Person } from "./support/people";
import { incompleteMultipartUploads } from "./support/s3";

/**
 * WebDAV PUT on both storage drivers: the body streams straight into the store (on S3 in parts of
 * the test server's 5 MiB), a client gone mid-body leaves nothing behind, and a PUT over a file
 * makes a new version of it.
 */

const MiB = 2 ** 20;
const actor: AuditActor = { actorId: null, actorLabel: "test", ip: null, userAgent: null };
const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

describe.each(["local", "s3"] as const)("WebDAV PUT on %s storage", (storage) => {
  let app: TestApp;
  let ada: Person;
  let auth: string;

  beforeAll(async () => {
    app = await startTestApp({ storage, cache: "memory" });
    ada = await registerPerson(app, "Ada", `ada-put-${storage}@example.com`);
    const token = await createToken(
      app.services,
      { id: ada.id, role: "USER" },
      { name: "put", scopes: ["files:write"], expiresAt: null },
      actor,
    );
    auth = `Basic ${Buffer.from(`${ada.email}:${token.secret}`).toString("base64")}`;
  });

  afterAll(async () => {
    await app?.close();
  });

  const dav = (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set("authorization", auth);
    return fetch(`${app.url}/dav/${path}`, { ...init, headers, redirect: "manual" });
  };

  const objectKeys = async () => {
    const keys: string[] = [];
    for await (const info of app.services.storage.list()) keys.push(info.key);
    return keys.sort();
  };

  const state = async () => ({
    files: await app.services.prisma.file.count({ where: { ownerId: ada.id } }),
    used: (await storageUsage(app.services, ada.id)).usedBytes,
    objects: await objectKeys(),
    incomplete: storage === "s3" ? await incompleteMultipartUploads(app) : 0,
  });

  /**
   * Sends `sent` bytes of a PUT body, then cuts the connection. Resolves once the socket is
   * closed, with the status of any answer that came before the cut (there should be none).
   */
  const abortedPut = (path: string, sent: number, contentLength?: number) =>
    new Promise<number | null>((resolve) => {
      let answered: number | null = null;
      const url = new URL(`${app.url}/dav/${path}`);
      const request = http.request(url, {
        method: "PUT",
        headers: { authorization: auth, ...(contentLength === undefined ? {} : { "content-length": String(contentLength) }) },
      });
      request.on("error", () => resolve(answered));
      request.on("close", () => resolve(answered));
      request.on("response", (response) => {
        answered = response.statusCode ?? 0;
        response.resume();
      });
      const piece = randomBytes(MiB);
      let written = 0;
      const pump = () => {
        while (written < sent) {
          written += piece.length;
          if (!request.write(piece)) {
            request.once("drain", pump);
            return;
          }
        }
        // Long enough for the server to have stored parts of it.
        setTimeout(() => request.destroy(), 500);
      };
      pump();
    });

  const settle = async (expected: Awaited<ReturnType<typeof state>>) => {
    let now = await state();
    for (let i = 0; i < 50 && JSON.stringify(now) !== JSON.stringify(expected); i++) {
      await sleep(100);
      now = await state();
    }
    // And it stays so (nothing was still on its way).
    await sleep(300);
    return state();
  };

  it("stores a multi-part body sent chunked or with Content-Length, and a PUT over it makes a new version", async () => {
    const first = randomBytes(12 * MiB + 321);
    const created = await dav("big.bin", { method: "PUT", body: new Blob([first]).stream(), duplex: "half" } as RequestInit);
    expect(created.status).toBe(201);
    const file = await app.services.prisma.file.findFirstOrThrow({ where: { ownerId: ada.id, name: "big.bin", trashedAt: null } });
    expect(Number(file.size)).toBe(first.length);
    expect(file.sha256).toBe(sha256(first));

    const second = randomBytes(11 * MiB + 7);
    const replaced = await dav("big.bin", { method: "PUT", body: second });
    expect(replaced.status).toBe(204);
    const after = await app.services.prisma.file.findUniqueOrThrow({ where: { id: file.id } });
    expect(after.sha256).toBe(sha256(second));
    expect(after.storageKey).not.toBe(file.storageKey);
    const versions = await app.services.prisma.fileVersion.findMany({ where: { fileId: file.id } });
    expect(versions).toHaveLength(1);
    expect(versions[0]!.storageKey).toBe(file.storageKey);
    const got = await dav("big.bin");
    expect(got.status).toBe(200);
    expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(second));
    expect(await state()).toMatchObject({ incomplete: 0 });
  });

  it("keeps nothing of a body whose client goes away mid-way: no file, no object, no quota used", async () => {
    const before = await state();
    expect(await abortedPut("cut-sized.bin", 12 * MiB, 20 * MiB)).toBeNull();
    expect(await settle(before)).toEqual(before);
    expect(await abortedPut("cut-chunked.bin", 12 * MiB)).toBeNull();
    expect(await settle(before)).toEqual(before);
    // A client gone mid-body over an existing file leaves the file as it was, without a new version.
    expect((await dav("kept.txt", { method: "PUT", body: "kept" })).status).toBe(201);
    const kept = await state();
    expect(await abortedPut("kept.txt", 8 * MiB, 9 * MiB)).toBeNull();
    expect(await settle(kept)).toEqual(kept);
    expect(await (await dav("kept.txt")).text()).toBe("kept");
    const file = await app.services.prisma.file.findFirstOrThrow({ where: { ownerId: ada.id, name: "kept.txt" } });
    expect(await app.services.prisma.fileVersion.count({ where: { fileId: file.id } })).toBe(0);
  });

  it("refuses a body over the quota from Content-Length before storing a byte", async () => {
    await app.services.prisma.user.update({ where: { id: ada.id }, data: { quotaBytes: 1000n } });
    try {
      const before = await state();
      const response = await dav("over.bin", { method: "PUT", body: Buffer.alloc(6 * MiB) });
      expect(response.status).toBe(413);
      expect(await state()).toEqual(before);
    } finally {
      await app.services.prisma.user.update({ where: { id: ada.id }, data: { quotaBytes: null } });
    }
  });
});
