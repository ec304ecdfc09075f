// Legal holds (issue 20 §2, decision 0041): every deletion path refused while a hold on the
// user, a folder above or the file itself is active, by pages, bulk, the API, WebDAV, the trash
// purges, version purges, account deletion and the storage check; and working again once the hold
// is released. Real PostgreSQL, the production build over HTTP.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eraseAccount, purgeDeletedAccounts, removeAccount } from "~/domain/accounts/account-deletion.server";
import { listHolds, placeHold, releaseHold } from "~/domain/admin/legal-holds.server";
import { updateSettings } from "~/domain/admin/settings.server";
import { type AuditActor, SYSTEM_ACTOR } from "~/domain/audit/audit.server";
import { runBulk } from "~/domain/files/bulk.server";
import { getRootFolder } from "~/domain/files/folders.server";
import { HeldError, holdFault } from "~/domain/files/holds.server";
import { moveItem } from "~/domain/files/rename-move.server";
import { deleteForever, emptyTrash, purgeExpiredTrash } from "~/domain/files/trash-purge.server";
import { trashItem } from "~/domain/files/trash.server";
import { purgeExpiredVersions } from "~/domain/files/version-purge.server";
import { restoreVersion } from "~/domain/files/versions.server";
import { checkStorage } from "~/domain/storage-check/storage-check.server";
import { createToken } from "~/domain/tokens/tokens.server";
import type { Services } from "~/services/index.server";
import { startTestApp, type TestApp } from "./support/app";
import { PASSWORD, putFile, registerPerson, type Person } from "./support/people";

