import type { AddressInfo } from "node:net";
import type { ParsedMail } from "mailparser";
import { io as connectSocket, type Socket } from "socket.io-client";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ConfigError, loadConfig } from "~/config.server";
import { describeUserAgent } from "~/lib/user-agent";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { startMailbox } from "./support/mailbox";

const DAY_MS = 24 * 3600 * 1000;
const FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI_IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

/** Page text with React's HTML escapes undone, for matching messages. */
async function pageText(response: Response): Promise<string> {
  return (await response.text()).replaceAll("&#x27;", "'").replaceAll("&quot;", '"').replaceAll("&amp;", "&");
}

function resetPath(mail: ParsedMail): string {
  const match = /https?:\/\/\S+\/reset-password\/[A-Za-z0-9_-]+/.exec(mail.text ?? "");
  if (!match) throw new Error(`no reset link in: ${mail.text}`);
  return new URL(match[0]).pathname;
}

describe("pure parts", () => {
  it("names devices from user agents", () => {
    expect(describeUserAgent(FIREFOX)).toBe("Firefox on Windows");
    expect(describeUserAgent(SAFARI_IPHONE)).toBe("Safari on iPhone");
    expect(
      describeUserAgent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
      ),
    ).toBe("Edge on macOS");
    expect(describeUserAgent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")).toBe(
      "Chrome on Linux",
    );
    expect(
      describeUserAgent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36"),
    ).toBe("Chrome on Linux");
    expect(describeUserAgent(null)).toBe("Unknown device");
    expect(describeUserAgent("node")).toBe("Unknown device");
  });

  it("requires APP_URL with SMTP_URL, and derives MAIL_FROM from it", () => {
    expect(() => loadConfig({ SMTP_URL: "smtp://mail.example.com:587" })).toThrow(ConfigError);
    expect(() => loadConfig({ SMTP_URL: "http://mail.example.com", APP_URL: "https://files.example.com" })).toThrow(/SMTP_URL/);
    expect(loadConfig({ SMTP_URL: "smtp://u:p@mail.example.com:587", APP_URL: "https://files.example.com" }).mail).toEqual({
      smtpUrl: "smtp://u:p@mail.example.com:587",
      from: "Coffer <noreply@files.example.com>",
      appUrl: "https://files.example.com",
      locale: "en",
    });
    expect(
      loadConfig({ SMTP_URL: "smtps://mail.example.com", APP_URL: "https://x.example", MAIL_FROM: "Files <files@x.example>" }).mail?.from,
    ).toBe("Files <files@x.example>");
    expect(loadConfig({}).mail).toBeNull();
  });
});

