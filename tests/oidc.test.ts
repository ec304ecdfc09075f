import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import * as OTPAuth from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "~/config.server";
import { beginPendingLogin } from "~/domain/accounts/mfa.server";
import { confirmSignedInUser } from "~/domain/accounts/oidc.server";
import { sessionKey } from "~/domain/accounts/sessions.server";
import { updateSettings } from "~/domain/admin/settings.server";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { startTestOidcProvider, type TestOidcProvider } from "./support/oidc-provider";
import { SoftAuthenticator } from "./support/soft-authenticator";

function totpCode(secret: string, offsetSteps = 0): string {
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30, algorithm: "SHA1" });
  return totp.generate({ timestamp: Date.now() + offsetSteps * 30_000 });
}

/** Sets up an authenticator app for the signed-in client; returns its secret (the current step is spent). */
async function enrollTotp(client: TestClient): Promise<string> {
  expect((await client.postForm("/settings/security/mfa", { intent: "start" })).status).toBe(302);
  const page = await (await client.get("/settings/security/mfa")).text();
  const secret = /data-testid="mfa-secret"[^>]*>([A-Z2-7 ]+)</.exec(page)![1].replace(/ /g, "");
  const confirmed = await client.postForm("/settings/security/mfa", { intent: "confirm", code: totpCode(secret) });
  expect(confirmed.status).toBe(200);
  return secret;
}

/** The admin settings form as a browser without JavaScript posts it. */
const SETTINGS_FORM = {
  defaultQuota: "",
  maxFileSize: "10GiB",
  blockedExtensions: "",
  trashRetentionDays: "30",
  versionsKept: "10",
  deletedAccountRetentionDays: "30",
  sessionIdleDays: "14",
  sessionAbsoluteDays: "30",
  tokenMaxDays: "365",
  requireMfaForAdmins: "",
};

/**
 * Drives the provider like a browser: follows its redirects, fills in the login form with
 * `login` and allows the consent form, until it sends the browser back to the app. Returns that
 * callback URL (with code and state).
 */
async function signInAtProvider(idp: TestOidcProvider, browser: TestClient, authorizationUrl: string, login: string): Promise<URL> {
  let next: { url: string; form?: Record<string, string>; method: "GET" | "POST" } = { url: authorizationUrl, method: "GET" };
  for (let step = 0; step < 12; step++) {
    const response = next.method === "GET" ? await browser.get(next.url) : await browser.postForm(next.url, next.form ?? {});
    if (response.status >= 300 && response.status < 400) {
      const location = new URL(response.headers.get("location")!, next.url);
      if (location.origin !== idp.issuer) return location;
      next = { url: location.href, method: "GET" };
      continue;
    }
    const html = await response.text();
    expect(response.status, html).toBe(200);
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
    if (!action) throw new Error(`the provider showed no form: ${html}`);
    next = { url: new URL(action, idp.issuer).href, method: "POST", form: html.includes('name="login"') ? { login } : {} };
  }
  throw new Error("the provider did not send the browser back");
}

/** The whole single sign-on: Coffer → provider → Coffer callback. Returns the callback's response. */
async function ssoLogin(idp: TestOidcProvider, client: TestClient, login: string, redirectTo = "/files") {
  const start = await client.get(`/auth/oidc?redirectTo=${encodeURIComponent(redirectTo)}`);
  expect(start.status).toBe(302);
  const authorizationUrl = new URL(start.headers.get("location")!);
  const callback = await signInAtProvider(idp, new TestClient(idp.issuer), authorizationUrl.href, login);
  return { authorizationUrl, callback, response: await client.get(callback.pathname + callback.search) };
}

async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("OIDC configuration", () => {
  const oidc = { OIDC_ISSUER: "https://idp.example.com", OIDC_CLIENT_ID: "coffer", OIDC_CLIENT_SECRET: "s3cret" };

  it("is off by default and complete when all three variables are set", () => {
    expect(loadConfig({}).oidc).toBeUndefined();
    expect(loadConfig(oidc).oidc).toEqual({
      issuer: "https://idp.example.com",
      clientId: "coffer",
      clientSecret: "s3cret",
      scopes: "openid email profile",
      buttonLabel: "Sign in with single sign-on",
      ssoOnly: false,
    });
  });

  it("is all or nothing, naming the missing variable", () => {
    expect(() => loadConfig({ OIDC_ISSUER: oidc.OIDC_ISSUER, OIDC_CLIENT_ID: "coffer" })).toThrow(
      /OIDC_CLIENT_SECRET: is required when OIDC_ISSUER is set/,
    );
    expect(() => loadConfig({ OIDC_CLIENT_ID: "coffer" })).toThrow(/OIDC_ISSUER: is required when OIDC_CLIENT_ID is set/);
  });

  it("refuses SSO_ONLY without a provider, scopes without openid and a non-URL issuer", () => {
    try {
      loadConfig({ SSO_ONLY: "true", OIDC_SCOPES: "email profile" });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join("\n");
      expect(problems).toMatch(/SSO_ONLY: needs single sign-on configured/);
      expect(problems).toMatch(/OIDC_SCOPES: must include openid/);
    }
    expect(() => loadConfig({ ...oidc, OIDC_ISSUER: "idp.example.com" })).toThrow(/OIDC_ISSUER: must be a URL/);
    expect(loadConfig({ ...oidc, SSO_ONLY: "yes" }).oidc?.ssoOnly).toBe(true);
  });
});

