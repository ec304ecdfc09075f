import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { expect } from "vitest";
import { addFile } from "~/domain/files/files.server";
import type { Services } from "~/services/index.server";
import type { DriverSet, TestApp } from "./app";
import { TestClient } from "./client";

/** Both driver sets the multi-user suites run on. */
export const DRIVER_SETS: Array<{ label: string; drivers: DriverSet }> = [
  { label: "local disk, memory", drivers: { storage: "local", cache: "memory" } },
  { label: "S3, Redis", drivers: { storage: "s3", cache: "redis" } },
];

export const PASSWORD = "correct horse battery staple";

/** A registered account and its logged-in client. */
export interface Person {
  client: TestClient;
  id: string;
  email: string;
  name: string;
}

/** Registers an account through the app (the first one becomes the admin) and logs it in. */
export async function registerPerson(app: TestApp, name: string, email: string): Promise<Person> {
  const client = new TestClient(app.url);
  await client.register(name, email);
  const { id } = await app.services.prisma.user.findUniqueOrThrow({ where: { email }, select: { id: true } });
  return { client, id, email, name };
}

/** Stores `data` and records it as a file, bypassing HTTP (for setting a scene quickly). */
export async function putFile(services: Services, ownerId: string, folderId: string, name: string, data: Buffer) {
  const storageKey = randomBytes(16).toString("hex");
  await services.storage.put(storageKey, Readable.from([data]), { size: data.length });
  return addFile(services, {
    ownerId,
    folderId,
    name,
    size: data.length,
    mimeType: "text/plain",
    storageKey,
    sha256: createHash("sha256").update(data).digest("hex"),
  });
}

/** The no-JavaScript upload form. */
export function uploadForm(client: TestClient, folderId: string, name: string, bytes: Buffer, onConflict?: string) {
  const form = new FormData();
  if (onConflict) form.append("onConflict", onConflict);
  form.append("file", new Blob([new Uint8Array(bytes)], { type: "text/plain" }), name);
  return client.postMultipart(`/files/${folderId}`, form);
}

/**
 * The no-JavaScript upload form, its file part left open: `send` adds bytes, `end` finishes the
 * form; `response` is the answer.
 */
export function openUploadForm(client: TestClient, folderId: string, name: string) {
  const boundary = `----coffer-test-${randomBytes(8).toString("hex")}`;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  controller.enqueue(new TextEncoder().encode(head));
  const response = client.request(`/files/${folderId}`, {
    method: "POST",
    headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
    body,
    duplex: "half",
  } as RequestInit);
  return {
    response,
    send: (bytes: Uint8Array) => controller.enqueue(bytes),
    end(last: Uint8Array) {
      controller.enqueue(last);
      controller.enqueue(new TextEncoder().encode(`\r\n--${boundary}--\r\n`));
      controller.close();
    },
  };
}

/** Creates a folder through the page's form; resolves with its id. */
export async function createFolderIn(client: TestClient, parentId: string, name: string): Promise<string> {
  const response = await client.postForm(`/files/${parentId}`, { intent: "create-folder", name, open: "1" });
  expect(response.status).toBe(302);
  return response.headers.get("location")!.split("/").pop()!;
}
