import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditActor } from "~/domain/audit/audit.server";
import { finishLogin, startLogin } from "~/domain/accounts/passkey-login.server";
import { startRegistration } from "~/domain/accounts/passkey-registration.server";
import { ServiceUnavailableError } from "~/domain/errors";
import { MemoryCache } from "~/services/cache/memory.server";
import type { Services } from "~/services/index.server";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { SoftAuthenticator, type Overrides, type SoftCredential } from "./support/soft-authenticator";

/**
 * Passkeys over HTTP, with a software authenticator answering the server's real options and
 * @simplewebauthn/server verifying them: registration, passwordless login, the second step after
 * the password, and every refusal (wrong challenge, origin, user, counter) with its audit record.
 */
const PASSWORD = "correct horse battery staple";

// biome-ignore lint/suspicious/noExplicitAny: the test walks WebAuthn JSON of many shapes.
type Json = any;

async function postJson(client: TestClient, path: string, body: unknown): Promise<{ status: number; body: Json }> {
  const response = await client.request(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: Json = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { raw: text };
  }
  return { status: response.status, body: parsed };
}

describe("passkeys", () => {
  let app: TestApp;
  let authenticator: SoftAuthenticator;
  let alice: TestClient;
  let bob: TestClient;
  let aliceId: string;
  let aliceKey: SoftCredential;
  let bobKey: SoftCredential;

  const register = async (client: TestClient, name: string, overrides: Overrides = {}) => {
    const options = await postJson(client, "/settings/security/passkeys", { step: "options" });
    expect(options.status).toBe(200);
    const { credential, response } = authenticator.register(options.body.options, overrides);
    const verified = await postJson(client, "/settings/security/passkeys", { step: "verify", name, response });
    return { options: options.body.options, credential, response, verified };
  };

  const loginOptions = async (client: TestClient, mode: "passwordless" | "second-factor", redirectTo?: string) => {
    const options = await postJson(client, "/login/passkey", { step: "options", mode, redirectTo });
    expect(options.status, JSON.stringify(options.body)).toBe(200);
    return options.body.options;
  };

  const loginVerify = (client: TestClient, mode: "passwordless" | "second-factor", response: unknown, redirectTo?: string) =>
    postJson(client, "/login/passkey", { step: "verify", mode, response, redirectTo });

  const auditCount = (action: string, outcome: "success" | "failure", extra: Record<string, unknown> = {}) =>
    app.services.prisma.auditEvent.count({ where: { action, outcome, ...extra } });

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" }, { RATE_LIMIT_AUTH: "100000/1m" });
    authenticator = new SoftAuthenticator(app.url);
    const admin = new TestClient(app.url);
    await admin.register("Ada Admin", "ada@example.com");
    alice = new TestClient(app.url);
    await alice.register("Alice", "alice@example.com");
    bob = new TestClient(app.url);
    await bob.register("Bob", "bob@example.com");
    aliceId = (await app.services.prisma.user.findUniqueOrThrow({ where: { email: "alice@example.com" } })).id;
  });

  afterAll(async () => {
    await app?.close();
  });

  it("explains on the settings page that adding a passkey needs JavaScript, and lists none", async () => {
    const html = await (await alice.get("/settings/security")).text();
    expect(html).toContain('id="passkeys-heading"');
    expect(html).toContain("You have no passkeys yet");
    expect(html).toContain("Adding a passkey needs JavaScript");
  });

  it("refuses anonymous visitors and malformed requests", async () => {
    const anonymous = new TestClient(app.url);
    const refused = await postJson(anonymous, "/settings/security/passkeys", { step: "options" });
    expect(refused.status).toBe(302);
    const formPost = await alice.postForm("/settings/security/passkeys", { step: "options" });
    expect(formPost.status, await formPost.clone().text()).toBe(400);
    expect((await postJson(alice, "/settings/security/passkeys", { step: "nonsense" })).status).toBe(400);
    expect((await postJson(anonymous, "/login/passkey", { step: "options" })).status).toBe(400);
  });

  it("registers a passkey: options for this site, verified response stored with its audit record", async () => {
    const { options, credential, verified } = await register(alice, "Alice's laptop");
    expect(options.rp).toEqual({ name: "Coffer", id: "127.0.0.1" });
    expect(options.user.name).toBe("alice@example.com");
    expect(options.authenticatorSelection.residentKey).toBe("preferred");
    // EdDSA, ES256, RS256 on every Node version (Node 24 would add ML-DSA-44 by default).
    expect(options.pubKeyCredParams.map((param: { alg: number }) => param.alg)).toEqual([-8, -7, -257]);
    expect(verified.status, JSON.stringify(verified.body)).toBe(200);
    expect(verified.body.passkey.name).toBe("Alice's laptop");
    aliceKey = credential;
    const row = await app.services.prisma.passkey.findFirstOrThrow({ where: { userId: aliceId } });
    expect(row.credentialId).toBe(credential.id.toString("base64url"));
    expect(row.counter).toBe(0n);
    expect(row.transports).toBe("internal");
    expect(await auditCount("auth.passkey_added", "success", { actorId: aliceId })).toBe(1);
    const html = await (await alice.get("/settings/security")).text();
    expect(html).toContain("Alice&#x27;s laptop");
    // The next options exclude it, so the same authenticator is not registered twice.
    const again = await postJson(alice, "/settings/security/passkeys", { step: "options" });
    expect(again.body.options.excludeCredentials.map((c: { id: string }) => c.id)).toEqual([credential.id.toString("base64url")]);
  });

  it("asks for the password or a code to add a passkey when the login is not recent", async () => {
    const carla = new TestClient(app.url);
    await carla.register("Carla", "carla@example.com");
    const carlaId = (await app.services.prisma.user.findUniqueOrThrow({ where: { email: "carla@example.com" } })).id;
    await app.services.prisma.session.updateMany({ where: { userId: carlaId }, data: { createdAt: new Date(Date.now() - 60 * 60_000) } });
    const missing = await postJson(carla, "/settings/security/passkeys", { step: "options" });
    expect(missing.status).toBe(400);
    expect(missing.body.fieldErrors.proof).toBeTruthy();
    const wrong = await postJson(carla, "/settings/security/passkeys", { step: "options", proof: "not the password at all" });
    expect(wrong.status).toBe(401);
    expect(await auditCount("auth.passkey_added", "failure", { actorId: carlaId })).toBe(1);
    const options = await postJson(carla, "/settings/security/passkeys", { step: "options", proof: PASSWORD });
    expect(options.status).toBe(200);
    const { response } = authenticator.register(options.body.options);
    const verified = await postJson(carla, "/settings/security/passkeys", { step: "verify", name: "Carla's key", response });
    expect(verified.status).toBe(200);
    await app.services.prisma.user.delete({ where: { id: carlaId } });
  });

  it("refuses a registration for another origin, another challenge, a spent challenge or without a name", async () => {
    const before = await app.services.prisma.passkey.count();
    const wrongOrigin = await register(bob, "Bob's phone", { origin: "https://evil.example" });
    expect(wrongOrigin.verified.status).toBe(400);
    expect(wrongOrigin.verified.body.message).toContain("could not be verified");
    const wrongChallenge = await register(bob, "Bob's phone", { challenge: Buffer.from("not the challenge at all").toString("base64url") });
    expect(wrongChallenge.verified.status).toBe(400);
    const wrongRp = await register(bob, "Bob's phone", { rpId: "evil.example" });
    expect(wrongRp.verified.status).toBe(400);
    // A response whose challenge was already used (the failed attempt above spent it).
    const replay = await postJson(bob, "/settings/security/passkeys", { step: "verify", name: "Bob's phone", response: wrongRp.response });
    expect(replay.status).toBe(400);
    expect(replay.body.message).toContain("expired or was already used");
    const unnamed = await register(bob, "   ");
    expect(unnamed.verified.status).toBe(400);
    expect(unnamed.verified.body.fieldErrors.name).toBeTruthy();
    expect(await app.services.prisma.passkey.count()).toBe(before);
    expect(await auditCount("auth.passkey_added", "failure")).toBeGreaterThanOrEqual(4);

    const ok = await register(bob, "Bob's phone");
    expect(ok.verified.status).toBe(200);
    bobKey = ok.credential;
  });

  it("logs in without a password: user verification required, a session, an audit record", async () => {
    const browser = new TestClient(app.url);
    const options = await loginOptions(browser, "passwordless", "/files?view=grid");
    expect(options.userVerification).toBe("required");
    expect(options.allowCredentials ?? []).toEqual([]);
    const result = await loginVerify(browser, "passwordless", authenticator.authenticate(aliceKey, options), "/files?view=grid");
    expect(result.status, JSON.stringify(result.body)).toBe(200);
    expect(result.body).toEqual({ ok: true, redirectTo: "/files?view=grid" });
    expect((await browser.get("/files")).status).toBe(200);
    const event = await app.services.prisma.auditEvent.findFirstOrThrow({
      where: { action: "auth.login", actorId: aliceId },
      orderBy: { createdAt: "desc" },
    });
    expect(event.details).toMatchObject({ method: "passkey", step: "passwordless" });
    expect(await (await browser.get("/settings/security")).text()).toContain("Logged in with a passkey");
    const row = await app.services.prisma.passkey.findFirstOrThrow({ where: { userId: aliceId } });
    expect(row.counter).toBe(1n);
    expect(row.lastUsedAt).not.toBeNull();
  });

  it("keeps every pending challenge of a browser valid (the page's autofill and the button), whichever answer came last", async () => {
    // The login page binds the browser before any script asks for a challenge.
    const browser = new TestClient(app.url);
    const page = await browser.get("/login");
    const binding = page.headers.getSetCookie().find((cookie) => cookie.startsWith("coffer_passkey="));
    expect(binding).toMatch(/Path=\/login;.*HttpOnly;.*SameSite=Strict/);
    await browser.getCsrfToken();
    // Two challenges at once, as the autofill and a quick click on the button ask for them.
    const [autofill, button] = await Promise.all([loginOptions(browser, "passwordless"), loginOptions(browser, "passwordless")]);
    expect(autofill.challenge).not.toBe(button.challenge);
    const answer = authenticator.authenticate(aliceKey, button);
    const signedIn = await loginVerify(browser, "passwordless", answer);
    expect(signedIn.status, JSON.stringify(signedIn.body)).toBe(200);
    expect((await browser.get("/files")).status).toBe(200);
    // Used: the same answer does not sign in again.
    expect((await loginVerify(browser, "passwordless", answer)).status).toBe(400);

    // The other order: the older challenge (the autofill's) still works after a newer one was issued.
    const other = new TestClient(app.url);
    await other.get("/login");
    const older = await loginOptions(other, "passwordless");
    await loginOptions(other, "passwordless");
    const viaAutofill = await loginVerify(other, "passwordless", authenticator.authenticate(aliceKey, older));
    expect(viaAutofill.status, JSON.stringify(viaAutofill.body)).toBe(200);
    // Signed in, the browser's binding is dropped.
    expect(other.cookies.has("coffer_passkey")).toBe(false);
  });

  it("refuses passwordless login without user verification, with a spent challenge, another origin or no challenge cookie", async () => {
    const browser = new TestClient(app.url);
    let options = await loginOptions(browser, "passwordless");
    const unverified = await loginVerify(browser, "passwordless", authenticator.authenticate(aliceKey, options, { userVerified: false }));
    expect(unverified.status).toBe(401);

    options = await loginOptions(browser, "passwordless");
    const response = authenticator.authenticate(aliceKey, options);
    expect((await loginVerify(browser, "passwordless", response)).status).toBe(200);
    const replay = await loginVerify(new TestClient(app.url), "passwordless", response);
    expect(replay.status).toBe(400);
    expect(replay.body.message).toContain("expired or was already used");

    const other = new TestClient(app.url);
    options = await loginOptions(other, "passwordless");
    const wrongOrigin = await loginVerify(
      other,
      "passwordless",
      authenticator.authenticate(aliceKey, options, { origin: "https://evil.example" }),
    );
    expect(wrongOrigin.status).toBe(401);
    expect((await other.get("/files")).status).toBe(302);

    // Options fetched by one browser do not work from another (the challenge is bound to the cookie).
    const first = new TestClient(app.url);
    const second = new TestClient(app.url);
    options = await loginOptions(first, "passwordless");
    expect((await loginVerify(second, "passwordless", authenticator.authenticate(aliceKey, options))).status).toBe(400);
    expect(await auditCount("auth.login", "failure", { targetId: aliceId })).toBeGreaterThanOrEqual(2);
  });

  it("refuses a signature counter that goes back (a cloned authenticator) and records why", async () => {
    const stored = (await app.services.prisma.passkey.findFirstOrThrow({ where: { userId: aliceId } })).counter;
    expect(stored).toBeGreaterThan(1n);
    const browser = new TestClient(app.url);
    const options = await loginOptions(browser, "passwordless");
    const result = await loginVerify(browser, "passwordless", authenticator.authenticate(aliceKey, options, { counter: 1 }));
    expect(result.status).toBe(401);
    expect((await browser.get("/files")).status).toBe(302);
    const event = await app.services.prisma.auditEvent.findFirstOrThrow({
      where: { action: "auth.login", outcome: "failure", targetId: aliceId },
      orderBy: { createdAt: "desc" },
    });
    expect(event.details).toMatchObject({ method: "passkey", reason: "counter_regression" });
    expect((await app.services.prisma.passkey.findFirstOrThrow({ where: { userId: aliceId } })).counter).toBe(stored);
  });

  it("refuses a deactivated account's passkey with a clear message, and accepts it again after reactivation", async () => {
    await app.services.prisma.user.update({ where: { id: aliceId }, data: { deactivatedAt: new Date() } });
    try {
      const browser = new TestClient(app.url);
      const options = await loginOptions(browser, "passwordless");
      const result = await loginVerify(browser, "passwordless", authenticator.authenticate(aliceKey, options));
      expect(result.status).toBe(403);
      expect(result.body.message).toContain("This account has been deactivated");
      expect((await browser.get("/files")).status).toBe(302);
      const event = await app.services.prisma.auditEvent.findFirstOrThrow({
        where: { action: "auth.login", outcome: "failure", targetId: aliceId },
        orderBy: { createdAt: "desc" },
      });
      expect(event.details).toMatchObject({ method: "passkey", reason: "deactivated" });
    } finally {
      await app.services.prisma.user.update({ where: { id: aliceId }, data: { deactivatedAt: null } });
    }
    const browser = new TestClient(app.url);
    const options = await loginOptions(browser, "passwordless");
    expect((await loginVerify(browser, "passwordless", authenticator.authenticate(aliceKey, options))).status).toBe(200);
  });

  it("makes a passkey the second step after the password; another user's passkey is refused", async () => {
    const browser = new TestClient(app.url);
    const step1 = await browser.login("alice@example.com", PASSWORD);
    expect(step1.status).toBe(302);
    expect(step1.headers.get("location")).toBe("/login/mfa");
    const page = await (await browser.get("/login/mfa")).text();
    expect(page).toContain("Use one of your passkeys");
    expect(page).not.toContain('name="code"');
    expect(page).toContain("Logging in with a passkey needs JavaScript");

    let options = await loginOptions(browser, "second-factor");
    expect(options.allowCredentials.map((c: { id: string }) => c.id)).toEqual([aliceKey.id.toString("base64url")]);
    const bobs = await loginVerify(browser, "second-factor", authenticator.authenticate(bobKey, options));
    expect(bobs.status).toBe(401);
    const event = await app.services.prisma.auditEvent.findFirstOrThrow({
      where: { action: "auth.login", outcome: "failure", targetId: aliceId },
      orderBy: { createdAt: "desc" },
    });
    expect(event.details).toMatchObject({ reason: "other_users_credential" });
    expect((await browser.get("/files")).status).toBe(302);

    options = await loginOptions(browser, "second-factor");
    // Without user verification is fine here: the password was the first factor.
    const ok = await loginVerify(browser, "second-factor", authenticator.authenticate(aliceKey, options, { userVerified: false }));
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.redirectTo).toBe("/files");
    expect((await browser.get("/files")).status).toBe(200);
    expect(browser.cookies.has("coffer_mfa")).toBe(false);

    // A few tries per password entry, shared with the code form.
    expect((await browser.postForm("/logout", {})).status).toBe(302);
    expect((await browser.login("alice@example.com", PASSWORD)).headers.get("location")).toBe("/login/mfa");
    for (let i = 0; i < 5; i++) {
      const attempt = await loginVerify(browser, "second-factor", { id: "x", rawId: "x", type: "public-key", response: {} });
      expect(attempt.status).toBe(400);
    }
    options = await loginOptions(browser, "second-factor");
    const exhausted = await loginVerify(browser, "second-factor", authenticator.authenticate(aliceKey, options));
    expect(exhausted.status).toBe(429);
    expect(exhausted.body.message).toContain("Log in again with your password");

    // Without the password step there is nothing to complete.
    const stranger = new TestClient(app.url);
    const refused = await postJson(stranger, "/login/passkey", { step: "options", mode: "second-factor" });
    expect(refused.status).toBe(400);
  });

  it("renames and removes a passkey; removing needs the password and is refused for other users", async () => {
    const passkey = await app.services.prisma.passkey.findFirstOrThrow({ where: { userId: aliceId } });
    const renamed = await alice.postForm("/settings/security", { intent: "rename-passkey", passkey: passkey.id, name: "Work laptop" });
    expect(renamed.status).toBe(302);
    expect((await app.services.prisma.passkey.findUniqueOrThrow({ where: { id: passkey.id } })).name).toBe("Work laptop");
    expect((await alice.postForm("/settings/security", { intent: "rename-passkey", passkey: passkey.id, name: "" })).status).toBe(400);

    expect((await bob.postForm("/settings/security", { intent: "remove-passkey", passkey: passkey.id, proof: PASSWORD })).status).toBe(404);
    expect((await bob.postForm("/settings/security", { intent: "rename-passkey", passkey: passkey.id, name: "Mine" })).status).toBe(404);

    const wrong = await alice.postForm("/settings/security", {
      intent: "remove-passkey",
      passkey: passkey.id,
      proof: "not my password at all",
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain("That password is not right");
    expect(await auditCount("auth.passkey_removed", "failure", { actorId: aliceId })).toBe(1);

    const removed = await alice.postForm("/settings/security", { intent: "remove-passkey", passkey: passkey.id, proof: PASSWORD });
    expect(removed.status).toBe(302);
    expect(removed.headers.get("location")).toBe("/settings/security?done=passkey-removed");
    expect(await app.services.prisma.passkey.count({ where: { userId: aliceId } })).toBe(0);
    expect(await auditCount("auth.passkey_removed", "success", { actorId: aliceId })).toBe(1);

    // The removed passkey no longer logs in, and the password alone does again.
    const browser = new TestClient(app.url);
    const options = await loginOptions(browser, "passwordless");
    expect((await loginVerify(browser, "passwordless", authenticator.authenticate(aliceKey, options))).status).toBe(401);
    const login = await new TestClient(app.url).login("alice@example.com", PASSWORD);
    expect(login.headers.get("location")).toBe("/files");
  });

  it("answers 503 (not a 500 or a silent pass) when the cache that holds challenges is down", async () => {
    const cache = new MemoryCache();
    await cache.close();
    const services = { ...app.services, cache } as Services;
    const request = new Request(`${app.url}/settings/security/passkeys`, { method: "POST" });
    const user = await app.services.prisma.user.findUniqueOrThrow({ where: { id: aliceId } });
    const sessionId = (await app.services.prisma.session.findFirstOrThrow({ where: { userId: aliceId }, orderBy: { createdAt: "desc" } }))
      .id;
    await expect(startRegistration(services, request, auditActor(request, null, user), { ...user, sessionId })).rejects.toBeInstanceOf(
      ServiceUnavailableError,
    );
    await expect(startLogin(services, request, { kind: "passwordless" })).rejects.toBeInstanceOf(ServiceUnavailableError);
    // A login response with a challenge cookie from when the cache was up cannot be checked now.
    const browser = new TestClient(app.url);
    const options = await loginOptions(browser, "passwordless");
    const withCookie = new Request(`${app.url}/login/passkey`, { method: "POST", headers: { cookie: browser.cookieHeader } });
    await expect(
      finishLogin(services, withCookie, { kind: "passwordless" }, authenticator.authenticate(aliceKey, options)),
    ).rejects.toBeInstanceOf(ServiceUnavailableError);
  });

  it("counts refused passkeys towards the account lockout", async () => {
    const carol = new TestClient(app.url);
    await carol.register("Carol", "carol@example.com");
    const { credential } = await register(carol, "Carol's key");
    for (let i = 0; i < 5; i++) {
      const browser = new TestClient(app.url);
      const options = await loginOptions(browser, "passwordless");
      expect(
        (await loginVerify(browser, "passwordless", authenticator.authenticate(credential, options, { userVerified: false }))).status,
      ).toBe(401);
    }
    const browser = new TestClient(app.url);
    const options = await loginOptions(browser, "passwordless");
    const locked = await loginVerify(browser, "passwordless", authenticator.authenticate(credential, options));
    expect(locked.status).toBe(429);
    const event = await app.services.prisma.auditEvent.findFirstOrThrow({
      where: { action: "auth.login", outcome: "failure" },
      orderBy: { createdAt: "desc" },
    });
    expect(event.details).toMatchObject({ method: "passkey", reason: "locked" });
    expect(await app.services.prisma.auditEvent.count({ where: { action: "auth.locked" } })).toBeGreaterThanOrEqual(1);
    expect((await browser.get("/files")).status).toBe(302);
  });

  it("accepts a passkey as the MFA that admins are required to have", async () => {
    const admin = new TestClient(app.url);
    expect((await admin.login("ada@example.com", PASSWORD)).status).toBe(302);
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
    expect([200, 302]).toContain((await admin.postForm("/admin/settings", settings)).status);
    expect((await admin.get("/files")).headers.get("location")).toBe("/settings/security/mfa");
    const enrollPage = await (await admin.get("/settings/security/mfa")).text();
    expect(enrollPage).toContain('id="passkeys-heading"');
    const { credential, verified } = await register(admin, "Admin key");
    expect(verified.status).toBe(200);
    expect((await admin.get("/files")).status).toBe(200);

    // Its login now takes two steps, and the passkey completes it.
    const browser = new TestClient(app.url);
    expect((await browser.login("ada@example.com", PASSWORD)).headers.get("location")).toBe("/login/mfa");
    const options = await loginOptions(browser, "second-factor");
    expect((await loginVerify(browser, "second-factor", authenticator.authenticate(credential, options))).status).toBe(200);
    expect((await browser.get("/admin")).status).toBe(200);
    expect([200, 302]).toContain((await admin.postForm("/admin/settings", { ...settings, requireMfaForAdmins: "" })).status);
    expect(await app.services.prisma.setting.findUnique({ where: { key: "requireMfaForAdmins" } })).toMatchObject({ value: false });
  });
});

