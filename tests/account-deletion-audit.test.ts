import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { beforeAll, describe, expect, it } from "vitest";
import { updateSettings } from "~/domain/admin/settings.server";
import { listAuditEvents, parseAuditFilter } from "~/domain/audit/audit-log.server";
import { createFolder, getRootFolder } from "~/domain/files/folders.server";
import { pseudonymFor } from "~/domain/accounts/account-deletion.server";
import { storageUsage } from "~/domain/files/quota.server";
import { trashItem } from "~/domain/files/trash.server";
import type { Services } from "~/services/index.server";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { DRIVER_SETS, PASSWORD, type Person, registerPerson, putFile } from "./support/people";

/**
 * Deleting an account: other people's audit entries about it lose its email (the pseudonym
 * takes its place), and giving its files away gives only what is outside its trash.
 */
describe.each(DRIVER_SETS)("deleting an account ($label)", ({ drivers }) => {
  let app: TestApp;
  let services: Services;
  let admin: Person;

  const person = (name: string, email: string) => registerPerson(app, name, email);

  const remove = (who: Person, files: string) =>
    admin.client.postForm(`/admin/users/${who.id}/delete`, { confirmEmail: who.email, proof: PASSWORD, files });

  beforeAll(async () => {
    app = await startTestApp(drivers);
    // Deleting erases at once here; the grace period before a purge is tests/lifecycle.test.ts's.
    await updateSettings(app.services, { deletedAccountRetentionDays: 0 });
    services = app.services;
    admin = await person("Ada Admin", "ada@example.com");
  });

  describe("other people's audit entries about the account", () => {
    it("name it by its pseudonym afterwards, and the filters still find them", async () => {
      const nia = await person("Nia Named", "nia@example.com");
      const bob = await person("Bob Bystander", "bob@example.com");
      // Events of other actors that name Nia's email: role, quota and status changes, a share with her,
      // a failed login typed with her address (in other letter case), a filtered audit export.
      expect((await admin.client.postForm("/admin/users", { intent: "set-role", userId: nia.id, role: "ADMIN" })).status).toBe(200);
      expect((await admin.client.postForm("/admin/users", { intent: "set-role", userId: nia.id, role: "USER" })).status).toBe(200);
      expect((await admin.client.postForm("/admin/users", { intent: "set-quota", userId: nia.id, quota: "5MB" })).status).toBe(200);
      expect((await admin.client.postForm("/admin/users", { intent: "set-quota", userId: bob.id, quota: "7MB" })).status).toBe(200);
      expect((await admin.client.postForm(`/admin/users/${nia.id}/status`, { intent: "deactivate", proof: PASSWORD })).status).toBe(302);
      expect((await admin.client.postForm(`/admin/users/${nia.id}/status`, { intent: "reactivate", proof: PASSWORD })).status).toBe(302);
      const bobRoot = await getRootFolder(services, bob.id);
      const memo = await putFile(services, bob.id, bobRoot.id, "memo.txt", Buffer.from("for Nia"));
      expect(
        (await bob.client.postForm("/shares", { intent: "share-user", item: `file:${memo.id}`, email: nia.email, permission: "READ" }))
          .status,
      ).toBe(200);
      expect((await new TestClient(app.url).login("NIA@Example.com", "not her password at all")).status).toBe(401);
      expect((await admin.client.get(`/admin/audit.csv?actor=${encodeURIComponent(nia.email)}`)).status).toBe(200);

      const mentioning = () => services.prisma.$queryRaw<Array<{ id: string }>>`
        SELECT id FROM audit_events WHERE strpos(lower(details::text), 'nia@example.com') > 0 OR lower(actor_label) = 'nia@example.com'`;
      const before = await mentioning();
      expect(before.length).toBeGreaterThanOrEqual(7);
      const adminRowsBefore = await services.prisma.auditEvent.findMany({ where: { actorId: admin.id }, orderBy: { id: "asc" } });

      expect((await remove(nia, "delete")).status).toBe(302);
      const pseudonym = pseudonymFor(services, nia.id);

      // No entry names her any more, wherever her email was.
      expect(await mentioning()).toEqual([]);
      const event = (action: string, where: Record<string, unknown> = {}) =>
        services.prisma.auditEvent.findMany({ where: { action, ...where }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
      expect(await event("user.role_changed", { targetId: nia.id })).toMatchObject([
        { actorId: admin.id, actorLabel: admin.email, targetType: "user", details: { email: pseudonym, before: "USER", after: "ADMIN" } },
        { actorId: admin.id, actorLabel: admin.email, targetType: "user", details: { email: pseudonym, before: "ADMIN", after: "USER" } },
      ]);
      expect(await event("user.quota_changed", { targetId: nia.id })).toMatchObject([{ details: { email: pseudonym, after: 5000000 } }]);
      expect(await event("user.deactivated", { targetId: nia.id })).toMatchObject([
        { actorLabel: admin.email, details: { email: pseudonym } },
      ]);
      expect(await event("user.reactivated", { targetId: nia.id })).toMatchObject([{ details: { email: pseudonym } }]);
      expect(await event("share.granted", { targetId: memo.id })).toMatchObject([
        { actorId: bob.id, actorLabel: bob.email, details: { granteeId: nia.id, granteeEmail: pseudonym, permission: "READ" } },
      ]);
      const failedLogin = (await event("auth.login", { outcome: "failure", actorId: null })).filter((row) =>
        JSON.stringify(row.details).includes(pseudonym),
      );
      expect(failedLogin).toMatchObject([{ actorLabel: "anonymous", details: { reason: "bad_credentials", email: pseudonym } }]);
      expect(await event("admin.audit_exported", { actorId: admin.id })).toMatchObject([{ details: { filter: { actor: pseudonym } } }]);

      // Only her email changed: other people's emails, and the actors' own addresses and agents, stay.
      expect(await event("user.quota_changed", { targetId: bob.id })).toMatchObject([{ details: { email: bob.email } }]);
      const adminRowsAfter = await services.prisma.auditEvent.findMany({
        where: { id: { in: adminRowsBefore.map((row) => row.id) } },
        orderBy: { id: "asc" },
      });
      expect(adminRowsAfter.map(({ details: _, ...row }) => row)).toEqual(adminRowsBefore.map(({ details: _, ...row }) => row));

      // The viewer's filters find the entries as before: by target id, action and actor.
      const byTarget = await listAuditEvents(services, parseAuditFilter(new URLSearchParams({ targetId: nia.id })));
      expect(byTarget.events.map((row) => row.action)).toEqual(
        expect.arrayContaining(["user.deleted", "user.reactivated", "user.deactivated", "user.quota_changed", "user.role_changed"]),
      );
      const byActor = await listAuditEvents(
        services,
        parseAuditFilter(new URLSearchParams({ actor: admin.email, action: "user.role_changed" })),
      );
      expect(byActor.events.filter((row) => row.targetId === nia.id)).toHaveLength(2);
      const page = await admin.client.get(`/admin/audit?targetId=${nia.id}`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain(pseudonym);
      expect(html).not.toContain(nia.email);
      const csv = await (await admin.client.get(`/admin/audit.csv?targetId=${nia.id}`)).text();
      expect(csv).toContain(pseudonym);
      expect(csv).not.toContain(nia.email);
    });

    it("does the same when the person deletes their own account", async () => {
      const sol = await person("Sol Self", "sol@example.com");
      expect((await admin.client.postForm("/admin/users", { intent: "set-quota", userId: sol.id, quota: "3MB" })).status).toBe(200);
      const leave = await sol.client.postForm("/settings/privacy", { intent: "delete", confirmEmail: sol.email, password: PASSWORD });
      expect(leave.status).toBe(302);
      expect(await services.prisma.user.count({ where: { id: sol.id } })).toBe(0);
      const [changed] = await services.prisma.auditEvent.findMany({ where: { action: "user.quota_changed", targetId: sol.id } });
      expect(changed).toMatchObject({ actorId: admin.id, actorLabel: admin.email, details: { email: pseudonymFor(services, sol.id) } });
    });
  });

  describe("giving the files to someone", () => {
    it("gives only what is outside the trash; the trash is deleted with its objects, and only given bytes count against the quota", async () => {
      const tia = await person("Tia Trashy", "tia@example.com");
      const kim = await person("Kim Keeper", "kim@example.com");
      const root = await getRootFolder(services, tia.id);
      const tiaActor = { id: tia.id, role: "USER" as const };
      const docs = await createFolder(services, tiaActor, root.id, "Docs");
      const kept = await putFile(services, tia.id, docs.id, "kept.txt", randomBytes(1000));
      const top = await putFile(services, tia.id, root.id, "top.txt", randomBytes(500));
      // In the trash: a big file trashed on its own inside Docs, and a folder with a file (and a version) in it.
      const trashedFile = await putFile(services, tia.id, docs.id, "old-draft.bin", randomBytes(6000));
      const oldStuff = await createFolder(services, tiaActor, root.id, "Old stuff");
      const inOld = await putFile(services, tia.id, oldStuff.id, "ancient.bin", randomBytes(4000));
      const versionKey = randomBytes(16).toString("hex");
      await services.storage.put(versionKey, Readable.from([Buffer.alloc(300, 7)]), { size: 300 });
      await services.prisma.fileVersion.create({
        data: { fileId: inOld.id, storageKey: versionKey, size: 300n, mimeType: "text/plain", createdAt: new Date() },
      });
      await trashItem(services, tiaActor, "file", trashedFile.id);
      await trashItem(services, tiaActor, "folder", oldStuff.id);

      // The confirmation page tells the given part from the trash.
      const html = await (await admin.client.get(`/admin/users/${tia.id}/delete`)).text();
      expect(html).toContain("2 files in 1 folder, 1.5 KiB");
      expect(html).toContain("their trash: 2 files and 1 folder, 10 KiB, deleted even if you give their files away");

      // Kim's quota has room for the 1,500 given bytes, not for the 10,300 in the trash.
      const kimRoot = await getRootFolder(services, kim.id);
      await putFile(services, kim.id, kimRoot.id, "mine.txt", randomBytes(1000));
      await services.prisma.user.update({ where: { id: kim.id }, data: { quotaBytes: 3000n } });
      const response = await remove(tia, `give:${kim.id}`);
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe("/admin/users?done=deleted-given");

      const given = await services.prisma.folder.findFirstOrThrow({
        where: { ownerId: kim.id, parentId: kimRoot.id, name: "From Tia Trashy" },
      });
      expect(await services.prisma.folder.findUniqueOrThrow({ where: { id: docs.id } })).toMatchObject({
        ownerId: kim.id,
        parentId: given.id,
        trashedAt: null,
      });
      expect(await services.prisma.file.findUniqueOrThrow({ where: { id: kept.id } })).toMatchObject({
        ownerId: kim.id,
        folderId: docs.id,
      });
      expect(await services.prisma.file.findUniqueOrThrow({ where: { id: top.id } })).toMatchObject({
        ownerId: kim.id,
        folderId: given.id,
      });
      // The trash is gone: rows and objects, versions included; Kim's trash is empty.
      for (const id of [trashedFile.id, inOld.id]) expect(await services.prisma.file.count({ where: { id } })).toBe(0);
      expect(await services.prisma.folder.count({ where: { id: oldStuff.id } })).toBe(0);
      for (const key of [trashedFile.storageKey, inOld.storageKey, versionKey]) expect(await services.storage.stat(key)).toBeNull();
      for (const key of [kept.storageKey, top.storageKey]) expect(await services.storage.stat(key)).not.toBeNull();
      expect(await services.prisma.file.count({ where: { ownerId: kim.id, trashedAt: { not: null } } })).toBe(0);
      expect(await (await kim.client.get("/trash")).text()).not.toContain("old-draft.bin");
      expect((await storageUsage(services, kim.id)).usedBytes).toBe(2500);
      expect((await (await kim.client.get(`/download/${kept.id}`)).arrayBuffer()).byteLength).toBe(1000);

      const deleted = await services.prisma.auditEvent.findFirstOrThrow({ where: { action: "user.deleted", targetId: tia.id } });
      expect(deleted.details).toMatchObject({ files: 2, versions: 1 });
      const transferred = await services.prisma.auditEvent.findFirstOrThrow({
        where: { action: "user.files_transferred", targetId: kim.id },
      });
      expect(transferred.details).toMatchObject({ files: 2, folders: 2 });
    });

    it("refuses when the receiver has no room for the given part, counting it without the trash, and deletes nothing", async () => {
      const uma = await person("Uma Unmoved", "uma@example.com");
      const lee = await person("Lee Limited", "lee@example.com");
      const root = await getRootFolder(services, uma.id);
      await putFile(services, uma.id, root.id, "live.bin", randomBytes(2000));
      const old = await putFile(services, uma.id, root.id, "trash.bin", randomBytes(9000));
      await trashItem(services, { id: uma.id, role: "USER" }, "file", old.id);
      await services.prisma.user.update({ where: { id: lee.id }, data: { quotaBytes: 1500n } });

      const refused = await remove(uma, `give:${lee.id}`);
      expect(refused.status).toBe(409);
      const message = await refused.text();
      expect(message).toContain("they need 2.0 KiB and Lee Limited has 1.5 KiB left");
      expect(await services.prisma.user.count({ where: { id: uma.id } })).toBe(1);
      expect(await services.prisma.file.count({ where: { ownerId: uma.id } })).toBe(2);
      expect(await services.storage.stat(old.storageKey)).not.toBeNull();
    });
  });
});
