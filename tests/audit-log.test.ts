import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { auditCsvStream, csvField, csvRow, listAuditEvents, parseAuditFilter } from "~/domain/audit/audit-log.server";
import { recordAudit, type AuditActor } from "~/domain/audit/audit.server";
import { purgeExpiredAudit } from "~/domain/audit/audit-purge.server";
import { purgeExpiredTrash } from "~/domain/files/trash-purge.server";
import { trashItem } from "~/domain/files/trash.server";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

describe("CSV fields", () => {
  it("quotes per RFC 4180 only when needed, doubling inner quotes", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField(null)).toBe("");
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(csvField("cr\rhere")).toBe('"cr\rhere"');
    expect(csvRow(["a", "b,c", null])).toBe('a,"b,c",\r\n');
  });

  it("defuses cells a spreadsheet would run as a formula", () => {
    expect(csvField('=HYPERLINK("http://evil")')).toBe('"\'=HYPERLINK(""http://evil"")"');
    expect(csvField("+1+1")).toBe("'+1+1");
    expect(csvField("-2")).toBe("'-2");
    expect(csvField("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvField("\t=1")).toBe("'\t=1");
    expect(csvField("a=b")).toBe("a=b");
  });

  it("refuses malformed filters with a message per field", () => {
    expect(() => parseAuditFilter(new URLSearchParams("from=yesterday&outcome=maybe"))).toThrow(/correct the highlighted filters/);
    try {
      parseAuditFilter(new URLSearchParams("from=2026-13-45&to=2026-01-01&ip=not an ip"));
    } catch (error) {
      expect((error as { fieldErrors: Record<string, string> }).fieldErrors).toMatchObject({
        from: expect.any(String),
        ip: expect.any(String),
      });
    }
    expect(() => parseAuditFilter(new URLSearchParams("from=2026-02-01&to=2026-01-01"))).toThrow();
    expect(parseAuditFilter(new URLSearchParams("from=2026-01-01&to=2026-01-01")).to?.toISOString()).toBe("2026-01-01T23:59:59.999Z");
  });
});

/** The ids of the events listed on an audit page, in order. */
function eventIds(html: string): string[] {
  return [...html.matchAll(/data-event-id="([^"]+)"/g)].map((match) => match[1]);
}

function link(html: string, rel: "next" | "prev"): string | null {
  const match = new RegExp(`<a[^>]*href="([^"]+)"[^>]*rel="${rel}"|<a[^>]*rel="${rel}"[^>]*href="([^"]+)"`).exec(html);
  const href = match?.[1] ?? match?.[2];
  return href ? href.replace(/&amp;/g, "&") : null;
}