describe("passwords, recovery and sessions over HTTP (local disk, Redis cache)", () => {
  let mailbox: Awaited<ReturnType<typeof startMailbox>>;
  let app: TestApp;
  const userId = async (email: string) => (await app.services.prisma.user.findUniqueOrThrow({ where: { email } })).id;

  beforeAll(async () => {
    mailbox = await startMailbox();
    app = await startTestApp(
      { storage: "local", cache: "redis" },
      { SMTP_URL: mailbox.url, APP_URL: "http://coffer.test", MAIL_FROM: "Coffer <coffer@coffer.test>" },
    );
    // The first account is the administrator.
    await new TestClient(app.url).register("Root Admin", "root@example.com");
  });
  afterAll(async () => {
    await app?.close();
    await mailbox?.close();
  });

  describe("password policy at registration", () => {
    it("refuses a common password and one containing the name or email, saying which rule failed", async () => {
      const client = new TestClient(app.url);
      const common = await client.postForm("/register", { name: "Nora", email: "nora@example.com", password: "1q2w3e4r5t6y" });
      expect(common.status).toBe(400);
      expect(await pageText(common)).toContain("This password is on a list of common or breached passwords.");
      const named = await client.postForm("/register", {
        name: "Nora Quill",
        email: "nora@example.com",
        password: "quill-writes-every-day",
      });
      expect(named.status).toBe(400);
      expect(await pageText(named)).toContain("The password must not contain your name or email address.");
      const tooLong = await client.postForm("/register", { name: "Nora", email: "nora@example.com", password: "z".repeat(257) });
      expect(tooLong.status).toBe(400);
      expect(await pageText(tooLong)).toContain("Use at most 256 characters.");
      expect(await app.services.prisma.user.count({ where: { email: "nora@example.com" } })).toBe(0);
    });
  });

  describe("change password", () => {
    it("requires the current password and applies the policy", async () => {
      const client = new TestClient(app.url);
      await client.register("Carl Change", "carl@example.com");
      const wrong = await client.postForm("/settings/security", {
        intent: "change-password",
        currentPassword: "not my password at all",
        newPassword: "fresh violet tractor",
        confirmPassword: "fresh violet tractor",
      });
      expect(wrong.status).toBe(400);
      expect(await pageText(wrong)).toContain("That is not your current password.");
      const common = await client.postForm("/settings/security", {
        intent: "change-password",
        currentPassword: "correct horse battery staple",
        newPassword: "Password123456!",
        confirmPassword: "Password123456!",
      });
      expect(common.status).toBe(400);
      expect(await pageText(common)).toContain("list of common or breached passwords");
      const mismatch = await client.postForm("/settings/security", {
        intent: "change-password",
        currentPassword: "correct horse battery staple",
        newPassword: "fresh violet tractor",
        confirmPassword: "fresh violet tractors",
      });
      expect(mismatch.status).toBe(400);
      expect(await pageText(mismatch)).toContain("The two passwords do not match.");
      // The failed attempt with a wrong current password is a security event of the account.
      const page = await pageText(await client.get("/settings/security"));
      expect(page).toMatch(/Password changed.*Failed/s);
      expect((await client.login("carl@example.com")).status).toBe(302);
    });

    it("limits attempts per account, so a stolen session cannot guess the password", async () => {
      const client = new TestClient(app.url);
      await client.register("Gus Guess", "gus@example.com");
      const attempt = (current: string) =>
        client.postForm("/settings/security", {
          intent: "change-password",
          currentPassword: current,
          newPassword: "fresh violet tractor",
          confirmPassword: "fresh violet tractor",
        });
      for (let i = 0; i < 10; i++) expect((await attempt(`guess number ${i}`)).status).toBe(400);
      const limited = await attempt("correct horse battery staple");
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await pageText(limited)).toMatch(/Too many attempts to change the password\. Try again in \d+ minutes\./);
      expect((await new TestClient(app.url).login("gus@example.com")).status).toBe(302);
    });

    it("logs out every other session and gives this browser a new session id", async () => {
      const client = new TestClient(app.url);
      await client.register("Dora Device", "dora@example.com");
      const laptop = new TestClient(app.url);
      expect((await laptop.login("dora@example.com")).status).toBe(302);
      const oldCookie = client.cookieHeader;
      const changed = await client.postForm("/settings/security", {
        intent: "change-password",
        currentPassword: "correct horse battery staple",
        newPassword: "amber kettle over mountains",
        confirmPassword: "amber kettle over mountains",
      });
      expect(changed.status).toBe(302);
      expect(changed.headers.get("location")).toBe("/settings/security?done=password-changed");
      expect(client.cookieHeader).not.toBe(oldCookie);
      const page = await client.get(changed.headers.get("location")!);
      expect(page.status).toBe(200);
      const html = await pageText(page);
      expect(html).toContain("Your password was changed. Every other session was logged out.");
      expect(html).toContain("Password changed");
      // The other browser and the old id of this one are logged out.
      expect((await laptop.get("/files")).status).toBe(302);
      expect((await fetch(new URL("/files", app.url), { headers: { cookie: oldCookie }, redirect: "manual" })).status).toBe(302);
      expect(await app.services.prisma.session.count({ where: { userId: await userId("dora@example.com") } })).toBe(1);
      // Old password refused, new one accepted.
      expect((await new TestClient(app.url).login("dora@example.com")).status).not.toBe(302);
      expect((await new TestClient(app.url).login("dora@example.com", "amber kettle over mountains")).status).toBe(302);
      const events = await app.services.prisma.auditEvent.findMany({
        where: { action: "auth.password_changed", targetId: await userId("dora@example.com") },
      });
      expect(events.map((e) => e.outcome)).toEqual(["success"]);
    });
  });

  describe("sessions", () => {
    it("lists my sessions with device, IP and this device; revokes one and all others", async () => {
      const phone = new TestClient(app.url);
      await phone.request("/register", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "user-agent": SAFARI_IPHONE },
        body: new URLSearchParams({ name: "Sid Sessions", email: "sid@example.com", password: "correct horse battery staple" }).toString(),
      });
      const desktop = new TestClient(app.url);
      await desktop.request("/login", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "user-agent": FIREFOX },
        body: new URLSearchParams({ email: "sid@example.com", password: "correct horse battery staple" }).toString(),
      });
      const tablet = new TestClient(app.url);
      expect((await tablet.login("sid@example.com")).status).toBe(302);

      const html = await pageText(await desktop.get("/settings/security"));
      expect(html).toContain("Safari on iPhone");
      expect(html).toMatch(/Firefox on Windows<span[^>]*>This device</);
      expect(html).toContain("127.0.0.1");
      // Session ids are credentials: the page names sessions by a digest only.
      const ids = (await app.services.prisma.session.findMany({ where: { userId: await userId("sid@example.com") } })).map((s) => s.id);
      expect(ids).toHaveLength(3);
      for (const id of ids) expect(html).not.toContain(id);

      const keys = [...html.matchAll(/name="session" value="([^"]+)"/g)].map((m) => m[1]);
      expect(keys).toHaveLength(2);
      const phoneKey = [...html.matchAll(/Safari on iPhone.*?name="session" value="([^"]+)"/gs)][0][1];
      const revoked = await desktop.postForm("/settings/security", { intent: "revoke-session", session: phoneKey });
      expect(revoked.status).toBe(302);
      expect(revoked.headers.get("location")).toBe("/settings/security?done=session-revoked");
      expect((await phone.get("/files")).status).toBe(302);
      expect((await tablet.get("/files")).status).toBe(200);
      // The same key again: gone.
      expect((await desktop.postForm("/settings/security", { intent: "revoke-session", session: phoneKey })).status).toBe(404);

      const others = await desktop.postForm("/settings/security", { intent: "revoke-other-sessions" });
      expect(others.headers.get("location")).toBe("/settings/security?done=others-revoked");
      expect((await tablet.get("/files")).status).toBe(302);
      expect((await desktop.get("/files")).status).toBe(200);
      const audit = await app.services.prisma.auditEvent.findMany({
        where: { action: "auth.session_revoked", actorId: await userId("sid@example.com") },
      });
      expect(audit).toHaveLength(2);
    });

    it("refuses to revoke another user's session (404) and sends anonymous visitors to login", async () => {
      const mallory = new TestClient(app.url);
      await mallory.register("Mallory", "mallory@example.com");
      const victim = new TestClient(app.url);
      await victim.register("Vic Tim", "vic@example.com");
      const victimKey = [...(await pageText(await victim.get("/settings/security"))).matchAll(/name="session" value="([^"]+)"/g)];
      expect(victimKey).toHaveLength(0); // only "this device": no button for it
      const { sessionKey } = await import("~/domain/accounts/sessions.server");
      const victimSession = await app.services.prisma.session.findFirstOrThrow({ where: { userId: await userId("vic@example.com") } });
      const refused = await mallory.postForm("/settings/security", { intent: "revoke-session", session: sessionKey(victimSession.id) });
      expect(refused.status).toBe(404);
      expect((await victim.get("/files")).status).toBe(200);
      // Not even the raw id works.
      expect((await mallory.postForm("/settings/security", { intent: "revoke-session", session: victimSession.id })).status).toBe(404);
      expect((await mallory.postForm("/settings/security", { intent: "nonsense" })).status).toBe(400);

      const anonymous = new TestClient(app.url);
      expect((await anonymous.get("/settings/security")).headers.get("location")).toBe("/login?redirectTo=%2Fsettings%2Fsecurity");
      expect((await anonymous.postForm("/settings/security", { intent: "revoke-other-sessions" })).status).toBe(302);
    });

    it("closes the live connection of a session when it is revoked, and refuses it afterwards", async () => {
      const tab = new TestClient(app.url);
      await tab.register("Liv Live", "liv@example.com");
      const owner = new TestClient(app.url);
      expect((await owner.login("liv@example.com")).status).toBe(302);
      const connect = (cookie: string) => {
        const socket = connectSocket(app.url, {
          path: "/socket.io",
          extraHeaders: { cookie },
          transports: ["websocket"],
          reconnection: false,
        });
        return new Promise<Socket>((resolve, reject) => {
          socket.on("connect", () => resolve(socket));
          socket.on("connect_error", (error) => {
            socket.close();
            reject(error);
          });
        });
      };
      const socket = await connect(tab.cookieHeader);
      const closed = new Promise<string>((resolve) => socket.on("disconnect", (reason) => resolve(reason)));
      expect((await owner.postForm("/settings/security", { intent: "revoke-other-sessions" })).status).toBe(302);
      expect(await closed).toBe("io server disconnect");
      // Refused at the handshake (before a connection exists), so the client sees a failed upgrade.
      await expect(connect(tab.cookieHeader)).rejects.toThrow(/unauthorized|websocket error|xhr poll error/);
      // The owner's own connection stays.
      const mine = await connect(owner.cookieHeader);
      expect(mine.connected).toBe(true);
      mine.close();
    });

    it("ends sessions idle longer than the idle timeout, and any session older than the absolute timeout", async () => {
      const idle = new TestClient(app.url);
      await idle.register("Ida Idle", "ida@example.com");
      const id = await userId("ida@example.com");
      // Defaults: 14 days idle, 30 days absolute (SESSION_TTL_DAYS).
      await app.services.prisma.session.updateMany({ where: { userId: id }, data: { lastSeenAt: new Date(Date.now() - 13 * DAY_MS) } });
      expect((await idle.get("/files")).status).toBe(200);
      await app.services.prisma.session.updateMany({ where: { userId: id }, data: { lastSeenAt: new Date(Date.now() - 15 * DAY_MS) } });
      expect((await idle.get("/files")).status).toBe(302);
      expect(await app.services.prisma.session.count({ where: { userId: id } })).toBe(0);

      const old = new TestClient(app.url);
      expect((await old.login("ida@example.com")).status).toBe(302);
      await app.services.prisma.session.updateMany({ where: { userId: id }, data: { createdAt: new Date(Date.now() - 31 * DAY_MS) } });
      expect((await old.get("/files")).status).toBe(302);

      // The tus endpoint authenticates with the same check.
      const tusClient = new TestClient(app.url);
      expect((await tusClient.login("ida@example.com")).status).toBe(302);
      await app.services.prisma.session.updateMany({ where: { userId: id }, data: { createdAt: new Date(Date.now() - 31 * DAY_MS) } });
      const tus = await tusClient.request("/api/uploads", { method: "POST", headers: { "Tus-Resumable": "1.0.0", "Upload-Length": "1" } });
      expect(tus.status).toBe(401);
    });

    it("takes the timeouts from the admin settings, applied to existing sessions", async () => {
      const admin = new TestClient(app.url);
      expect((await admin.login("root@example.com")).status).toBe(302);
      const form = {
        defaultQuota: "",
        maxFileSize: "1GiB",
        blockedExtensions: "",
        trashRetentionDays: "30",
        versionsKept: "10",
        deletedAccountRetentionDays: "30",
        sessionIdleDays: "2",
        sessionAbsoluteDays: "1",
        tokenMaxDays: "365",
      };
      const refused = await admin.postForm("/admin/settings", form);
      expect(refused.status).toBe(400);
      expect(await pageText(refused)).toContain("The idle timeout cannot be longer than the absolute timeout");
      const saved = await admin.postForm("/admin/settings", { ...form, sessionIdleDays: "1", sessionAbsoluteDays: "3" });
      expect(saved.status).toBe(200);

      const client = new TestClient(app.url);
      await client.register("Tia Timeout", "tia@example.com");
      const id = await userId("tia@example.com");
      await app.services.prisma.session.updateMany({ where: { userId: id }, data: { lastSeenAt: new Date(Date.now() - 2 * DAY_MS) } });
      expect((await client.get("/files")).status).toBe(302);
      expect((await client.login("tia@example.com")).status).toBe(302);
      // The cookie lasts as long as the absolute timeout.
      await app.services.prisma.session.updateMany({
        where: { userId: id },
        data: { createdAt: new Date(Date.now() - 3 * DAY_MS - 1000) },
      });
      expect((await client.get("/files")).status).toBe(302);
      const settings = await pageText(await admin.get("/admin/settings"));
      expect(settings).toMatch(/name="sessionIdleDays"[^>]*value="1"|value="1"[^>]*name="sessionIdleDays"/);

      const restored = await admin.postForm("/admin/settings", { ...form, sessionIdleDays: "14", sessionAbsoluteDays: "30" });
      expect(restored.status).toBe(200);
    });
  });

  describe("reset by email", () => {
    it("mails a single-use link; resetting sets the password, ends every session and spends other links", async () => {
      const client = new TestClient(app.url);
      await client.register("Rhea Reset", "rhea@example.com");
      const before = mailbox.mails.length;
      const anonymous = new TestClient(app.url);
      const form = await anonymous.get("/forgot-password");
      expect(await pageText(form)).toContain("Send reset link");
      const first = await anonymous.postForm("/forgot-password", { email: "Rhea@Example.com " });
      expect(first.status).toBe(302);
      expect(first.headers.get("location")).toBe("/forgot-password?sent=1");
      expect(await pageText(await anonymous.get("/forgot-password?sent=1"))).toContain(
        "If an account exists for that address, we sent it a link",
      );
      const firstMail = await mailbox.next("rhea@example.com", before);
      expect(firstMail.subject).toBe("Reset your Coffer password");
      expect(firstMail.from?.text).toContain("coffer@coffer.test");
      const firstPath = resetPath(firstMail);
      expect(firstMail.text).toContain(`http://coffer.test${firstPath}`);
      // Only a digest of the token is stored.
      const token = firstPath.split("/").pop()!;
      const rows = await app.services.prisma.passwordResetToken.findMany({ where: { userId: await userId("rhea@example.com") } });
      expect(rows).toHaveLength(1);
      expect(rows[0].tokenHash).not.toContain(token);
      expect(rows[0].expiresAt.getTime() - Date.now()).toBeGreaterThan(29 * 60 * 1000);

      const secondCount = mailbox.mails.length;
      await anonymous.postForm("/forgot-password", { email: "rhea@example.com" });
      const secondPath = resetPath(await mailbox.next("rhea@example.com", secondCount));
      expect(secondPath).not.toBe(firstPath);

      const page = await anonymous.get(firstPath);
      expect(page.status).toBe(200);
      // The last policy is the one browsers apply.
      expect(page.headers.get("referrer-policy")).toMatch(/(^|, )no-referrer$/);
      expect(await pageText(page)).toContain("Set new password");

      const weak = await anonymous.postForm(firstPath, { newPassword: "sunshine2024!", confirmPassword: "sunshine2024!" });
      expect(weak.status).toBe(400);
      expect(await pageText(weak)).toContain("list of common or breached passwords");
      const personal = await anonymous.postForm(firstPath, {
        newPassword: "rhea loves long walks",
        confirmPassword: "rhea loves long walks",
      });
      expect(personal.status).toBe(400);
      expect(await pageText(personal)).toContain("The password must not contain your name or email address.");
      const short = await anonymous.postForm(firstPath, { newPassword: "tiny", confirmPassword: "tiny" });
      expect(await pageText(short)).toContain("Use at least 12 characters.");

      const done = await anonymous.postForm(firstPath, {
        newPassword: "copper lantern harbour",
        confirmPassword: "copper lantern harbour",
      });
      expect(done.status).toBe(302);
      expect(done.headers.get("location")).toBe(`${firstPath}?done=1`);
      expect(await pageText(await anonymous.get(`${firstPath}?done=1`))).toContain("Your password was changed");
      // Every session ended; the old password is refused; the new one works.
      expect((await client.get("/files")).status).toBe(302);
      expect((await new TestClient(app.url).login("rhea@example.com")).status).not.toBe(302);
      expect((await new TestClient(app.url).login("rhea@example.com", "copper lantern harbour")).status).toBe(302);

      // Reusing the link, or the other outstanding one, is refused.
      const reused = await anonymous.postForm(firstPath, {
        newPassword: "another fine passphrase",
        confirmPassword: "another fine passphrase",
      });
      expect(reused.status).toBe(400);
      expect(await pageText(reused)).toContain("This reset link is invalid, has already been used or has expired.");
      expect(await pageText(await anonymous.get(firstPath))).toContain("Request a new link");
      expect(
        (await anonymous.postForm(secondPath, { newPassword: "another fine passphrase", confirmPassword: "another fine passphrase" }))
          .status,
      ).toBe(400);
      expect((await new TestClient(app.url).login("rhea@example.com", "copper lantern harbour")).status).toBe(302);

      const actions = (
        await app.services.prisma.auditEvent.findMany({
          where: { targetId: await userId("rhea@example.com"), action: { startsWith: "auth.password" } },
          orderBy: { createdAt: "asc" },
        })
      ).map((e) => `${e.action}:${e.outcome}`);
      expect(actions).toEqual([
        "auth.password_reset_requested:success",
        "auth.password_reset_requested:success",
        "auth.password_reset:success",
      ]);
    });

    it("refuses an expired link", async () => {
      await new TestClient(app.url).register("Eli Expired", "eli@example.com");
      const before = mailbox.mails.length;
      await new TestClient(app.url).postForm("/forgot-password", { email: "eli@example.com" });
      const path = resetPath(await mailbox.next("eli@example.com", before));
      await app.services.prisma.passwordResetToken.updateMany({
        where: { userId: await userId("eli@example.com") },
        data: { expiresAt: new Date(Date.now() - 1000) },
      });
      const page = await new TestClient(app.url).get(path);
      expect(await pageText(page)).toContain("This reset link is invalid, has already been used or has expired.");
      const post = await new TestClient(app.url).postForm(path, {
        newPassword: "copper lantern harbour",
        confirmPassword: "copper lantern harbour",
      });
      expect(post.status).toBe(400);
      expect((await new TestClient(app.url).login("eli@example.com")).status).toBe(302);
      expect((await new TestClient(app.url).get("/reset-password/not-a-real-token-at-all-000000")).status).toBe(200);
    });

    it("answers an unknown address exactly like a known one, and sends no mail", async () => {
      const before = mailbox.mails.length;
      const response = await new TestClient(app.url).postForm("/forgot-password", { email: "nobody-here@example.com" });
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe("/forgot-password?sent=1");
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(mailbox.mails.slice(before)).toHaveLength(0);
      const bad = await new TestClient(app.url).postForm("/forgot-password", { email: "not an email" });
      expect(bad.status).toBe(400);
    });

    it("sends at most 3 mails per address an hour (silently) and limits requests per IP with 429 and Retry-After", async () => {
      await new TestClient(app.url).register("Flo Flood", "flo@example.com");
      const before = mailbox.mails.length;
      const client = new TestClient(app.url);
      const statuses: number[] = [];
      let limited: Response | null = null;
      for (let i = 0; i < 12 && !limited; i++) {
        const response = await client.postForm("/forgot-password", { email: "flo@example.com" });
        statuses.push(response.status);
        if (response.status === 429) limited = response;
      }
      expect(limited, `statuses ${statuses.join(",")}`).not.toBeNull();
      expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await pageText(limited!)).toMatch(/Too many reset requests from your network\. Try again in \d+ minutes\./);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(mailbox.mails.slice(before).length).toBe(3);
    });
  });
});

