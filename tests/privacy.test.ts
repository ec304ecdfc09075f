import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { beforeAll, describe, expect, it } from "vitest";
import { recordAudit } from "~/domain/audit.server";
import { addFile } from "~/domain/files.server";
import { createFolder, getRootFolder } from "~/domain/folders.server";
import { pseudonymFor } from "~/domain/privacy.server";
import { trashItem } from "~/domain/trash.server";
import type { Services } from "~/services/index.server";
import { startTestApp, type DriverSet, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
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
  return addFile(services, { ownerId: owner.id, folderId, name, size: data.length, mimeType: "application/octet-stream", storageKey, sha256: createHash("sha256").update(data).digest("hex") });
}

function post(client: TestClient, path: string, fields: Record<string, string>) {
  return client.request(path, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields).toString(), redirect: "manual" });
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
    await services.prisma.fileVersion.create({ data: { fileId: reportFile.id, storageKey: versionKey, size: 11n, mimeType: "application/pdf", createdAt: new Date("2026-01-01T10:00:00Z"), replacedAt: new Date("2026-01-02T03:04:05Z") } });
    const otherRoot = (await getRootFolder(services, otherActor.id)).id;
    await putFile(services, otherActor, otherRoot, "otto-secret.txt", Buffer.from("not dana's"));
    await services.prisma.passkey.create({
      data: { userId: danaActor.id, credentialId: "dana-credential", publicKey: Buffer.from("not a real key"), deviceType: "multiDevice", backedUp: true, name: "Dana's phone" },
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
    expect(names).toEqual(expect.arrayContaining(["account.json", "files.json", "activity.json", "security-events.json", "files/Docs/", "files/Docs/Empty/", "files/Docs.txt", "trash/old.txt"]));
    expect(entries.get("files/Docs/report.pdf")!.equals(report)).toBe(true);
    expect(entries.get("trash/old.txt")!.toString()).toBe("in the trash");
    expect(entries.get("versions/Docs/2026-01-02 03-04-05 report.pdf")!.toString()).toBe("first draft");
    expect(names.some((name) => name.includes("otto"))).toBe(false);

    const account = JSON.parse(entries.get("account.json")!.toString());
    expect(account.profile).toMatchObject({ email: "dana@example.com", name: "Dana Data" });
    expect(account.sessions.length).toBeGreaterThan(0);
    expect(JSON.stringify(account)).not.toContain("passwordHash");
    expect(account.passkeys).toEqual([expect.objectContaining({ name: "Dana's phone", synced: true, lastUsedAt: null })]);
    expect(JSON.stringify(account)).not.toContain("dana-credential");
    const files = JSON.parse(entries.get("files.json")!.toString());
    const reportRecord = files.find((file: { name: string }) => file.name === "report.pdf");
    expect(reportRecord).toMatchObject({ archivePath: "files/Docs/report.pdf", size: report.length, sha256: createHash("sha256").update(report).digest("hex") });
    expect(reportRecord.versions).toEqual([expect.objectContaining({ archivePath: "versions/Docs/2026-01-02 03-04-05 report.pdf", size: 11 })]);
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
    const wrongPassword = await post(dana, "/settings/privacy", { intent: "delete", confirmEmail: "dana@example.com", password: "not my password at all" });
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
      ...(await services.prisma.file.findMany({ where: { ownerId: danaActor.id }, select: { storageKey: true } })).map((file) => file.storageKey),
      ...(await services.prisma.fileVersion.findMany({ where: { file: { ownerId: danaActor.id } }, select: { storageKey: true } })).map((version) => version.storageKey),
    ];
    expect(keys.length).toBeGreaterThanOrEqual(4);
    const fileIds = (await services.prisma.file.findMany({ where: { ownerId: danaActor.id }, select: { id: true } })).map((file) => file.id);
    const someFile = await services.prisma.file.findFirstOrThrow({ where: { ownerId: danaActor.id, trashedAt: null } });
    await services.prisma.shareLink.create({ data: { token: randomBytes(12).toString("hex"), ownerId: danaActor.id, fileId: someFile.id } });
    await services.prisma.userShare.create({ data: { ownerId: danaActor.id, granteeId: otherActor.id, fileId: someFile.id } });
    await recordAudit(services.prisma, { actorId: danaActor.id, actorLabel: "dana@example.com", ip: "198.51.100.7", userAgent: "Test" }, { action: "auth.login" });
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
