import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { lockDurationMs, lockoutKeys } from "~/domain/accounts/lockout.server";
import { limitMfaVerification, limitPasswordResetRequest, rateLimit, TooManyRequestsError } from "~/domain/rate-limit.server";
import { MemoryCache } from "~/services/cache/memory.server";
import type { Services } from "~/services/index.server";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

const PASSWORD = "correct horse battery staple";

/** A fresh client address per test (TRUST_PROXY is on), so per-IP counters start at zero. */
function newIp(): string {
  const b = randomBytes(3);
  return `10.${b[0]}.${b[1]}.${b[2]}`;
}

async function postFrom(client: TestClient, path: string, fields: Record<string, string>, ip: string) {
  // The CSRF token comes from a page fetched from an address of its own, so it counts against no test's limit.
  await client.getCsrfToken({ "x-forwarded-for": newIp() });
  return client.request(path, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": ip },
    body: new URLSearchParams(fields).toString(),
  });
}

const uniqueEmail = (label: string) => `${label}-${randomBytes(4).toString("hex")}@example.com`;

describe("lockout backoff", () => {
  it.each([
    [4, 0],
    [5, 60_000],
    [6, 120_000],
    [7, 240_000],
    [10, 1_920_000],
    [11, 3_600_000],
    [40, 3_600_000],
  ])("after %i failures the lock lasts %i ms", (failures, ms) => {
    expect(lockDurationMs(failures, 5)).toBe(ms);
  });
});

describe("rate limits when the cache is down", () => {
  it("let the request through and log a warning instead of failing", async () => {
    const cache = new MemoryCache();
    await cache.close();
    const warnings: string[] = [];
    const log = { debug() {}, info() {}, error() {}, warn: (message: string) => warnings.push(message) };
    const services = { cache, log, config: { rateLimits: { auth: { limit: 1, windowMs: 60_000 } } } } as unknown as Services;
    await expect(rateLimit(services, "test:down", { limit: 1, windowMs: 1000 })).resolves.toMatchObject({ remaining: 1 });
    await expect(limitPasswordResetRequest(services, "10.0.0.1")).resolves.toBeTruthy();
    expect(warnings).toEqual(["rate limit skipped: the cache is unavailable", "rate limit skipped: the cache is unavailable"]);
  });
});