describe("reset by email with the SMTP server down", () => {
  it("answers as usual and logs the failure without the link", async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const app = await startTestApp(
      { storage: "local", cache: "memory" },
      { SMTP_URL: `smtp://127.0.0.1:${port}`, APP_URL: "http://coffer.test" },
    );
    await new TestClient(app.url).register("Dan Down", "dan@example.com");
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const response = await new TestClient(app.url).postForm("/forgot-password", { email: "dan@example.com" });
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe("/forgot-password?sent=1");
      await expect.poll(() => lines.join(""), { timeout: 10_000 }).toContain("sending the password reset mail failed");
    } finally {
      spy.mockRestore();
    }
    expect(lines.join("")).not.toContain("reset-password/");
    expect(await app.services.prisma.passwordResetToken.count()).toBe(1);
  });
});

describe("reset by email without SMTP", () => {
  it("says that reset by email isn't configured and to ask an admin", async () => {
    const app = await startTestApp({ storage: "local", cache: "memory" });
    const page = await new TestClient(app.url).get("/forgot-password");
    expect(page.status).toBe(200);
    const html = await pageText(page);
    expect(html).toContain("Password reset by email isn’t configured on this server. Ask an administrator");
    expect(html).not.toContain("Send reset link");
    const post = await new TestClient(app.url).postForm("/forgot-password", { email: "a@example.com" });
    expect(post.status).toBe(503);
  });
});
