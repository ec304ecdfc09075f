import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditActor } from "~/domain/audit/audit.server";
import { authenticateBearer, createToken, revokeToken } from "~/domain/tokens/tokens.server";
import type { TokenScope } from "~/domain/tokens/scopes";
import { startTestApp, type TestApp } from "./support/app";
import { captureLogLines } from "./support/log-lines";
import { registerPerson, type Person } from "./support/people";

const actor: AuditActor = { actorId: null, actorLabel: "test", ip: null, userAgent: null };
const base64 = (value: string) => Buffer.from(value).toString("base64");

function tusCreate(app: TestApp, headers: Record<string, string>, name: string, size: number) {
  return fetch(`${app.url}/api/uploads`, {
    method: "POST",
    headers: { "Tus-Resumable": "1.0.0", "Upload-Length": String(size), "Upload-Metadata": `filename ${base64(name)}`, ...headers },
  });
}

function tusPatch(url: string, headers: Record<string, string>, body: Buffer) {
  return fetch(url, {
    method: "PATCH",
    headers: { "Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream", ...headers },
    body: new Uint8Array(body),
  });
}

describe("access tokens over HTTP", () => {
  let app: TestApp;
  let ada: Person;
  let log: ReturnType<typeof captureLogLines>;

  beforeAll(async () => {
    log = captureLogLines();
    app = await startTestApp({ storage: "local", cache: "memory" }, { LOG_LEVEL: "debug" });
    await registerPerson(app, "Admin", "admin-http@example.com");
    ada = await registerPerson(app, "Ada", "ada-http@example.com");
  });

  afterAll(async () => {
    log.stop();
    await app?.close();
  });

  const tokenFor = async (scopes: TokenScope[], expiresAt: Date | null = null) =>
    (await createToken(app.services, { id: ada.id, role: "USER" }, { name: "test", scopes, expiresAt }, actor)).secret;
  const stored = async () => ({
    files: await app.services.prisma.file.count({ where: { ownerId: ada.id } }),
    uploads: await app.services.prisma.upload.count({ where: { ownerId: ada.id } }),
  });

  it("uploads with tus as the token's user, without cookies or CSRF, even from another origin", async () => {
    const token = await tokenFor(["files:write"]);
    const bearer = { authorization: `Bearer ${token}`, origin: "https://elsewhere.example", "sec-fetch-site": "cross-site" };
    const created = await tusCreate(app, bearer, "from-a-script.txt", 5);
    expect(created.status, await created.clone().text()).toBe(201);
    const url = new URL(created.headers.get("location")!, app.url).toString();
    const patched = await tusPatch(url, bearer, Buffer.from("hello"));
    expect(patched.status, await patched.clone().text()).toBe(204);
    const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "from-a-script.txt" } });
    expect(file.ownerId).toBe(ada.id);
    // Seen in the logs: every line above was written while the token was in use.
    expect(log.text()).not.toContain(token.slice(-43));
    expect(log.text()).not.toContain(token);
  });

  it("refuses a token without files:write, an expired, a revoked and a forged one, storing nothing", async () => {
    const before = await stored();
    const readOnly = await tokenFor(["files:read"]);
    const expired = await tokenFor(["files:write"], new Date(Date.now() + 60_000));
    await app.services.prisma.apiToken.updateMany({
      where: { userId: ada.id, expiresAt: { not: null } },
      data: { expiresAt: new Date(Date.now() - 1) },
    });
    const revoked = await tokenFor(["files:write"]);
    await revokeToken(app.services, { id: ada.id, role: "USER" }, revoked.split("_")[2], actor);
    const forged = `${revoked.slice(0, -4)}AAAA`;

    const readOnlyAnswer = await tusCreate(app, { authorization: `Bearer ${readOnly}` }, "nope.txt", 3);
    expect(readOnlyAnswer.status).toBe(403);
    const answers = new Set<string>();
    for (const token of [expired, revoked, forged, "coffer_pat_short", "not-a-token"]) {
      const answer = await tusCreate(app, { authorization: `Bearer ${token}` }, "nope.txt", 3);
      expect(answer.status, token).toBe(401);
      answers.add(await answer.text());
    }
    // One answer for every failure: it tells a guesser nothing.
    expect(answers.size).toBe(1);
    expect(await stored()).toEqual(before);
    expect(await app.services.prisma.file.count({ where: { name: "nope.txt" } })).toBe(0);
  });

  it("authenticates a request carrying a token and a cookie by the token alone, and keeps the origin check", async () => {
    const readOnly = await tokenFor(["files:read"]);
    // Ada's session cookie could upload; the token cannot, and the token decides.
    const both = await tusCreate(app, { authorization: `Bearer ${readOnly}`, cookie: ada.client.cookieHeader }, "both.txt", 3);
    expect(both.status).toBe(403);
    const writer = await tokenFor(["files:write"]);
    const crossSite = await tusCreate(
      app,
      {
        authorization: `Bearer ${writer}`,
        cookie: ada.client.cookieHeader,
        origin: "https://elsewhere.example",
        "sec-fetch-site": "cross-site",
      },
      "cross.txt",
      3,
    );
    expect(crossSite.status).toBe(403);
    expect(await app.services.prisma.file.count({ where: { name: { in: ["both.txt", "cross.txt"] } } })).toBe(0);
  });

  it("never writes a token into a log line, whatever field holds it", async () => {
    const token = await tokenFor(["files:read"]);
    app.services.log.error("a token in a message", { error: new Error(`refused ${token}`), url: `/api/v1/x?access_token=${token}` });
    await fetch(`${app.url}/api/uploads/${token}`, {
      method: "HEAD",
      headers: { "Tus-Resumable": "1.0.0", authorization: `Bearer ${token}` },
    });
    const text = log.text();
    expect(text).toContain("a token in a message");
    expect(text).toContain("coffer_pat_[redacted]");
    expect(text).not.toContain(token.slice(-43));
  });
});