describe.each(["memory", "redis"] as const)("brute-force protection over HTTP (%s cache)", (cacheDriver) => {
  let app: TestApp;
  let admin: TestClient;
  let victimEmail: string;
  let victimId: string;

  beforeAll(async () => {
    app = await startTestApp(
      { storage: "local", cache: cacheDriver },
      { TRUST_PROXY: "true", RATE_LIMIT_AUTH: "3/1m", RATE_LIMIT_SHARE: "3/1m", RATE_LIMIT_API: "3/1m", RATE_LIMIT_GENERAL: "5/1m" },
    );
    admin = new TestClient(app.url);
    expect((await postFrom(admin, "/register", { name: "Ada Admin", email: uniqueEmail("ada"), password: PASSWORD }, newIp())).status).toBe(
      302,
    );
    victimEmail = uniqueEmail("victim");
    const victim = new TestClient(app.url);
    expect((await postFrom(victim, "/register", { name: "Vic Tim", email: victimEmail, password: PASSWORD }, newIp())).status).toBe(302);
    victimId = (await app.services.prisma.user.findUniqueOrThrow({ where: { email: victimEmail } })).id;
  });

  const login = (email: string, password: string, client = new TestClient(app.url)) =>
    postFrom(client, "/login", { email, password, redirectTo: "/files" }, newIp());

  it("locks an account after 5 failures for a minute, even for the right password and from other addresses", async () => {
    for (let i = 0; i < 5; i++) expect((await login(victimEmail, "wrong password!")).status).toBe(401);
    const locked = await login(victimEmail, PASSWORD);
    expect(locked.status).toBe(429);
    const retryAfter = Number(locked.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(50);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const page = await locked.text();
    expect(page).toContain("Too many failed attempts for this account. Please try again in 1 minute");
    // No session; the login page's passkey binding (no session, proves nothing) is all it sets.
    expect(locked.headers.getSetCookie().filter((cookie) => !cookie.startsWith("coffer_passkey="))).toEqual([]);

    const events = await app.services.prisma.auditEvent.findMany({
      where: { action: { in: ["auth.login", "auth.locked"] }, outcome: "failure" },
    });
    const forVictim = events.filter((e) => (e.details as { email?: string }).email === victimEmail);
    expect(
      forVictim.filter((e) => e.action === "auth.login" && (e.details as { reason: string }).reason === "bad_credentials"),
    ).toHaveLength(5);
    expect(forVictim.filter((e) => e.action === "auth.locked")).toHaveLength(1);
    expect(forVictim.filter((e) => (e.details as { reason?: string }).reason === "locked")).toHaveLength(1);
  });

  it("doubles the lock with each failure after it expires", async () => {
    // Let the first lock run out without waiting a minute: its entry expires with the lock.
    const keys = lockoutKeys(victimEmail);
    expect(await app.services.cache.get(keys.failures)).toBe("5");
    await app.services.cache.delete(keys.until);
    expect((await login(victimEmail, "wrong again!!")).status).toBe(401);
    const locked = await login(victimEmail, PASSWORD);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(110);
    expect(Number(locked.headers.get("retry-after"))).toBeLessThanOrEqual(120);
    expect(await locked.text()).toContain("try again in 2 minutes");
  });

  it("lets an admin see the lock and unlock the account; others cannot", async () => {
    const listing = await admin.get("/admin/users", { "x-forwarded-for": newIp() });
    expect(listing.status).toBe(200);
    expect(await listing.text()).toContain("Locked until");
    const victim = new TestClient(app.url);
    const other = new TestClient(app.url);
    expect((await postFrom(other, "/register", { name: "Otto", email: uniqueEmail("otto"), password: PASSWORD }, newIp())).status).toBe(
      302,
    );
    expect((await postFrom(other, "/admin/users", { intent: "unlock", userId: victimId }, newIp())).status).toBe(403);
    expect((await login(victimEmail, PASSWORD, victim)).status).toBe(429);

    const unlocked = await postFrom(admin, "/admin/users", { intent: "unlock", userId: victimId }, newIp());
    expect(unlocked.status).toBe(200);
    expect(await unlocked.text()).toContain("Vic Tim can log in again.");
    const ok = await login(victimEmail, PASSWORD, victim);
    expect(ok.status).toBe(302);
    expect(ok.headers.get("location")).toBe("/files");
    const audit = await app.services.prisma.auditEvent.findMany({ where: { action: "admin.user_unlocked", targetId: victimId } });
    expect(audit).toHaveLength(1);
    expect(audit[0].details).toMatchObject({ wasLocked: true, failures: 6 });
    expect(await app.services.prisma.auditEvent.count({ where: { action: "auth.login", outcome: "success", actorId: victimId } })).toBe(1);
  });

  it("forgets failures after a successful login", async () => {
    for (let i = 0; i < 4; i++) expect((await login(victimEmail, "wrong password!")).status).toBe(401);
    expect((await login(victimEmail, PASSWORD)).status).toBe(302);
    for (let i = 0; i < 4; i++) expect((await login(victimEmail, "wrong password!")).status).toBe(401);
    expect((await login(victimEmail, PASSWORD)).status).toBe(302);
  });

  it("locks unknown emails the same way, so the answer does not reveal which accounts exist", async () => {
    const ghost = uniqueEmail("nobody");
    const bodies: string[] = [];
    for (const email of [ghost, victimEmail]) {
      for (const key of Object.values(lockoutKeys(email))) await app.services.cache.delete(key);
      for (let i = 0; i < 5; i++) {
        const failed = await login(email, "wrong password!");
        expect(failed.status).toBe(401);
        expect(await failed.text()).toContain("That email and password do not match an account.");
      }
      const locked = await login(email, "wrong password!");
      expect(locked.status).toBe(429);
      bodies.push((await locked.text()).match(/Too many failed attempts[^<]*/)![0]);
    }
    expect(bodies[0]).toBe(bodies[1]);
    for (const key of Object.values(lockoutKeys(victimEmail))) await app.services.cache.delete(key);
  });

  it("counts every one of many parallel guesses", async () => {
    const email = uniqueEmail("parallel");
    const responses = await Promise.all(Array.from({ length: 12 }, () => login(email, "parallel guess!!")));
    const checked = responses.filter((r) => r.status === 401).length;
    expect(checked + responses.filter((r) => r.status === 429).length).toBe(12);
    expect(Number(await app.services.cache.get(lockoutKeys(email).failures))).toBe(checked);
    expect((await login(email, "another guess!!")).status).toBe(429);
  });

  it("limits login attempts per IP: 429 with Retry-After, other addresses unaffected", async () => {
    const ip = newIp();
    const client = new TestClient(app.url);
    for (let i = 0; i < 3; i++)
      expect((await postFrom(client, "/login", { email: uniqueEmail("x"), password: "nope nope nope" }, ip)).status).toBe(401);
    const limited = await postFrom(client, "/login", { email: victimEmail, password: PASSWORD }, ip);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await limited.text()).toMatch(/Too many login attempts from your network\. Please try again in (1 minute|\d+ seconds)\./);
    expect((await postFrom(client, "/login", { email: victimEmail, password: PASSWORD }, newIp())).status).toBe(302);
  });

  it("limits registrations per IP and records each account created", async () => {
    const ip = newIp();
    const emails = [uniqueEmail("r1"), uniqueEmail("r2"), uniqueEmail("r3"), uniqueEmail("r4")];
    for (const email of emails.slice(0, 3)) {
      expect((await postFrom(new TestClient(app.url), "/register", { name: "Reg", email, password: PASSWORD }, ip)).status).toBe(302);
    }
    const limited = await postFrom(new TestClient(app.url), "/register", { name: "Reg", email: emails[3], password: PASSWORD }, ip);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await limited.text()).toContain("Too many sign-ups from your network");
    expect(await app.services.prisma.user.count({ where: { email: emails[3] } })).toBe(0);
    const registered = await app.services.prisma.auditEvent.findMany({ where: { action: "user.registered", actorLabel: { in: emails } } });
    expect(registered.map((e) => e.actorLabel).sort()).toEqual(emails.slice(0, 3).sort());
  });

  it("limits password-reset requests and MFA verification per IP (functions for the routes)", async () => {
    const ip = newIp();
    for (const limit of [limitPasswordResetRequest, limitMfaVerification]) {
      for (let i = 0; i < 3; i++) await limit(app.services, ip);
      const error = await limit(app.services, ip).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TooManyRequestsError);
      expect((error as TooManyRequestsError).retryAfter).toBeGreaterThan(0);
      await expect(limit(app.services, newIp())).resolves.toBeTruthy();
    }
  });

  it("limits public share pages per IP", async () => {
    const ip = newIp();
    const get = () => new TestClient(app.url).get("/s/no-such-token", { "x-forwarded-for": ip });
    for (let i = 0; i < 3; i++) expect((await get()).status).toBe(404);
    const limited = await get();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("limits the upload API per IP", async () => {
    const ip = newIp();
    const post = () =>
      new TestClient(app.url).request("/api/uploads", { method: "POST", headers: { "x-forwarded-for": ip, "tus-resumable": "1.0.0" } });
    for (let i = 0; i < 3; i++) expect((await post()).status).not.toBe(429);
    const limited = await post();
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await limited.text()).toMatch(/Please try again in \d+ seconds|1 minute/);
  });

  it("limits other pages per IP with a page that says when to try again", async () => {
    const ip = newIp();
    const get = () => new TestClient(app.url).get("/login", { "x-forwarded-for": ip, accept: "text/html" });
    for (let i = 0; i < 5; i++) expect((await get()).status).toBe(200);
    const limited = await get();
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    const page = await limited.text();
    expect(page).toContain("<h1>Too many requests</h1>");
    expect(page).toMatch(/Please try again in (\d+ seconds|1 minute)/);
    // Health checks are never limited.
    expect((await new TestClient(app.url).get("/healthz", { "x-forwarded-for": ip })).status).toBe(200);
  });
});
