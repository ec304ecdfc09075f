import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { updateSettings } from "~/domain/admin/settings.server";
import { recordAudit } from "~/domain/audit/audit.server";
import { addFile } from "~/domain/files/files.server";
import { createFolder, getRootFolder } from "~/domain/files/folders.server";
import { pseudonymFor } from "~/domain/accounts/account-deletion.server";
import { cleanupAbandonedUploads } from "~/domain/uploads/upload-cleanup.server";
import { trashItem } from "~/domain/files/trash.server";
import type { Services } from "~/services/index.server";
import { startTestApp, type DriverSet, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { incompleteMultipartUploads } from "./support/s3";
import { createUpload, patchUpload } from "./support/tus";
import { unzip } from "./support/zip";

const DRIVER_SETS: Array<{ label: string; drivers: DriverSet }> = [
  { label: "local disk, memory", drivers: { storage: "local", cache: "memory" } },
  { label: "S3, Redis", drivers: { storage: "s3", cache: "redis" } },
];

const PASSWORD = "correct horse battery staple";
type Actor = { id: string; role: "USER" | "ADMIN" };

async function putFile(services: Services, owner: Actor, folderId: string, name: string, data: Buffer) {
  const storageKey = randomBytes(16).toString("hex");
  await services.storage.put(storageKey, Readable.from([data]), { size: data.length });
  return addFile(services, {
    ownerId: owner.id,
    folderId,
    name,
    size: data.length,
    mimeType: "application/octet-stream",
    storageKey,
    sha256: createHash("sha256").update(data).digest("hex"),
  });
}

function post(client: TestClient, path: string, fields: Record<string, string>) {
  return client.request(path, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
    redirect: "manual",
  });
}

