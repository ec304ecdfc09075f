import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import { apiClient, type OpenApiDocument, responseValidator } from "../support/api-client";
import { startTestApp, type TestApp } from "../support/app";
import { TestClient } from "../support/client";
import { patchUpload, tusHeaders } from "../support/tus";

/**
 * What every contract suite shares: one running production build per storage driver, the
 * document it serves, and three signed-in callers (an owner, another user and an admin), each
 * with a typed client whose every response is validated against the document.
 */
export type Storage = "local" | "s3";

export async function setUpApiEnv(storage: Storage) {
  const app = await startTestApp({ storage, cache: "memory" });
  const document = (await (await fetch(`${app.url}/api/v1/openapi.json`)).json()) as OpenApiDocument;
  const validator = responseValidator(document);
  const suffix = randomBytes(4).toString("hex");
  const emails = {
    owner: `ada-api-${storage}-${suffix}@example.com`,
    other: `otto-api-${storage}-${suffix}@example.com`,
    admin: `ines-api-${storage}-${suffix}@example.com`,
  };
  const owner = new TestClient(app.url);
  await owner.register("Ada Api", emails.owner);
  const other = new TestClient(app.url);
  await other.register("Otto Other", emails.other);
  const admin = new TestClient(app.url);
  await admin.register("Ines Admin", emails.admin);
  const prisma = app.services.prisma;
  const ownerUser = await prisma.user.findUniqueOrThrow({ where: { email: emails.owner } });
  const otherUser = await prisma.user.findUniqueOrThrow({ where: { email: emails.other } });
  const adminUser = await prisma.user.update({ where: { email: emails.admin }, data: { role: "ADMIN" } });
  const api = apiClient(owner, validator);
  const root = await api.GET("/api/v1/folders/root");
  expect(root.response.status).toBe(200);
  return {
    storage,
    app,
    document,
    validator,
    owner,
    other,
    admin,
    ownerUser,
    otherUser,
    adminUser,
    otherEmail: emails.other,
    rootId: root.data!.id,
    api,
    otherApi: apiClient(other, validator),
    adminApi: apiClient(admin, validator),
  };
}

export type ApiEnv = Awaited<ReturnType<typeof setUpApiEnv>>;

/** A suite registers its `it` blocks inside the per-driver describe; `env()` is ready in them. */
/** Registers an area's tests; `storage` is the driver they will run on (known before the env exists). */
export type ContractSuite = (env: () => ApiEnv, storage: "local" | "s3") => void;

const b64 = (value: string) => Buffer.from(value).toString("base64");

/** A whole tus upload (replacing a file of that name when `onConflict` says so); the new file's id. */
export async function upload(app: TestApp, client: TestClient, name: string, bytes: Buffer, onConflict?: "replace"): Promise<string> {
  const created = await fetch(`${app.url}/api/uploads`, {
    method: "POST",
    headers: tusHeaders(client, {
      "Upload-Length": String(bytes.length),
      "Upload-Metadata": [`filename ${b64(name)}`, ...(onConflict ? [`onConflict ${b64(onConflict)}`] : [])].join(","),
    }),
  });
  expect(created.status).toBe(201);
  const url = new URL(created.headers.get("location")!, app.url).toString();
  const done = await patchUpload(client, url, 0, new Uint8Array(bytes));
  expect(done.status).toBe(204);
  const id = done.headers.get("coffer-file-id");
  expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
  return id!;
}
