// Retention rules (issue 20 §2, decision 0045): a keep-at-least rule on a folder refuses every
// deletion path (pages, bulk, the API, WebDAV, the trash purges, version purges, account
// deletion, moving out, a direct DELETE) for files younger than its days, and allows them once the
// age has passed; a delete-after rule's job deletes only eligible files, skipping held and kept
// ones, audited, with the quota usage updated. Real PostgreSQL, the production build over HTTP.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eraseAccount, removeAccount } from "~/domain/accounts/account-deletion.server";
import { placeHold } from "~/domain/admin/legal-holds.server";
import { addRetentionRule, listRetentionRules, removeRetentionRule } from "~/domain/admin/retention-rules.server";
import { updateSettings } from "~/domain/admin/settings.server";
import { type AuditActor, SYSTEM_ACTOR } from "~/domain/audit/audit.server";
import { runBulk } from "~/domain/files/bulk.server";
import { getRootFolder } from "~/domain/files/folders.server";
import { HeldError, holdFault, RetainedError } from "~/domain/files/holds.server";
import { moveItem } from "~/domain/files/rename-move.server";
import { runDeleteAfterRules } from "~/domain/files/retention-purge.server";
import { deleteForever, emptyTrash, purgeExpiredTrash } from "~/domain/files/trash-purge.server";
import { trashItem } from "~/domain/files/trash.server";
import { purgeExpiredVersions } from "~/domain/files/version-purge.server";
import { createToken } from "~/domain/tokens/tokens.server";
import type { Services } from "~/services/index.server";
import { startTestApp, type TestApp } from "./support/app";
import { putFile, registerPerson, type Person } from "./support/people";