describe.each(DRIVER_SETS)("privacy: export and account deletion ($label)", ({ drivers }) => {
  let app: TestApp;
  let services: Services;
  let admin: TestClient;
  let adminActor: Actor;
  let dana: TestClient;
  let danaActor: Actor;
  let other: TestClient;
  let otherActor: Actor;

  beforeAll(async () => {
    app = await startTestApp(drivers);
    // Deleting erases at once here; the grace period before a purge is tests/lifecycle.test.ts's.
    await updateSettings(app.services, { deletedAccountRetentionDays: 0 });
    services = app.services;
    admin = new TestClient(app.url);
    await admin.register("Root Admin", "root@example.com");
    dana = new TestClient(app.url);
    await dana.register("Dana Data", "dana@example.com");
    other = new TestClient(app.url);
    await other.register("Otto Other", "otto@example.com");
    const ids = await services.prisma.user.findMany({ select: { id: true, email: true, role: true } });
    const byEmail = (email: string) => ids.find((user) => user.email === email)!;
    adminActor = { id: byEmail("root@example.com").id, role: "ADMIN" };
    danaActor = { id: byEmail("dana@example.com").id, role: "USER" };
    otherActor = { id: byEmail("otto@example.com").id, role: "USER" };
  });

  it("exports my files, trash, versions and metadata as one streamed ZIP, and nobody else's", async () => {
    const root = (await getRootFolder(services, danaActor.id)).id;
    const docs = await createFolder(services, danaActor, root, "Docs");
    await createFolder(services, danaActor, docs.id, "Empty");
    const report = randomBytes(150_000);
    const reportFile = await putFile(services, danaActor, docs.id, "report.pdf", report);
    await putFile(services, danaActor, root, "Docs.txt", Buffer.from("a file beside the folder"));
    const trashed = await putFile(services, danaActor, root, "old.txt", Buffer.from("in the trash"));
    await trashItem(services, danaActor, "file", trashed.id);
    const versionKey = randomBytes(16).toString("hex");
    await services.storage.put(versionKey, Readable.from([Buffer.from("first draft")]), { size: 11 });
    await services.prisma.fileVersion.create({
      data: {
        fileId: reportFile.id,
        storageKey: versionKey,
        size: 11n,
        mimeType: "application/pdf",
        createdAt: new Date("2026-01-01T10:00:00Z"),
        replacedAt: new Date("2026-01-02T03:04:05Z"),
      },
    });
    const otherRoot = (await getRootFolder(services, otherActor.id)).id;
    await putFile(services, otherActor, otherRoot, "otto-secret.txt", Buffer.from("not dana's"));
    await services.prisma.passkey.create({
      data: {
        userId: danaActor.id,
        credentialId: "dana-credential",
        publicKey: Buffer.from("not a real key"),
        deviceType: "multiDevice",
        backedUp: true,
        name: "Dana's phone",
      },
    });
    await services.prisma.userUsageDaily.create({
      data: { day: new Date("2026-12-01T00:00:00Z"), userId: danaActor.id, active: true, storedBytes: 42n },
    });

    const page = await dana.get("/settings/privacy");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Download my data");

    const response = await post(dana, "/settings/privacy/export", {});
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/zip");
    expect(response.headers.get("content-disposition")).toContain("coffer-export-dana-");
    const entries = await unzip(Buffer.from(await response.arrayBuffer()));
    const names = [...entries.keys()];
    expect(names).toEqual(
      expect.arrayContaining([
        "account.json",
        "files.json",
        "activity.json",
        "security-events.json",
        "files/Docs/",
        "files/Docs/Empty/",
        "files/Docs.txt",
        "trash/old.txt",
      ]),
    );
    expect(entries.get("files/Docs/report.pdf")!.equals(report)).toBe(true);
    expect(entries.get("trash/old.txt")!.toString()).toBe("in the trash");
    expect(entries.get("versions/Docs/2026-01-02 03-04-05 report.pdf")!.toString()).toBe("first draft");
    expect(names.some((name) => name.includes("otto"))).toBe(false);

    const account = JSON.parse(entries.get("account.json")!.toString());
    expect(account.profile).toMatchObject({ email: "dana@example.com", name: "Dana Data" });
    expect(account.sessions.length).toBeGreaterThan(0);
    expect(account.usageDays).toEqual([{ day: "2026-12-01", active: true, storedBytes: 42 }]);
    expect(JSON.stringify(account)).not.toContain("passwordHash");
    expect(account.passkeys).toEqual([expect.objectContaining({ name: "Dana's phone", synced: true, lastUsedAt: null })]);
    expect(JSON.stringify(account)).not.toContain("dana-credential");
    const files = JSON.parse(entries.get("files.json")!.toString());
    const reportRecord = files.find((file: { name: string }) => file.name === "report.pdf");
    expect(reportRecord).toMatchObject({
      archivePath: "files/Docs/report.pdf",
      size: report.length,
      sha256: createHash("sha256").update(report).digest("hex"),
    });
    expect(reportRecord.versions).toEqual([
      expect.objectContaining({ archivePath: "versions/Docs/2026-01-02 03-04-05 report.pdf", size: 11 }),
    ]);
    expect(JSON.parse(entries.get("activity.json")!.toString()).length).toBeGreaterThan(0);
    const events = JSON.parse(entries.get("security-events.json")!.toString());
    expect(Array.isArray(events)).toBe(true);

    const exported = await services.prisma.auditEvent.findFirst({ where: { action: "user.data_exported", actorId: danaActor.id } });
    expect(exported).not.toBeNull();
  });

  it("limits exports to a few per hour and says when to try again", async () => {
    let limited: Response | null = null;
    for (let attempt = 0; attempt < 10 && !limited; attempt++) {
      const response = await post(dana, "/settings/privacy/export", {});
      if (response.status === 303) limited = response;
      else await response.arrayBuffer();
    }
    expect(limited).not.toBeNull();
    expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThan(0);
    const page = await dana.get(limited!.headers.get("location")!);
    expect(await page.text()).toMatch(/Please try again in \d+ minutes/);
  });

  it("asks to log in first, and refuses a wrong confirmation without deleting anything", async () => {
    const anonymous = await new TestClient(app.url).request("/settings/privacy", { redirect: "manual" });
    expect([302, 303]).toContain(anonymous.status);
    expect(anonymous.headers.get("location")).toContain("/login");

    const wrongEmail = await post(dana, "/settings/privacy", { intent: "delete", confirmEmail: "otto@example.com", password: PASSWORD });
    expect(wrongEmail.status).toBe(400);
    expect(await wrongEmail.text()).toContain("This is not your email address.");
    const wrongPassword = await post(dana, "/settings/privacy", {
      intent: "delete",
      confirmEmail: "dana@example.com",
      password: "not my password at all",
    });
    expect(wrongPassword.status).toBe(400);
    expect(await wrongPassword.text()).toContain("nothing was deleted");
    expect(await services.prisma.user.count({ where: { id: danaActor.id } })).toBe(1);
  });

  it("keeps the last administrator", async () => {
    const response = await post(admin, "/settings/privacy", { intent: "delete", confirmEmail: "root@example.com", password: PASSWORD });
    expect(response.status).toBe(409);
    expect(await response.text()).toContain("only administrator");
    expect(await services.prisma.user.count({ where: { id: adminActor.id } })).toBe(1);
  });

  it("deletes my account with files, versions, shares and sessions, and pseudonymises my audit entries", async () => {
    const keys = [
      ...(await services.prisma.file.findMany({ where: { ownerId: danaActor.id }, select: { storageKey: true } })).map(
        (file) => file.storageKey,
      ),
      ...(await services.prisma.fileVersion.findMany({ where: { file: { ownerId: danaActor.id } }, select: { storageKey: true } })).map(
        (version) => version.storageKey,
      ),
    ];
    expect(keys.length).toBeGreaterThanOrEqual(4);
    const fileIds = (await services.prisma.file.findMany({ where: { ownerId: danaActor.id }, select: { id: true } })).map(
      (file) => file.id,
    );
    const someFile = await services.prisma.file.findFirstOrThrow({ where: { ownerId: danaActor.id, trashedAt: null } });
    await services.prisma.shareLink.create({
      data: { token: randomBytes(12).toString("hex"), ownerId: danaActor.id, fileId: someFile.id },
    });
    await services.prisma.userShare.create({ data: { ownerId: danaActor.id, granteeId: otherActor.id, fileId: someFile.id } });
    await recordAudit(
      services.prisma,
      { actorId: danaActor.id, actorLabel: "dana@example.com", ip: "198.51.100.7", userAgent: "Test" },
      { action: "auth.login" },
    );
    // A second device, signed in too.
    const danaPhone = new TestClient(app.url);
    await danaPhone.login("dana@example.com");

    const response = await post(dana, "/settings/privacy", { intent: "delete", confirmEmail: "Dana@Example.com ", password: PASSWORD });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/account-deleted");
    expect(response.headers.get("set-cookie")).toMatch(/Max-Age=0/);

    expect(await services.prisma.user.count({ where: { id: danaActor.id } })).toBe(0);
    expect(await services.prisma.file.count({ where: { ownerId: danaActor.id } })).toBe(0);
    expect(await services.prisma.folder.count({ where: { ownerId: danaActor.id } })).toBe(0);
    expect(await services.prisma.shareLink.count({ where: { ownerId: danaActor.id } })).toBe(0);
    expect(await services.prisma.userShare.count({ where: { ownerId: danaActor.id } })).toBe(0);
    expect(await services.prisma.session.count({ where: { userId: danaActor.id } })).toBe(0);
    for (const key of keys) expect(await services.storage.stat(key)).toBeNull();
    const found = await services.search.search(danaActor.id, "report");
    expect(JSON.stringify(found)).not.toContain(fileIds[0]);
    expect(JSON.stringify(found)).not.toContain("report.pdf");

    const pseudonym = pseudonymFor(services, danaActor.id);
    const audit = await services.prisma.auditEvent.findMany({ where: { actorId: danaActor.id } });
    expect(audit.length).toBeGreaterThanOrEqual(3);
    for (const row of audit) {
      expect(row.actorLabel).toBe(pseudonym);
      expect(row.ip).toBeNull();
      expect(row.userAgent).toBeNull();
    }
    expect(audit.map((row) => row.action)).toEqual(expect.arrayContaining(["auth.login", "user.data_exported", "user.deleted"]));
    expect(JSON.stringify(audit)).not.toContain("dana@example.com");

    // Both devices are signed out; the address can be registered again.
    for (const client of [dana, danaPhone]) {
      const after = await client.request("/files", { redirect: "manual" });
      expect([302, 303]).toContain(after.status);
    }
    const again = new TestClient(app.url);
    await again.register("Dana Again", "dana@example.com");
    expect((await again.get("/files")).status).toBe(200);
  });
});

