// The lifecycle rules administrators set (issue 13 §5): version retention by count and age, and
// deleted accounts kept for a grace period before the hourly job purges them. Real PostgreSQL,
// both storage drivers, the production build over HTTP.
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import pg from "pg";
import { vi, beforeAll, afterAll, describe, expect, it } from "vitest";
import { purgeDeletedAccounts } from "~/domain/accounts/account-deletion.server";
import { updateSettings } from "~/domain/admin/settings.server";
import { getRootFolder } from "~/domain/files/folders.server";
import { formatBytes } from "~/lib/format";
import { reconcileStorageUsed } from "~/domain/files/quota.server";
import { purgeExpiredVersions } from "~/domain/files/version-purge.server";
import type { Services } from "~/services/index.server";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { DRIVER_SETS, PASSWORD, type Person, putFile, registerPerson } from "./support/people";

const DAY = 24 * 60 * 60 * 1000;
const daysAgo = (days: number, now = new Date()) => new Date(now.getTime() - days * DAY);

describe.each(DRIVER_SETS)("lifecycle rules ($label)", ({ drivers }) => {
  let app: TestApp;
  let services: Services;
  let admin: Person;

  beforeAll(async () => {
    app = await startTestApp(drivers);
    services = app.services;
    admin = await registerPerson(app, "Ada Admin", "ada@example.com");
  });
  afterAll(() => app?.close());

  const storedBytes = async (userId: string) =>
    Number((await services.prisma.user.findUniqueOrThrow({ where: { id: userId }, select: { storageUsed: true } })).storageUsed);

  describe("version retention", () => {
    let owner: Person;
    /** Version ids by label, and their object keys. */
    const versions = new Map<string, { id: string; key: string; size: number }>();

    /** A file with earlier versions replaced the given number of days ago (objects stored too). */
    async function fileWithVersions(name: string, replacedDaysAgo: number[]) {
      const root = await getRootFolder(services, owner.id);
      const file = await putFile(services, owner.id, root.id, name, randomBytes(100));
      for (const [index, days] of replacedDaysAgo.entries()) {
        const key = randomBytes(16).toString("hex");
        const data = randomBytes(1000 + index);
        await services.storage.put(key, Readable.from([data]), { size: data.length });
        const version = await services.prisma.fileVersion.create({
          data: {
            fileId: file.id,
            storageKey: key,
            size: BigInt(data.length),
            mimeType: "text/plain",
            createdAt: daysAgo(days + 1),
            replacedAt: daysAgo(days),
          },
        });
        versions.set(`${name}@${days}`, { id: version.id, key, size: data.length });
      }
      return file;
    }

    const remaining = async () =>
      (await services.prisma.fileVersion.findMany({ select: { id: true } })).map(
        ({ id }) => [...versions.entries()].find(([, v]) => v.id === id)?.[0],
      );

    beforeAll(async () => {
      owner = await registerPerson(app, "Olga Owner", "olga@example.com");
      await fileWithVersions("many.txt", [1, 2, 3, 4, 5]);
      await fileWithVersions("old.txt", [10, 40]);
      await fileWithVersions("one.txt", [1]);
    });

    it("keeps everything while no rule limits versions", async () => {
      await updateSettings(services, { keepAllVersions: true, versionRetentionDays: null });
      expect(await purgeExpiredVersions(services)).toEqual({ versions: 0, files: 0, bytes: 0 });
      expect(await services.prisma.fileVersion.count()).toBe(8);
    });

    it("deletes exactly the versions beyond the count and the age, their objects, and lowers the counter", async () => {
      await updateSettings(services, { keepAllVersions: false, versionsKept: 2, versionRetentionDays: 30 });
      const before = await storedBytes(owner.id);
      const doomed = ["many.txt@3", "many.txt@4", "many.txt@5", "old.txt@40"].map((label) => versions.get(label)!);
      const doomedBytes = doomed.reduce((sum, v) => sum + v.size, 0);

      // One file per round: the pass goes on from round to round.
      const result = await purgeExpiredVersions(services, new Date(), 1);
      expect(result).toEqual({ versions: 4, files: 2, bytes: doomedBytes });
      expect((await remaining()).sort()).toEqual(["many.txt@1", "many.txt@2", "old.txt@10", "one.txt@1"]);
      for (const v of doomed) expect(await services.storage.stat(v.key)).toBeNull();
      for (const label of ["many.txt@1", "many.txt@2", "old.txt@10", "one.txt@1"]) {
        expect(await services.storage.stat(versions.get(label)!.key)).not.toBeNull();
      }
      expect(await storedBytes(owner.id)).toBe(before - doomedBytes);
      // The counter agrees with a recount.
      expect(await reconcileStorageUsed(services)).toEqual({ corrected: 0 });

      const audits = await services.prisma.auditEvent.findMany({ where: { action: "data.versions_purged" } });
      expect(audits).toHaveLength(1);
      expect(audits[0]).toMatchObject({
        actorId: null,
        actorLabel: "system",
        details: { versions: 4, files: 2, bytes: doomedBytes, versionsKept: 2, retentionDays: 30 },
      });

      // Nothing more is due: no second audit event.
      expect(await purgeExpiredVersions(services)).toEqual({ versions: 0, files: 0, bytes: 0 });
      expect(await services.prisma.auditEvent.count({ where: { action: "data.versions_purged" } })).toBe(1);
    });

    it("applies the age alone when every version is kept by count, measured from the given date", async () => {
      await updateSettings(services, { keepAllVersions: true, versionRetentionDays: 5 });
      // Five days on, "old.txt@10" is 15 days old and the others 6: all go but none of the 1-day-old.
      expect(await purgeExpiredVersions(services, daysAgo(-3))).toMatchObject({ versions: 2 });
      expect((await remaining()).sort()).toEqual(["many.txt@1", "one.txt@1"]);
      await updateSettings(services, { keepAllVersions: false, versionsKept: 10, versionRetentionDays: null });
    });

    it("records the hourly job's run for the lifecycle page, which admins alone may see", async () => {
      await updateSettings(services, { keepAllVersions: false, versionsKept: 0, versionRetentionDays: null });
      const bytes = ["many.txt@1", "one.txt@1"].reduce((sum, label) => sum + versions.get(label)!.size, 0);
      const run = await admin.client.postForm("/admin/jobs", { intent: "run", queue: "purge-old-versions" });
      expect(run.status).toBe(200);
      await vi.waitFor(async () => expect(await services.prisma.lifecycleRun.findUnique({ where: { rule: "versions" } })).not.toBeNull(), {
        timeout: 20_000,
        interval: 250,
      });
      const page = await admin.client.get("/admin/lifecycle");
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toMatch(
        new RegExp(
          `data-testid="lifecycle-versions"[\\s\\S]*Kept: no earlier versions\\.[\\s\\S]*Removed 2 versions of 2 files \\(${formatBytes(bytes)}\\)\\.`,
        ),
      );
      expect(html).toMatch(/data-testid="lifecycle-trash"[\s\S]*Not run yet\./);
      expect(html).toContain("A deleted account can be restored for 30 days");
      expect(await services.prisma.fileVersion.count()).toBe(0);
      await updateSettings(services, { versionsKept: 10 });
      expect((await owner.client.get("/admin/lifecycle")).status).toBe(403);
      const anonymous = await new TestClient(app.url).get("/admin/lifecycle");
      expect(anonymous.status).toBe(302);
    });
  });

  describe("deleted accounts with a grace period", () => {
    it("locks a deleted account out at once, keeps its files, and lets an admin restore it", async () => {
      const carl = await registerPerson(app, "Carl Careless", "carl@example.com");
      const root = await getRootFolder(services, carl.id);
      const file = await putFile(services, carl.id, root.id, "keep-me.txt", randomBytes(50));

      const response = await admin.client.postForm(`/admin/users/${carl.id}/delete`, {
        confirmEmail: carl.email,
        proof: PASSWORD,
        files: "delete",
      });
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe("/admin/users?done=deleted");
      const marked = await services.prisma.user.findUniqueOrThrow({ where: { id: carl.id } });
      expect(marked.deletedAt).not.toBeNull();
      expect(marked.deactivatedAt?.getTime()).toBe(marked.deletedAt?.getTime());
      expect(await services.prisma.file.count({ where: { id: file.id } })).toBe(1);
      expect(await services.storage.stat(file.storageKey)).not.toBeNull();

      // Signed out everywhere; no login; the email stays taken.
      const signedOut = await carl.client.get("/files");
      expect(signedOut.status).toBe(302);
      expect(signedOut.headers.get("location")).toMatch(/^\/login/);
      const login = await new TestClient(app.url).login(carl.email);
      expect(login.status).toBe(403);
      const again = new TestClient(app.url);
      const taken = await again.postForm("/register", { name: "Carl Again", email: carl.email, password: PASSWORD });
      // The neutral answer registration gives any taken address; no second account.
      expect(taken.status).toBe(303);
      expect(taken.headers.get("location")).toBe("/register?check=1");
      expect(await services.prisma.user.count({ where: { email: carl.email } })).toBe(1);

      // Listed apart, with its purge date, and no longer among the users.
      const list = await (await admin.client.get("/admin/users?done=deleted")).text();
      expect(list).toContain("It can be restored under Deleted accounts for 30 days.");
      expect(list).toMatch(/data-testid="deleted-account-row"[\s\S]*carl@example.com/);
      expect(list).not.toMatch(/data-testid="admin-user-row"(?:(?!<\/tr>)[\s\S])*carl@example.com/);
      expect(list).toContain(`/admin/users/${carl.id}/status`);
      expect(await services.prisma.auditEvent.findFirst({ where: { action: "user.deleted", targetId: carl.id } })).toMatchObject({
        actorId: admin.id,
        details: { graceDays: 30, byAdmin: true },
      });

      // Nobody can share with it any more, as with an address that has no account.
      const other = await registerPerson(app, "Olaf Other", "olaf@example.com");
      const otherRoot = await getRootFolder(services, other.id);
      const mine = await putFile(services, other.id, otherRoot.id, "for-carl.txt", randomBytes(10));
      const share = await other.client.postForm("/shares", { intent: "share-user", item: `file:${mine.id}`, email: carl.email });
      expect(share.status).toBe(400);
      expect(await share.text()).toContain("There is no Coffer account with that email address.");
      expect(await services.prisma.userShare.count({ where: { granteeId: carl.id } })).toBe(0);

      // It cannot be reactivated as if it were only deactivated.
      const reactivate = await admin.client.postForm(`/admin/users/${carl.id}/status`, { intent: "reactivate", proof: PASSWORD });
      expect(reactivate.status).toBe(409);

      // Restore needs the admin's password.
      const page = await (await admin.client.get(`/admin/users/${carl.id}/status`)).text();
      expect(page).toContain(`Restore ${carl.name}`);
      const wrong = await admin.client.postForm(`/admin/users/${carl.id}/status`, { intent: "restore", proof: "not it" });
      expect(wrong.status).toBe(401);
      expect((await services.prisma.user.findUniqueOrThrow({ where: { id: carl.id } })).deletedAt).not.toBeNull();
      const restored = await admin.client.postForm(`/admin/users/${carl.id}/status`, { intent: "restore", proof: PASSWORD });
      expect(restored.status).toBe(302);
      expect(restored.headers.get("location")).toBe("/admin/users?done=restored");
      const back = await services.prisma.user.findUniqueOrThrow({ where: { id: carl.id } });
      expect(back).toMatchObject({ deletedAt: null, deactivatedAt: null });
      expect((await carl.client.login(carl.email)).status).toBe(302);
      expect((await carl.client.get(`/download/${file.id}`)).status).toBe(200);
      expect(await services.prisma.auditEvent.findFirst({ where: { action: "user.restored", targetId: carl.id } })).toMatchObject({
        actorId: admin.id,
      });
      // A restored account is not purged later.
      expect(await purgeDeletedAccounts(services, new Date(Date.now() + 365 * DAY))).toEqual({ accounts: 0, objects: 0 });
      expect(await services.prisma.user.count({ where: { id: carl.id } })).toBe(1);
    });

    it("restores a deactivated account that was then deleted as deactivated", async () => {
      const dina = await registerPerson(app, "Dina Dormant", "dina@example.com");
      expect((await admin.client.postForm(`/admin/users/${dina.id}/status`, { intent: "deactivate", proof: PASSWORD })).status).toBe(302);
      const { deactivatedAt } = await services.prisma.user.findUniqueOrThrow({ where: { id: dina.id } });
      const deleted = await admin.client.postForm(`/admin/users/${dina.id}/delete`, {
        confirmEmail: dina.email,
        proof: PASSWORD,
        files: "delete",
      });
      expect(deleted.status).toBe(302);
      const restored = await admin.client.postForm(`/admin/users/${dina.id}/status`, { intent: "restore", proof: PASSWORD });
      expect(restored.headers.get("location")).toBe("/admin/users?done=restored-deactivated");
      expect(await services.prisma.user.findUniqueOrThrow({ where: { id: dina.id } })).toMatchObject({ deletedAt: null, deactivatedAt });
    });

    it("purges a self-deleted account after the grace period with the full deletion, audited", async () => {
      const erin = await registerPerson(app, "Erin Exit", "erin@example.com");
      const root = await getRootFolder(services, erin.id);
      const file = await putFile(services, erin.id, root.id, "bye.txt", randomBytes(70));

      const response = await erin.client.postForm("/settings/privacy", { intent: "delete", confirmEmail: erin.email, password: PASSWORD });
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe("/account-deleted?restorable=30");
      const goodbye = await (await new TestClient(app.url).get("/account-deleted?restorable=30")).text();
      expect(goodbye).toContain("For 30 days an administrator of this Coffer can still restore your account");
      expect((await new TestClient(app.url).login(erin.email)).status).toBe(403);
      const { deletedAt } = await services.prisma.user.findUniqueOrThrow({ where: { id: erin.id } });

      // Within the grace period nothing goes.
      expect(await purgeDeletedAccounts(services, new Date(deletedAt!.getTime() + 29 * DAY))).toEqual({ accounts: 0, objects: 0 });
      expect(await services.prisma.user.count({ where: { id: erin.id } })).toBe(1);

      const purged = await purgeDeletedAccounts(services, new Date(deletedAt!.getTime() + 30 * DAY + 1000));
      expect(purged.accounts).toBe(1);
      expect(purged.objects).toBeGreaterThanOrEqual(1);
      expect(await services.prisma.user.count({ where: { id: erin.id } })).toBe(0);
      expect(await services.prisma.file.count({ where: { id: file.id } })).toBe(0);
      expect(await services.storage.stat(file.storageKey)).toBeNull();
      const events = await services.prisma.auditEvent.findMany({ where: { targetId: erin.id }, orderBy: { createdAt: "asc" } });
      expect(events.map((event) => event.action)).toEqual(expect.arrayContaining(["user.deleted", "user.purged"]));
      expect(events.find((event) => event.action === "user.purged")).toMatchObject({
        actorId: null,
        actorLabel: "system",
        details: { graceDays: 30, files: 1 },
      });
      // The email is free again, and nothing in the audit log names the person any more.
      expect(JSON.stringify(events)).not.toContain(erin.email);
      expect((await new TestClient(app.url).register("Erin Anew", erin.email)).status).toBe(302);
    });

    it("leaves an account alone when a restore commits while the purge waits for its row", async () => {
      const hana = await registerPerson(app, "Hana Hesitant", "hana@example.com");
      await admin.client.postForm(`/admin/users/${hana.id}/delete`, { confirmEmail: hana.email, proof: PASSWORD, files: "delete" });
      // A restore under way in another connection: it holds the row, as restoreDeletedAccount does.
      const restore = new pg.Client({ connectionString: app.env.DATABASE_URL });
      await restore.connect();
      try {
        await restore.query("BEGIN");
        await restore.query("SELECT id FROM users WHERE id = $1 FOR UPDATE", [hana.id]);
        await restore.query("UPDATE users SET deleted_at = NULL, deactivated_at = NULL WHERE id = $1", [hana.id]);
        const purge = purgeDeletedAccounts(services, new Date(Date.now() + 365 * DAY));
        // The purge listed the account and now waits for its row.
        await expect
          .poll(async () => {
            const [row] = await services.prisma.$queryRaw<Array<{ waiting: bigint }>>`
              SELECT count(*) AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
            return Number(row.waiting);
          })
          .toBeGreaterThan(0);
        await restore.query("COMMIT");
        expect(await purge).toEqual({ accounts: 0, objects: 0 });
      } finally {
        await restore.end();
      }
      expect(await services.prisma.user.findUniqueOrThrow({ where: { id: hana.id } })).toMatchObject({ deletedAt: null });
      expect(await services.prisma.auditEvent.count({ where: { action: "user.purged", targetId: hana.id } })).toBe(0);
    });

    it("lets an admin purge a deleted account now, and purges at once without a grace period", async () => {
      const fred = await registerPerson(app, "Fred Fast", "fred@example.com");
      await admin.client.postForm(`/admin/users/${fred.id}/delete`, { confirmEmail: fred.email, proof: PASSWORD, files: "delete" });
      const page = await (await admin.client.get(`/admin/users/${fred.id}/delete`)).text();
      expect(page).toContain("this purges it now");
      const now = await admin.client.postForm(`/admin/users/${fred.id}/delete`, {
        confirmEmail: fred.email,
        proof: PASSWORD,
        files: "delete",
      });
      expect(now.headers.get("location")).toBe("/admin/users?done=purged");
      expect(await services.prisma.user.count({ where: { id: fred.id } })).toBe(0);
      expect(await services.prisma.auditEvent.count({ where: { action: "user.purged", targetId: fred.id, actorId: admin.id } })).toBe(1);

      await updateSettings(services, { deletedAccountRetentionDays: 0 });
      try {
        const gina = await registerPerson(app, "Gina Gone", "gina@example.com");
        const gone = await admin.client.postForm(`/admin/users/${gina.id}/delete`, {
          confirmEmail: gina.email,
          proof: PASSWORD,
          files: "delete",
        });
        expect(gone.headers.get("location")).toBe("/admin/users?done=deleted");
        expect(await services.prisma.user.count({ where: { id: gina.id } })).toBe(0);
      } finally {
        await updateSettings(services, { deletedAccountRetentionDays: 30 });
      }
    });
  });
});
