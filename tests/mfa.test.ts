import * as OTPAuth from "otpauth";
import { beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

const PASSWORD = "correct horse battery staple";

function codeAt(secret: string, offsetSteps = 0): string {
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30, algorithm: "SHA1" });
  return totp.generate({ timestamp: Date.now() + offsetSteps * 30_000 });
}

function decode(html: string): string {
  return html
    .replace(/&amp;/g, "&")
    .replace(/&quot;/g, '"')
    .replace(/&#x27;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">");
}

/** Enrolls the signed-in client; returns the base32 secret, the recovery codes and the code used to confirm. */
async function enroll(client: TestClient) {
  const start = await client.postForm("/settings/security/mfa", { intent: "start" });
  expect(start.status).toBe(302);
  expect(start.headers.get("location")).toBe("/settings/security/mfa");
  const page = await (await client.get("/settings/security/mfa")).text();
  expect(page).toContain('data-testid="mfa-qr"');
  expect(page).toMatch(/<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  const secret = /data-testid="mfa-secret"[^>]*>([A-Z2-7 ]+)</.exec(page)![1].replace(/ /g, "");
  const code = codeAt(secret);
  const confirmed = await client.postForm("/settings/security/mfa", { intent: "confirm", code });
  expect(confirmed.status).toBe(200);
  const html = decode(await confirmed.text());
  expect(html).toContain("Two-step verification is on.");
  const list = /data-testid="recovery-codes">(.*?)<\/ul>/s.exec(html)![1];
  const recoveryCodes = [...list.matchAll(/<li>([a-z0-9-]+)<\/li>/g)].map((m) => m[1]);
  return { secret, recoveryCodes, confirmCode: code };
}

/** Logs in with the password; returns the response (302 to /login/mfa when MFA is on). */
async function passwordStep(client: TestClient, email: string, redirectTo = "/files") {
  return client.postForm("/login", { email, password: PASSWORD, redirectTo });
}

describe("TOTP two-step verification over HTTP", () => {
  let app: TestApp;
  let admin: TestClient;
  let alice: TestClient;
  let aliceId: string;
  let secret: string;
  let recoveryCodes: string[];
  let confirmCode: string;
  let freshCodes: string[] = [];

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    admin = new TestClient(app.url);
    await admin.register("Ada Admin", "ada@example.com");
    alice = new TestClient(app.url);
    await alice.register("Alice", "alice@example.com");
    aliceId = (await app.services.prisma.user.findUniqueOrThrow({ where: { email: "alice@example.com" } })).id;
  });

  it("shows the section as off, and refuses anonymous visitors", async () => {
    const page = await alice.get("/settings/security");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Set up an authenticator app");
    const anonymous = new TestClient(app.url);
    expect((await anonymous.get("/settings/security/mfa")).status).toBe(302);
    expect((await anonymous.postForm("/settings/security/mfa", { intent: "start" })).status).toBe(302);
  });

  it("refuses a wrong confirmation code and stays off", async () => {
    expect((await alice.postForm("/settings/security/mfa", { intent: "start" })).status).toBe(302);
    const wrong = await alice.postForm("/settings/security/mfa", { intent: "confirm", code: "000000" });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain("That code is not right");
    const bad = await alice.postForm("/settings/security/mfa", { intent: "confirm", code: "abc" });
    expect(bad.status).toBe(400);
    expect((await app.services.prisma.totpCredential.findUniqueOrThrow({ where: { userId: aliceId } })).confirmedAt).toBeNull();
  });

  it("enrolls with a QR code and a code from the app, shows 10 recovery codes once and keeps the secret encrypted", async () => {
    ({ secret, recoveryCodes, confirmCode } = await enroll(alice));
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    const stored = await app.services.prisma.totpCredential.findUniqueOrThrow({ where: { userId: aliceId } });
    expect(stored.confirmedAt).not.toBeNull();
    expect(stored.secretEncrypted).not.toContain(secret);
    const hashes = await app.services.prisma.recoveryCode.findMany({ where: { userId: aliceId } });
    expect(hashes).toHaveLength(10);
    for (const code of recoveryCodes) expect(hashes.map((h) => h.codeHash)).not.toContain(code);
    const page = await (await alice.get("/settings/security/mfa")).text();
    expect(page).not.toContain('data-testid="mfa-secret"');
    expect(page).not.toContain(secret.slice(0, 8));
    expect(page).toContain("10 of 10 recovery codes left");
    expect(await app.services.prisma.auditEvent.count({ where: { action: "auth.mfa_enabled", actorId: aliceId } })).toBe(1);
    // Starting again while it is on is refused.
    expect((await alice.postForm("/settings/security/mfa", { intent: "start" })).status).toBe(409);
  });

  it("makes login two-step: no session after the password, only after a code", async () => {
    const client = new TestClient(app.url);
    const first = await passwordStep(client, "alice@example.com", "/trash");
    expect(first.status).toBe(302);
    expect(first.headers.get("location")).toBe("/login/mfa");
    expect(client.cookies.has("coffer_session")).toBe(false);
    expect(client.cookies.has("coffer_mfa")).toBe(true);
    expect((await client.get("/files")).status).toBe(302);
    expect((await client.get("/login/mfa")).status).toBe(200);

    const wrong = await client.postForm("/login/mfa", { code: "123456" });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain("That code is not right");
    expect(client.cookies.has("coffer_session")).toBe(false);
    expect(
      await app.services.prisma.auditEvent.count({ where: { action: "auth.mfa_challenge", outcome: "failure", actorId: aliceId } }),
    ).toBe(1);

    // The code that confirmed enrollment was used already in its time step: replay refused.
    const replay = await client.postForm("/login/mfa", { code: confirmCode });
    expect(replay.status).toBe(401);

    // Taken once: computed again later, it could belong to the next time step and be unused.
    const nextCode = codeAt(secret, 1);
    const ok = await client.postForm("/login/mfa", { code: nextCode });
    expect(ok.status).toBe(302);
    expect(ok.headers.get("location")).toBe("/trash");
    expect(client.cookies.has("coffer_session")).toBe(true);
    expect(client.cookies.has("coffer_mfa")).toBe(false);
    expect((await client.get("/files")).status).toBe(200);
    const login = await app.services.prisma.auditEvent.findFirst({
      where: { action: "auth.login", outcome: "success", actorId: aliceId },
      orderBy: { createdAt: "desc" },
    });
    expect(login?.details).toMatchObject({ method: "totp" });

    // The same code on a second login is refused too.
    const other = new TestClient(app.url);
    expect((await passwordStep(other, "alice@example.com")).status).toBe(302);
    expect((await other.postForm("/login/mfa", { code: nextCode })).status).toBe(401);
  });

  it("has no second step without the password step, or with a forged pending cookie", async () => {
    const client = new TestClient(app.url);
    const page = await client.get("/login/mfa");
    expect(page.status).toBe(302);
    expect(page.headers.get("location")).toBe("/login");
    client.cookies.set("coffer_mfa", "eyJ1IjoiYWxpY2UifQ%3D%3D.forged");
    const post = await client.postForm("/login/mfa", { code: codeAt(secret) });
    expect(post.status).toBe(302);
    expect(post.headers.get("location")).toBe("/login");
    expect(client.cookies.has("coffer_session")).toBe(false);
  });

  it("accepts each recovery code once", async () => {
    const client = new TestClient(app.url);
    expect((await passwordStep(client, "alice@example.com")).status).toBe(302);
    const ok = await client.postForm("/login/mfa", { code: recoveryCodes[0].toUpperCase() });
    expect(ok.status).toBe(302);
    expect(client.cookies.has("coffer_session")).toBe(true);
    expect(await app.services.prisma.auditEvent.count({ where: { action: "auth.recovery_code_used", actorId: aliceId } })).toBe(1);

    const again = new TestClient(app.url);
    expect((await passwordStep(again, "alice@example.com")).status).toBe(302);
    expect((await again.postForm("/login/mfa", { code: recoveryCodes[0] })).status).toBe(401);
    expect(await (await alice.get("/settings/security")).text()).toContain("9 of 10 recovery codes left");
  });

  it("stops a pending login after 5 wrong codes", async () => {
    // Start without the failures of the tests above (an admin unlock forgets them).
    expect((await admin.postForm("/admin/users", { intent: "unlock", userId: aliceId })).status).toBe(200);
    const client = new TestClient(app.url);
    expect((await passwordStep(client, "alice@example.com")).status).toBe(302);
    for (let i = 0; i < 5; i++) expect((await client.postForm("/login/mfa", { code: "000000" })).status).toBe(401);
    const limited = await client.postForm("/login/mfa", { code: codeAt(secret, -1) });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    // Five failures also locked the account itself.
    const relogin = await passwordStep(new TestClient(app.url), "alice@example.com");
    expect(relogin.status).toBe(429);
    expect(await relogin.text()).toContain("Please try again in 1 minute");
    const unlock = await admin.postForm("/admin/users", { intent: "unlock", userId: aliceId });
    expect(unlock.status).toBe(200);
  });

  it("regenerates recovery codes with the password; the old ones stop working", async () => {
    const wrong = await alice.postForm("/settings/security/mfa", { intent: "regenerate", proof: "not my password at all" });
    expect(wrong.status).toBe(401);
    const response = await alice.postForm("/settings/security/mfa", { intent: "regenerate", proof: PASSWORD });
    expect(response.status).toBe(200);
    const html = decode(await response.text());
    const fresh = [.../data-testid="recovery-codes">(.*?)<\/ul>/s.exec(html)![1].matchAll(/<li>([a-z0-9-]+)<\/li>/g)].map((m) => m[1]);
    expect(fresh).toHaveLength(10);
    freshCodes = fresh;
    expect(await app.services.prisma.auditEvent.count({ where: { action: "auth.recovery_codes_regenerated", actorId: aliceId } })).toBe(1);
    const client = new TestClient(app.url);
    expect((await passwordStep(client, "alice@example.com")).status).toBe(302);
    expect((await client.postForm("/login/mfa", { code: recoveryCodes[1] })).status).toBe(401);
    expect((await client.postForm("/login/mfa", { code: fresh[0] })).status).toBe(302);
  });

  it("turns off only with a current code or the password; login is then one step", async () => {
    const wrong = await alice.postForm("/settings/security/mfa", { intent: "disable", proof: "111111" });
    expect(wrong.status).toBe(401);
    expect(await app.services.prisma.totpCredential.count({ where: { userId: aliceId } })).toBe(1);
    // A recovery code counts as a code (a current app code was already spent above: replay).
    const off = await alice.postForm("/settings/security/mfa", { intent: "disable", proof: freshCodes[1] });
    expect(off.status).toBe(200);
    expect(await off.text()).toContain("Two-step verification is off.");
    expect(await app.services.prisma.recoveryCode.count({ where: { userId: aliceId } })).toBe(0);
    expect(await app.services.prisma.auditEvent.count({ where: { action: "auth.mfa_disabled", actorId: aliceId } })).toBe(1);
    const client = new TestClient(app.url);
    const login = await passwordStep(client, "alice@example.com");
    expect(login.headers.get("location")).toBe("/files");
    expect(client.cookies.has("coffer_session")).toBe(true);
  });

  it("records logouts", async () => {
    const client = new TestClient(app.url);
    expect((await passwordStep(client, "alice@example.com")).status).toBe(302);
    expect((await client.postForm("/logout", {})).status).toBe(302);
    expect(await app.services.prisma.auditEvent.count({ where: { action: "auth.logout", actorId: aliceId } })).toBeGreaterThanOrEqual(1);
  });

  it("sends an admin without MFA to enrollment when the setting requires it", async () => {
    const settings = {
      defaultQuota: "",
      maxFileSize: "10GiB",
      blockedExtensions: "",
      trashRetentionDays: "30",
      versionsKept: "10",
      deletedAccountRetentionDays: "30",
      sessionIdleDays: "14",
      sessionAbsoluteDays: "30",
      tokenMaxDays: "365",
      requireMfaForAdmins: "on",
    };
    // Saved; the page reloads into the enrollment redirect at once.
    expect([200, 302]).toContain((await admin.postForm("/admin/settings", settings)).status);
    expect(await app.services.prisma.setting.findUnique({ where: { key: "requireMfaForAdmins" } })).toMatchObject({ value: true });
    for (const path of ["/files", "/admin", "/admin/settings", "/settings/security"]) {
      const response = await admin.get(path);
      expect(response.status, path).toBe(302);
      expect(response.headers.get("location")).toBe("/settings/security/mfa");
    }
    // Posts too: nothing else until MFA is set up.
    expect((await admin.postForm("/admin/settings", { ...settings, requireMfaForAdmins: "" })).status).toBe(302);
    const page = await admin.get("/settings/security/mfa");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Your administrator requires it");
    // Nor uploads or live updates, which scripts reach without the pages.
    const upload = () =>
      admin.request("/api/uploads", {
        method: "POST",
        headers: {
          "Tus-Resumable": "1.0.0",
          "Upload-Length": "5",
          "Upload-Metadata": `filename ${Buffer.from("x.txt").toString("base64")}`,
        },
      });
    const refusedUpload = await upload();
    expect(refusedUpload.status).toBe(403);
    expect(await refusedUpload.text()).toContain("two-step verification");
    expect((await admin.get("/socket.io/?EIO=4&transport=polling")).status).toBe(403);
    // Ordinary users are not affected.
    expect((await alice.get("/files")).status).toBe(200);
    expect((await alice.get("/socket.io/?EIO=4&transport=polling")).status).toBe(200);

    await enroll(admin);
    expect((await upload()).status).toBe(201);
    expect((await admin.get("/socket.io/?EIO=4&transport=polling")).status).toBe(200);
    expect((await admin.get("/files")).status).toBe(200);
    expect((await admin.get("/admin")).status).toBe(200);
  });
});