const MiB = 1024 * 1024;

/** Every stored object whose key starts with the upload id (the data, .info, .json, .part). */
async function objectsOf(app: TestApp, uploadId: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of app.services.storage.list(uploadId)) keys.push(object.key);
  return keys;
}

/** An upload started and left unfinished: more than one 5 MiB part sent, so S3 holds a real multipart upload. */
async function startUpload(app: TestApp, client: TestClient, name: string): Promise<string> {
  const url = await createUpload(app, client, { name, size: 12 * MiB });
  const sent = await patchUpload(client, url, 0, new Uint8Array(randomBytes(6 * MiB)));
  expect(sent.status).toBe(204);
  return url;
}

const idOf = (url: string) => url.split("/").pop()!;

describe.each(DRIVER_SETS)("account deletion ends unfinished uploads at once ($label)", ({ drivers }) => {
  let app: TestApp;
  let services: Services;
  let restoreRemove: (() => void) | null = null;

  beforeAll(async () => {
    // A short expiry, so the last test can let the periodic sweep run for real.
    app = await startTestApp(drivers, { UPLOAD_EXPIRY_HOURS: String(8 / 3600) });
    // Deleting erases at once here; the grace period before a purge is tests/lifecycle.test.ts's.
    await updateSettings(app.services, { deletedAccountRetentionDays: 0 });
    services = app.services;
    await new TestClient(app.url).register("Root Admin", "root@example.com");
  });

  afterEach(() => {
    restoreRemove?.();
    restoreRemove = null;
  });

  async function newUser(email: string) {
    const client = new TestClient(app.url);
    await client.register("Ulla Uploader", email);
    const { id } = await services.prisma.user.findUniqueOrThrow({ where: { email }, select: { id: true } });
    return { client, id };
  }

  const deleteAccount = (client: TestClient, email: string) =>
    post(client, "/settings/privacy", { intent: "delete", confirmEmail: email, password: PASSWORD });

  async function expectNothingLeft(uploadIds: string[]) {
    for (const id of uploadIds) expect(await objectsOf(app, id)).toEqual([]);
    if (drivers.storage === "s3") expect(await incompleteMultipartUploads(app)).toBe(0);
    expect(await services.prisma.upload.count({ where: { id: { in: uploadIds } } })).toBe(0);
  }

  it("removes the partial data and rows, and the client cannot resume", async () => {
    const { client, id } = await newUser("ulla@example.com");
    const big = await startUpload(app, client, "big.bin");
    const small = await createUpload(app, client, { name: "small.txt", size: 100 });
    expect(await services.prisma.upload.count({ where: { ownerId: id } })).toBe(2);
    expect((await objectsOf(app, idOf(big))).length).toBeGreaterThan(0);
    // S3 opens a multipart upload at creation for the big one only: a small file is one PutObject when it completes.
    if (drivers.storage === "s3") expect(await incompleteMultipartUploads(app)).toBe(1);

    const response = await deleteAccount(client, "ulla@example.com");
    expect(response.status).toBe(302);
    await expectNothingLeft([idOf(big), idOf(small)]);

    // The browser's next chunk is refused plainly and stores nothing.
    const resumed = await patchUpload(client, big, 6 * MiB, new Uint8Array(randomBytes(MiB)));
    expect(resumed.status).toBe(401);
    expect(await resumed.text()).toContain("Log in again");
    await expectNothingLeft([idOf(big)]);
    const audit = await services.prisma.auditEvent.findFirstOrThrow({ where: { action: "user.deleted", targetId: id } });
    expect(audit.details).toMatchObject({ uploads: 2 });
  });

  it("stops a request still sending bytes, and nothing it wrote is left", async () => {
    const { client } = await newUser("streaming@example.com");
    const url = await createUpload(app, client, { name: "streaming.bin", size: 20 * MiB });
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
    const sending = patchUpload(client, url, 0, body).then(
      (response) => response.status,
      () => "connection closed",
    );
    controller.enqueue(new Uint8Array(randomBytes(6 * MiB)));
    // Let the bytes reach the store while the request stays open.
    await sleep(1500);

    const response = await deleteAccount(client, "streaming@example.com");
    expect(response.status).toBe(302);
    try {
      controller.enqueue(new Uint8Array(randomBytes(MiB)));
      controller.close();
    } catch {
      // The server already closed the request.
    }
    // tus ends the request gracefully when asked to let go of the upload; the next one is refused.
    expect([204, "connection closed"]).toContain(await sending);
    const resumed = await patchUpload(client, url, 0, new Uint8Array(randomBytes(MiB)));
    expect(resumed.status).toBe(401);
    await expectNothingLeft([idOf(url)]);
  });

  it("still deletes the account when the store fails, and the expiry sweep removes the rest", async () => {
    const { client, id } = await newUser("flaky@example.com");
    const url = await startUpload(app, client, "flaky.bin");
    // The store failing (e.g. S3 unreachable for a moment): injected, since the shared test server must keep running.
    const datastore = app.server.uploads.datastore;
    const remove = datastore.remove;
    datastore.remove = async () => {
      throw new Error("store unreachable");
    };
    restoreRemove = () => void (datastore.remove = remove);

    const response = await deleteAccount(client, "flaky@example.com");
    expect(response.status).toBe(302);
    expect(await services.prisma.user.count({ where: { id } })).toBe(0);
    expect(await services.prisma.upload.count({ where: { ownerId: id } })).toBe(0);
    if (drivers.storage === "s3") expect(await incompleteMultipartUploads(app)).toBe(1);

    restoreRemove();
    restoreRemove = null;
    // Once the upload has expired, the hourly job's sweep finds what the store still holds.
    await sleep(8500);
    // Swift's listing of multipart uploads can lag a moment behind; the job runs again anyway.
    for (let run = 0; run < 10; run++) {
      await cleanupAbandonedUploads(services, services.uploadTerminator!);
      if (drivers.storage === "local" || (await incompleteMultipartUploads(app)) === 0) break;
      await sleep(500);
    }
    await expectNothingLeft([idOf(url)]);
  });
});
