import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { AUDIT_CSV_COLUMNS } from "~/domain/audit/audit-log.server";
import type { TokenScope } from "~/domain/tokens/scopes";
import { createToken } from "~/domain/tokens/tokens.server";
import { TestClient } from "../support/client";
import { type ApiEnv, type ContractSuite, upload } from "./env";
import { bearerApiClient } from "../support/api-client";

/** Your own account (/me) and administration (/admin): users, the audit log and the settings. */

const PASSWORD = "correct horse battery staple";

/** A client sending an access token with these scopes (created for `user`, whatever its role now). */
async function tokenClient(env: ApiEnv, user: { id: string; email: string }, scopes: TokenScope[]) {
  const audit = { actorId: user.id, actorLabel: user.email, ip: null, userAgent: null };
  // The role given here only lets the token be made: a token outlives its owner's demotion.
  const name = `api-admin ${scopes.join("+")} ${randomBytes(3).toString("hex")}`;
  const { secret } = await createToken(env.app.services, { id: user.id, role: "ADMIN" }, { name, scopes, expiresAt: null }, audit);
  return bearerApiClient(env.app.url, secret, env.validator);
}

const unique = (what: string, storage: string) => `${what}-${storage}-${randomBytes(4).toString("hex")}@example.com`;

export const adminSuite: ContractSuite = (env, storageUnderTest) => {
  it("shows you your account, your storage and your activity, a page at a time", async () => {
    const { api, app, owner, ownerUser, storage } = env();
    const me = await api.GET("/api/v1/me");
    // The first account of a fresh database is an administrator: the owner may be either.
    expect(me.data).toMatchObject({ id: ownerUser.id, email: ownerUser.email, name: "Ada Api", role: ownerUser.role, mfaEnabled: false });

    const before = (await api.GET("/api/v1/me/usage")).data!;
    await upload(app, owner, `usage-${storage}.bin`, randomBytes(3000));
    const after = await api.GET("/api/v1/me/usage");
    expect(after.data!.usedBytes).toBe(before.usedBytes + 3000);
    expect(after.data!.quotaBytes).toBeNull();

    // More than a page of activity: 50 a page, newest first, then the rest.
    const tag = `paged-${storage}-${randomBytes(3).toString("hex")}`;
    await app.services.prisma.activity.createMany({
      data: Array.from({ length: 55 }, (_, i) => ({
        userId: ownerUser.id,
        action: "folder.created",
        subjectType: "folder",
        subjectId: `${tag}-${i}`,
        details: { name: `${tag} ${i}` },
        createdAt: new Date(Date.now() + 60_000 + i * 1000),
      })),
    });
    const first = await api.GET("/api/v1/me/activity");
    expect(first.data!.items).toHaveLength(50);
    expect(first.data!.items[0]).toMatchObject({ who: "You", action: "folder.created", name: `${tag} 54` });
    const second = await api.GET("/api/v1/me/activity", { params: { query: { cursor: first.data!.nextCursor! } } });
    expect(second.data!.items.slice(0, 5).map((item) => item.name)).toEqual([4, 3, 2, 1, 0].map((i) => `${tag} ${i}`));
    const bad = await api.GET("/api/v1/me/activity", { params: { query: { cursor: "bm9wZQ" } } });
    expect(bad.response.status).toBe(422);
    expect(bad.error!.errors![0]!.pointer).toBe("/query/cursor");
    await app.services.prisma.activity.deleteMany({ where: { subjectId: { startsWith: tag } } });

    const reader = await tokenClient(env(), ownerUser, ["files:read"]);
    expect((await reader.GET("/api/v1/me")).data!.id).toBe(ownerUser.id);
    const sharesOnly = await tokenClient(env(), ownerUser, ["shares"]);
    expect((await sharesOnly.GET("/api/v1/me/usage")).response.status).toBe(403);
  });

  it("refuses administration to non-admins and to tokens without the admin scope", async () => {
    const { otherApi, app, validator, otherUser, adminUser } = env();
    const session = await otherApi.GET("/api/v1/admin/users");
    expect(session.response.status).toBe(403);
    expect(session.error).toMatchObject({ type: "/api/docs#problem-forbidden" });
    // An administrator's token without the admin scope.
    const adminFiles = await tokenClient(env(), adminUser, ["files:write"]);
    expect((await adminFiles.GET("/api/v1/admin/settings")).response.status).toBe(403);
    // A regular user's token with the admin scope (made while they were an administrator).
    const demoted = await tokenClient(env(), otherUser, ["admin"]);
    expect((await demoted.GET("/api/v1/admin/users/{id}", { params: { path: { id: otherUser.id } } })).response.status).toBe(403);
    const adminToken = await tokenClient(env(), adminUser, ["admin"]);
    expect((await adminToken.GET("/api/v1/admin/users/{id}", { params: { path: { id: otherUser.id } } })).response.status).toBe(200);
    // The admin scope reaches nothing else.
    expect((await adminToken.GET("/api/v1/me")).response.status).toBe(403);
    const anonymous = await fetch(`${app.url}/api/v1/admin/audit`);
    await validator.check("GET", "/api/v1/admin/audit", anonymous);
    expect(anonymous.status).toBe(401);
  });

  it("lists, finds, creates and changes accounts, auditing each change as the page does", async () => {
    const { adminApi, app, storage, otherUser, adminUser } = env();
    const prisma = app.services.prisma;
    const found = await adminApi.GET("/api/v1/admin/users", { params: { query: { email: otherUser.email.toUpperCase() } } });
    expect(found.data!.items.map((user) => user.id)).toEqual([otherUser.id]);
    expect(found.data!.items[0]).toMatchObject({ role: "USER", quotaBytes: null, deactivatedAt: null });
    const page = await adminApi.GET("/api/v1/admin/users", { params: { query: { limit: 1 } } });
    expect(page.data!.items).toHaveLength(1);
    const next = await adminApi.GET("/api/v1/admin/users", { params: { query: { limit: 1, cursor: page.data!.nextCursor! } } });
    expect(next.data!.items[0]!.id).not.toBe(page.data!.items[0]!.id);
    const wildcard = await adminApi.GET("/api/v1/admin/users", { params: { query: { email: "%" } } });
    expect(wildcard.data!.items).toEqual([]);

    const email = unique("new", storage);
    const key = `user-${randomBytes(6).toString("hex")}`;
    const create = () =>
      adminApi.POST("/api/v1/admin/users", {
        params: { header: { "idempotency-key": key } },
        body: { email, name: "Nell New", password: PASSWORD },
      });
    const created = await create();
    expect(created.response.status).toBe(201);
    expect(created.data).toMatchObject({ email, name: "Nell New", role: "USER", fileCount: 0 });
    expect(created.response.headers.get("location")).toBe(`/api/v1/admin/users/${created.data!.id}`);
    const replay = await create();
    expect(replay.response.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.data!.id).toBe(created.data!.id);
    expect(await prisma.user.count({ where: { email } })).toBe(1);
    const registered = await prisma.auditEvent.findFirst({ where: { action: "user.registered", targetId: created.data!.id } });
    expect(registered).toMatchObject({ actorId: adminUser.id, details: { role: "USER", byAdmin: true } });
    const taken = await adminApi.POST("/api/v1/admin/users", { body: { email, name: "Again", password: PASSWORD } });
    expect(taken.response.status).toBe(409);
    const weak = await adminApi.POST("/api/v1/admin/users", { body: { email: unique("weak", storage), name: "W", password: "short" } });
    expect(weak.response.status).toBe(422);
    expect(weak.error!.errors!.map((e) => e.pointer)).toEqual(["/body/password"]);
    const id = created.data!.id;

    const got = await adminApi.GET("/api/v1/admin/users/{id}", { params: { path: { id } } });
    expect(got.data).toEqual(created.data);
    const quota = await adminApi.PATCH("/api/v1/admin/users/{id}", { params: { path: { id } }, body: { quotaBytes: 10 * 2 ** 30 } });
    expect(quota.data).toMatchObject({ quotaBytes: 10 * 2 ** 30, effectiveQuotaBytes: 10 * 2 ** 30 });
    const quotaEvent = await prisma.auditEvent.findFirst({ where: { action: "user.quota_changed", targetId: id } });
    expect(quotaEvent).toMatchObject({ actorId: adminUser.id, details: { email, before: null, after: 10 * 2 ** 30 } });
    const promoted = await adminApi.PATCH("/api/v1/admin/users/{id}", {
      params: { path: { id } },
      body: { role: "ADMIN", quotaBytes: null },
    });
    expect(promoted.data).toMatchObject({ role: "ADMIN", quotaBytes: null });
    const roleEvent = await prisma.auditEvent.findFirst({ where: { action: "user.role_changed", targetId: id } });
    expect(roleEvent).toMatchObject({ details: { before: "USER", after: "ADMIN" } });
    expect((await adminApi.PATCH("/api/v1/admin/users/{id}", { params: { path: { id } }, body: { role: "USER" } })).data!.role).toBe(
      "USER",
    );

    const missing = await adminApi.GET("/api/v1/admin/users/{id}", { params: { path: { id: "no-such-user" } } });
    expect(missing.response.status).toBe(404);
    const missingPatch = await adminApi.PATCH("/api/v1/admin/users/{id}", {
      params: { path: { id: "no-such-user" } },
      body: { quotaBytes: 1000 },
    });
    expect(missingPatch.response.status).toBe(404);
  });

  it("deactivates and reactivates an account once the admin confirms it is them", async () => {
    const { adminApi, app, storage, adminUser } = env();
    const created = await adminApi.POST("/api/v1/admin/users", {
      body: { email: unique("dee", storage), name: "Dee", password: PASSWORD },
    });
    const id = created.data!.id;
    const noProof = await adminApi.POST("/api/v1/admin/users/{id}/status", {
      params: { path: { id } },
      body: { active: false, proof: "" },
    });
    expect(noProof.response.status).toBe(422);
    expect(noProof.error!.errors![0]!.pointer).toBe("/body/proof");
    const wrong = await adminApi.POST("/api/v1/admin/users/{id}/status", {
      params: { path: { id } },
      body: { active: false, proof: "not the password at all" },
    });
    expect(wrong.response.status).toBe(403);
    expect(wrong.error!.errors![0]!.pointer).toBe("/body/proof");
    expect((await adminApi.GET("/api/v1/admin/users/{id}", { params: { path: { id } } })).data!.deactivatedAt).toBeNull();

    const off = await adminApi.POST("/api/v1/admin/users/{id}/status", {
      params: { path: { id } },
      body: { active: false, proof: PASSWORD },
    });
    expect(off.response.status).toBe(200);
    expect(off.data!.deactivatedAt).not.toBeNull();
    const on = await adminApi.POST("/api/v1/admin/users/{id}/status", {
      params: { path: { id } },
      body: { active: true, proof: PASSWORD },
    });
    expect(on.data!.deactivatedAt).toBeNull();
    const events = await app.services.prisma.auditEvent.findMany({
      where: { targetId: id, action: { in: ["user.deactivated", "user.reactivated"] } },
    });
    expect(events.map((event) => event.action).sort()).toEqual(["user.deactivated", "user.reactivated"]);

    // Failed sign-ins show, and unlocking forgets them (audited).
    const email = created.data!.email;
    for (let i = 0; i < 2; i++) await new TestClient(app.url).login(email, "not the password at all");
    expect((await adminApi.GET("/api/v1/admin/users/{id}", { params: { path: { id } } })).data!.failedLogins).toBe(2);
    const unlocked = await adminApi.POST("/api/v1/admin/users/{id}/unlock", { params: { path: { id } } });
    expect(unlocked.data).toMatchObject({ failedLogins: 0, lockedUntil: null });
    expect(await app.services.prisma.auditEvent.count({ where: { action: "admin.user_unlocked", targetId: id } })).toBe(1);
    expect((await adminApi.POST("/api/v1/admin/users/{id}/unlock", { params: { path: { id: "no-such-user" } } })).response.status).toBe(
      404,
    );

    const self = await adminApi.POST("/api/v1/admin/users/{id}/status", {
      params: { path: { id: adminUser.id } },
      body: { active: false, proof: PASSWORD },
    });
    expect(self.response.status).toBe(403);
  });

  it("deletes an account, handing its files over, then erases it", async () => {
    const { adminApi, app, storage, adminUser } = env();
    const prisma = app.services.prisma;
    const email = unique("gone", storage);
    const id = (await adminApi.POST("/api/v1/admin/users", { body: { email, name: "Gus Gone", password: PASSWORD } })).data!.id;
    const root = await prisma.folder.findFirstOrThrow({ where: { ownerId: id, parentId: null } });
    const plans = await prisma.folder.create({ data: { ownerId: id, parentId: root.id, name: "Plans", nameKey: "plans" } });
    await prisma.$executeRaw`
      INSERT INTO files (id, owner_id, folder_id, name, name_key, size, mime_type, storage_key, created_at, updated_at)
      VALUES (${`${id}-plan`}, ${id}, ${plans.id}, 'plan.txt', 'plan.txt', 10, 'text/plain', ${`${id}-plan-key`}, now(), now())`;

    const mistyped = await adminApi.POST("/api/v1/admin/users/{id}/delete", {
      params: { path: { id } },
      body: { confirmEmail: "someone@example.com", proof: PASSWORD, giveFilesTo: adminUser.id },
    });
    expect(mistyped.response.status).toBe(422);
    expect(mistyped.error!.errors![0]!.pointer).toBe("/body/confirmEmail");
    // Someone whose quota cannot take the files: refused, nothing deleted.
    const small = await adminApi.POST("/api/v1/admin/users", {
      body: { email: unique("small", storage), name: "Sy Small", password: PASSWORD },
    });
    await adminApi.PATCH("/api/v1/admin/users/{id}", { params: { path: { id: small.data!.id } }, body: { quotaBytes: 5 } });
    const full = await adminApi.POST("/api/v1/admin/users/{id}/delete", {
      params: { path: { id } },
      body: { confirmEmail: email, proof: PASSWORD, giveFilesTo: small.data!.id },
    });
    expect(full.response.status).toBe(409);
    expect((await adminApi.GET("/api/v1/admin/users/{id}", { params: { path: { id } } })).data!.deletedAt).toBeNull();

    const deleted = await adminApi.POST("/api/v1/admin/users/{id}/delete", {
      params: { path: { id } },
      body: { confirmEmail: email, proof: PASSWORD, giveFilesTo: adminUser.id },
    });
    expect(deleted.response.status).toBe(200);
    expect(deleted.data).toMatchObject({ id, status: "deleted", givenTo: "Ines Admin" });
    expect(deleted.data!.purgeAfter).not.toBeNull();
    const given = await prisma.folder.findFirst({ where: { ownerId: adminUser.id, name: { startsWith: "From Gus Gone" } } });
    expect(given).not.toBeNull();
    expect(await prisma.file.findUnique({ where: { id: `${id}-plan` } })).toMatchObject({ ownerId: adminUser.id });
    expect(await prisma.auditEvent.count({ where: { action: "user.deleted", targetId: id } })).toBe(1);
    expect((await adminApi.GET("/api/v1/admin/users/{id}", { params: { path: { id } } })).data!.deletedAt).not.toBeNull();

    // Restorable meanwhile: a live account cannot be restored (409), the deleted one can.
    const live = await adminApi.POST("/api/v1/admin/users/{id}/restore", {
      params: { path: { id: small.data!.id } },
      body: { proof: PASSWORD },
    });
    expect(live.response.status).toBe(409);
    const restored = await adminApi.POST("/api/v1/admin/users/{id}/restore", { params: { path: { id } }, body: { proof: PASSWORD } });
    expect(restored.data).toMatchObject({ id, deletedAt: null, deactivatedAt: null });
    expect(await prisma.auditEvent.count({ where: { action: "user.restored", targetId: id } })).toBe(1);
    const again = await adminApi.POST("/api/v1/admin/users/{id}/delete", {
      params: { path: { id } },
      body: { confirmEmail: email, proof: PASSWORD },
    });
    expect(again.data).toMatchObject({ status: "deleted", givenTo: null });

    const purged = await adminApi.POST("/api/v1/admin/users/{id}/delete", {
      params: { path: { id } },
      body: { confirmEmail: email, proof: PASSWORD },
    });
    expect(purged.data).toMatchObject({ id, status: "purged", purgeAfter: null, givenTo: null });
    expect(await prisma.user.findUnique({ where: { id } })).toBeNull();
    expect((await adminApi.GET("/api/v1/admin/users/{id}/erasure", { params: { path: { id } } })).response.status).toBe(404);
  });

  // The background erasure and its progress resource do not depend on the storage driver, and
  // 2,100 deletions of objects through Swift's S3 API took 40 s: local storage only.
  if (storageUnderTest === "local") {
    it("erases a large account in the background, with a Location to follow it", async () => {
      const { adminApi, app, storage } = env();
      const prisma = app.services.prisma;
      const email = unique("big", storage);
      const id = (await adminApi.POST("/api/v1/admin/users", { body: { email, name: "Bo Big", password: PASSWORD } })).data!.id;
      const root = await prisma.folder.findFirstOrThrow({ where: { ownerId: id, parentId: null } });
      // More rows than a request erases itself (2,000), seeded straight into the database.
      await prisma.$executeRaw`
        INSERT INTO files (id, owner_id, folder_id, name, name_key, size, mime_type, storage_key, created_at, updated_at)
        SELECT ${id} || '-' || i, ${id}, ${root.id}, 'seed ' || i, 'seed ' || i, 10, 'text/plain', ${id} || '-key-' || i, now(), now()
        FROM generate_series(1, 2100) AS i`;
      const body = { confirmEmail: email, proof: PASSWORD };
      expect((await adminApi.POST("/api/v1/admin/users/{id}/delete", { params: { path: { id } }, body })).data!.status).toBe("deleted");
      const erasing = await adminApi.POST("/api/v1/admin/users/{id}/delete", { params: { path: { id } }, body });
      expect(erasing.response.status).toBe(202);
      expect(erasing.data).toMatchObject({ id, status: "erasing" });
      expect(erasing.response.headers.get("location")).toBe(`/api/v1/admin/users/${id}/erasure`);
      const deadline = Date.now() + 120_000;
      let progressSeen = false;
      for (;;) {
        const progress = await adminApi.GET("/api/v1/admin/users/{id}/erasure", { params: { path: { id } } });
        if (progress.response.status === 404) break;
        expect(progress.data!.total).toBeGreaterThan(2000);
        progressSeen = true;
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(progressSeen || (await prisma.user.findUnique({ where: { id } })) === null).toBe(true);
      expect(await prisma.user.findUnique({ where: { id } })).toBeNull();
    }, 180_000);
  }

  it("lists the audit log with the page's filters and cursor, and exports it streamed", async () => {
    const { adminApi, admin, app, adminUser, storage, validator } = env();
    const prisma = app.services.prisma;
    const target = `audit-${storage}-${randomBytes(4).toString("hex")}`;
    await prisma.auditEvent.createMany({
      data: Array.from({ length: 55 }, (_, i) => ({
        action: "user.quota_changed",
        outcome: "success",
        actorId: adminUser.id,
        actorLabel: adminUser.email,
        targetType: "user",
        targetId: target,
        details: { n: i, note: i === 0 ? '=cmd, "quoted"' : "plain" },
        createdAt: new Date(Date.now() - (55 - i) * 1000),
      })),
    });
    const filters = { targetId: target, action: "user.quota_changed", actor: adminUser.email, from: "2020-01-01" };
    const first = await adminApi.GET("/api/v1/admin/audit", { params: { query: filters } });
    expect(first.data!.items).toHaveLength(50);
    expect(first.data!.items[0]).toMatchObject({ targetId: target, actor: adminUser.email, details: { n: 54 } });
    const second = await adminApi.GET("/api/v1/admin/audit", { params: { query: { ...filters, cursor: first.data!.nextCursor! } } });
    expect(second.data!.items.map((event) => event.details.n)).toEqual([4, 3, 2, 1, 0]);
    expect(second.data!.nextCursor).toBeNull();
    const none = await adminApi.GET("/api/v1/admin/audit", { params: { query: { targetId: target, to: "2020-01-01" } } });
    expect(none.data!.items).toEqual([]);
    const badDate = await adminApi.GET("/api/v1/admin/audit", { params: { query: { from: "yesterday" } } });
    expect(badDate.response.status).toBe(422);
    expect(badDate.error!.errors![0]!.pointer).toBe("/query/from");
    expect((await adminApi.GET("/api/v1/admin/audit", { params: { query: { cursor: "bm9wZQ" } } })).response.status).toBe(422);

    const csv = await adminApi.GET("/api/v1/admin/audit/export.csv", { params: { query: { targetId: target } }, parseAs: "text" });
    expect(csv.response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const lines = (csv.data as string).trimEnd().split("\r\n");
    expect(lines[0]).toBe(AUDIT_CSV_COLUMNS.join(","));
    expect(lines).toHaveLength(56);
    expect(lines.at(-1)).toContain('"{""n"":0,""note"":""=cmd, \\""quoted\\""""}"');
    const ndjson = await adminApi.GET("/api/v1/admin/audit/export.ndjson", { params: { query: { targetId: target } }, parseAs: "text" });
    const events = (ndjson.data as string)
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(events).toHaveLength(55);
    expect(Object.keys(events[0])).toEqual([...AUDIT_CSV_COLUMNS]);
    expect(events[0]).toMatchObject({ target_id: target, actor: adminUser.email, details: { n: 54 } });
    const exported = await prisma.auditEvent.findMany({
      where: { action: "admin.audit_exported", actorId: adminUser.id },
      orderBy: { createdAt: "desc" },
      take: 2,
    });
    expect(exported.map((event) => (event.details as { format: string }).format).sort()).toEqual(["csv", "ndjson"]);
    const exportCount = await prisma.auditEvent.count({ where: { action: "admin.audit_exported", actorId: adminUser.id } });
    const head = await admin.request(`/api/v1/admin/audit/export.csv?targetId=${target}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await prisma.auditEvent.count({ where: { action: "admin.audit_exported", actorId: adminUser.id } })).toBe(exportCount);
    const refused = await admin.request(`/api/v1/admin/audit/export.csv?to=garbage`);
    await validator.check("GET", "/api/v1/admin/audit/export.csv", refused);
    expect(refused.status).toBe(422);
  });

  it("reads and changes the settings with If-Match, by the settings page's rules, then restores them", async () => {
    const { adminApi, app, adminUser } = env();
    const original = await adminApi.GET("/api/v1/admin/settings");
    expect(original.response.headers.get("etag")).toBe(original.data!.etag);
    const { etag, ...values } = original.data!;
    try {
      const changed = await adminApi.PATCH("/api/v1/admin/settings", {
        params: { header: { "if-match": etag } },
        body: { trashRetentionDays: values.trashRetentionDays + 1, blockedExtensions: ["EXE", ".bat"], versionsKept: null },
      });
      expect(changed.response.status).toBe(200);
      expect(changed.data).toMatchObject({
        trashRetentionDays: values.trashRetentionDays + 1,
        blockedExtensions: ["exe", "bat"],
        versionsKept: null,
      });
      expect(changed.data!.tokenMaxDays).toBe(values.tokenMaxDays);
      expect(changed.data!.etag).not.toBe(etag);
      const event = await app.services.prisma.auditEvent.findFirst({
        where: { action: "admin.settings_updated", actorId: adminUser.id },
        orderBy: { createdAt: "desc" },
      });
      expect((event!.details as { changed: string[] }).changed).toEqual(
        expect.arrayContaining(["trashRetentionDays", "blockedExtensions"]),
      );

      // Two changes made against the same settings at once: one wins, the other is told (412).
      const race = await Promise.all(
        [1, 2].map((n) =>
          adminApi.PATCH("/api/v1/admin/settings", {
            params: { header: { "if-match": changed.data!.etag } },
            body: { tokenMaxDays: values.tokenMaxDays + n },
          }),
        ),
      );
      expect(race.map((r) => r.response.status).sort()).toEqual([200, 412]);
      const winner = race.find((r) => r.response.status === 200)!.data!;
      expect((await adminApi.GET("/api/v1/admin/settings")).data).toEqual(winner);
      const lost = await adminApi.PATCH("/api/v1/admin/settings", {
        params: { header: { "if-match": etag } },
        body: { trashRetentionDays: 5 },
      });
      expect(lost.response.status).toBe(412);
      const refusals: Array<[Record<string, unknown>, string]> = [
        [{ trashRetentionDays: 0 }, "/body/trashRetentionDays"],
        [{ sessionIdleDays: 3000, sessionAbsoluteDays: 10 }, "/body/sessionIdleDays"],
        [{ defaultQuotaBytes: -1 }, "/body/defaultQuotaBytes"],
        [{ defaultQuotaBytes: 0 }, "/body/defaultQuotaBytes"],
        [{ maxFileSize: 2 ** 60 }, "/body/maxFileSize"],
        [{ blockedExtensions: ["ex-e"] }, "/body/blockedExtensions"],
        [{ requireMfaForAdmins: "yes" }, "/body/requireMfaForAdmins"],
        [{ theme: "dark" }, "/body/theme"],
      ];
      for (const [body, pointer] of refusals) {
        const refused = await adminApi.PATCH("/api/v1/admin/settings", { body: body as never });
        expect(refused.response.status, JSON.stringify(body)).toBe(422);
        expect(
          refused.error!.errors!.map((e) => e.pointer),
          JSON.stringify(body),
        ).toContain(pointer);
      }
      expect((await adminApi.GET("/api/v1/admin/settings")).data).toEqual(winner);
    } finally {
      const restored = await adminApi.PATCH("/api/v1/admin/settings", { body: values });
      expect(restored.data!.etag).toBe(etag);
    }
  });

  it("answers bad input to administration with 4xx problems and changes nothing", async () => {
    const { adminApi, admin, validator, otherUser } = env();
    const send = async (method: string, url: string, template: string, body?: unknown) => {
      const response = await admin.request(url, {
        method,
        ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
      });
      await validator.check(method, template, response);
      return response.status;
    };
    const user = `/api/v1/admin/users/${otherUser.id}`;
    const cases: Array<[string, string, string, unknown, number]> = [
      ["PATCH", user, "/api/v1/admin/users/{id}", { quotaBytes: -5 }, 422],
      ["PATCH", user, "/api/v1/admin/users/{id}", { quotaBytes: 2 ** 60 }, 422],
      ["PATCH", user, "/api/v1/admin/users/{id}", { quotaBytes: "10GiB" }, 422],
      ["PATCH", user, "/api/v1/admin/users/{id}", { role: "ROOT" }, 422],
      ["PATCH", user, "/api/v1/admin/users/{id}", { quotaBytes: 5, email: "x@example.com" }, 422],
      ["PATCH", user, "/api/v1/admin/users/{id}", {}, 422],
      ["PATCH", "/api/v1/admin/users/a%00b", "/api/v1/admin/users/{id}", { quotaBytes: 5 }, 404],
      ["GET", "/api/v1/admin/users/a%00b", "/api/v1/admin/users/{id}", undefined, 404],
      ["POST", "/api/v1/admin/users", "/api/v1/admin/users", { email: "x@example.com", name: "X" }, 422],
      ["POST", "/api/v1/admin/users", "/api/v1/admin/users", { email: 5, name: "X", password: PASSWORD }, 422],
      ["POST", `${user}/status`, "/api/v1/admin/users/{id}/status", { active: "no", proof: PASSWORD }, 422],
      ["POST", `${user}/delete`, "/api/v1/admin/users/{id}/delete", { confirmEmail: "x", proof: "y", giveFilesTo: "a\u0000b" }, 422],
      ["GET", "/api/v1/admin/users?limit=0", "/api/v1/admin/users", undefined, 422],
      ["GET", "/api/v1/admin/users?cursor=bm9wZQ", "/api/v1/admin/users", undefined, 422],
      ["GET", "/api/v1/admin/users?role=ADMIN", "/api/v1/admin/users", undefined, 422],
      ["GET", "/api/v1/admin/audit?outcome=maybe", "/api/v1/admin/audit", undefined, 422],
    ];
    for (const [method, url, template, body, status] of cases) {
      expect(await send(method, url, template, body), `${method} ${url} ${JSON.stringify(body)}`).toBe(status);
    }
    const other = await adminApi.GET("/api/v1/admin/users/{id}", { params: { path: { id: otherUser.id } } });
    expect(other.data).toMatchObject({ quotaBytes: null, role: "USER", deactivatedAt: null, deletedAt: null });
  });
};
