import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { patchUpload, tusHeaders } from "../support/tus";
import type { ContractSuite } from "./env";

const b64 = (value: string) => Buffer.from(value).toString("base64");

/** tus at /api/uploads, as the document describes it: creation, HEAD offset, PATCH, the new file's id. */
export const uploadsSuite: ContractSuite = (env) => {
  it("creates an upload, resumes it from the HEAD offset, and answers the new file's id", async () => {
    const { app, owner, api, validator, storage } = env();
    const bytes = randomBytes(30_000);
    const folder = (await api.POST("/api/v1/folders", { body: { parentId: null, name: `Uploads ${storage}` } })).data!;
    const metadata = [`filename ${b64(`resumed-${storage}.bin`)}`, `folderId ${b64(folder.id)}`, `onConflict ${b64("cancel")}`].join(",");
    const created = await fetch(`${app.url}/api/uploads`, {
      method: "POST",
      headers: tusHeaders(owner, { "Upload-Length": String(bytes.length), "Upload-Metadata": metadata }),
    });
    await validator.check("POST", "/api/uploads", created);
    expect(created.status).toBe(201);
    const url = new URL(created.headers.get("location")!, app.url).toString();
    const template = "/api/uploads/{uploadId}";

    const first = await patchUpload(owner, url, 0, new Uint8Array(bytes.subarray(0, 10_000)));
    await validator.check("PATCH", template, first);
    expect(first.status).toBe(204);
    expect(first.headers.get("coffer-file-id")).toBeNull();

    const wrongOffset = await patchUpload(owner, url, 5, new Uint8Array(bytes.subarray(5, 10)));
    await validator.check("PATCH", template, wrongOffset);
    expect(wrongOffset.status).toBe(409);

    const head = await fetch(url, { method: "HEAD", headers: tusHeaders(owner) });
    await validator.check("HEAD", template, head);
    expect(head.status).toBe(200);
    const offset = Number(head.headers.get("upload-offset"));
    expect(offset).toBe(10_000);

    const last = await patchUpload(owner, url, offset, new Uint8Array(bytes.subarray(offset)));
    await validator.check("PATCH", template, last);
    expect(last.status).toBe(204);
    expect(last.headers.get("upload-offset")).toBe(String(bytes.length));
    const fileId = last.headers.get("coffer-file-id")!;
    expect(fileId).toMatch(/^[A-Za-z0-9_-]+$/);

    const meta = await api.GET("/api/v1/files/{id}", { params: { path: { id: fileId } } });
    expect(meta.data).toMatchObject({ id: fileId, name: `resumed-${storage}.bin`, parentId: folder.id, size: bytes.length });
    const content = await api.GET("/api/v1/files/{id}/content", { params: { path: { id: fileId } }, parseAs: "arrayBuffer" });
    expect(Buffer.from(content.data as ArrayBuffer).equals(bytes)).toBe(true);
  });

  it("refuses uploads it cannot take: unknown, anonymous, a taken name with onConflict cancel", async () => {
    const { app, owner, validator, storage } = env();
    const template = "/api/uploads/{uploadId}";
    const unknown = await fetch(`${app.url}/api/uploads/${"0".repeat(32)}`, { method: "HEAD", headers: tusHeaders(owner) });
    await validator.check("HEAD", template, unknown);
    expect(unknown.status).toBe(404);

    const metadata = `filename ${b64(`taken-${storage}.txt`)},onConflict ${b64("cancel")}`;
    const create = (headers: Record<string, string>) =>
      fetch(`${app.url}/api/uploads`, {
        method: "POST",
        headers: { "Tus-Resumable": "1.0.0", "Upload-Length": "1", "Upload-Metadata": metadata, ...headers },
      });
    const anonymous = await create({});
    await validator.check("POST", "/api/uploads", anonymous);
    expect(anonymous.status).toBe(401);

    const first = await create({ cookie: owner.cookieHeader });
    const url = new URL(first.headers.get("location")!, app.url).toString();
    expect((await patchUpload(owner, url, 0, new Uint8Array([1]))).status).toBe(204);
    const taken = await create({ cookie: owner.cookieHeader });
    await validator.check("POST", "/api/uploads", taken);
    expect(taken.status).toBe(409);
  });
};