/** Splits CSV text into rows of fields (RFC 4180, as a spreadsheet reads it). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += c;
  }
  if (field !== "" || row.length > 0) throw new Error("CSV does not end with CRLF");
  return rows;
}

describe("audit log over HTTP: wiring, viewer and export (local disk, memory cache)", () => {
  let app: TestApp;
  let admin: TestClient;
  let bob: TestClient;
  let carol: TestClient;
  let visitor: TestClient;
  let adminId: string;
  let bobId: string;
  let bobRoot: string;

  const events = (where: Record<string, unknown> = {}) =>
    app.services.prisma.auditEvent.findMany({ where, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });

  async function upload(client: TestClient, folderId: string, name: string) {
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(randomBytes(1000))]), name);
    expect((await client.postMultipart(`/files/${folderId}`, form)).status).toBe(200);
    return (await app.services.prisma.file.findFirstOrThrow({ where: { name, folderId } })).id;
  }

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    admin = new TestClient(app.url);
    bob = new TestClient(app.url);
    carol = new TestClient(app.url);
    visitor = new TestClient(app.url);
    await admin.register("Ada Admin", "ada@example.com");
    await bob.register("Bob User", "bob@example.com");
    await carol.register("Carol User", "carol@example.com");
    adminId = (await app.services.prisma.user.findUniqueOrThrow({ where: { email: "ada@example.com" } })).id;
    bobId = (await app.services.prisma.user.findUniqueOrThrow({ where: { email: "bob@example.com" } })).id;
    bobRoot = (await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId: bobId, parentId: null } })).id;
  });

  describe("events recorded", () => {
    it("records share links created, used, updated, revoked and wrong passwords, with actor, IP and user agent", async () => {
      const fileId = await upload(bob, bobRoot, "report.txt");
      const created = await bob.request("/shares", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "user-agent": "AuditTest/1.0" },
        body: new URLSearchParams({ intent: "create-link", item: `file:${fileId}`, password: "open sesame" }).toString(),
      });
      expect(created.status).toBe(200);
      const link = await app.services.prisma.shareLink.findFirstOrThrow({ where: { fileId } });
      const [createdEvent] = await events({ action: "share.created", targetId: link.id });
      expect(createdEvent).toMatchObject({
        outcome: "success",
        actorId: bobId,
        actorLabel: "bob@example.com",
        ip: expect.stringMatching(/127\.0\.0\.1/),
        userAgent: "AuditTest/1.0",
        targetType: "share",
        details: { itemKind: "file", itemId: fileId, mode: "READ", password: true },
      });

      expect((await visitor.postForm(`/s/${link.token}`, { intent: "unlock", password: "wrong guess" })).status).toBe(401);
      const failed = await events({ action: "share.password_failed", targetId: link.id });
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ outcome: "failure", actorId: null, actorLabel: "anonymous", targetType: "share" });
      expect(JSON.stringify(failed[0].details)).not.toContain("wrong guess");

      expect((await visitor.postForm(`/s/${link.token}`, { intent: "unlock", password: "open sesame" })).status).toBe(302);
      expect((await visitor.get(`/s/${link.token}/download/${fileId}`)).status).toBe(200);
      const used = await events({ action: "share.used", targetId: link.id });
      expect(used).toHaveLength(1);
      expect(used[0]).toMatchObject({ actorLabel: "anonymous", details: { download: "file", itemId: fileId, count: 1 } });
      expect(await app.services.prisma.auditEvent.count({ where: { action: "share.password_failed", targetId: link.id } })).toBe(1);

      expect((await bob.postForm("/shares", { intent: "update-link", linkId: link.id, clearPassword: "on" })).status).toBe(200);
      expect(await events({ action: "share.updated", targetId: link.id })).toMatchObject([
        { actorId: bobId, details: { password: "cleared" } },
      ]);
      // Someone else cannot revoke it, and nothing is recorded for the attempt.
      expect((await carol.postForm("/shares", { intent: "revoke-link", linkId: link.id })).status).toBe(404);
      expect((await bob.postForm("/shares", { intent: "revoke-link", linkId: link.id })).status).toBe(200);
      expect(await events({ action: "share.revoked", targetId: link.id })).toMatchObject([
        { actorId: bobId, details: { itemKind: "file", itemId: fileId } },
      ]);
    });

    it("never revokes a link without its audit row: when the row cannot be written, the link stays", async () => {
      const fileId = await upload(bob, bobRoot, "kept-link.txt");
      expect((await bob.postForm("/shares", { intent: "create-link", item: `file:${fileId}` })).status).toBe(200);
      const link = await app.services.prisma.shareLink.findFirstOrThrow({ where: { fileId } });
      // The audit table refuses revocations for a moment (as a full disk or a failing database would).
      await app.services.prisma.$executeRawUnsafe(
        `ALTER TABLE audit_events ADD CONSTRAINT test_no_revocations CHECK (action <> 'share.revoked') NOT VALID`,
      );
      try {
        const refused = await bob.postForm("/shares", { intent: "revoke-link", linkId: link.id });
        expect(refused.status).toBe(500);
        expect(await refused.text()).not.toContain("test_no_revocations");
      } finally {
        await app.services.prisma.$executeRawUnsafe(`ALTER TABLE audit_events DROP CONSTRAINT test_no_revocations`);
      }
      expect(await app.services.prisma.shareLink.count({ where: { id: link.id } })).toBe(1);
      expect(await events({ action: "share.revoked", targetId: link.id })).toEqual([]);

      expect((await bob.postForm("/shares", { intent: "revoke-link", linkId: link.id })).status).toBe(200);
      expect(await app.services.prisma.shareLink.count({ where: { id: link.id } })).toBe(0);
      expect(await events({ action: "share.revoked", targetId: link.id })).toMatchObject([
        { actorId: bobId, details: { itemKind: "file", itemId: fileId } },
      ]);
    });

    it("records an upload through a file drop as a use of its link", async () => {
      const created = await bob.postForm("/files", { intent: "create-folder", name: "Inbox", open: "1" });
      const folderId = created.headers.get("location")!.split("/").pop()!;
      expect((await bob.postForm("/shares", { intent: "create-link", item: `folder:${folderId}`, mode: "DROP" })).status).toBe(200);
      const link = await app.services.prisma.shareLink.findFirstOrThrow({ where: { folderId } });
      const form = new FormData();
      form.append("file", new Blob([new Uint8Array(randomBytes(100))]), "dropped.txt");
      expect((await visitor.postMultipart(`/s/${link.token}`, form)).status).toBe(200);
      const file = await app.services.prisma.file.findFirstOrThrow({ where: { folderId, name: "dropped.txt" } });
      expect(await events({ action: "share.used", targetId: link.id })).toMatchObject([
        { actorLabel: "anonymous", targetType: "share", details: { upload: file.id, name: "dropped.txt", size: 100 } },
      ]);
    });

    it("records a visitor opening a share page once per visitor and link, not on reloads nor before the password", async () => {
      const created = await bob.postForm("/files", { intent: "create-folder", name: "Photos", open: "1" });
      const folderId = created.headers.get("location")!.split("/").pop()!;
      const sub = await bob.postForm(`/files/${folderId}`, { intent: "create-folder", name: "Summer" });
      expect(sub.status).toBeLessThan(400);
      const subId = (await app.services.prisma.folder.findFirstOrThrow({ where: { parentId: folderId, name: "Summer" } })).id;
      expect((await bob.postForm("/shares", { intent: "create-link", item: `folder:${folderId}`, password: "open sesame" })).status).toBe(
        200,
      );
      const link = await app.services.prisma.shareLink.findFirstOrThrow({ where: { folderId } });
      const views = () => events({ action: "share.used", targetId: link.id });
      const viewer = new TestClient(app.url);

      expect(await (await viewer.get(`/s/${link.token}`)).text()).toContain(`id="share-password"`);
      expect((await viewer.postForm(`/s/${link.token}`, { intent: "unlock", password: "wrong guess" })).status).toBe(401);
      expect(await views()).toHaveLength(0);

      expect((await viewer.postForm(`/s/${link.token}`, { intent: "unlock", password: "open sesame" })).status).toBe(302);
      expect((await viewer.get(`/s/${link.token}`)).status).toBe(200);
      expect(await views()).toMatchObject([
        {
          outcome: "success",
          actorLabel: "anonymous",
          targetType: "share",
          ip: expect.stringMatching(/127\.0\.0\.1/),
          details: { kind: "view" },
        },
      ]);
      // Reloads and pages of subfolders within the window are the same visit.
      expect((await viewer.get(`/s/${link.token}`)).status).toBe(200);
      expect((await viewer.get(`/s/${link.token}/f/${subId}`)).status).toBe(200);
      expect(await views()).toHaveLength(1);

      // A link to a single file is recorded too.
      const fileId = await upload(bob, bobRoot, "menu.txt");
      expect((await bob.postForm("/shares", { intent: "create-link", item: `file:${fileId}` })).status).toBe(200);
      const fileLink = await app.services.prisma.shareLink.findFirstOrThrow({ where: { fileId } });
      expect((await viewer.get(`/s/${fileLink.token}`)).status).toBe(200);
      expect((await viewer.get(`/s/${fileLink.token}`)).status).toBe(200);
      expect(await events({ action: "share.used", targetId: fileLink.id })).toMatchObject([{ details: { kind: "view" } }]);
    });

    it("records shares with other users granted and removed", async () => {
      const fileId = await upload(bob, bobRoot, "for-carol.txt");
      expect(
        (await bob.postForm("/shares", { intent: "share-user", item: `file:${fileId}`, email: "carol@example.com", permission: "READ" }))
          .status,
      ).toBe(200);
      const share = await app.services.prisma.userShare.findFirstOrThrow({ where: { fileId } });
      expect(await events({ action: "share.granted", targetId: fileId })).toMatchObject([
        { actorId: bobId, targetType: "file", details: { shareId: share.id, granteeEmail: "carol@example.com", permission: "READ" } },
      ]);
      expect((await bob.postForm("/shares", { intent: "remove-user-share", shareId: share.id })).status).toBe(200);
      expect(await events({ action: "share.removed", targetId: fileId })).toMatchObject([
        { actorId: bobId, details: { shareId: share.id } },
      ]);
    });

    it("records deleting forever and emptying the trash, but not a refused deletion", async () => {
      const keepId = await upload(bob, bobRoot, "doomed.txt");
      const bobUser = { id: bobId, role: "USER" as const };
      await trashItem(app.services, bobUser, "file", keepId);
      // Carol cannot delete Bob's item: 404, and no data.deleted event.
      expect((await carol.postForm("/trash", { intent: "delete", kind: "file", id: keepId })).status).toBe(404);
      expect(await app.services.prisma.auditEvent.count({ where: { action: "data.deleted", targetId: keepId } })).toBe(0);
      expect((await bob.postForm("/trash", { intent: "delete", kind: "file", id: keepId, confirmed: "yes" })).status).toBe(302);
      expect(await events({ action: "data.deleted", targetId: keepId })).toMatchObject([
        {
          actorId: bobId,
          actorLabel: "bob@example.com",
          targetType: "file",
          details: { name: "doomed.txt", ownerId: bobId, files: 1, automatic: false },
        },
      ]);

      const a = await upload(bob, bobRoot, "a.txt");
      const b = await upload(bob, bobRoot, "b.txt");
      await trashItem(app.services, bobUser, "file", a);
      await trashItem(app.services, bobUser, "file", b);
      expect((await bob.postForm("/trash", { intent: "empty", confirmed: "yes" })).status).toBe(302);
      expect(await events({ action: "data.trash_emptied", actorId: bobId })).toMatchObject([
        { targetType: "trash", details: { items: 2 } },
      ]);
      expect(await app.services.prisma.auditEvent.count({ where: { action: "data.deleted", targetId: { in: [a, b] } } })).toBe(2);
    });

    it("records the scheduled trash purge as a deletion by the system", async () => {
      const fileId = await upload(bob, bobRoot, "expired.txt");
      await trashItem(app.services, { id: bobId, role: "USER" }, "file", fileId);
      const result = await purgeExpiredTrash(app.services, new Date(Date.now() + 365 * 24 * 3600 * 1000));
      expect(result.items).toBeGreaterThanOrEqual(1);
      expect(await events({ action: "data.deleted", targetId: fileId })).toMatchObject([
        {
          actorId: null,
          actorLabel: "system",
          ip: null,
          targetType: "file",
          details: { name: "expired.txt", ownerId: bobId, automatic: true },
        },
      ]);
    });

    it("records settings and quota changes by admins", async () => {
      const saved = await admin.postForm("/admin/settings", {
        defaultQuota: "",
        maxFileSize: "1GiB",
        blockedExtensions: "exe",
        trashRetentionDays: "30",
        versionsKept: "10",
        deletedAccountRetentionDays: "30",
        sessionIdleDays: "14",
        sessionAbsoluteDays: "30",
        tokenMaxDays: "365",
      });
      expect(saved.status).toBe(200);
      const [settingsEvent] = await events({ action: "admin.settings_updated" });
      expect(settingsEvent).toMatchObject({
        actorId: adminId,
        targetType: "settings",
        details: { changed: expect.arrayContaining(["blockedExtensions"]) },
      });
      expect((await admin.postForm("/admin/users", { intent: "set-quota", userId: bobId, quota: "5GiB" })).status).toBe(200);
      expect(await events({ action: "user.quota_changed", targetId: bobId })).toMatchObject([
        { actorId: adminId, details: { before: null, after: 5 * 2 ** 30 } },
      ]);
    });

    it("lets admins change roles, refuses demoting the last admin and records both", async () => {
      expect((await bob.postForm("/admin/users", { intent: "set-role", userId: bobId, role: "ADMIN" })).status).toBe(403);
      expect((await app.services.prisma.user.findUniqueOrThrow({ where: { id: bobId } })).role).toBe("USER");

      // The page offers no way to demote the only admin; a crafted post is refused all the same.
      const page = await (await admin.get("/admin/users")).text();
      expect(page).toContain("The only administrator");
      expect(page).toContain("Make admin");
      expect(page).not.toContain("Make regular user");
      const refused = await admin.postForm("/admin/users", { intent: "set-role", userId: adminId, role: "USER" });
      expect(refused.status).toBe(409);
      expect(await refused.text()).toContain("only administrator");
      expect((await app.services.prisma.user.findUniqueOrThrow({ where: { id: adminId } })).role).toBe("ADMIN");
      expect(await events({ action: "user.role_changed", targetId: adminId })).toMatchObject([
        { outcome: "failure", actorId: adminId, details: { before: "ADMIN", after: "USER", reason: "last-admin" } },
      ]);

      expect((await admin.postForm("/admin/users", { intent: "set-role", userId: bobId, role: "bogus" })).status).toBe(400);
      const promoted = await admin.postForm("/admin/users", { intent: "set-role", userId: bobId, role: "ADMIN" });
      expect(promoted.status).toBe(200);
      expect(await promoted.text()).toContain("Bob User is now an administrator.");
      expect((await app.services.prisma.user.findUniqueOrThrow({ where: { id: bobId } })).role).toBe("ADMIN");
      // A privilege change ends Bob's sessions: he logs in again, as an administrator now.
      const ended = await bob.get("/admin");
      expect(ended.status).toBe(302);
      expect(ended.headers.get("location")).toContain("/login");
      expect((await bob.login("bob@example.com")).status).toBe(302);
      expect((await bob.get("/admin")).status).toBe(200);
      // With two admins, Bob may step down, and then he is an ordinary user again, on a new session id.
      const before = bob.cookies.get("coffer_session");
      const stepDown = await bob.postForm("/admin/users", { intent: "set-role", userId: bobId, role: "USER" });
      expect(stepDown.status).toBe(302);
      expect(stepDown.headers.get("location")).toBe("/files");
      expect(bob.cookies.get("coffer_session")).not.toBe(before);
      expect((await bob.get("/admin")).status).toBe(403);
      expect(await events({ action: "user.role_changed", targetId: bobId })).toMatchObject([
        { outcome: "success", actorId: adminId, details: { before: "USER", after: "ADMIN" } },
        { outcome: "success", actorId: bobId, details: { before: "ADMIN", after: "USER" } },
      ]);
      expect(await app.services.prisma.user.count({ where: { role: "ADMIN" } })).toBe(1);
    });
  });

  describe("viewer", () => {
    it("is for admins only: login for anonymous visitors, 403 for users, for the page and the export", async () => {
      const anonymous = new TestClient(app.url);
      for (const path of ["/admin/audit", "/admin/audit.csv"]) {
        const response = await anonymous.get(path);
        expect(response.status).toBe(302);
        expect(response.headers.get("location")).toMatch(/^\/login\?redirectTo=/);
        expect((await carol.get(path)).status).toBe(403);
      }
      expect(await app.services.prisma.auditEvent.count({ where: { action: "admin.audit_exported" } })).toBe(0);
    });

    it("lists events newest first with their details, and filters by each field", async () => {
      const page = await admin.get("/admin/audit");
      expect(page.status).toBe(200);
      const html = await page.text();
      const all = await app.services.prisma.auditEvent.findMany({ orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: 50 });
      expect(eventIds(html)).toEqual(all.map((event) => event.id));
      expect(html).toContain('href="/admin/audit.csv"');
      expect(html).toContain("share.password_failed");
      // The action filter offers the actions in the log; the target filter every target type.
      expect(html).toMatch(/<option value="data.trash_emptied">/);
      expect(html).toMatch(/<option value="settings">/);

      const ids = async (query: string) => {
        const response = await admin.get(`/admin/audit?${query}`);
        expect(response.status).toBe(200);
        return eventIds(await response.text());
      };
      const expectSame = async (query: string, where: Record<string, unknown>) => {
        const expected = await app.services.prisma.auditEvent.findMany({
          where,
          orderBy: [{ createdAt: "desc" }, { id: "desc" }],
          select: { id: true },
        });
        expect(expected.length).toBeGreaterThan(0);
        expect(await ids(query)).toEqual(expected.map((row) => row.id));
      };
      await expectSame("actor=BOB@EXAMPLE", { actorLabel: "bob@example.com" });
      await expectSame("action=share.created", { action: "share.created" });
      await expectSame("outcome=failure", { outcome: "failure" });
      await expectSame(`targetType=user&targetId=${bobId}`, { targetType: "user", targetId: bobId });
      await expectSame("ip=127.0.", { ip: { startsWith: "127.0." } });
      await expectSame("actor=anonymous&action=share.used&outcome=success", { actorLabel: "anonymous", action: "share.used" });
      const today = new Date().toISOString().slice(0, 10);
      await expectSame(`from=${today}&to=${today}&action=data.deleted`, { action: "data.deleted" });
      expect(await ids("from=2001-01-01&to=2001-01-02")).toEqual([]);
      // LIKE wildcards are taken literally.
      expect(await ids("actor=%25")).toEqual([]);
      const empty = await (await admin.get("/admin/audit?to=2001-01-02")).text();
      expect(empty).toContain("No events match these filters");
    });

    it("explains malformed filters with a 400 and shows no events", async () => {
      const response = await admin.get("/admin/audit?from=yesterday&outcome=maybe");
      expect(response.status).toBe(400);
      const html = await response.text();
      expect(html).toContain("correct the highlighted filters");
      expect(html).toMatch(/id="field-from"[^>]*aria-invalid="true"/);
      expect(eventIds(html)).toEqual([]);
      expect((await admin.get("/admin/audit.csv?from=yesterday")).status).toBe(400);
    });

    it("pages through many events with keyset cursors, forwards and back, without gaps or repeats", async () => {
      const actor: AuditActor = { actorId: null, actorLabel: "pager@example.com", ip: "198.51.100.7", userAgent: null };
      // Several events share a timestamp, so the order must break ties by id.
      const at = new Date("2026-01-15T12:00:00.000Z");
      for (let i = 0; i < 120; i++) {
        await app.services.prisma.auditEvent.create({
          data: {
            ...actor,
            createdAt: new Date(at.getTime() + Math.floor(i / 7) * 1000),
            action: "share.used",
            targetType: "share",
            targetId: `pager-${i}`,
          },
        });
      }
      const expected = (
        await app.services.prisma.auditEvent.findMany({
          where: { actorLabel: actor.actorLabel },
          orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        })
      ).map((e) => e.id);
      const seen: string[] = [];
      const pages: string[] = [];
      let next: string | null = "/admin/audit?actor=pager%40example.com";
      while (next) {
        pages.push(next);
        const html = await (await admin.get(next)).text();
        seen.push(...eventIds(html));
        next = link(html, "next");
        expect(next === null || next.includes("actor=pager%40example.com")).toBe(true);
      }
      expect(pages).toHaveLength(3);
      expect(seen).toEqual(expected);
      // Back from the last page to the first.
      const last = await (await admin.get(pages[2])).text();
      const prev = link(last, "prev")!;
      expect(eventIds(await (await admin.get(prev)).text())).toEqual(expected.slice(50, 100));
      // The domain function agrees, and a garbage cursor gives the first page.
      const first = await listAuditEvents(app.services, parseAuditFilter(new URLSearchParams("actor=pager")), { after: "garbage" });
      expect(first.events.map((e) => e.id)).toEqual(expected.slice(0, 50));
      expect(first.prevCursor).toBeNull();
    });

    it("exports the filtered events as streamed CSV, escaped and defused, and records the export", async () => {
      const sneaky: AuditActor = {
        actorId: null,
        actorLabel: '=cmd|"/c calc"!A1',
        ip: "203.0.113.5",
        userAgent: 'line one\nline two, "quoted"',
      };
      await recordAudit(app.services.prisma, sneaky, {
        action: "share.password_failed",
        outcome: "failure",
        targetType: "share",
        targetId: "+danger",
        details: { note: "@x" },
      });
      const response = await admin.get("/admin/audit.csv?ip=203.0.113.5");
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
      expect(response.headers.get("content-disposition")).toMatch(/^attachment; filename="coffer-audit-\d{8}-\d{6}\.csv"$/);
      const rows = parseCsv(await response.text());
      expect(rows[0]).toEqual([
        "time",
        "action",
        "outcome",
        "actor",
        "actor_id",
        "ip",
        "user_agent",
        "target_type",
        "target_id",
        "details",
      ]);
      expect(rows).toHaveLength(2);
      expect(rows[1]).toEqual([
        expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
        "share.password_failed",
        "failure",
        `'=cmd|"/c calc"!A1`,
        "",
        "203.0.113.5",
        'line one\nline two, "quoted"',
        "share",
        "'+danger",
        '{"note":"@x"}',
      ]);
      const [exported] = await events({ action: "admin.audit_exported" });
      expect(exported).toMatchObject({ actorId: adminId, targetType: "audit", details: { filter: { ip: "203.0.113.5" } } });
    });

    it("exports more rows than one batch in order, the export event first", async () => {
      const rows = parseCsv(await (await admin.get("/admin/audit.csv")).text()).slice(1);
      const all = await app.services.prisma.auditEvent.findMany({ orderBy: [{ createdAt: "desc" }, { id: "desc" }] });
      expect(all.length).toBeGreaterThan(120);
      expect(rows.map((row) => row[1])).toEqual(all.map((event) => event.action));
      expect(rows[0][1]).toBe("admin.audit_exported");
      // In batches of 7 (ties on createdAt included) the rows are the same.
      const small = await new Response(auditCsvStream(app.services, parseAuditFilter(new URLSearchParams()), 7)).text();
      expect(
        parseCsv(small)
          .slice(1)
          .map((row) => row[8]),
      ).toEqual(all.map((event) => csvField(event.targetId)));
    });
  });

  describe("retention", () => {
    const settingsWith = (auditRetentionDays: string) => ({
      defaultQuota: "",
      maxFileSize: "1GiB",
      blockedExtensions: "",
      trashRetentionDays: "30",
      auditRetentionDays,
      versionsKept: "10",
      deletedAccountRetentionDays: "30",
      sessionIdleDays: "14",
      sessionAbsoluteDays: "30",
      tokenMaxDays: "365",
    });
    const daysAgo = (days: number) => new Date(Date.now() - days * 24 * 3600 * 1000);

    it("deletes events older than the retention setting every run, and audits the deletion", async () => {
      const page = await (await admin.get("/admin/settings")).text();
      expect(page).toContain('name="auditRetentionDays"');
      const refused = await admin.postForm("/admin/settings", settingsWith("10"));
      expect(refused.status).toBe(400);
      expect(await refused.text()).toContain("Days: enter a whole number from 30 to 36500.");

      const old = { action: "auth.login", actorLabel: "old@example.com", details: { marker: "retention" } };
      await app.services.prisma.auditEvent.createMany({
        data: [
          { ...old, createdAt: daysAgo(400) },
          { ...old, createdAt: daysAgo(200) },
          { ...old, createdAt: daysAgo(20) },
        ],
      });
      const marked = () => events({ details: { path: ["marker"], equals: "retention" } });

      // Empty keeps everything.
      expect((await admin.postForm("/admin/settings", settingsWith(""))).status).toBe(200);
      expect(await purgeExpiredAudit(app.services)).toEqual({ deleted: 0 });
      expect(await marked()).toHaveLength(3);

      expect((await admin.postForm("/admin/settings", settingsWith("180"))).status).toBe(200);
      // Events the other tests of this file dated long ago go too.
      const { deleted } = await purgeExpiredAudit(app.services);
      expect(deleted).toBeGreaterThanOrEqual(2);
      expect(await marked()).toHaveLength(1);
      expect(await app.services.prisma.auditEvent.count({ where: { createdAt: { lt: daysAgo(180) } } })).toBe(0);
      expect(await events({ action: "audit.purged" })).toMatchObject([
        { actorId: null, actorLabel: "system", targetType: "audit", details: { deleted, retentionDays: 180 } },
      ]);
      // Nothing else may delete: not without the purge's declaration, nor a recent row with it.
      const [kept] = await marked();
      await expect(app.services.prisma.auditEvent.delete({ where: { id: kept.id } })).rejects.toThrow(/append-only/);
      await expect(
        app.services.prisma.$transaction([
          app.services.prisma.$executeRaw`SELECT set_config('coffer.audit_retention_purge', 'on', true)`,
          app.services.prisma.$executeRaw`DELETE FROM audit_events WHERE id = ${kept.id}`,
        ]),
      ).rejects.toThrow(/append-only/);
      expect(await marked()).toHaveLength(1);
      // Nothing more is old enough: no second record.
      expect(await purgeExpiredAudit(app.services)).toEqual({ deleted: 0 });
      expect(await events({ action: "audit.purged" })).toHaveLength(1);
    });
  });
});