const DAY = 24 * 60 * 60 * 1000;
const audit: AuditActor = { actorId: null, actorLabel: "admin@example.com", ip: null, userAgent: null };
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("retention rules", () => {
  let app: TestApp;
  let services: Services;
  let admin: Person;
  let ada: Person;
  let token: string;
  let rootId: string;
  /** My files/Records/Sub/record.txt (live, with a version), My files/Records/Sub/old.txt (trashed), My files/free.txt. */
  let recordsId: string;
  let subId: string;
  let recordId: string;
  let trashedId: string;
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
  const folderRow = (id: string) =>
    services.prisma.folder.findUnique({ where: { id }, select: { id: true, trashedAt: true, parentId: true } });
  const versionCount = (id: string) => services.prisma.fileVersion.count({ where: { fileId: id } });
  const age = (id: string, days: number) =>
    services.prisma.file.update({ where: { id }, data: { createdAt: new Date(Date.now() - days * DAY) } });
  const folder = async (parentId: string, name: string) =>
    (await services.prisma.folder.create({ data: { ownerId: ada.id, parentId, name, nameKey: name.toLowerCase() } })).id;

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    services = app.services;
    admin = await registerPerson(app, "Admin", "admin-retention@example.com");
    await services.prisma.user.update({ where: { id: admin.id }, data: { role: "ADMIN" } });
    adminUser = { id: admin.id, role: "ADMIN" };
    ada = await registerPerson(app, "Ada", "ada-retention@example.com");
    token = (
      await createToken(
        services,
        { id: ada.id, role: "USER" },
        { name: "retention", scopes: ["files:write"], expiresAt: null },
        SYSTEM_ACTOR,
      )
    ).secret;
    rootId = (await getRootFolder(services, ada.id)).id;
    recordsId = await folder(rootId, "Records");
    subId = await folder(recordsId, "Sub");
    recordId = (await putFile(services, ada.id, subId, "record.txt", Buffer.from("first"))).id;
    expect((await dav("Records/Sub/record.txt", { method: "PUT", body: "second" })).status).toBe(204);
    expect(await versionCount(recordId)).toBe(1);
    trashedId = (await putFile(services, ada.id, subId, "old.txt", Buffer.from("old"))).id;
    await trashItem(services, actor(), "file", trashedId);
    freeId = (await putFile(services, ada.id, rootId, "free.txt", Buffer.from("free"))).id;
    await updateSettings(services, { keepAllVersions: false, versionsKept: 0, versionRetentionDays: 1 });
  });
  afterAll(() => app?.close());

  describe("keep at least 30 days on a folder", () => {
    let ruleId: string;
    beforeAll(async () => {
      ruleId = (
        await addRetentionRule(
          services,
          adminUser,
          { email: ada.email, path: "/Records", kind: "keep_at_least", days: 30, reason: "Records act" },
          audit,
        )
      ).id;
    });

    it("refuses trashing the file from its details page (409 saying until when)", async () => {
      const response = await ada.client.postForm(`/details/file/${recordId}`, { intent: "trash" });
      expect(response.status).toBe(409);
      const until = new Date(Date.now() + 30 * DAY).toISOString().slice(0, 10);
      const text = await response.text();
      expect(text).toContain("kept by a retention rule");
      expect(text).toMatch(new RegExp(`until (${until}|\\d{4}-\\d{2}-\\d{2})`));
      expect((await fileRow(recordId))?.trashedAt).toBeNull();
      expect(await (await ada.client.get(`/details/file/${recordId}`)).text()).toContain('data-testid="retained-until"');
      expect(await (await ada.client.get(`/details/file/${freeId}`)).text()).not.toContain('data-testid="retained-until"');
    });

    it("refuses trashing the folder that holds it, and reports it in a bulk trash", async () => {
      await expect(trashItem(services, actor(), "folder", recordsId)).rejects.toBeInstanceOf(RetainedError);
      expect((await folderRow(subId))?.trashedAt).toBeNull();
      const outcome = await runBulk(services, actor(), "trash", [
        { kind: "file", id: recordId },
        { kind: "file", id: freeId },
      ]);
      expect(outcome.results.find((result) => result.id === recordId)).toMatchObject({ ok: false, status: 409 });
      expect(outcome.results.find((result) => result.id === freeId)).toMatchObject({ ok: true });
      await services.prisma.file.update({ where: { id: freeId }, data: { trashedAt: null, trashRootId: null } });
    });

    it("refuses the API's trash and delete, and WebDAV's DELETE", async () => {
      const trash = await api(`/files/${recordId}/trash`, { method: "POST" });
      expect(trash.status).toBe(409);
      expect((await trash.json()).detail).toContain("retention rule");
      expect((await api(`/files/${trashedId}`, { method: "DELETE" })).status).toBe(409);
      expect((await dav("Records/Sub/record.txt", { method: "DELETE" })).status).toBe(409);
      expect((await dav("Records", { method: "DELETE" })).status).toBe(409);
      expect((await fileRow(recordId))?.trashedAt).toBeNull();
      expect(await fileRow(trashedId)).not.toBeNull();
    });

    it("keeps a kept file in the trash through delete, empty and expiry, and its versions", async () => {
      await expect(deleteForever(services, actor(), "file", trashedId, audit)).rejects.toBeInstanceOf(RetainedError);
      expect((await emptyTrash(services, actor(), audit)).held).toBeGreaterThanOrEqual(1);
      await purgeExpiredTrash(services, new Date(Date.now() + 365 * DAY));
      expect(await fileRow(trashedId)).not.toBeNull();
      await purgeExpiredVersions(services, new Date(Date.now() + 365 * DAY));
      expect(await versionCount(recordId)).toBe(1);
    });

    it("refuses deleting the account", async () => {
      await expect(removeAccount(services, ada.id, { actor: audit })).rejects.toBeInstanceOf(RetainedError);
      await expect(eraseAccount(services, ada.id, { actor: audit })).rejects.toBeInstanceOf(HeldError);
      expect(await fileRow(recordId)).not.toBeNull();
    });

    it("refuses moving a kept file or its folder out, allows moving within, and covers what is moved in", async () => {
      await expect(moveItem(services, actor(), "file", recordId, rootId)).rejects.toBeInstanceOf(RetainedError);
      await expect(moveItem(services, actor(), "folder", subId, rootId)).rejects.toBeInstanceOf(RetainedError);
      expect((await fileRow(recordId))?.folderId).toBe(subId);
      expect((await folderRow(subId))?.parentId).toBe(recordsId);
      await moveItem(services, actor(), "file", recordId, recordsId);
      expect((await fileRow(recordId))?.folderId).toBe(recordsId);
      await moveItem(services, actor(), "file", recordId, subId);
      await moveItem(services, actor(), "file", freeId, recordsId);
      await expect(trashItem(services, actor(), "file", freeId)).rejects.toBeInstanceOf(RetainedError);
    });

    it("refuses even a direct DELETE in the database (the trigger under the checks)", async () => {
      const error = await services.prisma.$executeRaw`DELETE FROM files WHERE id = ${recordId}`.catch((e: unknown) => e);
      expect(holdFault(error)).toBeInstanceOf(RetainedError);
      const cascade = await services.prisma.$executeRaw`DELETE FROM folders WHERE id = ${recordsId}`.catch((e: unknown) => e);
      expect(holdFault(cascade)).toBeInstanceOf(RetainedError);
      expect(await fileRow(recordId)).not.toBeNull();
    });

    it("allows everything once the files are older than the rule's days", async () => {
      for (const id of [recordId, trashedId, freeId]) await age(id, 31);
      await moveItem(services, actor(), "file", freeId, rootId);
      await trashItem(services, actor(), "file", recordId);
      await services.prisma.file.update({ where: { id: recordId }, data: { trashedAt: null, trashRootId: null } });
      await expect(deleteForever(services, actor(), "file", trashedId, audit)).resolves.toMatchObject({ id: trashedId });
      expect(await fileRow(trashedId)).toBeNull();
      // A young file again, then the rule removed: allowed too (audited).
      await age(recordId, 0);
      await expect(trashItem(services, actor(), "file", recordId)).rejects.toBeInstanceOf(RetainedError);
      await removeRetentionRule(services, adminUser, ruleId, { reason: "Act repealed" }, audit);
      await trashItem(services, actor(), "file", recordId);
      await services.prisma.file.update({ where: { id: recordId }, data: { trashedAt: null, trashRootId: null } });
      const actions = (
        await services.prisma.auditEvent.findMany({
          where: { action: { in: ["admin.retention_rule_added", "admin.retention_rule_removed"] } },
        })
      ).map((event) => event.action);
      expect(actions).toEqual(expect.arrayContaining(["admin.retention_rule_added", "admin.retention_rule_removed"]));
    });
  });

  it("deletes files past a delete-after rule, skipping young, held and kept ones, audited, usage updated", async () => {
    const scratchId = await folder(rootId, "Scratch");
    const keptId = await folder(scratchId, "Kept");
    const oldId = (await putFile(services, ada.id, scratchId, "old.bin", Buffer.alloc(1000, 1))).id;
    const youngId = (await putFile(services, ada.id, scratchId, "young.bin", Buffer.alloc(10, 1))).id;
    const heldId = (await putFile(services, ada.id, scratchId, "held.bin", Buffer.alloc(10, 1))).id;
    const keptFileId = (await putFile(services, ada.id, keptId, "kept.bin", Buffer.alloc(10, 1))).id;
    for (const id of [oldId, heldId, keptFileId]) await age(id, 100);
    await placeHold(services, adminUser, { targetType: "file", email: ada.email, itemId: heldId, reason: "Case 7" }, audit);
    await addRetentionRule(
      services,
      adminUser,
      { email: ada.email, itemId: keptId, kind: "keep_at_least", days: 1000, reason: "Keep" },
      audit,
    );
    await addRetentionRule(
      services,
      adminUser,
      { email: ada.email, path: "/Scratch", kind: "delete_after", days: 90, reason: "Scratch" },
      audit,
    );
    const usedBefore = (await services.prisma.user.findUniqueOrThrow({ where: { id: ada.id } })).storageUsed;

    const counts = await runDeleteAfterRules(services);
    expect(counts).toMatchObject({ deleted: 1, skippedHeld: 2, failed: 0 });
    expect(await fileRow(oldId)).toBeNull();
    for (const id of [youngId, heldId, keptFileId]) expect((await fileRow(id))?.trashedAt).toBeNull();
    expect(await folderRow(keptId)).not.toBeNull();
    const usedAfter = (await services.prisma.user.findUniqueOrThrow({ where: { id: ada.id } })).storageUsed;
    expect(usedBefore - usedAfter).toBe(1000n);
    const event = await services.prisma.auditEvent.findFirstOrThrow({ where: { action: "data.retention_deleted", targetId: scratchId } });
    expect(event.details).toMatchObject({ deleted: 1, skippedHeld: 2 });
    // A second run finds nothing new to delete.
    expect((await runDeleteAfterRules(services)).deleted).toBe(0);
  });

  it("adds, reads and removes rules through the API and the page (admin only), and refuses hostile input", async () => {
    const adminToken = (
      await createToken(services, adminUser, { name: "retention-admin", scopes: ["admin"], expiresAt: null }, SYSTEM_ACTOR)
    ).secret;
    const call = (path: string, body?: unknown, bearer = adminToken) =>
      fetch(`${app.url}/api/v1${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
    const added = await call("/admin/retention-rules", {
      email: ada.email,
      path: "/Records/Sub",
      kind: "keep_at_least",
      days: 7,
      reason: "API",
    });
    expect(added.status).toBe(201);
    const rule = await added.json();
    expect(rule).toMatchObject({
      targetType: "folder",
      targetId: subId,
      targetLabel: "Folder /Records/Sub",
      kind: "keep_at_least",
      days: 7,
    });
    expect((await (await call(`/admin/retention-rules/${rule.id}`)).json()).reason).toBe("API");
    expect((await (await call("/admin/retention-rules")).json()).active.map((r: { id: string }) => r.id)).toContain(rule.id);
    // Not an administrator: refused, nothing changes.
    expect((await call("/admin/retention-rules", undefined, token)).status).toBe(403);
    expect((await call(`/admin/retention-rules/${rule.id}/remove`, { reason: "mine now" }, token)).status).toBe(403);
    expect((await ada.client.get("/admin/holds")).status).toBe(403);
    expect((await ada.client.postForm("/admin/holds", { intent: "remove-rule", ruleId: rule.id, reason: "mine now" })).status).toBe(403);
    const before = await services.prisma.retentionRule.count();
    for (const body of [
      "{not json",
      { email: ada.email, path: "/Records", kind: "forever", days: 7, reason: "Bad kind" },
      { email: ada.email, path: "/Records", kind: "delete_after", days: 0, reason: "Zero" },
      { email: ada.email, path: "/Records", kind: "delete_after", days: 1.5, reason: "Fraction" },
      { email: ada.email, path: "/Records", kind: "delete_after", days: 10_000_000, reason: "Too long" },
      { email: ada.email, path: "/Records", kind: "delete_after", days: 7, reason: "Nul\u0000byte" },
      { email: ada.email, path: "/Records", kind: "delete_after", days: 7, reason: "Extra", extra: true },
      { email: ada.email, itemId: "../../etc", kind: "delete_after", days: 7, reason: "Bad id" },
      { email: ada.email, path: "/no/such", kind: "delete_after", days: 7, reason: "Missing" },
      { email: ada.email, itemId: freeId, kind: "delete_after", days: 7, reason: "A file" },
      { targetType: "label", email: ada.email, path: "/Records", kind: "delete_after", days: 7, reason: "Label" },
      { email: admin.email, itemId: recordsId, kind: "delete_after", days: 7, reason: "Someone else's" },
    ]) {
      const response = await call("/admin/retention-rules", body);
      expect(response.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      expect(response.status, JSON.stringify(body)).toBeLessThan(500);
    }
    expect(await services.prisma.retentionRule.count()).toBe(before);
    expect((await call(`/admin/retention-rules/${"z".repeat(300)}`)).status).toBe(404);
    expect((await call(`/admin/retention-rules/${rule.id}/remove`, { reason: "" })).status).toBe(422);
    const removed = await call(`/admin/retention-rules/${rule.id}/remove`, { reason: "API done" });
    expect(removed.status).toBe(200);
    expect((await removed.json()).removeReason).toBe("API done");
    expect((await call(`/admin/retention-rules/${rule.id}/remove`, { reason: "again" })).status).toBe(409);

    // The page, with plain forms.
    const page = await admin.client.postForm("/admin/holds", {
      intent: "add-rule",
      email: ada.email,
      path: "/Records",
      kind: "delete_after",
      days: "365",
      reason: "Page rule",
    });
    expect(page.status).toBe(302);
    const listed = (await listRetentionRules(services, adminUser)).active.find((r) => r.reason === "Page rule")!;
    expect(listed).toMatchObject({ kind: "delete_after", days: 365, targetId: recordsId });
    expect(await (await admin.client.get("/admin/holds")).text()).toContain("Page rule");
    const bad = await admin.client.postForm("/admin/holds", {
      intent: "add-rule",
      email: ada.email,
      path: "/Records",
      kind: "delete_after",
      days: "x",
      reason: "Bad",
    });
    expect(bad.status).toBe(400);
    const gone = await admin.client.postForm("/admin/holds", { intent: "remove-rule", ruleId: listed.id, reason: "Page done" });
    expect(gone.status).toBe(302);
    expect((await listRetentionRules(services, adminUser)).removed.map((r) => r.id)).toContain(listed.id);
  });
});
