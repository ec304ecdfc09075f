import http from "node:http";
import { expect } from "vitest";
import type { TestApp } from "./app";
import type { TestClient } from "./client";

/** Raw tus requests to Coffer's upload endpoint, as a client's session. */
export function tusHeaders(client: TestClient, extra: Record<string, string> = {}): Record<string, string> {
  return { cookie: client.cookieHeader, "Tus-Resumable": "1.0.0", ...extra };
}

const base64 = (value: string) => Buffer.from(value).toString("base64");

/** The tus creation request for a `size`-byte upload named `name` (into `folderId`, else the root). */
export function createUploadRequest(app: TestApp, client: TestClient, upload: { name: string; size: number; folderId?: string }) {
  const metadata = [`filename ${base64(upload.name)}`, ...(upload.folderId ? [`folderId ${base64(upload.folderId)}`] : [])].join(",");
  return fetch(`${app.url}/api/uploads`, {
    method: "POST",
    headers: tusHeaders(client, { "Upload-Length": String(upload.size), "Upload-Metadata": metadata }),
  });
}

/** Creates the upload (expecting 201); resolves with its absolute URL. */
export async function createUpload(
  app: TestApp,
  client: TestClient,
  upload: { name: string; size: number; folderId?: string },
): Promise<string> {
  const created = await createUploadRequest(app, client, upload);
  expect(created.status, await created.clone().text()).toBe(201);
  return new URL(created.headers.get("location")!, app.url).toString();
}

export function patchUpload(client: TestClient, url: string, offset: number, body: BodyInit) {
  return fetch(url, {
    method: "PATCH",
    headers: tusHeaders(client, { "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" }),
    body,
    duplex: "half",
  } as RequestInit);
}

/** The upload's offset from a HEAD request (expecting 200). */
export async function uploadOffset(client: TestClient, url: string): Promise<number> {
  const head = await fetch(url, { method: "HEAD", headers: tusHeaders(client) });
  expect(head.status).toBe(200);
  return Number(head.headers.get("upload-offset"));
}

/**
 * A PATCH whose body stays open: `send` adds bytes, `end` finishes the body (harmless if the
 * server closed the request already); `outcome` is the status, or "connection closed".
 */
export function openPatch(client: TestClient, url: string, offset = 0) {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  const outcome = fetch(url, {
    method: "PATCH",
    headers: tusHeaders(client, { "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" }),
    body,
    duplex: "half",
  } as RequestInit).then(
    (response) => response.status,
    () => "connection closed" as const,
  );
  return {
    outcome,
    send: (bytes: Uint8Array) => controller.enqueue(bytes),
    end(last?: Uint8Array) {
      try {
        if (last) controller.enqueue(last);
        controller.close();
      } catch {
        // The server already closed the request.
      }
    },
  };
}

/** Sends `data` as a PATCH that announces `announced` bytes, then drops the connection. */
export async function patchThenDrop(client: TestClient, uploadUrl: string, offset: number, data: Buffer, announced: number): Promise<void> {
  const url = new URL(uploadUrl);
  await new Promise<void>((resolve) => {
    const request = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: "PATCH",
      headers: tusHeaders(client, {
        "Upload-Offset": String(offset),
        "Content-Type": "application/offset+octet-stream",
        "Content-Length": String(announced),
      }),
    });
    request.on("error", () => resolve());
    request.on("close", () => resolve());
    request.write(data, () => setTimeout(() => request.destroy(), 500));
  });
}