describe("the /settings/tokens page without JavaScript", () => {
  let app: TestApp;
  let person: Person;
  let admin: Person;

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    admin = await registerPerson(app, "Admin", "admin-page@example.com");
    person = await registerPerson(app, "Grace", "grace-page@example.com");
  });

  afterAll(async () => {
    await app?.close();
  });

  it("says what tokens are for, creates one shown once, lists it, and revokes it", async () => {
    const empty = await (await person.client.get("/settings/tokens")).text();
    expect(empty).toContain("You have no tokens");

    const body = new URLSearchParams({ intent: "create", name: "nightly backup", expiry: "30" });
    body.append("scopes", "files:read");
    body.append("scopes", "files:write");
    const created = await person.client.request("/settings/tokens", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: body.toString(),
    });
    expect(created.status).toBe(200);
    const page = await created.text();
    const secret = /coffer_pat_[0-9a-f]{24}_[A-Za-z0-9_-]{43}/.exec(page)?.[0];
    expect(secret).toBeDefined();
    const principal = await authenticateBearer(app.services, `Bearer ${secret}`, null);
    expect(principal).toMatchObject({ user: { id: person.id }, token: { scopes: ["files:read", "files:write"] } });

    const listed = await (await person.client.get("/settings/tokens")).text();
    expect(listed).toContain("nightly backup");
    expect(listed).not.toContain(secret!.slice(-43));

    const revoked = await person.client.postForm("/settings/tokens", { intent: "revoke", token: principal.token.id });
    expect(revoked.status).toBe(302);
    await expect(authenticateBearer(app.services, `Bearer ${secret}`, null)).rejects.toMatchObject({ status: 401 });
  });

  it("refuses a token without scopes or with a made-up expiry, creating nothing", async () => {
    const before = await app.services.prisma.apiToken.count();
    const noScope = await person.client.postForm("/settings/tokens", { intent: "create", name: "x", expiry: "30" });
    expect(noScope.status).toBe(400);
    const badExpiry = await person.client.postForm("/settings/tokens", {
      intent: "create",
      name: "x",
      expiry: "9999",
      scopes: "files:read",
    });
    expect(badExpiry.status).toBe(400);
    const adminScope = await person.client.postForm("/settings/tokens", { intent: "create", name: "x", expiry: "30", scopes: "admin" });
    expect(adminScope.status).toBe(400);
    expect(await app.services.prisma.apiToken.count()).toBe(before);
  });

  it("obeys the administrator's 'tokens must expire' setting, saved in admin settings", async () => {
    const saved = await admin.client.postForm("/admin/settings", {
      maxFileSize: "20MiB",
      trashRetentionDays: "30",
      auditRetentionDays: "365",
      versionsKept: "10",
      deletedAccountRetentionDays: "30",
      sessionIdleDays: "14",
      sessionAbsoluteDays: "30",
      tokensMustExpire: "on",
      tokenMaxDays: "30",
    });
    expect(saved.status).toBe(200);
    const page = await (await person.client.get("/settings/tokens")).text();
    expect(page).toMatch(/must expire within (<!-- -->)?30/);
    expect(page).not.toContain('value="never"');
    const never = await person.client.postForm("/settings/tokens", { intent: "create", name: "x", expiry: "never", scopes: "files:read" });
    expect(never.status).toBe(400);
    const tooLong = await person.client.postForm("/settings/tokens", { intent: "create", name: "x", expiry: "90", scopes: "files:read" });
    expect(tooLong.status).toBe(400);
    const fine = await person.client.postForm("/settings/tokens", { intent: "create", name: "x", expiry: "30", scopes: "files:read" });
    expect(fine.status).toBe(200);
  });

  it("lets administrators list everyone's tokens, filter by user, and revoke any", async () => {
    const { secret, token } = await createToken(
      app.services,
      { id: person.id, role: "USER" },
      { name: "grace's sync", scopes: ["shares"], expiresAt: new Date(Date.now() + 86_400_000) },
      actor,
    );
    const listed = await (await admin.client.get("/admin/tokens?user=GRACE-page")).text();
    expect(listed).toContain("grace's sync".replace("'", "&#x27;"));
    const none = await (await admin.client.get("/admin/tokens?user=nobody-such")).text();
    expect(none).toContain("No tokens of matching users.");
    expect((await person.client.get("/admin/tokens")).status).toBe(403);
    expect((await person.client.postForm("/admin/tokens", { intent: "revoke", token: token.id })).status).toBe(403);
    await expect(authenticateBearer(app.services, `Bearer ${secret}`, null)).resolves.toBeTruthy();
    const revoked = await admin.client.postForm("/admin/tokens", { intent: "revoke", token: token.id, filter: "grace" });
    expect(revoked.status).toBe(302);
    await expect(authenticateBearer(app.services, `Bearer ${secret}`, null)).rejects.toMatchObject({ status: 401 });
  });
});

