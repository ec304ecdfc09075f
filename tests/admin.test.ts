import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { getSettings } from "~/domain/admin/settings.server";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

const KiB = 1024;
const MiB = 1024 * KiB;

function upload(client: TestClient, name: string, bytes: number) {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(randomBytes(bytes))]), name);
  return client.postMultipart("/files", form);
}

/** The whole settings form, as a browser without JavaScript posts it. */
function settingsForm(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    defaultQuota: "",
    maxFileSize: "20MiB",
    blockedExtensions: "",
    trashRetentionDays: "30",
    auditRetentionDays: "365",
    versionsKept: "10",
    versionRetentionDays: "",
    deletedAccountRetentionDays: "30",
    coldTierAfterDays: "",
    sessionIdleDays: "14",
    sessionAbsoluteDays: "30",
    tokenMaxDays: "365",
    ...overrides,
  };
}

describe("administration: settings and quotas over HTTP (local disk, memory cache)", () => {
  let app: TestApp;
  let admin: TestClient;
  let user: TestClient;
  let adminId: string;
  let userId: string;

  const storedSettings = async () =>
    (await app.services.prisma.setting.findMany({ orderBy: { key: "asc" } })).map((row) => [row.key, row.value, row.updatedAt.getTime()]);

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" }, { MAX_UPLOAD_SIZE: "20MiB" });
    admin = new TestClient(app.url);
    user = new TestClient(app.url);
    await admin.register("Ada Admin", "ada@example.com");
    await user.register("Bob User", "bob@example.com");
    adminId = (await app.services.prisma.user.findUniqueOrThrow({ where: { email: "ada@example.com" } })).id;
    userId = (await app.services.prisma.user.findUniqueOrThrow({ where: { email: "bob@example.com" } })).id;
  });

  describe("access", () => {
    it("sends anonymous visitors to login, for the page and for posts", async () => {
      const anonymous = new TestClient(app.url);
      const page = await anonymous.get("/admin/settings");
      expect(page.status).toBe(302);
      expect(page.headers.get("location")).toBe("/login?redirectTo=%2Fadmin%2Fsettings");
      const post = await anonymous.postForm("/admin/settings", settingsForm({ maxFileSize: "1MiB" }));
      expect(post.status).toBe(302);
      expect(post.headers.get("location")).toMatch(/^\/login\?redirectTo=/);
      const quota = await anonymous.postForm("/admin/users", { intent: "set-quota", userId, quota: "1MiB" });
      expect(quota.status).toBe(302);
      expect(quota.headers.get("location")).toMatch(/^\/login\?redirectTo=/);
      expect(await app.services.prisma.setting.count()).toBe(0);
      expect((await app.services.prisma.user.findUniqueOrThrow({ where: { id: userId } })).quotaBytes).toBeNull();
    });

    it("answers 403 to ordinary users, for the page and for posts, and changes nothing", async () => {
      const page = await user.get("/admin/settings");
      expect(page.status).toBe(403);
      expect(await page.text()).toContain("Only administrators can open this page.");
      expect((await user.postForm("/admin/settings", settingsForm({ maxFileSize: "1MiB" }))).status).toBe(403);
      expect((await user.postForm("/admin/users", { intent: "set-quota", userId, quota: "1GiB" })).status).toBe(403);
      expect(await app.services.prisma.setting.count()).toBe(0);
      expect((await app.services.prisma.user.findUniqueOrThrow({ where: { id: userId } })).quotaBytes).toBeNull();
      expect(await app.services.prisma.activity.count({ where: { action: { in: ["settings.updated", "user.quota_changed"] } } })).toBe(0);
    });

    it("shows admins the form with the current values and the configured upload ceiling", async () => {
      const response = await admin.get("/admin/settings");
      expect(response.status).toBe(200);
      const page = await response.text();
      expect(page).toContain('name="defaultQuota"');
      expect(page).toMatch(/name="maxFileSize"[^>]*value="20MiB"/);
      expect(page).toContain('name="blockedExtensions"');
      expect(page).toMatch(/name="trashRetentionDays"[^>]*value="30"/);
      expect(page).toMatch(/name="auditRetentionDays"[^>]*value="365"/);
      expect(page).toMatch(/name="versionsKept"[^>]*value="10"/);
      expect(page).toMatch(/name="versionRetentionDays"[^>]*value=""/);
      expect(page).toMatch(/name="deletedAccountRetentionDays"[^>]*value="30"/);
      expect(page).toContain("At most 20 MiB (MAX_UPLOAD_SIZE");
      // Without single sign-on set up, its setting is not offered (a hidden field keeps the stored choice).
      expect(page).not.toContain("after single sign-on");
      expect(page).toMatch(/<input type="hidden" name="requireMfaAfterSso" value=""\/>/);
      const overview = await (await admin.get("/admin")).text();
      expect(overview).toContain('href="/admin/settings"');
    });
  });

  describe("settings", () => {
    it("saves a change over HTTP, which uploads then obey, and records it", async () => {
      const response = await admin.postForm(
        "/admin/settings",
        settingsForm({ maxFileSize: "1MiB", blockedExtensions: ".EXE, bat  cmd,,", trashRetentionDays: "7", versionsKept: "0" }),
      );
      expect(response.status).toBe(200);
      const page = await response.text();
      expect(page).toContain("Settings saved.");
      expect(page).toContain('value="exe, bat, cmd"');
      expect(await getSettings(app.services)).toEqual({
        defaultQuotaBytes: null,
        maxFileSize: MiB,
        blockedExtensions: ["exe", "bat", "cmd"],
        trashRetentionDays: 7,
        auditRetentionDays: 365,
        versionsKept: 0,
        keepAllVersions: false,
        versionRetentionDays: null,
        deletedAccountRetentionDays: 30,
        coldTierAfterDays: null,
        requireMfaForAdmins: false,
        requireMfaAfterSso: false,
        sessionIdleDays: 14,
        sessionAbsoluteDays: 30,
        tokensMustExpire: false,
        tokenMaxDays: 365,
      });

      const tooBig = await upload(user, "big.bin", 2 * MiB);
      expect(tooBig.status).toBe(413);
      expect(await tooBig.text()).toContain("larger than the 1.0 MiB limit");
      const blocked = await upload(user, "a.exe", 10);
      expect(blocked.status).toBe(400);
      expect(await blocked.text()).toContain("Files of type .exe cannot be uploaded here.");
      const fine = await upload(user, "fine.txt", 10);
      expect(fine.status).toBe(200);
      expect(await app.services.prisma.file.count({ where: { ownerId: userId } })).toBe(1);

      const activity = await app.services.prisma.activity.findMany({ where: { action: "settings.updated" } });
      expect(activity).toHaveLength(1);
      expect(activity[0]).toMatchObject({ userId: adminId, subjectType: "settings" });
      const details = activity[0].details as { changed: string[]; before: Record<string, unknown>; after: Record<string, unknown> };
      expect(details.changed.sort()).toEqual(["blockedExtensions", "maxFileSize", "trashRetentionDays", "versionsKept"]);
      expect(details.before.maxFileSize).toBe(20 * MiB);
      expect(details.after.maxFileSize).toBe(MiB);
    });

    it.each([
      ["a size above MAX_UPLOAD_SIZE", { maxFileSize: "21MiB" }, "maxFileSize", "At most 20 MiB, the MAX_UPLOAD_SIZE"],
      ["a size that is not one", { maxFileSize: "lots" }, "maxFileSize", "“lots” is not a size"],
      ["no size at all", { maxFileSize: "" }, "maxFileSize", "Enter the largest file size"],
      ["a default quota that is not a size", { defaultQuota: "lots" }, "defaultQuota", "“lots” is not a size"],
      ["negative days", { trashRetentionDays: "-5" }, "trashRetentionDays", "from 1 to 3650"],
      ["zero days", { trashRetentionDays: "0" }, "trashRetentionDays", "from 1 to 3650"],
      ["too many days", { trashRetentionDays: "3651" }, "trashRetentionDays", "from 1 to 3650"],
      ["too short an audit retention", { auditRetentionDays: "29" }, "auditRetentionDays", "from 30 to 36500"],
      ["fractional versions", { versionsKept: "1.5" }, "versionsKept", "from 0 to 1000"],
      ["too many versions", { versionsKept: "1001" }, "versionsKept", "from 0 to 1000"],
      ["zero version retention days", { versionRetentionDays: "0" }, "versionRetentionDays", "from 1 to 36500"],
      ["version retention that is not a number", { versionRetentionDays: "a month" }, "versionRetentionDays", "from 1 to 36500"],
      ["a negative grace for deleted accounts", { deletedAccountRetentionDays: "-1" }, "deletedAccountRetentionDays", "from 0 to 3650"],
      ["too long a grace for deleted accounts", { deletedAccountRetentionDays: "3651" }, "deletedAccountRetentionDays", "from 0 to 3650"],
      ["no grace for deleted accounts at all", { deletedAccountRetentionDays: "" }, "deletedAccountRetentionDays", "from 0 to 3650"],
      ["a bad extension", { blockedExtensions: "exe e/x" }, "blockedExtensions", "Not an extension: “e/x”"],
    ])("refuses %s with 400 and a message beside the field, changing nothing", async (_, overrides, field, message) => {
      const before = await storedSettings();
      const activityBefore = await app.services.prisma.activity.count();
      const response = await admin.postForm("/admin/settings", settingsForm({ maxFileSize: "2MiB", ...overrides }));
      expect(response.status).toBe(400);
      const page = await response.text();
      expect(page).toContain("Nothing was saved.");
      expect(page).toContain(message);
      // The message is tied to its field.
      expect(page).toMatch(new RegExp(`aria-invalid="true"[^>]*aria-describedby="field-${field}-error`));
      expect(page).toContain(`id="field-${field}-error"`);
      expect(await storedSettings()).toEqual(before);
      expect((await getSettings(app.services)).maxFileSize).toBe(MiB);
      expect(await app.services.prisma.activity.count()).toBe(activityBefore);
    });

    it("saves the lifecycle rules: every version kept (empty), a version age, a grace for deleted accounts", async () => {
      const response = await admin.postForm(
        "/admin/settings",
        settingsForm({ versionsKept: "", versionRetentionDays: "90", deletedAccountRetentionDays: "0" }),
      );
      expect(response.status).toBe(200);
      const page = await response.text();
      expect(page).toMatch(/name="versionsKept"[^>]*value=""/);
      expect(page).toMatch(/name="versionRetentionDays"[^>]*value="90"/);
      expect(page).toMatch(/name="deletedAccountRetentionDays"[^>]*value="0"/);
      // A release that knows only the count keeps as many as it can.
      expect(await getSettings(app.services)).toMatchObject({
        keepAllVersions: true,
        versionsKept: 1000,
        versionRetentionDays: 90,
        deletedAccountRetentionDays: 0,
      });
      expect((await admin.postForm("/admin/settings", settingsForm({ maxFileSize: "1MiB", versionsKept: "0" }))).status).toBe(200);
      expect(await getSettings(app.services)).toMatchObject({
        keepAllVersions: false,
        versionsKept: 0,
        versionRetentionDays: null,
        deletedAccountRetentionDays: 30,
      });
    });

    it("keeps what was typed after a refusal, and reports every bad field at once", async () => {
      const response = await admin.postForm(
        "/admin/settings",
        settingsForm({ maxFileSize: "lots", trashRetentionDays: "-1", blockedExtensions: "e/x", defaultQuota: "7GiB" }),
      );
      expect(response.status).toBe(400);
      const page = await response.text();
      expect(page).toContain("“lots” is not a size");
      expect(page).toContain("from 1 to 3650");
      expect(page).toContain("Not an extension");
      expect(page).toContain('value="7GiB"');
      expect(page).toContain('value="e/x"');
    });
  });

  describe("a page save beside an API change", () => {
    /** The values the settings page showed, from its hidden field. */
    async function loadedByPage(): Promise<Record<string, string>> {
      const page = await (await admin.get("/admin/settings")).text();
      const match = /name="loaded" value="([^"]*)"/.exec(page);
      expect(match).not.toBeNull();
      const decoded = match![1]!
        .replace(/&quot;/g, '"')
        .replace(/&#x27;/g, "'")
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&amp;/g, "&");
      return JSON.parse(decoded) as Record<string, string>;
    }

    const patchByApi = (body: Record<string, unknown>) =>
      admin.request("/api/v1/admin/settings", {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });

    it("keeps a change the API saved after the page was loaded to a field the page left alone", async () => {
      const loaded = await loadedByPage();
      expect((await patchByApi({ trashRetentionDays: 11 })).status).toBe(200);
      const response = await admin.postForm("/admin/settings", {
        ...loaded,
        auditRetentionDays: "400",
        loaded: JSON.stringify(loaded),
      });
      expect(response.status).toBe(200);
      const settings = await getSettings(app.services);
      expect(settings.trashRetentionDays).toBe(11);
      expect(settings.auditRetentionDays).toBe(400);
    });

    it("waits for the settings lock the API's PATCH holds, then saves", async () => {
      const loaded = await loadedByPage();
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const lockHeld = new Promise<void>((resolve) => (locked = resolve));
      // The API's PATCH takes this transaction-scoped lock around its read and write.
      const holder = app.services.prisma.$transaction(
        async (tx) => {
          await tx.$executeRaw`SELECT pg_advisory_xact_lock(72707373)`;
          locked();
          await released;
        },
        { timeout: 30_000 },
      );
      await lockHeld;
      let settled = false;
      // A plain form, as a script posts it (without the shown values): it takes the lock all the same.
      const save = admin.postForm("/admin/settings", { ...loaded, trashRetentionDays: "12" }).then((response) => {
        settled = true;
        return response;
      });
      await new Promise((resolve) => setTimeout(resolve, 750));
      expect(settled).toBe(false);
      expect((await getSettings(app.services)).trashRetentionDays).toBe(11);
      release();
      await holder;
      expect((await save).status).toBe(200);
      expect((await getSettings(app.services)).trashRetentionDays).toBe(12);
    });

    it("refuses a post whose shown values are not the page's, and saves nothing", async () => {
      const loaded = await loadedByPage();
      const before = await storedSettings();
      const response = await admin.postForm("/admin/settings", {
        ...loaded,
        trashRetentionDays: "13",
        loaded: '{"trashRetentionDays":1}',
      });
      expect(response.status).toBe(400);
      expect(await response.text()).toContain("The form is out of date");
      expect(await storedSettings()).toEqual(before);
    });
  });

  describe("per-user quota", () => {
    beforeAll(async () => {
      const response = await admin.postForm("/admin/settings", settingsForm({ maxFileSize: "10MiB", defaultQuota: "8MiB" }));
      expect(response.status).toBe(200);
    });

    it("shows each user's quota, usage and a form to override it", async () => {
      const page = await (await admin.get("/admin/users")).text();
      expect(page).toContain("Default (8.0 MiB)");
      expect(page).toContain('role="meter"');
      expect(page).toContain('name="intent" value="set-quota"');
      expect(page).toContain(`name="userId" value="${userId}"`);
      expect(page.match(/data-testid="admin-user-row"/g)).toHaveLength(2);
    });

    it("takes effect: an upload over the room left is refused, and clearing returns to the default", async () => {
      const set = await admin.postForm("/admin/users", { intent: "set-quota", userId, quota: "1MiB" });
      expect(set.status).toBe(200);
      expect(await set.text()).toContain("Bob User may now store 1.0 MiB.");
      expect((await app.services.prisma.user.findUniqueOrThrow({ where: { id: userId } })).quotaBytes).toBe(BigInt(MiB));
      const page = await (await admin.get("/admin/users")).text();
      expect(page).toContain('value="1MiB"');

      const refused = await upload(user, "over.bin", 1.5 * MiB);
      expect(refused.status).toBe(413);
      expect(await refused.text()).toContain("Not enough room");

      const cleared = await admin.postForm("/admin/users", { intent: "set-quota", userId, quota: "" });
      expect(cleared.status).toBe(200);
      expect(await cleared.text()).toContain("Bob User now has the default quota.");
      expect((await app.services.prisma.user.findUniqueOrThrow({ where: { id: userId } })).quotaBytes).toBeNull();
      const accepted = await upload(user, "now-fits.bin", 1.5 * MiB);
      expect(accepted.status).toBe(200);

      const activity = await app.services.prisma.activity.findMany({
        where: { action: "user.quota_changed" },
        orderBy: { createdAt: "asc" },
      });
      expect(activity.map((row) => [row.userId, row.subjectType, row.subjectId, row.details])).toEqual([
        [adminId, "user", userId, { before: null, after: MiB }],
        [adminId, "user", userId, { before: MiB, after: null }],
      ]);
    });

    it("goes back to unlimited when the default quota is emptied", async () => {
      const response = await admin.postForm("/admin/settings", settingsForm({ maxFileSize: "10MiB", defaultQuota: "" }));
      expect(response.status).toBe(200);
      expect((await getSettings(app.services)).defaultQuotaBytes).toBeNull();
      const page = await (await admin.get("/admin/users")).text();
      expect(page).toContain("Unlimited");
      expect(page).not.toContain("Default (");
      const usage = await (await admin.get("/admin/settings")).text();
      expect(usage).toMatch(/name="defaultQuota"[^>]*value=""/);
    });

    it("refuses a quota that is not a size with 400 beside the field, and unknown users with 404", async () => {
      const bad = await admin.postForm("/admin/users", { intent: "set-quota", userId, quota: "lots" });
      expect(bad.status).toBe(400);
      const page = await bad.text();
      expect(page).toContain("“lots” is not a size");
      expect(page).toMatch(new RegExp(`aria-invalid="true"[^>]*aria-describedby="quota-${userId}-error`));
      expect((await app.services.prisma.user.findUniqueOrThrow({ where: { id: userId } })).quotaBytes).toBeNull();

      expect((await admin.postForm("/admin/users", { intent: "set-quota", userId: "no-such-user", quota: "1GiB" })).status).toBe(404);
      expect((await admin.postForm("/admin/users", { intent: "set-quota", quota: "1GiB" })).status).toBe(404);
      expect((await admin.postForm("/admin/users", { intent: "something-else", userId })).status).toBe(400);
      expect(await app.services.prisma.activity.count({ where: { action: "user.quota_changed" } })).toBe(2);
    });
  });

  describe("the overview at /admin", () => {
    /** The text of the overview card with this test id, tags dropped and spaces collapsed. */
    async function card(testId: string): Promise<string> {
      const html = await (await admin.get("/admin")).text();
      const start = html.indexOf(`data-testid="${testId}"`);
      expect(start).toBeGreaterThan(-1);
      const section = html.slice(start, html.indexOf("</section>", start));
      return section
        .replace(/<[^>]+>/g, " ")
        .replace(/&#x27;|&#39;/g, "'")
        .replace(/\s+/g, " ");
    }

    it("counts the accounts, flags the nearly full ones and links to the users page", async () => {
      expect(await card("overview-accounts")).toContain("2 active accounts");
      expect(await card("overview-accounts")).toContain("No account is near its quota.");
      // Bob stores what he uploaded above; a quota just over it puts him past 90 %.
      const bob = await app.services.prisma.user.findUniqueOrThrow({ where: { id: userId } });
      expect(Number(bob.storageUsed)).toBeGreaterThan(0);
      await app.services.prisma.user.update({ where: { id: userId }, data: { quotaBytes: bob.storageUsed + 1n } });
      try {
        const accounts = await card("overview-accounts");
        expect(accounts).toContain("1 administrator");
        expect(accounts).toContain("1 account at 90 % of quota or more");
        expect(accounts).toContain("Users →");
        expect(await card("overview-storage")).toMatch(/\d[\d.]* (KiB|MiB) stored/);
      } finally {
        await app.services.prisma.user.update({ where: { id: userId }, data: { quotaBytes: null } });
      }
    });

    it("shows today's uploads, every service as up, the backups and the job queues", async () => {
      const before = Number((await card("overview-today")).match(/(\d+) uploads?/)![1]);
      expect((await upload(user, "overview.bin", 3 * KiB)).status).toBe(200);
      expect(await card("overview-today")).toContain(`${before + 1} upload`);
      const services = await card("overview-services");
      expect(services).toContain("All answering");
      for (const name of ["Database", "File storage", "Search", "Cache"]) expect(services).toContain(`Up ${name}:`);
      expect(await card("overview-backups")).toContain("Backups are off: no backup target is set.");
      expect(await card("overview-jobs")).toMatch(/failures? in 24 h|not running on this instance yet/);
      const page = await (await admin.get("/admin")).text();
      expect(page).toContain('<svg viewBox="0 0 640 220"');
      expect(page).not.toContain('role="alert"');
    });

    it("is for administrators only", async () => {
      expect((await user.get("/admin")).status).toBe(403);
      const anonymous = new TestClient(app.url);
      expect((await anonymous.get("/admin")).headers.get("location")).toBe("/login?redirectTo=%2Fadmin");
    });
  });
});
