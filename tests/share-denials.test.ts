import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { recordShareDenial } from "~/domain/sharing/access-denials.server";
import { listAuditEvents, parseAuditFilter } from "~/domain/audit/audit-log.server";
import { getRootFolder } from "~/domain/files/folders.server";
import { newShareToken } from "~/domain/sharing/share-links.server";
import { MemoryCache } from "~/services/cache/memory.server";
import type { Services } from "~/services/index.server";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { DRIVER_SETS, PASSWORD, type Person, registerPerson, uploadForm, createFolderIn } from "./support/people";
import { createUpload, createUploadRequest, patchUpload } from "./support/tus";

/**
 * Refusals of shared items say the true reason to whoever may know it (an administrator is told
 * the owner is deactivated; a grantee only finds the share gone), and each refused access is in
 * the audit log as `share.access_denied` with outcome "denied", once per actor, target and reason
 * in a window.
 */
describe.each(DRIVER_SETS)("refused access to shared items ($label)", ({ drivers }) => {
  let app: TestApp;
  let services: Services;
  let admin: Person;
  /** Owns "Team" (shared for writing with Fred and with the admin) and "Private"; gets deactivated. */
  let dora: Person;
  let fred: Person;
  /** Shares with Sam: one file read-only, one file she later stops sharing. */
  let olivia: Person;
  let sam: Person;
  const ids = {} as {
    team: string;
    sub: string;
    plan: string;
    private: string;
    doraRoot: string;
    readOnly: string;
    revoked: string;
    oliviaRoot: string;
  };

  const person = (name: string, email: string) => registerPerson(app, name, email);

  async function fileId(ownerId: string, name: string): Promise<string> {
    return (await services.prisma.file.findFirstOrThrow({ where: { ownerId, name }, select: { id: true } })).id;
  }

  const denials = (where: Record<string, unknown> = {}) =>
    services.prisma.auditEvent.findMany({
      where: { action: "share.access_denied", ...where },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    });
  const setStatus = (who: Person, intent: "deactivate" | "reactivate") =>
    admin.client.postForm(`/admin/users/${who.id}/status`, { intent, proof: PASSWORD });

  beforeAll(async () => {
    // A trusted proxy lets a test speak for another visitor address (X-Forwarded-For).
    app = await startTestApp(drivers, { TRUST_PROXY: "true" });
    services = app.services;
    admin = await person("Ada Admin", "ada@example.com");
    dora = await person("Dora Departing", "dora@example.com");
    fred = await person("Fred Friend", "fred@example.com");
    olivia = await person("Olivia Owner", "olivia@example.com");
    sam = await person("Sam Single", "sam@example.com");

    ids.doraRoot = (await getRootFolder(services, dora.id)).id;
    ids.team = await createFolderIn(dora.client, ids.doraRoot, "Team");
    ids.sub = await createFolderIn(dora.client, ids.team, "Sub");
    ids.private = await createFolderIn(dora.client, ids.doraRoot, "Private");
    expect((await uploadForm(dora.client, ids.team, "plan.txt", Buffer.from("the plan"))).status).toBe(200);
    ids.plan = await fileId(dora.id, "plan.txt");
    for (const who of [fred, admin]) {
      expect(
        (await dora.client.postForm("/shares", { intent: "share-user", item: `folder:${ids.team}`, email: who.email, permission: "WRITE" }))
          .status,
      ).toBe(200);
    }

    ids.oliviaRoot = (await getRootFolder(services, olivia.id)).id;
    expect((await uploadForm(olivia.client, ids.oliviaRoot, "read-only.txt", Buffer.from("look, don't touch"))).status).toBe(200);
    expect((await uploadForm(olivia.client, ids.oliviaRoot, "revoked.txt", Buffer.from("not any more"))).status).toBe(200);
    ids.readOnly = await fileId(olivia.id, "read-only.txt");
    ids.revoked = await fileId(olivia.id, "revoked.txt");
    for (const file of [ids.readOnly, ids.revoked]) {
      expect(
        (await olivia.client.postForm("/shares", { intent: "share-user", item: `file:${file}`, email: sam.email, permission: "READ" }))
          .status,
      ).toBe(200);
    }
  });

  it("before anything is refused: the admin writes through their share, and nothing is recorded as denied", async () => {
    expect((await admin.client.postForm(`/files/${ids.team}`, { intent: "create-folder", name: "Admin was here" })).status).toBe(200);
    expect((await sam.client.get(`/download/${ids.revoked}`)).status).toBe(200);
    expect(await denials()).toEqual([]);
  });

  describe("refusals say the true reason", () => {
    it("tells a non-admin grantee of a read-only share that it is read-only", async () => {
      const rename = await sam.client.postForm(`/details/file/${ids.readOnly}`, { intent: "rename", name: "mine-now.txt" });
      expect(rename.status).toBe(403);
      expect(await rename.text()).toContain("shared with you read-only");
      expect(await denials({ actorId: sam.id, targetId: ids.readOnly })).toMatchObject([
        {
          outcome: "denied",
          actorLabel: sam.email,
          targetType: "file",
          ip: expect.stringMatching(/127\.0\.0\.1/),
          details: { reason: "read-only", access: "write", ownerId: olivia.id },
        },
      ]);
    });

    it("tells an administrator without a share that administrators cannot change other people's files, and records no share refusal", async () => {
      const create = await admin.client.postForm(`/files/${ids.private}`, { intent: "create-folder", name: "Nope" });
      expect(create.status).toBe(403);
      const text = await create.text();
      expect(text).toContain("as an administrator");
      expect(text).not.toContain("read-only");
      expect(await denials({ actorId: admin.id })).toEqual([]);
    });

    it("tells an administrator holding a write share from a deactivated owner that the owner's account is deactivated, on every way of writing", async () => {
      expect((await setStatus(dora, "deactivate")).status).toBe(302);
      const refusals = [
        await admin.client.postForm(`/files/${ids.team}`, { intent: "create-folder", name: "Late" }),
        await uploadForm(admin.client, ids.team, "late.txt", Buffer.from("too late")),
        await admin.client.postForm(`/details/file/${ids.plan}`, { intent: "rename", name: "renamed.txt" }),
        await admin.client.postForm(`/details/folder/${ids.sub}`, { intent: "trash" }),
      ];
      for (const response of refusals) {
        expect(response.status).toBe(403);
        const text = await response.text();
        expect(text).toContain("account is deactivated");
        expect(text).not.toContain("read-only");
      }
      const tus = await createUploadRequest(app, admin.client, { folderId: ids.team, name: "late.bin", size: 10 });
      expect(tus.status).toBe(403);
      expect(await tus.text()).toContain("account is deactivated");
      expect(await services.prisma.file.count({ where: { folderId: ids.team, name: { in: ["late.txt", "renamed.txt"] } } })).toBe(0);
      expect((await services.prisma.folder.findUniqueOrThrow({ where: { id: ids.sub } })).trashedAt).toBeNull();

      // Recorded as denied, once per target and reason within the window.
      const rows = await denials({ actorId: admin.id });
      expect(rows.map((row) => [row.targetType, row.targetId])).toEqual(
        expect.arrayContaining([
          ["folder", ids.team],
          ["file", ids.plan],
          ["folder", ids.sub],
        ]),
      );
      expect(rows).toHaveLength(3);
      for (const row of rows)
        expect(row).toMatchObject({
          outcome: "denied",
          actorLabel: admin.email,
          details: { reason: "owner-deactivated", access: "write", ownerId: dora.id },
        });

      // The grantee who is no admin finds the share gone, and is told nothing about the account.
      const page = await fred.client.get(`/files/${ids.team}`);
      expect(page.status).toBe(404);
      expect(await page.text()).not.toContain("deactivated");
    });

    it("stops an administrator's upload into that folder with the same reason", async () => {
      expect((await setStatus(dora, "reactivate")).status).toBe(302);
      const url = await createUpload(app, admin.client, { folderId: ids.team, name: "half.bin", size: 100 });
      expect((await patchUpload(admin.client, url, 0, new Uint8Array(randomBytes(50)))).status).toBe(204);
      expect((await setStatus(dora, "deactivate")).status).toBe(302);
      const refused = await patchUpload(admin.client, url, 50, new Uint8Array(randomBytes(50)));
      expect(refused.status).toBe(403);
      expect(await refused.text()).toContain("account is deactivated");
    });
  });

  describe("refused access is audited", () => {
    it("records a grantee refused a deactivated owner's items, once per item and window", async () => {
      for (let i = 0; i < 3; i++) expect((await fred.client.get(`/files/${ids.team}`)).status).toBe(404);
      expect((await fred.client.get(`/download/${ids.plan}`)).status).toBe(404);
      const rows = await denials({ actorId: fred.id });
      expect(rows).toMatchObject([
        {
          outcome: "denied",
          actorLabel: fred.email,
          targetType: "folder",
          targetId: ids.team,
          details: { reason: "owner-deactivated", access: "read", ownerId: dora.id },
        },
        { outcome: "denied", targetType: "file", targetId: ids.plan, details: { reason: "owner-deactivated", access: "read" } },
      ]);
    });

    it("records a grantee refused an item after its share was removed", async () => {
      const share = await services.prisma.userShare.findFirstOrThrow({ where: { fileId: ids.revoked, granteeId: sam.id } });
      expect((await olivia.client.postForm("/shares", { intent: "remove-user-share", shareId: share.id })).status).toBe(200);
      expect((await sam.client.get(`/download/${ids.revoked}`)).status).toBe(404);
      expect((await sam.client.get(`/details/file/${ids.revoked}`)).status).toBe(404);
      expect(await denials({ actorId: sam.id, targetId: ids.revoked })).toMatchObject([
        { outcome: "denied", targetType: "file", details: { reason: "share-revoked", access: "read", ownerId: olivia.id } },
      ]);
      // Fred never had a share on it.
      expect((await fred.client.get(`/download/${ids.revoked}`)).status).toBe(404);
      expect(await denials({ actorId: fred.id, targetId: ids.revoked })).toMatchObject([
        { outcome: "denied", targetType: "file", details: { reason: "not-shared", access: "read", ownerId: olivia.id } },
      ]);
    });

    it("still records refusals while the cache (its once-per-window throttle) is down, logging a warning", async () => {
      const cache = new MemoryCache();
      await cache.close();
      const warnings: string[] = [];
      const log = { ...services.log, warn: (message: string) => void warnings.push(message) };
      const actor = { actorId: sam.id, actorLabel: sam.email, ip: "198.51.100.9", userAgent: null };
      const denial = { targetType: "file", targetId: ids.private, reason: "not-shared" } as const;
      await recordShareDenial({ ...services, cache, log }, actor, denial);
      await recordShareDenial({ ...services, cache, log }, actor, denial);
      expect(await denials({ targetId: ids.private, ip: "198.51.100.9" })).toMatchObject([
        { details: { reason: "not-shared" } },
        { details: { reason: "not-shared" } },
      ]);
      expect(warnings).toEqual([
        "refused share access recorded without its throttle: the cache is unavailable",
        "refused share access recorded without its throttle: the cache is unavailable",
      ]);
    });

    it("records expired, used-up, wrong-password and deactivated-owner share links, not unknown ones", async () => {
      const visitor = new TestClient(app.url);
      const link = (data: { ownerId: string; fileId: string; expiresAt?: Date; maxDownloads?: number }) =>
        services.prisma.shareLink.create({ data: { token: newShareToken(), ...data } });

      const expired = await link({ ownerId: olivia.id, fileId: ids.readOnly, expiresAt: new Date(Date.now() - 60_000) });
      for (let i = 0; i < 2; i++) {
        const response = await visitor.get(`/s/${expired.token}`);
        expect(response.status).toBe(410);
        expect(await response.text()).toContain("This link has expired");
      }
      expect((await visitor.get(`/s/${expired.token}/download/${ids.readOnly}`)).status).toBe(410);
      expect(await denials({ targetId: expired.id })).toMatchObject([
        {
          outcome: "denied",
          actorId: null,
          actorLabel: "anonymous",
          targetType: "share",
          ip: expect.stringMatching(/127\.0\.0\.1/),
          details: { reason: "expired" },
        },
      ]);

      // The visitor reads "expired"; the log says why.
      const ofDeactivated = await link({ ownerId: dora.id, fileId: ids.plan });
      const gone = await visitor.get(`/s/${ofDeactivated.token}`);
      expect(gone.status).toBe(410);
      expect(await gone.text()).not.toContain("deactivated");
      expect(await denials({ targetId: ofDeactivated.id })).toMatchObject([{ details: { reason: "owner-deactivated" } }]);

      const once = await link({ ownerId: olivia.id, fileId: ids.readOnly, maxDownloads: 1 });
      expect((await visitor.get(`/s/${once.token}/download/${ids.readOnly}`)).status).toBe(200);
      expect((await visitor.get(`/s/${once.token}/download/${ids.readOnly}`)).status).toBe(410);
      expect((await visitor.get(`/s/${once.token}`)).status).toBe(410);
      expect(await denials({ targetId: once.id })).toMatchObject([{ details: { reason: "exhausted" } }]);

      expect(
        (await olivia.client.postForm("/shares", { intent: "create-link", item: `file:${ids.readOnly}`, password: "open sesame" })).status,
      ).toBe(200);
      const locked = await services.prisma.shareLink.findFirstOrThrow({ where: { fileId: ids.readOnly, passwordHash: { not: null } } });
      for (let i = 0; i < 2; i++)
        expect((await visitor.postForm(`/s/${locked.token}`, { intent: "unlock", password: `wrong guess ${i}` })).status).toBe(401);
      // One row per wrong password, never a second one (share.access_denied) for the same refusal.
      expect(await denials({ targetId: locked.id })).toEqual([]);
      const failures = await services.prisma.auditEvent.findMany({
        where: { targetId: locked.id, outcome: { not: "success" } },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      });
      expect(failures.map((row) => [row.action, row.outcome, row.actorLabel])).toEqual([
        ["share.password_failed", "failure", "anonymous"],
        ["share.password_failed", "failure", "anonymous"],
      ]);
      expect(JSON.stringify(failures)).not.toContain("wrong guess");

      // Another visitor (another IP, behind the trusted proxy) is another actor: recorded again.
      expect((await new TestClient(app.url).get(`/s/${expired.token}`, { "x-forwarded-for": "203.0.113.7" })).status).toBe(410);
      expect((await denials({ targetId: expired.id })).map((row) => row.ip)).toEqual([
        expect.stringMatching(/127\.0\.0\.1/),
        "203.0.113.7",
      ]);

      const before = (await denials()).length;
      expect((await visitor.get(`/s/${newShareToken()}`)).status).toBe(404);
      expect(await denials()).toHaveLength(before);
    });

    it("lets administrators find refusals in the audit page by outcome and a readable action name", async () => {
      expect(parseAuditFilter(new URLSearchParams("outcome=denied")).outcome).toBe("denied");
      const denied = await listAuditEvents(services, parseAuditFilter(new URLSearchParams("outcome=denied")));
      expect(denied.events.length).toBeGreaterThan(0);
      expect(new Set(denied.events.map((row) => row.action))).toEqual(new Set(["share.access_denied"]));

      const page = await admin.client.get("/admin/audit?outcome=denied&action=share.access_denied");
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toMatch(/<option value="share.access_denied"[^>]*>Shared item refused \(share.access_denied\)<\/option>/);
      expect(html).toMatch(/<option value="denied"[^>]*>denied<\/option>/);
      expect(html).toMatch(/<option value="share.password_failed"[^>]*>Wrong share link password \(share.password_failed\)<\/option>/);
      expect([...html.matchAll(/data-testid="audit-row"/g)]).toHaveLength(denied.events.length);
      const csv = await (await admin.client.get("/admin/audit.csv?outcome=denied")).text();
      expect(csv.trim().split("\r\n")).toHaveLength(denied.events.length + 1);
    });
  });
});