describe("single sign-on with a real OpenID Connect provider", () => {
  let idp: TestOidcProvider;
  let app: TestApp;
  let ssoOnly: TestApp;
  let providerDown: TestApp;

  beforeAll(async () => {
    idp = await startTestOidcProvider();
    app = await startTestApp({ storage: "local", cache: "memory" }, idp.appEnv);
    ssoOnly = await startTestApp({ storage: "local", cache: "memory" }, { ...idp.appEnv, SSO_ONLY: "true" });
    providerDown = await startTestApp(
      { storage: "local", cache: "memory" },
      { ...idp.appEnv, OIDC_ISSUER: `http://127.0.0.1:${await closedPort()}` },
    );
    idp.registerRedirectUris([app.url, ssoOnly.url].map((url) => `${url}/auth/oidc/callback`));
    idp.users.set("ada", { email: "Ada@Example.com", emailVerified: true, name: "Ada Lovelace" });
    idp.users.set("grace", { email: "grace@example.com", emailVerified: true, name: "Grace Hopper" });
    idp.users.set("mallory", { email: "mallory@example.com", emailVerified: false, name: "Mallory" });
    idp.users.set("nomail", { email: null, emailVerified: false, name: "No Mail" });
  });

  afterAll(async () => {
    await idp?.close();
  });

  const auditRows = (action: string) => app.services.prisma.auditEvent.findMany({ where: { action }, orderBy: { createdAt: "asc" } });

  it("shows the sign-in button on the login page next to the password form", async () => {
    const html = await (await new TestClient(app.url).get("/login?redirectTo=%2Fshared")).text();
    expect(html).toContain('href="/auth/oidc?redirectTo=%2Fshared"');
    expect(html).toContain("Sign in with Test IdP");
    expect(html).toMatch(/<form method="post"[^>]*>/);
    expect(html).not.toMatch(/<form method="post"[^>]*hidden/);
  });

  it("sends the browser to the provider with PKCE (S256), state, nonce and the callback URL", async () => {
    const client = new TestClient(app.url);
    const start = await client.get("/auth/oidc");
    expect(start.status).toBe(302);
    const url = new URL(start.headers.get("location")!);
    expect(url.origin).toBe(idp.issuer);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      client_id: idp.clientId,
      response_type: "code",
      scope: "openid email profile",
      redirect_uri: `${app.url}/auth/oidc/callback`,
      code_challenge_method: "S256",
    });
    for (const param of ["state", "nonce", "code_challenge"]) expect(url.searchParams.get(param)).toMatch(/^[\w-]{40,}$/);
    const setCookie = start.headers.getSetCookie().join("\n");
    expect(setCookie).toMatch(/coffer_oidc=.*HttpOnly/i);
    expect(setCookie).toMatch(/Path=\/auth\/oidc/);
    // The verifier itself never leaves Coffer except in its own signed cookie.
    expect(url.searchParams.has("code_verifier")).toBe(false);
  });

  it("creates the account on the first sign-in (the first account is the admin) and logs in", async () => {
    const client = new TestClient(app.url);
    const { response } = await ssoLogin(idp, client, "ada", "/shared");
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/shared");
    expect(response.headers.getSetCookie().join("\n")).toMatch(/coffer_oidc=;.*Max-Age=0/i);
    expect(client.cookies.has("coffer_session")).toBe(true);
    expect((await client.get("/files")).status).toBe(200);

    const user = await app.services.prisma.user.findUniqueOrThrow({
      where: { email: "ada@example.com" },
      include: { oidcIdentities: true, folders: true },
    });
    expect(user).toMatchObject({ name: "Ada Lovelace", role: "ADMIN" });
    expect(user.oidcIdentities).toMatchObject([{ issuer: idp.issuer, subject: "sub-ada", email: "ada@example.com" }]);
    expect(user.folders).toHaveLength(1);
    // Its password is unusable: nobody knows it, so password login fails.
    expect((await new TestClient(app.url).login("ada@example.com")).status).toBe(401);

    const [linked] = await auditRows("auth.sso_linked");
    expect(linked).toMatchObject({
      actorId: user.id,
      targetId: user.id,
      outcome: "success",
      details: { issuer: idp.issuer, subject: "sub-ada" },
    });
    expect(await auditRows("user.registered")).toMatchObject([{ actorId: user.id, details: { method: "oidc", role: "ADMIN" } }]);
    expect((await auditRows("auth.login")).filter((row) => row.outcome === "success")).toMatchObject([
      { actorId: user.id, outcome: "success", details: { method: "oidc" } },
    ]);
  });

  it("reuses the link on the next sign-in and replaces the session the browser had", async () => {
    const earlier = new TestClient(app.url);
    await ssoLogin(idp, earlier, "ada");
    const user = await app.services.prisma.user.findUniqueOrThrow({ where: { email: "ada@example.com" } });
    const sessionsBefore = await app.services.prisma.session.count({ where: { userId: user.id } });

    const client = new TestClient(app.url);
    const start = await client.get("/auth/oidc");
    const callback = await signInAtProvider(idp, new TestClient(idp.issuer), start.headers.get("location")!, "ada");
    // A session cookie planted before login (session fixation) must not survive it.
    const planted = earlier.cookies.get("coffer_session")!;
    client.cookies.set("coffer_session", planted);
    const response = await client.get(callback.pathname + callback.search);
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/files");
    expect(client.cookies.get("coffer_session")).not.toBe(planted);
    expect((await earlier.get("/files")).status).toBe(302);
    expect((await client.get("/files")).status).toBe(200);
    expect(await app.services.prisma.session.count({ where: { userId: user.id } })).toBe(sessionsBefore);

    expect(await app.services.prisma.oidcIdentity.count({ where: { userId: user.id } })).toBe(1);
    expect(await app.services.prisma.user.count({ where: { email: "ada@example.com" } })).toBe(1);
    expect(await auditRows("auth.sso_linked")).toHaveLength(1);
  });

  it("sends a signed-in browser straight on instead of to the provider", async () => {
    const client = new TestClient(app.url);
    await ssoLogin(idp, client, "ada");
    const again = await client.get("/auth/oidc?redirectTo=%2Ftrash");
    expect(again.status).toBe(302);
    expect(again.headers.get("location")).toBe("/trash");
  });

  it("links an existing password account whose verified email matches", async () => {
    const passwordClient = new TestClient(app.url);
    await passwordClient.register("Grace", "grace@example.com");
    const existing = await app.services.prisma.user.findUniqueOrThrow({ where: { email: "grace@example.com" } });

    const client = new TestClient(app.url);
    const { response } = await ssoLogin(idp, client, "grace");
    expect(response.status).toBe(302);
    const identity = await app.services.prisma.oidcIdentity.findFirstOrThrow({ where: { subject: "sub-grace" } });
    expect(identity.userId).toBe(existing.id);
    // One session from registration, one from single sign-on.
    expect(await app.services.prisma.session.count({ where: { userId: existing.id } })).toBe(2);
    expect((await client.get("/files")).status).toBe(200);
    expect(await app.services.prisma.user.count({ where: { email: "grace@example.com" } })).toBe(1);
    expect((await auditRows("auth.sso_linked")).at(-1)).toMatchObject({ actorId: existing.id, targetId: existing.id });
    // The password still works: linking adds a way in, it does not take one away.
    expect((await new TestClient(app.url).login("grace@example.com")).status).toBe(302);
  });

  it("refuses a deactivated account with a page that says so, and signs it in again once reactivated", async () => {
    const grace = await app.services.prisma.user.findUniqueOrThrow({ where: { email: "grace@example.com" } });
    await app.services.prisma.user.update({ where: { id: grace.id }, data: { deactivatedAt: new Date() } });
    try {
      const client = new TestClient(app.url);
      const { response } = await ssoLogin(idp, client, "grace");
      expect(response.status).toBe(403);
      expect(await response.text()).toContain("This account has been deactivated. Ask an administrator");
      expect(client.cookies.has("coffer_session")).toBe(false);
      expect((await auditRows("auth.login")).at(-1)).toMatchObject({
        outcome: "failure",
        details: { method: "oidc", reason: "deactivated" },
      });
    } finally {
      await app.services.prisma.user.update({ where: { id: grace.id }, data: { deactivatedAt: null } });
    }
    const client = new TestClient(app.url);
    expect((await ssoLogin(idp, client, "grace")).response.status).toBe(302);
    expect((await client.get("/files")).status).toBe(200);
  });

  it("refuses an email the provider has not verified, with a page that says so", async () => {
    const usersBefore = await app.services.prisma.user.count();
    const client = new TestClient(app.url);
    const { response } = await ssoLogin(idp, client, "mallory");
    expect(response.status).toBe(403);
    const html = await response.text();
    expect(html).toContain("has not verified the email address mallory@example.com");
    expect(html).toContain('href="/login"');
    expect(client.cookies.has("coffer_session")).toBe(false);
    expect(await app.services.prisma.user.count()).toBe(usersBefore);
    expect((await auditRows("auth.login")).at(-1)).toMatchObject({
      outcome: "failure",
      actorId: null,
      details: { method: "oidc", reason: "email_not_verified" },
    });
  });

  it("refuses a provider account without an email address", async () => {
    const { response } = await ssoLogin(idp, new TestClient(app.url), "nomail");
    expect(response.status).toBe(403);
    expect(await response.text()).toContain("did not share an email address");
  });

  it("refuses an answer whose state does not match the sign-in this browser started", async () => {
    const client = new TestClient(app.url);
    const start = await client.get("/auth/oidc");
    const callback = await signInAtProvider(idp, new TestClient(idp.issuer), start.headers.get("location")!, "ada");
    callback.searchParams.set("state", "forged-state-value");
    const response = await client.get(callback.pathname + callback.search);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("does not belong to the sign-in you started");
    expect(client.cookies.has("coffer_session")).toBe(false);
    expect((await auditRows("auth.login")).at(-1)).toMatchObject({ outcome: "failure", details: { reason: "state_mismatch" } });
  });

  it("refuses a callback without the browser's transaction cookie (login CSRF) and a replayed code", async () => {
    const client = new TestClient(app.url);
    const start = await client.get("/auth/oidc");
    const callback = await signInAtProvider(idp, new TestClient(idp.issuer), start.headers.get("location")!, "ada");
    const attacker = new TestClient(app.url);
    const forged = await attacker.get(callback.pathname + callback.search);
    expect(forged.status).toBe(400);
    expect(await forged.text()).toContain("expired or was started in another browser");

    const replayedCookie = client.cookies.get("coffer_oidc")!;
    expect((await client.get(callback.pathname + callback.search)).status).toBe(302);
    client.cookies.set("coffer_oidc", replayedCookie);
    const replay = await client.get(callback.pathname + callback.search);
    expect(replay.status).toBe(502);
    expect(await replay.text()).toContain("did not accept this sign-in");
  });

  it("shows the provider's refusal when the person cancels there", async () => {
    const client = new TestClient(app.url);
    const start = await client.get("/auth/oidc");
    const state = new URL(start.headers.get("location")!).searchParams.get("state")!;
    const response = await client.get(`/auth/oidc/callback?error=access_denied&state=${state}`);
    expect(response.status).toBe(401);
    expect(await response.text()).toContain("Sign-in was cancelled or refused at the sign-in provider");
  });

  it("refuses a callback whose parameters are not what the protocol allows, with a clear 400", async () => {
    const client = new TestClient(app.url);
    const start = await client.get("/auth/oidc");
    const state = new URL(start.headers.get("location")!).searchParams.get("state")!;
    for (const query of [
      `error=${encodeURIComponent('bad"quote')}&state=${state}`,
      `error=${"x".repeat(500)}&state=${state}`,
      `code=abc&state=${"s".repeat(2000)}`,
    ]) {
      const response = await client.get(`/auth/oidc/callback?${query}`);
      expect(response.status).toBe(400);
      const text = await response.text();
      expect(text).toContain("The sign-in provider&#x27;s answer could not be read.");
      expect(text).not.toContain("bad&quot;quote");
    }
  });

  it("only redirects to same-site paths after login", async () => {
    const { response } = await ssoLogin(idp, new TestClient(app.url), "ada", "//evil.example.com/x");
    expect(response.headers.get("location")).toBe("/files");
  });

  it("shows a clear error page when the provider cannot be reached, and no stack trace", async () => {
    const response = await new TestClient(providerDown.url).get("/auth/oidc");
    expect(response.status).toBe(503);
    const html = await response.text();
    expect(html).toContain("Sign-in provider unavailable");
    expect(html).toMatch(/The sign-in provider \(127\.0\.0\.1:\d+\) cannot be reached right now/);
    expect(html).not.toMatch(/at \w+ \(|node:internal|ECONNREFUSED/);
  });

  it("shows a clear error page when the provider goes down between login and callback", async () => {
    const flaky = await startTestOidcProvider();
    const flakyApp = await startTestApp({ storage: "local", cache: "memory" }, flaky.appEnv);
    try {
      flaky.registerRedirectUris([`${flakyApp.url}/auth/oidc/callback`]);
      flaky.users.set("ada", { email: "ada@example.com", emailVerified: true, name: "Ada" });
      const client = new TestClient(flakyApp.url);
      const start = await client.get("/auth/oidc");
      const callback = await signInAtProvider(flaky, new TestClient(flaky.issuer), start.headers.get("location")!, "ada");
      await flaky.close();
      const response = await client.get(callback.pathname + callback.search);
      expect(response.status).toBe(503);
      const html = await response.text();
      expect(html).toContain("The sign-in provider cannot be reached right now");
      expect(html).not.toMatch(/at \w+ \(|node:internal|ECONNREFUSED/);
      expect(client.cookies.has("coffer_session")).toBe(false);
    } finally {
      await flaky.close();
      await flakyApp.close();
    }
  });

  it("in SSO-only mode hides the password form and registration and refuses both", async () => {
    const client = new TestClient(ssoOnly.url);
    const login = await (await client.get("/login")).text();
    expect(login).toContain("Sign in with Test IdP");
    expect(login).toMatch(/<form method="post"[^>]*hidden/);
    expect(login).toContain("signs people in only through single sign-on");
    expect(/<nav aria-label="Account"[\s\S]*?<\/nav>/.exec(login)?.[0]).not.toContain("/register");

    const register = await client.get("/register");
    expect(register.status).toBe(403);
    expect(await register.text()).toContain("Accounts are created automatically the first time you sign in with “Sign in with Test IdP”");
    const posted = await client.postForm("/register", { name: "Eve", email: "eve@example.com", password: "correct horse battery staple" });
    expect(posted.status).toBe(403);
    expect(await ssoOnly.services.prisma.user.count()).toBe(0);

    // An account made by SSO cannot fall back to a password either.
    expect((await ssoLogin(idp, client, "grace")).response.status).toBe(302);
    const refused = await new TestClient(ssoOnly.url).login("grace@example.com", "anything at all");
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("This Coffer does not use passwords");
  });

  /** "Confirm with <provider>": Coffer → provider (asked to log in again) → callback. Returns the callback's response. */
  async function reauth(client: TestClient, login: string, returnTo: string) {
    const start = await client.get(`/auth/oidc/reauth?returnTo=${encodeURIComponent(returnTo)}`);
    expect(start.status).toBe(302);
    const authorizationUrl = new URL(start.headers.get("location")!);
    expect(authorizationUrl.origin).toBe(idp.issuer);
    expect(authorizationUrl.searchParams.get("prompt")).toBe("login");
    expect(authorizationUrl.searchParams.get("max_age")).toBe("0");
    const callback = await signInAtProvider(idp, new TestClient(idp.issuer), authorizationUrl.href, login);
    return client.get(callback.pathname + callback.search);
  }

  /** A signed-in account made by single sign-on (so without a password of its own). */
  async function ssoAccount(login: string) {
    const email = `${login}@example.com`;
    idp.users.set(login, { email, emailVerified: true, name: login });
    const client = new TestClient(app.url);
    expect((await ssoLogin(idp, client, login)).response.status).toBe(302);
    const user = await app.services.prisma.user.findUniqueOrThrow({ where: { email } });
    expect(user.passwordUsable).toBe(false);
    const session = await app.services.prisma.session.findFirstOrThrow({ where: { userId: user.id } });
    return { client, user, email, session };
  }

  const addPasskey = (userId: string, name: string) =>
    app.services.prisma.passkey.create({
      data: {
        userId,
        name,
        credentialId: `cred-${randomBytes(8).toString("hex")}`,
        publicKey: Buffer.from("not used"),
        counter: 0n,
        transports: "",
        deviceType: "singleDevice",
        backedUp: false,
      },
    });
  const turnOnTotp = (userId: string) =>
    app.services.prisma.totpCredential.create({ data: { userId, secretEncrypted: "v1.unused.unused.unused", confirmedAt: new Date() } });

  it("lets an account without a password remove a passkey and turn off two-step verification after confirming at the provider", async () => {
    const { client, user, session } = await ssoAccount("katherine");
    const passkey = await addPasskey(user.id, "Old phone");

    // A login alone is no confirmation: the page offers the provider instead of a password field.
    const page = await (await client.get("/settings/security")).text();
    expect(page).toContain("Confirm with Test IdP");
    expect(page).toContain(`/auth/oidc/reauth?returnTo=${encodeURIComponent("/settings/security")}`);
    expect(page).not.toContain('name="currentPassword"');
    const refused = await client.postForm("/settings/security", { intent: "remove-passkey", passkey: passkey.id, proof: "" });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("Confirm it&#x27;s you with Test IdP first, then try again. Nothing was changed.");
    expect(await app.services.prisma.passkey.count({ where: { id: passkey.id } })).toBe(1);
    // Typing something is no way around it: the account has no password.
    const typed = await client.postForm("/settings/security", {
      intent: "remove-passkey",
      passkey: passkey.id,
      proof: "correct horse battery staple",
    });
    expect(typed.status).toBe(401);
    expect(await typed.text()).toContain("Your account has no password");

    const back = await reauth(client, "katherine", "/settings/security");
    expect(back.status).toBe(302);
    expect(back.headers.get("location")).toBe("/settings/security");
    const marked = await app.services.prisma.session.findUniqueOrThrow({ where: { id: session.id } });
    expect(Date.now() - marked.reauthenticatedAt!.getTime()).toBeLessThan(60_000);
    expect(await auditRows("auth.reauth")).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ actorId: user.id, outcome: "success", targetId: user.id, details: { method: "oidc" } }),
      ]),
    );
    // The same session goes on: a confirmation is no new login.
    expect(await app.services.prisma.session.count({ where: { userId: user.id } })).toBe(1);
    expect(await (await client.get("/settings/security")).text()).toContain("You confirmed it&#x27;s you with Test IdP");

    const removed = await client.postForm("/settings/security", { intent: "remove-passkey", passkey: passkey.id, proof: "" });
    expect(removed.status).toBe(302);
    expect(removed.headers.get("location")).toBe("/settings/security?done=passkey-removed");
    expect(await app.services.prisma.passkey.count({ where: { id: passkey.id } })).toBe(0);

    await turnOnTotp(user.id);
    const off = await client.postForm("/settings/security/mfa", { intent: "disable", proof: "" });
    expect(off.status).toBe(200);
    expect(await off.text()).toContain("Two-step verification is off.");
    expect(await app.services.prisma.totpCredential.count({ where: { userId: user.id } })).toBe(0);
  });

  it("refuses a confirmation older than 10 minutes", async () => {
    const { client, user, session } = await ssoAccount("dorothy");
    expect((await reauth(client, "dorothy", "/settings/security/mfa")).headers.get("location")).toBe("/settings/security/mfa");
    await app.services.prisma.session.update({
      where: { id: session.id },
      data: { reauthenticatedAt: new Date(Date.now() - 10 * 60_000 - 1000) },
    });
    await turnOnTotp(user.id);
    const stale = await client.postForm("/settings/security/mfa", { intent: "disable", proof: "" });
    expect(stale.status).toBe(400);
    expect(await stale.text()).toContain("or confirm it&#x27;s you with Test IdP");
    expect(await app.services.prisma.totpCredential.count({ where: { userId: user.id } })).toBe(1);
    const regenerate = await client.postForm("/settings/security/mfa", { intent: "regenerate", proof: "" });
    expect(regenerate.status).toBe(400);
    // Confirmed again: new recovery codes.
    await reauth(client, "dorothy", "/settings/security/mfa");
    const codes = await client.postForm("/settings/security/mfa", { intent: "regenerate", proof: "" });
    expect(codes.status).toBe(200);
    expect(await app.services.prisma.recoveryCode.count({ where: { userId: user.id } })).toBe(10);
  });

  it("lets an account without a password add a passkey after confirming, once its login is no longer fresh", async () => {
    const { client, session } = await ssoAccount("rosalind");
    await app.services.prisma.session.update({ where: { id: session.id }, data: { createdAt: new Date(Date.now() - 11 * 60_000) } });
    const options = () =>
      client.request("/settings/security/passkeys", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ step: "options" }),
      });
    const refused = await options();
    expect(refused.status).toBe(400);
    expect((await refused.json()).message).toContain("Confirm it's you with Test IdP first");
    await reauth(client, "rosalind", "/settings/security");
    const allowed = await options();
    expect(allowed.status).toBe(200);
    expect((await allowed.json()).options.challenge).toEqual(expect.any(String));
  });

  it("refuses a provider answer whose auth_time shows no fresh login", async () => {
    const { client, user, session } = await ssoAccount("lise");
    const request = new Request(`${app.url}/auth/oidc/callback`, { headers: { cookie: client.cookieHeader } });
    const claims = { issuer: idp.issuer, subject: "sub-lise", email: "lise@example.com", emailVerified: true, name: "lise" };
    const now = Math.floor(Date.now() / 1000);
    await expect(confirmSignedInUser(app.services, request, claims, sessionKey(session.id), now - 6 * 60)).rejects.toMatchObject({
      status: 403,
      reason: "reauth_not_fresh",
    });
    expect((await app.services.prisma.session.findUniqueOrThrow({ where: { id: session.id } })).reauthenticatedAt).toBeNull();
    await expect(confirmSignedInUser(app.services, request, claims, sessionKey(session.id), now)).resolves.toMatchObject({ id: user.id });
    expect((await app.services.prisma.session.findUniqueOrThrow({ where: { id: session.id } })).reauthenticatedAt).not.toBeNull();
  });

  it("ignores a return path that leaves Coffer", async () => {
    const { client } = await ssoAccount("barbara");
    for (const returnTo of ["https://evil.example/steal", "//evil.example/steal", "/\\evil.example"]) {
      const back = await reauth(client, "barbara", returnTo);
      expect(back.status).toBe(302);
      expect(back.headers.get("location")).toBe("/settings/security");
    }
  });

  it("refuses a confirmation by another provider account, and one for another session", async () => {
    const { client, user, session } = await ssoAccount("frances");
    await ssoAccount("joan");
    const other = await reauth(client, "joan", "/settings/privacy");
    expect(other.status).toBe(403);
    const otherPage = await other.text();
    expect(otherPage).toContain("not linked to frances@example.com");
    // The error page leads back to where the person was.
    expect(otherPage).toMatch(/<a[^>]*href="\/settings\/privacy"[^>]*>Back to privacy settings<\/a>/);
    expect((await app.services.prisma.session.findUniqueOrThrow({ where: { id: session.id } })).reauthenticatedAt).toBeNull();
    expect(await auditRows("auth.reauth")).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ actorId: user.id, outcome: "failure", details: { method: "oidc", reason: "reauth_other_account" } }),
      ]),
    );

    // Started in one session, finished in another (e.g. after logging in again): refused.
    const start = await client.get("/auth/oidc/reauth?returnTo=%2Fsettings%2Fsecurity");
    const callback = await signInAtProvider(idp, new TestClient(idp.issuer), start.headers.get("location")!, "frances");
    const newer = new TestClient(app.url);
    await ssoLogin(idp, newer, "frances");
    newer.cookies.set("coffer_oidc", client.cookies.get("coffer_oidc")!);
    const mismatch = await newer.get(callback.pathname + callback.search);
    expect(mismatch.status).toBe(400);
    expect(await mismatch.text()).toContain("started in another session");

    // Signed out, the confirmation start sends to the login page; a password account has nothing to confirm there.
    const anonymous = await new TestClient(app.url).get("/auth/oidc/reauth?returnTo=%2Fsettings%2Fsecurity");
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get("location")).toMatch(/^\/login\?redirectTo=/);
    const passwordOnly = new TestClient(app.url);
    await passwordOnly.register("Pat", "pat@example.com");
    const notLinked = await passwordOnly.get("/auth/oidc/reauth?returnTo=%2Fsettings%2Fsecurity");
    expect(notLinked.status).toBe(409);
    expect(await notLinked.text()).toContain("confirm with your password");
  });

  it("says a cancelled confirmation left the person signed in, and leads back to what they were doing", async () => {
    const { client, user, session } = await ssoAccount("edith");
    const cancel = async (returnTo: string) => {
      const start = await client.get(`/auth/oidc/reauth?returnTo=${encodeURIComponent(returnTo)}`);
      const state = new URL(start.headers.get("location")!).searchParams.get("state")!;
      return client.get(`/auth/oidc/callback?error=access_denied&state=${state}`);
    };
    const cancelled = await cancel("/settings/security/mfa");
    expect(cancelled.status).toBe(401);
    const page = await cancelled.text();
    expect(page).toContain("The confirmation was cancelled or refused at the sign-in provider");
    expect(page).toContain("Nothing was changed and you are still logged in. Go back to two-step verification settings to try again.");
    expect(page).toMatch(/<a[^>]*href="\/settings\/security\/mfa"[^>]*>Back to two-step verification settings<\/a>/);
    expect(page).not.toContain("login page");
    // It is so: the session goes on, unconfirmed.
    expect((await client.get("/settings/security/mfa")).status).toBe(200);
    expect((await app.services.prisma.session.findUniqueOrThrow({ where: { id: session.id } })).reauthenticatedAt).toBeNull();
    expect(await auditRows("auth.reauth")).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          actorId: user.id,
          outcome: "failure",
          details: { method: "oidc", reason: "provider_error:access_denied" },
        }),
      ]),
    );

    // Any other error from the provider during a confirmation says the same about what comes next.
    const start = await client.get("/auth/oidc/reauth?returnTo=%2Fsettings%2Fprivacy");
    const state = new URL(start.headers.get("location")!).searchParams.get("state")!;
    const failed = await client.get(`/auth/oidc/callback?error=server_error&state=${state}`);
    expect(failed.status).toBe(502);
    const failedPage = await failed.text();
    expect(failedPage).toContain(
      "The sign-in provider answered with an error (server_error). If it keeps failing, tell your administrator.",
    );
    expect(failedPage).toContain("Nothing was changed and you are still logged in. Go back to privacy settings to try again.");
    expect(failedPage).toMatch(/<a[^>]*href="\/settings\/privacy"[^>]*>Back to privacy settings<\/a>/);
    expect(failedPage).not.toContain("login page");

    // When the session ended meanwhile, the page says so and offers to log in again, coming back afterwards.
    const again = await client.get("/auth/oidc/reauth?returnTo=%2Fsettings%2Fsecurity");
    const againState = new URL(again.headers.get("location")!).searchParams.get("state")!;
    expect((await client.postForm("/logout", {})).status).toBe(302);
    const ended = await client.get(`/auth/oidc/callback?error=access_denied&state=${againState}`);
    expect(ended.status).toBe(401);
    const endedPage = await ended.text();
    expect(endedPage).toContain("You are no longer logged in: log in again to go on.");
    expect(endedPage).toMatch(/<a[^>]*href="\/login\?redirectTo=%2Fsettings%2Fsecurity"[^>]*>Log in again<\/a>/);
    expect(endedPage).not.toContain("still logged in");
  });

  it("lets an account without a password set one after confirming, which then logs in", async () => {
    const { client, user, email } = await ssoAccount("mary");
    const password = "a quiet harbour at dawn 42";
    const early = await client.postForm("/settings/security", {
      intent: "change-password",
      newPassword: password,
      confirmPassword: password,
    });
    expect(early.status).toBe(400);
    expect(await early.text()).toContain("Your account has no password yet. Confirm it&#x27;s you with Test IdP first");
    expect(await auditRows("auth.password_set")).toEqual(
      expect.arrayContaining([expect.objectContaining({ actorId: user.id, outcome: "failure" })]),
    );

    await reauth(client, "mary", "/settings/security");
    const page = await (await client.get("/settings/security")).text();
    expect(page).toContain("Set password");
    expect(page).not.toContain('name="currentPassword"');
    // The password policy applies.
    const weak = await client.postForm("/settings/security", {
      intent: "change-password",
      newPassword: "password1234",
      confirmPassword: "password1234",
    });
    expect(weak.status).toBe(400);
    const set = await client.postForm("/settings/security", {
      intent: "change-password",
      newPassword: password,
      confirmPassword: password,
    });
    expect(set.status).toBe(302);
    expect(set.headers.get("location")).toBe("/settings/security?done=password-set");
    expect((await app.services.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).passwordUsable).toBe(true);
    expect(await auditRows("auth.password_set")).toEqual(
      expect.arrayContaining([expect.objectContaining({ actorId: user.id, outcome: "success" })]),
    );

    const login = await new TestClient(app.url).login(email, password);
    expect(login.status).toBe(302);
    // From now on the password confirms too (alongside the provider).
    const after = await (await client.get("/settings/security")).text();
    expect(after).toContain('name="currentPassword"');
    expect(after).toContain("Or confirm with Test IdP instead");
  });

  it("in SSO-only mode lets no password be set, even after confirming", async () => {
    idp.users.set("ida", { email: "ida@example.com", emailVerified: true, name: "Ida" });
    const client = new TestClient(ssoOnly.url);
    expect((await ssoLogin(idp, client, "ida")).response.status).toBe(302);
    expect(await (await client.get("/settings/security")).text()).toContain("passwords are not used and none can be set");
    const start = await client.get("/auth/oidc/reauth?returnTo=%2Fsettings%2Fsecurity");
    const callback = await signInAtProvider(idp, new TestClient(idp.issuer), start.headers.get("location")!, "ida");
    expect((await client.get(callback.pathname + callback.search)).status).toBe(302);
    const password = "a quiet harbour at dawn 42";
    const refused = await client.postForm("/settings/security", {
      intent: "change-password",
      newPassword: password,
      confirmPassword: password,
    });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("no password can be set");
    const user = await ssoOnly.services.prisma.user.findUniqueOrThrow({ where: { email: "ida@example.com" } });
    expect(user.passwordUsable).toBe(false);
  });

  it("lets an account made by single sign-on delete itself after confirming at the provider", async () => {
    const { client, user, session } = await ssoAccount("hedy");
    // Signing in is not enough: the page says how to confirm.
    const page = await (await client.get("/settings/privacy")).text();
    expect(page).toContain(`/auth/oidc/reauth?returnTo=${encodeURIComponent("/settings/privacy")}`);
    const unconfirmed = await client.postForm("/settings/privacy", { intent: "delete", confirmEmail: "hedy@example.com", password: "" });
    expect(unconfirmed.status).toBe(400);
    expect(await unconfirmed.text()).toContain("Confirm it&#x27;s you with Test IdP first, then delete the account within 10 minutes");
    expect((await reauth(client, "hedy", "/settings/privacy")).headers.get("location")).toBe("/settings/privacy");
    // A confirmation older than 10 minutes is not enough either.
    await app.services.prisma.session.update({
      where: { id: session.id },
      data: { reauthenticatedAt: new Date(Date.now() - 11 * 60_000) },
    });
    const stale = await client.postForm("/settings/privacy", { intent: "delete", confirmEmail: "hedy@example.com", password: "" });
    expect(stale.status).toBe(400);
    expect(await app.services.prisma.user.count({ where: { id: user.id } })).toBe(1);

    await reauth(client, "hedy", "/settings/privacy");
    // Erased at once (no grace period), so the provider link goes too.
    await updateSettings(app.services, { deletedAccountRetentionDays: 0 });
    const deleted = await client
      .postForm("/settings/privacy", { intent: "delete", confirmEmail: "hedy@example.com", password: "" })
      .finally(() => updateSettings(app.services, { deletedAccountRetentionDays: 30 }));
    expect(deleted.status).toBe(302);
    expect(deleted.headers.get("location")).toBe("/account-deleted");
    expect(await app.services.prisma.user.count({ where: { id: user.id } })).toBe(0);
    expect(await app.services.prisma.oidcIdentity.count({ where: { userId: user.id } })).toBe(0);
  });

  it("words the two-step section for an account without a password: no password, a code field, the provider", async () => {
    const { client, user } = await ssoAccount("ruth");
    const section = async () =>
      /<section[^>]*data-testid="mfa-section"[\s\S]*?<\/section>/.exec(await (await client.get("/settings/security")).text())![0];
    const off = await section();
    expect(off).toContain("You sign in with Test IdP, which does its own checks, so Coffer asks for no code then.");
    expect(off).not.toMatch(/\bpassword\b/i);

    await enrollTotp(client);
    await app.services.prisma.session.updateMany({ where: { userId: user.id }, data: { reauthenticatedAt: null } });
    const on = await section();
    expect(on).not.toMatch(/\bpassword\b/i);
    // The confirmation takes a one-time code (no password field), or the provider.
    const field = /<input[^>]*id="mfa-disable-proof"[^>]*>/.exec(on)![0];
    expect(field).toContain('type="text"');
    expect(field).toMatch(/autocomplete="one-time-code"/i);
    expect(on).toMatch(/<label[^>]*for="mfa-disable-proof"[^>]*>A current code from your app, or a recovery code<\/label>/);
    expect(on).toContain("Or confirm with Test IdP instead");
    expect(on).toContain("Signing in with Test IdP stays the same; to confirm changes here, you sign in with Test IdP again.");
    const empty = await client.postForm("/settings/security/mfa", { intent: "disable", proof: "" });
    expect(empty.status).toBe(400);
    const emptyPage = await empty.text();
    expect(emptyPage).toContain("Enter a code from your app or a recovery code, or confirm it&#x27;s you with Test IdP.");
    expect(emptyPage).not.toContain("Enter a code or your password.");
    const typed = await client.postForm("/settings/security/mfa", { intent: "disable", proof: "a long secret phrase" });
    expect(typed.status).toBe(401);
    expect(await typed.text()).toContain(
      "Your account has no password: enter a current code from your app or a recovery code, or confirm it&#x27;s you with Test IdP instead.",
    );

    // With Coffer's second step after single sign-on, the section says it is asked then.
    await updateSettings(app.services, { requireMfaAfterSso: true });
    try {
      const asked = await section();
      expect(asked).toContain("After you sign in with Test IdP, Coffer asks for a code from an authenticator app");
      expect(asked).toContain("Signing in will need only Test IdP.");
      expect(asked).not.toMatch(/\bpassword\b/i);
    } finally {
      await updateSettings(app.services, { requireMfaAfterSso: false });
    }

    // An account that can log in with a password still reads about its password.
    const password = new TestClient(app.url);
    await password.register("Pam", "pam@example.com");
    await enrollTotp(password);
    const withPassword = /<section[^>]*data-testid="mfa-section"[\s\S]*?<\/section>/.exec(
      await (await password.get("/settings/security")).text(),
    )![0];
    expect(withPassword).toContain("After your password, Coffer asks for a code");
    expect(withPassword).toContain("Logging in will need only your password.");
    expect(/<input[^>]*id="mfa-disable-proof"[^>]*>/.exec(withPassword)![0]).toContain('type="password"');
  });

  it("asks an enrolled account for Coffer's second step after single sign-on only when the admin setting is on", async () => {
    const admin = new TestClient(app.url);
    expect((await ssoLogin(idp, admin, "ada")).response.status).toBe(302);
    const settingsPage = await (await admin.get("/admin/settings")).text();
    expect(settingsPage).toContain("Also require Coffer&#x27;s two-step verification after single sign-on");
    expect(/<input[^>]*name="requireMfaAfterSso"[^>]*>/.exec(settingsPage)![0]).not.toContain("checked");

    const { client, user } = await ssoAccount("margaret");
    const secret = await enrollTotp(client);
    await ssoAccount("nellie");

    // Off (the default): the provider's checks are trusted, as before.
    const trusted = new TestClient(app.url);
    const direct = (await ssoLogin(idp, trusted, "margaret", "/shared")).response;
    expect(direct.headers.get("location")).toBe("/shared");
    expect((await trusted.get("/files")).status).toBe(200);

    const on = await admin.postForm("/admin/settings", { ...SETTINGS_FORM, requireMfaAfterSso: "on" });
    expect(on.status).toBe(200);
    expect(await on.text()).toContain("Settings saved.");
    expect(await app.services.prisma.setting.findUnique({ where: { key: "requireMfaAfterSso" } })).toMatchObject({ value: true });
    expect(await auditRows("admin.settings_updated")).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ details: expect.objectContaining({ changed: expect.arrayContaining(["requireMfaAfterSso"]) }) }),
      ]),
    );
    try {
      // On: the same second-step page as after a password, and no session before it.
      const browser = new TestClient(app.url);
      const first = (await ssoLogin(idp, browser, "margaret", "/shared")).response;
      expect(first.status).toBe(302);
      expect(first.headers.get("location")).toBe("/login/mfa");
      expect(browser.cookies.has("coffer_session")).toBe(false);
      expect(browser.cookies.has("coffer_mfa")).toBe(true);
      expect((await browser.get("/files")).status).toBe(302);
      const step = await (await browser.get("/login/mfa")).text();
      expect(step).toContain("Enter the 6-digit code from your authenticator app");
      expect(step).toContain("Start again from the login page");
      expect(step).not.toContain("with your password");
      const wrong = await browser.postForm("/login/mfa", { code: "000000" });
      expect(wrong.status).toBe(401);
      expect(browser.cookies.has("coffer_session")).toBe(false);
      const done = await browser.postForm("/login/mfa", { code: totpCode(secret, 1) });
      expect(done.status).toBe(302);
      expect(done.headers.get("location")).toBe("/shared");
      expect((await browser.get("/files")).status).toBe(200);
      expect((await auditRows("auth.login")).at(-1)).toMatchObject({
        actorId: user.id,
        outcome: "success",
        details: { method: "totp", firstStep: "oidc" },
      });

      // An account without a second factor signs in straight away.
      const plain = new TestClient(app.url);
      expect((await ssoLogin(idp, plain, "nellie")).response.headers.get("location")).toBe("/files");
      expect((await plain.get("/files")).status).toBe(200);

      // A confirmation at the provider is no login: it does not go through the second step.
      const back = await reauth(client, "margaret", "/settings/security");
      expect(back.headers.get("location")).toBe("/settings/security");
    } finally {
      const off = await admin.postForm("/admin/settings", { ...SETTINGS_FORM });
      expect(off.status).toBe(200);
    }
    expect(await app.services.prisma.setting.findUnique({ where: { key: "requireMfaAfterSso" } })).toMatchObject({ value: false });
  });

  it("in SSO-only mode completes the second step after single sign-on with a passkey", async () => {
    idp.users.set("wilma", { email: "wilma@example.com", emailVerified: true, name: "Wilma" });
    const client = new TestClient(ssoOnly.url);
    expect((await ssoLogin(idp, client, "wilma")).response.headers.get("location")).toBe("/files");
    const authenticator = new SoftAuthenticator(ssoOnly.url);
    const postJson = async (browser: TestClient, path: string, body: unknown) => {
      const response = await browser.request(path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      // biome-ignore lint/suspicious/noExplicitAny: the test walks WebAuthn JSON of many shapes.
      return { status: response.status, body: (await response.json()) as any };
    };
    const options = await postJson(client, "/settings/security/passkeys", { step: "options" });
    expect(options.status).toBe(200);
    const { credential, response } = authenticator.register(options.body.options);
    expect((await postJson(client, "/settings/security/passkeys", { step: "verify", name: "Wilma's key", response })).status).toBe(200);

    await updateSettings(ssoOnly.services, { requireMfaAfterSso: true });
    try {
      const browser = new TestClient(ssoOnly.url);
      expect((await ssoLogin(idp, browser, "wilma", "/trash")).response.headers.get("location")).toBe("/login/mfa");
      // Passkeys alone still do not sign in here; as the second step after the provider they do.
      expect((await postJson(browser, "/login/passkey", { step: "options", mode: "passwordless" })).status).toBe(403);
      const challenge = await postJson(browser, "/login/passkey", { step: "options", mode: "second-factor" });
      expect(challenge.status).toBe(200);
      const verified = await postJson(browser, "/login/passkey", {
        step: "verify",
        mode: "second-factor",
        response: authenticator.authenticate(credential, challenge.body.options),
      });
      expect(verified.status, JSON.stringify(verified.body)).toBe(200);
      expect(verified.body.redirectTo).toBe("/trash");
      expect((await browser.get("/files")).status).toBe(200);
    } finally {
      await updateSettings(ssoOnly.services, { requireMfaAfterSso: false });
    }
  });

  it("in SSO-only mode refuses the code step of a password login begun before SSO_ONLY was switched on", async () => {
    idp.users.set("olga", { email: "olga@example.com", emailVerified: true, name: "Olga" });
    expect((await ssoLogin(idp, new TestClient(ssoOnly.url), "olga")).response.headers.get("location")).toBe("/files");
    const user = await ssoOnly.services.prisma.user.findUniqueOrThrow({ where: { email: "olga@example.com" } });
    // The pending-login cookie a password login left minutes ago, signed with the same secret.
    const sessionsBefore = await ssoOnly.services.prisma.session.count({ where: { userId: user.id } });
    const [pair] = (await beginPendingLogin(ssoOnly.services, user.id, "/files", "password")).split(";");
    const browser = new TestClient(ssoOnly.url);
    browser.cookies.set(pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1));
    const refusal = "This Coffer does not use passwords: sign in with “Sign in with Test IdP” on the login page.";

    const page = await browser.get("/login/mfa");
    expect(page.status).toBe(403);
    const html = await page.text();
    expect(html).toContain(refusal);
    expect(html).not.toContain("Verify and log in");
    const posted = await browser.postForm("/login/mfa", { code: "123456" });
    expect(posted.status).toBe(403);
    expect(await posted.text()).toContain(refusal);
    expect(await ssoOnly.services.prisma.session.count({ where: { userId: user.id } })).toBe(sessionsBefore);

    // A pending login begun at the provider still goes on to its second step.
    const [oidcPair] = (await beginPendingLogin(ssoOnly.services, user.id, "/files", "oidc")).split(";");
    const viaProvider = new TestClient(ssoOnly.url);
    viaProvider.cookies.set(oidcPair.slice(0, oidcPair.indexOf("=")), oidcPair.slice(oidcPair.indexOf("=") + 1));
    const step = await viaProvider.get("/login/mfa");
    expect(step.status).toBe(200);
    expect(await step.text()).toContain("Start again from the login page");
  });

  it("says single sign-on is not set up when it is not", async () => {
    const plain = await startTestApp({ storage: "local", cache: "memory" });
    try {
      const response = await new TestClient(plain.url).get("/auth/oidc/callback?code=x&state=y");
      expect(response.status).toBe(404);
      expect(await response.text()).toContain("Single sign-on is not set up");
      expect(await (await new TestClient(plain.url).get("/login")).text()).not.toContain("/auth/oidc");
    } finally {
      await plain.close();
    }
  });
});
