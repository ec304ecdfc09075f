import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { io as connectSocket, type Socket } from "socket.io-client";
import { beforeAll, describe, expect, it } from "vitest";
import { updateSettings } from "~/domain/admin/settings.server";
import { setUserActive } from "~/domain/admin/admin-users.server";
import { SYSTEM_ACTOR } from "~/domain/audit/audit.server";
import { createFolder, getRootFolder } from "~/domain/files/folders.server";
import { pseudonymFor } from "~/domain/accounts/account-deletion.server";
import { createSession } from "~/domain/accounts/sessions.server";
import { newShareToken } from "~/domain/sharing/share-links.server";
import type { Services } from "~/services/index.server";
import { metrics } from "~/services/metrics.server";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { DRIVER_SETS, PASSWORD, type Person, registerPerson, putFile } from "./support/people";
import { createUpload, openPatch, patchUpload, tusHeaders } from "./support/tus";

function connect(app: TestApp, cookie: string): Promise<Socket> {
  const socket = connectSocket(app.url, { path: "/socket.io", extraHeaders: { cookie }, transports: ["websocket"], reconnection: false });
  return new Promise<Socket>((resolve, reject) => {
    socket.on("connect", () => resolve(socket));
    socket.on("connect_error", (error) => {
      socket.close();
      reject(error);
    });
  });
}

