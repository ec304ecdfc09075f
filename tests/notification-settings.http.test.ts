// /settings/notifications and the one-click unsubscribe (RFC 8058) over HTTP against the
// production build: the plain form saves and refuses, GET of an unsubscribe link changes nothing,
// its POST works with no session, no CSRF token and another site's Origin, and changes only the
// kind it names; forged tokens are a 400.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getNotificationPreferences } from "~/domain/events/preferences.server";
import { unsubscribeToken } from "~/domain/events/unsubscribe.server";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { startMailbox } from "./support/mailbox";

const SECRET = "test-secret-that-is-at-least-32-characters-long";
let app: TestApp;
let mailbox: Awaited<ReturnType<typeof startMailbox>>;
let client: TestClient;
let userId: string;

const channels = async () =>
  Object.fromEntries((await getNotificationPreferences(app.services, userId)).kinds.map((k) => [k.kind, k.channel]));

beforeAll(async () => {
  mailbox = await startMailbox();
  app = await startTestApp(
    { storage: "local", cache: "memory" },
    { SMTP_URL: mailbox.url, APP_URL: "http://coffer.test", MAIL_FROM: "Coffer <coffer@coffer.test>", SESSION_SECRET: SECRET },
  );
  client = new TestClient(app.url);
  await client.register("Nell Notify", "nell@example.com");
  userId = (await app.services.prisma.user.findUniqueOrThrow({ where: { email: "nell@example.com" } })).id;
});
afterAll(async () => {
  await app?.close();
  await mailbox?.close();
});

describe("/settings/notifications", () => {
  it("shows each kind with its choice, and saves a plain form post", async () => {
    const page = await client.get("/settings/notifications");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Someone uploads a file into my shared folder");
    expect(html).toMatch(/name="channel\.file\.created" checked="" value="in-app"/);
    const saved = await client.postForm("/settings/notifications", {
      "channel.file.created": "digest",
      "channel.share.granted": "off",
      locale: "de-DE",
      timeZone: "Europe/Berlin",
    });
    expect(saved.status).toBe(302);
    expect(saved.headers.get("location")).toBe("/settings/notifications?done=1");
    expect(await channels()).toMatchObject({ "file.created": "digest", "share.granted": "off", "share.dropped": "in-app" });
    const after = await (await client.get("/settings/notifications?done=1")).text();
    expect(after).toContain("Your notification settings were saved.");
    expect(after).toMatch(/name="channel\.file\.created" checked="" value="digest"/);
  });

  it("refuses an unknown channel or time zone with a 400 naming the field, and keeps the rest", async () => {
    const bad = await client.postForm("/settings/notifications", { "channel.file.created": "loud", timeZone: "Mars/Olympus" });
    expect(bad.status).toBe(400);
    const wrongZone = await client.postForm("/settings/notifications", { "channel.file.created": "email", timeZone: "Mars/Olympus" });
    expect(wrongZone.status).toBe(400);
    expect(await wrongZone.text()).toContain("Not a time zone this server knows");
    expect((await channels())["file.created"]).toBe("digest");
  });

  it("stores this browser's language when asked to", async () => {
    const saved = await client.request("/settings/notifications", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "accept-language": "fr-CH, fr;q=0.9, en;q=0.8" },
      body: new URLSearchParams({ locale: "browser", timeZone: "" }).toString(),
    });
    expect(saved.status).toBe(302);
    expect(await app.services.prisma.notificationSettings.findUnique({ where: { userId } })).toMatchObject({
      locale: "fr-CH",
      timeZone: null,
    });
  });

  it("offers administrators' kinds (job.failed) to administrators only, and refuses them from anyone else", async () => {
    // Nell registered first: the administrator.
    expect(await (await client.get("/settings/notifications")).text()).toContain('name="channel.job.failed"');
    const other = new TestClient(app.url);
    await other.register("Otto Other", "otto@example.com");
    const ottoId = (await app.services.prisma.user.findUniqueOrThrow({ where: { email: "otto@example.com" } })).id;
    const page = await (await other.get("/settings/notifications")).text();
    expect(page).toContain('name="channel.share.granted"');
    expect(page).toContain('name="channel.admin.announcement"');
    expect(page).not.toContain("job.failed");
    const kinds = (await getNotificationPreferences(app.services, ottoId)).kinds.map((entry) => entry.kind);
    expect(kinds).not.toContain("job.failed");
    expect((await other.postForm("/settings/notifications", { "channel.job.failed": "email" })).status).toBe(400);
    const viaApi = await other.request("/api/v1/me/notification-preferences", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ channels: { "job.failed": "email" } }),
    });
    expect(viaApi.status).toBe(422);
    expect((await viaApi.json()).errors[0].pointer).toBe("/body/channels/job.failed");
    expect(await app.services.prisma.notificationPreference.count({ where: { userId: ottoId } })).toBe(0);
  });

  it("sends anonymous visitors to the login page", async () => {
    const anonymous = await new TestClient(app.url).get("/settings/notifications");
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get("location")).toMatch(/^\/login/);
  });
});

describe("/unsubscribe/:token", () => {
  it("GET shows a confirmation and changes nothing", async () => {
    await client.postForm("/settings/notifications", { "channel.share.dropped": "email", "channel.folder.created": "email" });
    const before = await channels();
    const token = unsubscribeToken(SECRET, userId, "share.dropped");
    const page = await new TestClient(app.url).get(`/unsubscribe/${token}`);
    expect(page.status).toBe(200);
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    expect(await page.text()).toContain("A file arrives through my file-drop link");
    expect(await channels()).toEqual(before);
  });

  it("a one-click POST with no session, no CSRF token and a foreign Origin turns off that kind only", async () => {
    const before = await channels();
    const token = unsubscribeToken(SECRET, userId, "share.dropped");
    const response = await fetch(`${app.url}/unsubscribe/${token}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://mail.example.net", "sec-fetch-site": "cross-site" },
      body: "List-Unsubscribe=One-Click",
      redirect: "manual",
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("is now off");
    expect(await channels()).toEqual({ ...before, "share.dropped": "off" });
    // Repeating it is harmless.
    const again = await fetch(`${app.url}/unsubscribe/${token}`, {
      method: "POST",
      body: "List-Unsubscribe=One-Click",
      redirect: "manual",
    });
    expect(again.status).toBe(200);
  });

  it("the exemption is that route's alone: another form still needs its token and our Origin", async () => {
    const forged = await fetch(`${app.url}/settings/notifications`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://mail.example.net", cookie: client.cookieHeader },
      body: "channel.file.created=off",
      redirect: "manual",
    });
    expect(forged.status).toBe(403);
    expect((await channels())["file.created"]).not.toBe("off");
  });

  it("forged or garbled tokens are a 400, on GET and POST, and change nothing", async () => {
    const before = await channels();
    const good = unsubscribeToken(SECRET, userId, "folder.created");
    for (const token of [
      unsubscribeToken("some-other-secret-that-is-long-enough!!", userId, "folder.created"),
      good.replace(Buffer.from("folder.created").toString("hex"), Buffer.from("file.created").toString("hex")),
      "not-a-token",
      "%00%ff",
      "a".repeat(400),
    ]) {
      const page = await fetch(`${app.url}/unsubscribe/${token}`, { redirect: "manual" });
      expect(page.status, token).toBe(400);
      const post = await fetch(`${app.url}/unsubscribe/${token}`, {
        method: "POST",
        body: "List-Unsubscribe=One-Click",
        redirect: "manual",
      });
      expect(post.status, token).toBe(400);
    }
    expect(await channels()).toEqual(before);
  });
});