const DAY = 24 * 60 * 60 * 1000;
const audit: AuditActor = { actorId: null, actorLabel: "admin@example.com", ip: null, userAgent: null };
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("legal holds", () => {
  let app: TestApp;
  let services: Services;
  let admin: Person;
  let ada: Person;
  let token: string;
  let rootId: string;
  /** My files/Case/Sub/evidence.txt (live, with a version), My files/Case/Sub/old.txt (trashed), My files/Other. */
  let caseId: string;
  let subId: string;
  let evidenceId: string;
  let trashedId: string;
  let otherId: string;
  let freeId: string;
  let adminUser: { id: string; role: "ADMIN" };

  const actor = () => ({ id: ada.id, role: "USER" as const });
  const dav = (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set("authorization", basic(ada.email, token));
    return fetch(`${app.url}/dav/${path}`, { ...init, headers, redirect: "manual" });
  };
  const api = (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${token}`);
    return fetch(`${app.url}/api/v1${path}`, { ...init, headers, redirect: "manual" });
  };
  const fileRow = (id: string) => services.prisma.file.findUnique({ where: { id }, select: { id: true, trashedAt: true, folderId: true } });
  const folderRow = (id: string) => services.prisma.folder.findUnique({ where: { id }, select: { id: true, trashedAt: true } });
  const versionCount = (id: string) => services.prisma.fileVersion.count({ where: { fileId: id } });

  async function place(targetType: "user" | "folder" | "file", itemId?: string) {
    return placeHold(services, adminUser, { targetType, email: ada.email, itemId, reason: `Case 42 (${targetType})` }, audit);
  }

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    services = app.services;
    admin = await registerPerson(app, "Admin", "admin-holds@example.com");
    adminUser = { id: admin.id, role: "ADMIN" };
    ada = await registerPerson(app, "Ada", "ada-holds@example.com");
    token = (
      await createToken(services, { id: ada.id, role: "USER" }, { name: "holds", scopes: ["files:write"], expiresAt: null }, SYSTEM_ACTOR)
    ).secret;
    rootId = (await getRootFolder(services, ada.id)).id;
    caseId = (await services.prisma.folder.create({ data: { ownerId: ada.id, parentId: rootId, name: "Case", nameKey: "case" } })).id;
    subId = (await services.prisma.folder.create({ data: { ownerId: ada.id, parentId: caseId, name: "Sub", nameKey: "sub" } })).id;
    otherId = (await services.prisma.folder.create({ data: { ownerId: ada.id, parentId: rootId, name: "Other", nameKey: "other" } })).id;
    evidenceId = (await putFile(services, ada.id, subId, "evidence.txt", Buffer.from("first"))).id;
    // A second content: the first becomes a version.
    const put = await dav("Case/Sub/evidence.txt", { method: "PUT", body: "second" });
    expect(put.status).toBe(204);
    expect(await versionCount(evidenceId)).toBe(1);
    trashedId = (await putFile(services, ada.id, subId, "old.txt", Buffer.from("old"))).id;
    await trashItem(services, actor(), "file", trashedId);
    freeId = (await putFile(services, ada.id, rootId, "free.txt", Buffer.from("free"))).id;
    // Versions kept: none (so a replace would prune every version, unless held).
    await updateSettings(services, { keepAllVersions: false, versionsKept: 0, versionRetentionDays: 1 });
  });
  afterAll(() => app?.close());

  describe.each(["user", "folder", "file"] as const)("under a hold on the %s", (targetType) => {
    let holdId: string;

    beforeAll(async () => {
      const itemId = targetType === "folder" ? caseId : targetType === "file" ? evidenceId : undefined;
      holdId = (await place(targetType, itemId)).id;
      // A file hold covers evidence.txt only: the trashed file needs its own hold for the purge rows.
      if (targetType === "file") await place("file", trashedId);
    });

    it("refuses trashing the file from its details page (409, nothing changed)", async () => {
      const response = await ada.client.postForm(`/details/file/${evidenceId}`, { intent: "trash" });
      expect(response.status).toBe(409);
      expect(await response.text()).toContain("on legal hold");
      expect((await fileRow(evidenceId))?.trashedAt).toBeNull();
    });

    it("refuses trashing the folder that holds it", async () => {
      await expect(trashItem(services, actor(), "folder", caseId)).rejects.toBeInstanceOf(HeldError);
      expect((await folderRow(caseId))?.trashedAt).toBeNull();
      expect((await folderRow(subId))?.trashedAt).toBeNull();
    });

    it("reports the held item in a bulk trash and trashes the others", async () => {
      const outcome = await runBulk(services, actor(), "trash", [
        { kind: "file", id: evidenceId },
        { kind: "file", id: freeId },
      ]);
      const held = outcome.results.find((result) => result.id === evidenceId)!;
      expect(held.ok).toBe(false);
      expect(held.status).toBe(409);
      expect((await fileRow(evidenceId))?.trashedAt).toBeNull();
      const free = outcome.results.find((result) => result.id === freeId)!;
      // Under a user hold everything of the user is held.
      expect(free.ok).toBe(targetType !== "user");
      if (free.ok) await services.prisma.file.update({ where: { id: freeId }, data: { trashedAt: null, trashRootId: null } });
    });

    it("refuses the API's trash and delete (409 problems)", async () => {
      const trash = await api(`/files/${evidenceId}/trash`, { method: "POST" });
      expect(trash.status).toBe(409);
      expect((await trash.json()).detail).toContain("legal hold");
      const remove = await api(`/files/${trashedId}`, { method: "DELETE" });
      expect(remove.status).toBe(409);
      expect(await fileRow(trashedId)).not.toBeNull();
    });

    it("refuses WebDAV DELETE of the file and of its folder, and MOVE over it of a folder", async () => {
      expect((await dav("Case/Sub/evidence.txt", { method: "DELETE" })).status).toBe(409);
      expect((await dav("Case", { method: "DELETE" })).status).toBe(409);
      const move = await dav("Other", {
        method: "MOVE",
        headers: { destination: `${app.url}/dav/Case/Sub/evidence.txt`, overwrite: "T" },
      });
      expect(move.status).toBe(409);
      expect((await fileRow(evidenceId))?.trashedAt).toBeNull();
      expect((await folderRow(otherId))?.trashedAt).toBeNull();
    });

    it("lets a PUT overwrite add a version and keeps every version (none pruned)", async () => {
      const before = await versionCount(evidenceId);
      expect((await dav("Case/Sub/evidence.txt", { method: "PUT", body: `v-${targetType}` })).status).toBe(204);
      expect(await versionCount(evidenceId)).toBe(before + 1);
    });

    it("keeps the version restored from (a hold keeps every version)", async () => {
      const [version] = await services.prisma.fileVersion.findMany({ where: { fileId: evidenceId }, take: 1 });
      const before = await versionCount(evidenceId);
      await restoreVersion(services, actor(), version!.id);
      expect(await versionCount(evidenceId)).toBe(before + 1);
    });

    it("refuses deleting for good from the trash page, and keeps it when the trash is emptied or expires", async () => {
      const page = await ada.client.postForm("/trash", { intent: "delete", kind: "file", id: trashedId, confirmed: "yes" });
      expect(page.status).toBe(409);
      await expect(deleteForever(services, actor(), "file", trashedId, audit)).rejects.toBeInstanceOf(HeldError);
      const emptied = await emptyTrash(services, actor(), audit);
      expect(emptied.held).toBeGreaterThanOrEqual(1);
      await purgeExpiredTrash(services, new Date(Date.now() + 365 * DAY));
      expect(await fileRow(trashedId)).not.toBeNull();
    });

    it("skips the file in the version purge (the lifecycle rule)", async () => {
      const before = await versionCount(evidenceId);
      expect(before).toBeGreaterThan(0);
      await purgeExpiredVersions(services, new Date(Date.now() + 365 * DAY));
      expect(await versionCount(evidenceId)).toBe(before);
    });

    it("refuses deleting the account, by an admin, by erasure and by the grace purge", async () => {
      await expect(removeAccount(services, ada.id, { actor: audit })).rejects.toBeInstanceOf(HeldError);
      await expect(eraseAccount(services, ada.id, { actor: audit })).rejects.toBeInstanceOf(HeldError);
      const self = await ada.client.postForm("/settings/privacy", { intent: "delete", confirmEmail: ada.email, password: PASSWORD });
      expect(self.status).toBe(409);
      await services.prisma.user.update({ where: { id: ada.id }, data: { deletedAt: new Date(Date.now() - 400 * DAY) } });
      await purgeDeletedAccounts(services);
      expect(await services.prisma.user.findUnique({ where: { id: ada.id } })).not.toBeNull();
      await services.prisma.user.update({ where: { id: ada.id }, data: { deletedAt: null, deactivatedAt: null } });
      expect(await fileRow(evidenceId)).not.toBeNull();
    });

    it("keeps the file's object through a repairing storage check", async () => {
      const file = await services.prisma.file.findUniqueOrThrow({ where: { id: evidenceId } });
      await checkStorage(services, { repairOrphans: true });
      expect(await services.storage.stat(file.storageKey)).not.toBeNull();
    });

    it("refuses even a direct DELETE in the database (the trigger under the checks)", async () => {
      const error = await services.prisma.$executeRaw`DELETE FROM files WHERE id = ${evidenceId}`.catch((e: unknown) => e);
      expect(holdFault(error)).toBeInstanceOf(HeldError);
      const cascade = await services.prisma.$executeRaw`DELETE FROM folders WHERE id = ${caseId}`.catch((e: unknown) => e);
      expect(holdFault(cascade)).toBeInstanceOf(HeldError);
      expect(await fileRow(evidenceId)).not.toBeNull();
    });

    it("works again once released (audited both ways)", async () => {
      const holds = await listHolds(services, adminUser);
      for (const hold of holds.active) await releaseHold(services, adminUser, hold.id, { reason: "Case closed" }, audit);
      expect((await listHolds(services, adminUser)).active).toHaveLength(0);
      const events = await services.prisma.auditEvent.findMany({ where: { action: { in: ["admin.hold_placed", "admin.hold_released"] } } });
      expect(
        events.some((event) => (event.details as { holdId?: string }).holdId === holdId && event.action === "admin.hold_released"),
      ).toBe(true);
      // Trash and restore: allowed now.
      await trashItem(services, actor(), "file", evidenceId);
      await services.prisma.file.update({ where: { id: evidenceId }, data: { trashedAt: null, trashRootId: null } });
      const pruned = await purgeExpiredVersions(services, new Date(Date.now() + 365 * DAY));
      expect(pruned.versions).toBeGreaterThan(0);
      // Put a version back for the next hold kind.
      expect((await dav("Case/Sub/evidence.txt", { method: "PUT", body: randomBytes(8).toString("hex") })).status).toBe(204);
      await updateSettings(services, { keepAllVersions: true });
      expect((await dav("Case/Sub/evidence.txt", { method: "PUT", body: randomBytes(8).toString("hex") })).status).toBe(204);
      await updateSettings(services, { keepAllVersions: false, versionsKept: 0, versionRetentionDays: 1 });
    });
  });

  it("keeps a file from being moved out of a held folder, but not within it", async () => {
    const hold = await place("folder", caseId);
    await expect(moveItem(services, actor(), "file", evidenceId, rootId)).rejects.toBeInstanceOf(HeldError);
    expect((await fileRow(evidenceId))?.folderId).toBe(subId);
    await moveItem(services, actor(), "file", evidenceId, caseId);
    expect((await fileRow(evidenceId))?.folderId).toBe(caseId);
    // A file moved in later is covered too.
    await moveItem(services, actor(), "file", freeId, caseId);
    await expect(trashItem(services, actor(), "file", freeId)).rejects.toBeInstanceOf(HeldError);
    await releaseHold(services, adminUser, hold.id, { reason: "done" }, audit);
  });

  it("deletes for good once every hold is released", async () => {
    await expect(deleteForever(services, actor(), "file", trashedId, audit)).resolves.toMatchObject({ id: trashedId });
    expect(await fileRow(trashedId)).toBeNull();
  });

  it("shows a Legal hold badge in the listing and on the details page, only while held", async () => {
    const hold = await place("folder", caseId);
    const badges = (html: string) => html.split(">Legal hold<").length - 1;
    // My files: only the Case row; inside Case: Sub, evidence.txt and free.txt (moved in).
    expect(badges(await (await ada.client.get("/files")).text())).toBe(1);
    expect(badges(await (await ada.client.get(`/files/${caseId}`)).text())).toBe(3);
    expect(badges(await (await ada.client.get(`/files/${caseId}?view=grid`)).text())).toBe(3);
    expect(await (await ada.client.get(`/details/folder/${subId}`)).text()).toContain('data-testid="legal-hold"');
    expect(await (await ada.client.get(`/details/folder/${otherId}`)).text()).not.toContain('data-testid="legal-hold"');
    await releaseHold(services, adminUser, hold.id, { reason: "done" }, audit);
    expect(badges(await (await ada.client.get(`/files/${caseId}`)).text())).toBe(0);
    expect(await (await ada.client.get(`/details/folder/${subId}`)).text()).not.toContain('data-testid="legal-hold"');
  });

  it("places, reads and releases holds through the API (admin only), and refuses hostile input", async () => {
    const adminToken = (
      await createToken(
        services,
        { id: admin.id, role: "ADMIN" },
        { name: "holds-admin", scopes: ["admin"], expiresAt: null },
        SYSTEM_ACTOR,
      )
    ).secret;
    const call = (path: string, body?: unknown, bearer = adminToken) =>
      fetch(`${app.url}/api/v1${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
    const placed = await call("/admin/holds", { targetType: "folder", email: ada.email, path: "/Case/Sub", reason: "API case" });
    expect(placed.status).toBe(201);
    const hold = await placed.json();
    expect(hold).toMatchObject({ targetType: "folder", targetId: subId, targetLabel: "Folder /Case/Sub", releasedAt: null });
    expect((await (await call(`/admin/holds/${hold.id}`)).json()).reason).toBe("API case");
    expect((await (await call("/admin/holds")).json()).active.map((h: { id: string }) => h.id)).toContain(hold.id);
    // Someone else's token (files scopes only, not an administrator) is refused; nothing changes.
    expect((await call("/admin/holds", undefined, token)).status).toBe(403);
    expect((await call(`/admin/holds/${hold.id}/release`, { reason: "mine now" }, token)).status).toBe(403);
    expect((await ada.client.get("/admin/holds")).status).toBe(403);
    expect((await ada.client.postForm("/admin/holds", { intent: "release", holdId: hold.id, reason: "mine now" })).status).toBe(403);
    // Hostile input: 4xx, never a 5xx, nothing placed.
    const before = await services.prisma.legalHold.count();
    for (const body of [
      "{not json",
      { targetType: "label", email: ada.email, reason: "Nope" },
      { targetType: "user", email: ada.email, reason: "x".repeat(501) },
      { targetType: "user", email: ada.email, reason: "Nul\u0000byte" },
      { targetType: "user", email: ada.email, reason: "Extra", extra: true },
      { targetType: "file", email: ada.email, itemId: "../../etc", reason: "Bad id" },
      { targetType: "file", email: ada.email, path: "/no/such/file.txt", reason: "Missing" },
      { targetType: "file", email: "nobody@example.com", itemId: evidenceId, reason: "Wrong owner" },
      { targetType: "folder", email: admin.email, itemId: caseId, reason: "Someone else's folder" },
    ]) {
      const response = await call("/admin/holds", body);
      expect(response.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      expect(response.status, JSON.stringify(body)).toBeLessThan(500);
    }
    expect(await services.prisma.legalHold.count()).toBe(before);
    expect((await call(`/admin/holds/${"z".repeat(300)}`)).status).toBe(404);
    expect((await call(`/admin/holds/${hold.id}/release`, { reason: "" })).status).toBe(422);
    const released = await call(`/admin/holds/${hold.id}/release`, { reason: "API done" });
    expect(released.status).toBe(200);
    expect((await released.json()).releaseReason).toBe("API done");
    expect((await call(`/admin/holds/${hold.id}/release`, { reason: "again" })).status).toBe(409);
  });

  it("refuses a release without a reason and a second release", async () => {
    const hold = await place("file", evidenceId);
    await expect(releaseHold(services, adminUser, hold.id, { reason: "" }, audit)).rejects.toMatchObject({ status: 400 });
    await releaseHold(services, adminUser, hold.id, { reason: "Settled" }, audit);
    await expect(releaseHold(services, adminUser, hold.id, { reason: "Again" }, audit)).rejects.toMatchObject({ status: 409 });
    await expect(
      placeHold(services, { id: ada.id, role: "USER" } as never, { targetType: "user", email: ada.email, reason: "mine" }, audit),
    ).rejects.toMatchObject({
      status: 403,
    });
  });
});