describe.each(DRIVER_SETS)("admins deactivate and delete accounts ($label)", ({ drivers }) => {
  let app: TestApp;
  let services: Services;
  let admin: Person;

  const person = (name: string, email: string) => registerPerson(app, name, email);

  const setStatus = (who: Person, intent: "deactivate" | "reactivate", fields: Record<string, string> = { proof: PASSWORD }) =>
    admin.client.postForm(`/admin/users/${who.id}/status`, { intent, ...fields });
  const remove = (who: Person, fields: Record<string, string>) =>
    admin.client.postForm(`/admin/users/${who.id}/delete`, { confirmEmail: who.email, proof: PASSWORD, files: "delete", ...fields });

  beforeAll(async () => {
    app = await startTestApp(drivers);
    // Deleting erases at once here; the grace period before a purge is tests/lifecycle.test.ts's.
    await updateSettings(app.services, { deletedAccountRetentionDays: 0 });
    services = app.services;
    admin = await person("Ada Admin", "ada@example.com");
  });

  describe("permissions", () => {
    it("answers 403 to non-admins on every new page and post, and sends visitors to log in", async () => {
      const bob = await person("Bob Basic", "bob@example.com");
      const carl = await person("Carl Colleague", "carl@example.com");
      for (const path of [`/admin/users/${carl.id}/status`, `/admin/users/${carl.id}/delete`]) {
        expect((await bob.client.get(path)).status).toBe(403);
        const anonymous = await new TestClient(app.url).get(path);
        expect(anonymous.status).toBe(302);
        expect(anonymous.headers.get("location")).toMatch(/^\/login\?redirectTo=/);
      }
      expect((await bob.client.postForm(`/admin/users/${carl.id}/status`, { intent: "deactivate", proof: PASSWORD })).status).toBe(403);
      expect(
        (await bob.client.postForm(`/admin/users/${carl.id}/delete`, { confirmEmail: carl.email, proof: PASSWORD, files: "delete" }))
          .status,
      ).toBe(403);
      const after = await services.prisma.user.findUniqueOrThrow({ where: { id: carl.id } });
      expect(after.deactivatedAt).toBeNull();
    });

    it("does not let an admin deactivate or delete themselves here, and says where self-deletion is", async () => {
      const page = await admin.client.get(`/admin/users/${admin.id}/delete`);
      expect(page.status).toBe(403);
      expect(await page.text()).toContain("Privacy");
      expect((await admin.client.get(`/admin/users/${admin.id}/status`)).status).toBe(403);
      expect((await setStatus(admin, "deactivate")).status).toBe(403);
      expect((await remove(admin, {})).status).toBe(403);
      const me = await services.prisma.user.findUniqueOrThrow({ where: { id: admin.id } });
      expect(me.deactivatedAt).toBeNull();
      // The list offers no buttons for the admin's own row.
      const list = await (await admin.client.get("/admin/users")).text();
      expect(list).not.toContain(`/admin/users/${admin.id}/`);
      expect(list).toContain("Delete your own account in");
    });

    it("answers 404 for an unknown account", async () => {
      expect((await admin.client.get("/admin/users/no-such-user/status")).status).toBe(404);
      expect((await admin.client.get("/admin/users/no-such-user/delete")).status).toBe(404);
    });
  });

  describe("deactivation", () => {
    let dora: Person;
    let token: string;
    let uploadUrl: string;
    let fileKey: string;

    beforeAll(async () => {
      dora = await person("Dora Departing", "dora@example.com");
      const root = await getRootFolder(services, dora.id);
      const file = await putFile(services, dora.id, root.id, "notes.txt", Buffer.from("Dora's notes"));
      fileKey = file.storageKey;
      token = newShareToken();
      await services.prisma.shareLink.create({ data: { token, ownerId: dora.id, fileId: file.id } });
      uploadUrl = await createUpload(app, dora.client, { name: "half.bin", size: 100 });
      expect((await patchUpload(dora.client, uploadUrl, 0, new Uint8Array(randomBytes(50)))).status).toBe(204);
    });

    it("needs the admin's password", async () => {
      const missing = await setStatus(dora, "deactivate", {});
      expect(missing.status).toBe(400);
      expect(await missing.text()).toContain("Enter your password");
      const wrong = await setStatus(dora, "deactivate", { proof: "not the admin password" });
      expect(wrong.status).toBe(401);
      expect(await wrong.text()).toContain("That password is not right");
      expect((await services.prisma.user.findUniqueOrThrow({ where: { id: dora.id } })).deactivatedAt).toBeNull();
      expect((await dora.client.get("/files")).status).toBe(200);
    });

    it("signs the person out everywhere, refuses their logins, share links and uploads, and keeps their files", async () => {
      const phone = new TestClient(app.url);
      expect((await phone.login(dora.email)).status).toBe(302);
      const socket = await connect(app, dora.client.cookieHeader);
      const closed = new Promise<string>((resolve) => socket.on("disconnect", (reason) => resolve(reason)));
      expect((await new TestClient(app.url).get(`/s/${token}`)).status).toBe(200);

      const page = await admin.client.get(`/admin/users/${dora.id}/status`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("Deactivate Dora Departing");
      const response = await setStatus(dora, "deactivate");
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe("/admin/users?done=deactivated");

      // Live connection closed at once; every session is gone.
      expect(await closed).toBe("io server disconnect");
      expect(await services.prisma.session.count({ where: { userId: dora.id } })).toBe(0);
      for (const client of [dora.client, phone]) {
        const after = await client.get("/files");
        expect(after.status).toBe(302);
        expect(after.headers.get("location")).toMatch(/^\/login/);
      }
      await expect(connect(app, dora.client.cookieHeader)).rejects.toThrow();

      // Login is refused with a clear message, but only to someone who knows the password.
      const login = await new TestClient(app.url).login(dora.email);
      expect(login.status).toBe(403);
      expect(await login.text()).toContain("This account has been deactivated");
      const guess = await new TestClient(app.url).login(dora.email, "a wrong password guess");
      expect(guess.status).toBe(401);
      expect(await guess.text()).not.toContain("deactivated");
      // Every other way of signing in (passkey, two-step, single sign-on) ends in createSession.
      await expect(createSession(services, dora.id, new Request(app.url), null)).rejects.toThrow("This account has been deactivated");

      // The share link answers as an expired one.
      const link = await new TestClient(app.url).get(`/s/${token}`);
      expect(link.status).toBe(410);
      expect(await link.text()).toContain("This link has expired");
      expect(
        (
          await new TestClient(app.url).get(
            `/s/${token}/download/${(await services.prisma.file.findFirstOrThrow({ where: { ownerId: dora.id } })).id}`,
          )
        ).status,
      ).toBe(410);

      // The unfinished upload is refused, and kept.
      const resumed = await patchUpload(dora.client, uploadUrl, 50, new Uint8Array(randomBytes(50)));
      expect(resumed.status).toBe(401);
      expect(await services.prisma.upload.count({ where: { ownerId: dora.id } })).toBe(1);

      // The files stay.
      expect(await services.prisma.file.count({ where: { ownerId: dora.id } })).toBe(1);
      expect(await services.storage.stat(fileKey)).not.toBeNull();

      const list = await admin.client.get("/admin/users?done=deactivated");
      const html = await list.text();
      expect(html).toContain("The account was deactivated");
      expect(html).toMatch(/data-testid="deactivated"[^>]*>Deactivated since/);
      expect(html).toContain("Reactivate…");

      const audit = await services.prisma.auditEvent.findFirstOrThrow({ where: { action: "user.deactivated", targetId: dora.id } });
      expect(audit).toMatchObject({ actorId: admin.id, actorLabel: admin.email, targetType: "user", outcome: "success" });
      const failed = await services.prisma.auditEvent.findFirst({ where: { action: "auth.login", outcome: "failure", targetId: dora.id } });
      expect(failed?.details).toMatchObject({ reason: "deactivated" });
    });

    it("reactivation restores login, share links and the unfinished upload", async () => {
      const page = await admin.client.get(`/admin/users/${dora.id}/status`);
      expect(await page.text()).toContain("Reactivate Dora Departing");
      const response = await setStatus(dora, "reactivate");
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe("/admin/users?done=reactivated");
      expect((await services.prisma.user.findUniqueOrThrow({ where: { id: dora.id } })).deactivatedAt).toBeNull();

      expect((await dora.client.login(dora.email)).status).toBe(302);
      expect((await dora.client.get("/files")).status).toBe(200);
      expect((await new TestClient(app.url).get(`/s/${token}`)).status).toBe(200);
      const resumed = await patchUpload(dora.client, uploadUrl, 50, new Uint8Array(randomBytes(50)));
      expect(resumed.status).toBe(204);
      expect(await services.prisma.file.count({ where: { ownerId: dora.id, name: "half.bin" } })).toBe(1);

      const audit = await services.prisma.auditEvent.findFirstOrThrow({ where: { action: "user.reactivated", targetId: dora.id } });
      expect(audit).toMatchObject({ actorId: admin.id, targetType: "user" });
    });
  });

  describe("an upload sending bytes at deactivation", () => {
    it("stops, keeps what arrived, and resumes after reactivation", async () => {
      const eli = await person("Eli Streaming", "eli@example.com");
      const size = 8 * 1024 * 1024;
      const url = await createUpload(app, eli.client, { name: "stream.bin", size });
      const sending = openPatch(eli.client, url);
      sending.send(new Uint8Array(randomBytes(6 * 1024 * 1024)));
      // Let the bytes reach the store while the request stays open.
      await sleep(1500);

      expect((await setStatus(eli, "deactivate")).status).toBe(302);
      sending.end(new Uint8Array(randomBytes(1024 * 1024)));
      expect([204, "connection closed"]).toContain(await sending.outcome);
      expect((await patchUpload(eli.client, url, 0, new Uint8Array(randomBytes(10)))).status).toBe(401);
      expect(await services.prisma.upload.count({ where: { ownerId: eli.id } })).toBe(1);

      expect((await setStatus(eli, "reactivate")).status).toBe(302);
      expect((await eli.client.login(eli.email)).status).toBe(302);
      const head = await fetch(url, { method: "HEAD", headers: tusHeaders(eli.client) });
      expect(head.status).toBe(200);
      const offset = Number(head.headers.get("upload-offset"));
      // Nothing sent after the deactivation was stored.
      expect(offset).toBeGreaterThan(0);
      expect(offset).toBeLessThanOrEqual(6 * 1024 * 1024);
      const rest = await patchUpload(eli.client, url, offset, new Uint8Array(randomBytes(size - offset)));
      expect(rest.status).toBe(204);
      expect(await services.prisma.file.count({ where: { ownerId: eli.id, name: "stream.bin", size: BigInt(size) } })).toBe(1);
    });
  });

  describe("the last active administrator", () => {
    it("always stays: a deactivated admin does not count, and cannot act on the last one", async () => {
      const zed = await person("Zed Second", "zed@example.com");
      await services.prisma.user.update({ where: { id: zed.id }, data: { role: "ADMIN" } });
      expect((await setStatus(zed, "deactivate")).status).toBe(302);

      // Zed's request was already under way when Ada deactivated them: it must not leave Coffer without an admin.
      const staleZed = { id: zed.id, email: zed.email, name: zed.name, role: "ADMIN" as const, sessionId: "ended" };
      await expect(setUserActive(services, staleZed, admin.id, false, PASSWORD, SYSTEM_ACTOR)).rejects.toThrow("Only administrators");
      expect((await services.prisma.user.findUniqueOrThrow({ where: { id: admin.id } })).deactivatedAt).toBeNull();

      // With Zed deactivated, Ada is the only administrator: no stepping down, no self-deletion.
      const demote = await admin.client.postForm("/admin/users", { intent: "set-role", userId: admin.id, role: "USER" });
      expect(demote.status).toBe(409);
      const leave = await admin.client.postForm("/settings/privacy", { intent: "delete", confirmEmail: admin.email, password: PASSWORD });
      expect(leave.status).toBe(409);
      // A deactivated admin can still be demoted: they are not the one keeping Coffer managed.
      expect((await admin.client.postForm("/admin/users", { intent: "set-role", userId: zed.id, role: "USER" })).status).toBe(200);
      expect((await services.prisma.user.findUniqueOrThrow({ where: { id: admin.id } })).role).toBe("ADMIN");
    });
  });

  describe("deletion", () => {
    it("shows what will be deleted, and refuses a wrong email or password without deleting anything", async () => {
      const fay = await person("Fay Facts", "fay@example.com");
      const root = await getRootFolder(services, fay.id);
      const docs = await createFolder(services, { id: fay.id, role: "USER" }, root.id, "Docs");
      const a = await putFile(services, fay.id, docs.id, "a.txt", Buffer.alloc(1500, 1));
      await putFile(services, fay.id, root.id, "b.txt", Buffer.alloc(500, 2));
      await services.prisma.shareLink.create({ data: { token: newShareToken(), ownerId: fay.id, fileId: a.id } });

      const page = await admin.client.get(`/admin/users/${fay.id}/delete`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain("Delete Fay Facts");
      expect(html).toContain("2 files in 1 folder, 2.0 KiB");
      expect(html).toContain("1 share link");
      expect(html).toContain("Delete their files");
      expect(html).toContain("Give their files to Ada Admin (ada@example.com)");
      expect(html).toContain("Type fay@example.com to confirm");

      const wrongEmail = await remove(fay, { confirmEmail: "someone@example.com" });
      expect(wrongEmail.status).toBe(400);
      expect(await wrongEmail.text()).toContain("Type fay@example.com exactly");
      const wrongPassword = await remove(fay, { proof: "not the admin password" });
      expect(wrongPassword.status).toBe(401);
      const badChoice = await remove(fay, { files: "keep-them-somewhere" });
      expect(badChoice.status).toBe(400);
      const deactivatedReceiver = await person("Gus Gone", "gus@example.com");
      await services.prisma.user.update({ where: { id: deactivatedReceiver.id }, data: { deactivatedAt: new Date() } });
      const toDeactivated = await remove(fay, { files: `give:${deactivatedReceiver.id}` });
      expect(toDeactivated.status).toBe(400);
      expect(await services.prisma.user.count({ where: { id: fay.id } })).toBe(1);
      expect(await services.prisma.file.count({ where: { ownerId: fay.id } })).toBe(2);
    });

    it("deletes the account with its files, objects, share links, sessions and unfinished uploads", async () => {
      const hal = await person("Hal Leaving", "hal@example.com");
      const root = await getRootFolder(services, hal.id);
      const file = await putFile(services, hal.id, root.id, "report.txt", randomBytes(3000));
      const token = newShareToken();
      await services.prisma.shareLink.create({ data: { token, ownerId: hal.id, fileId: file.id } });
      const uploadUrl = await createUpload(app, hal.client, { name: "unfinished.bin", size: 100 });
      expect((await patchUpload(hal.client, uploadUrl, 0, new Uint8Array(randomBytes(40)))).status).toBe(204);
      const uploadId = uploadUrl.split("/").pop()!;
      const socket = await connect(app, hal.client.cookieHeader);
      const closed = new Promise<string>((resolve) => socket.on("disconnect", (reason) => resolve(reason)));

      const sessionsEnded = async () =>
        (await metrics().socketEvents.get()).values.find((v) => v.labels.direction === "emitted" && v.labels.event === "session_end")
          ?.value ?? 0;
      const endedBefore = await sessionsEnded();
      const response = await remove(hal, { confirmEmail: " HAL@example.com " });
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe("/admin/users?done=deleted");
      expect(await closed).toBe("io server disconnect");
      expect((await sessionsEnded()) - endedBefore).toBe(1);

      expect(await services.prisma.user.count({ where: { id: hal.id } })).toBe(0);
      expect(await services.prisma.file.count({ where: { id: file.id } })).toBe(0);
      expect(await services.prisma.shareLink.count({ where: { token } })).toBe(0);
      expect(await services.prisma.upload.count({ where: { id: uploadId } })).toBe(0);
      expect(await services.storage.stat(file.storageKey)).toBeNull();
      const left: string[] = [];
      for await (const object of services.storage.list(uploadId)) left.push(object.key);
      expect(left).toEqual([]);
      expect((await new TestClient(app.url).get(`/s/${token}`)).status).toBe(404);
      const after = await hal.client.get("/files");
      expect(after.status).toBe(302);
      expect((await patchUpload(hal.client, uploadUrl, 40, new Uint8Array(randomBytes(60)))).status).toBe(401);

      const event = await services.prisma.auditEvent.findFirstOrThrow({ where: { action: "user.deleted", targetId: hal.id } });
      expect(event).toMatchObject({ actorId: admin.id, actorLabel: admin.email, targetType: "user" });
      expect(event.details).toMatchObject({ byAdmin: true, pseudonym: pseudonymFor(services, hal.id), files: 1, uploads: 1 });
      // Hal's own entries are kept under the pseudonym.
      const own = await services.prisma.auditEvent.findMany({ where: { actorId: hal.id } });
      expect(own.length).toBeGreaterThan(0);
      for (const row of own) expect(row.actorLabel).toBe(pseudonymFor(services, hal.id));
      expect(await (await admin.client.get("/admin/users?done=deleted")).text()).toContain("The account and its files were deleted.");
    });

    it('gives the files to another user, into a folder "From <name>", when their quota has room', async () => {
      const ivy = await person("Ivy Ending", "ivy@example.com");
      const jon = await person("Jon Keeper", "jon@example.com");
      const root = await getRootFolder(services, ivy.id);
      const docs = await createFolder(services, { id: ivy.id, role: "USER" }, root.id, "Docs");
      const nested = await putFile(services, ivy.id, docs.id, "plan.txt", Buffer.from("the plan, in full"));
      const top = await putFile(services, ivy.id, root.id, "top.txt", randomBytes(4000));
      const versionKey = randomBytes(16).toString("hex");
      await services.storage.put(versionKey, Readable.from([Buffer.from("older plan")]), { size: 10 });
      await services.prisma.fileVersion.create({
        data: { fileId: nested.id, storageKey: versionKey, size: 10n, mimeType: "text/plain", createdAt: new Date() },
      });
      const token = newShareToken();
      await services.prisma.shareLink.create({ data: { token, ownerId: ivy.id, fileId: top.id } });
      // Jon already has a folder of that name: the new one is numbered.
      const jonRoot = await getRootFolder(services, jon.id);
      await createFolder(services, { id: jon.id, role: "USER" }, jonRoot.id, "From Ivy Ending");
      await putFile(services, jon.id, jonRoot.id, "mine.txt", randomBytes(1000));

      // Jon's quota cannot take Ivy's 4027 bytes: a clear refusal, nothing deleted.
      await services.prisma.user.update({ where: { id: jon.id }, data: { quotaBytes: 3000n } });
      const handoversRefused = async () =>
        (await metrics().quotaRefusals.get()).values.find((v) => v.labels.operation === "handover")?.value ?? 0;
      const refusedBefore = await handoversRefused();
      const refused = await remove(ivy, { files: `give:${jon.id}` });
      expect(refused.status).toBe(409);
      expect((await handoversRefused()) - refusedBefore).toBe(1);
      const message = await refused.text();
      expect(message).toContain("Jon Keeper&#x27;s storage cannot take Ivy Ending&#x27;s files");
      expect(message).toContain("Nothing was deleted");
      expect(await services.prisma.user.count({ where: { id: ivy.id } })).toBe(1);
      expect(await services.prisma.file.count({ where: { ownerId: ivy.id } })).toBe(2);
      expect(await services.prisma.folder.count({ where: { ownerId: jon.id } })).toBe(2);

      await services.prisma.user.update({ where: { id: jon.id }, data: { quotaBytes: null } });
      const response = await remove(ivy, { files: `give:${jon.id}` });
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe("/admin/users?done=deleted-given");

      expect(await services.prisma.user.count({ where: { id: ivy.id } })).toBe(0);
      const given = await services.prisma.folder.findFirstOrThrow({
        where: { ownerId: jon.id, parentId: jonRoot.id, name: "From Ivy Ending (1)" },
      });
      const movedDocs = await services.prisma.folder.findUniqueOrThrow({ where: { id: docs.id } });
      expect(movedDocs).toMatchObject({ ownerId: jon.id, parentId: given.id });
      expect(await services.prisma.file.findUniqueOrThrow({ where: { id: nested.id } })).toMatchObject({
        ownerId: jon.id,
        folderId: docs.id,
      });
      expect(await services.prisma.file.findUniqueOrThrow({ where: { id: top.id } })).toMatchObject({
        ownerId: jon.id,
        folderId: given.id,
      });
      expect(await services.prisma.fileVersion.count({ where: { fileId: nested.id } })).toBe(1);
      // The objects are kept and Jon can read them; Ivy's share link is gone.
      for (const key of [nested.storageKey, top.storageKey, versionKey]) expect(await services.storage.stat(key)).not.toBeNull();
      const download = await jon.client.get(`/download/${nested.id}`);
      expect(download.status).toBe(200);
      expect(await download.text()).toBe("the plan, in full");
      expect((await jon.client.get(`/files/${given.id}`)).status).toBe(200);
      expect(await services.prisma.shareLink.count({ where: { token } })).toBe(0);
      const found = await services.search.search(jon.id, "plan");
      expect(found.hits.map((hit) => hit.id)).toContain(nested.id);

      const deleted = await services.prisma.auditEvent.findFirstOrThrow({ where: { action: "user.deleted", targetId: ivy.id } });
      expect(deleted).toMatchObject({ actorId: admin.id });
      expect(deleted.details).toMatchObject({ byAdmin: true, files: 0 });
      const transferred = await services.prisma.auditEvent.findFirstOrThrow({
        where: { action: "user.files_transferred", targetId: jon.id },
      });
      expect(transferred.details).toMatchObject({ files: 2, folders: 2, from: pseudonymFor(services, ivy.id) });
    });
  });
});