describe("the API's rate limit per token", () => {
  let app: TestApp;
  let userId: string;

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" }, { TRUST_PROXY: "true", RATE_LIMIT_API: "3/1m" });
    userId = (await registerPerson(app, "Root", "root-limit@example.com")).id;
  });

  afterAll(async () => {
    await app?.close();
  });

  it("counts a token's requests from every address together, and other tokens apart", async () => {
    const make = async () =>
      (await createToken(app.services, { id: userId, role: "ADMIN" }, { name: "t", scopes: ["files:write"], expiresAt: null }, actor))
        .secret;
    const busy = await make();
    const other = await make();
    const statuses: number[] = [];
    for (let index = 0; index < 4; index++) {
      const answer = await tusCreate(
        app,
        { authorization: `Bearer ${busy}`, "x-forwarded-for": `10.9.0.${index + 1}` },
        `limit-${index}.txt`,
        1,
      );
      statuses.push(answer.status);
    }
    expect(statuses.slice(0, 3)).toEqual([201, 201, 201]);
    expect(statuses[3]).toBe(429);
    const fresh = await tusCreate(app, { authorization: `Bearer ${other}`, "x-forwarded-for": "10.9.1.1" }, "other.txt", 1);
    expect(fresh.status).toBe(201);
  });
});