describe("passkey endpoints under the per-IP limit", () => {
  let app: TestApp;
  afterAll(async () => {
    await app?.close();
  });

  it("answers 429 with Retry-After once the limit of passkey challenges is used up", async () => {
    app = await startTestApp({ storage: "local", cache: "memory" }, { RATE_LIMIT_AUTH: "2/1m" });
    const browser = new TestClient(app.url);
    await browser.getCsrfToken();
    expect((await postJson(browser, "/login/passkey", { step: "options", mode: "passwordless" })).status).toBe(200);
    expect((await postJson(browser, "/login/passkey", { step: "options", mode: "passwordless" })).status).toBe(200);
    const response = await browser.request("/login/passkey", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ step: "options", mode: "passwordless" }),
    });
    expect(response.status).toBe(429);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await response.json()) as { message: string }).message).toMatch(/^Too many passkey requests from your network/);
  });

  it("counts challenges apart from login attempts (the login page asks for one per visit), and the answer as a login attempt", async () => {
    const browser = new TestClient(app.url);
    await browser.getCsrfToken();
    // The limit of challenges (2/1m) is used up by the previous test; logins still have theirs.
    expect((await postJson(browser, "/login/passkey", { step: "options", mode: "passwordless" })).status).toBe(429);
    const wrongPassword = await browser.postForm("/login", {
      email: "nobody@example.com",
      password: "not the password",
      redirectTo: "/files",
    });
    expect(wrongPassword.status).toBe(401);
    const answer = await postJson(browser, "/login/passkey", { step: "verify", mode: "passwordless", response: { id: "x" } });
    expect(answer.status).toBe(400);
    const tooMany = await postJson(browser, "/login/passkey", { step: "verify", mode: "passwordless", response: { id: "x" } });
    expect(tooMany.status).toBe(429);
    expect(tooMany.body.message).toMatch(/^Too many login attempts from your network/);
  });
});

describe("passkey login in SSO-only mode", () => {
  let app: TestApp;
  afterAll(async () => {
    await app?.close();
  });

  it("is refused: people sign in only through the provider", async () => {
    app = await startTestApp(
      { storage: "local", cache: "memory" },
      { OIDC_ISSUER: "http://127.0.0.1:9/unused", OIDC_CLIENT_ID: "coffer", OIDC_CLIENT_SECRET: "secret", SSO_ONLY: "true" },
    );
    const refused = await postJson(new TestClient(app.url), "/login/passkey", { step: "options", mode: "passwordless" });
    expect(refused.status).toBe(403);
    expect(refused.body.message).toContain("sign in with");
  });
});
