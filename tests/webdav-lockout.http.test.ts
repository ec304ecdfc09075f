import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockoutKeys } from "~/domain/accounts/lockout.server";
import type { AuditActor } from "~/domain/audit/audit.server";
import { newTokenParts, parseToken } from "~/domain/tokens/token-format";
import { createToken, revokeToken } from "~/domain/tokens/tokens.server";
import { startTestApp, type TestApp } from "./support/app";
import { PASSWORD, registerPerson, type Person } from "./support/people";

/**
 * Failed WebDAV sign-ins lock the credential they name, as failed logins lock an account: the
 * account of a Basic user name, or a token. The address limit is lifted here (startTestApp), so
 * only the per-credential lockout answers. LOCKOUT_FREE_FAILURES is the default, 5.
 */

const actor: AuditActor = { actorId: null, actorLabel: "test", ip: null, userAgent: null };
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("WebDAV lockout per account and per token", () => {
  let app: TestApp;
  let ada: Person;
  let bob: Person;
  let adaToken: string;
  let bobToken: string;

  const tokenFor = async (person: Person) =>
    (
      await createToken(
        app.services,
        { id: person.id, role: "USER" },
        { name: `t-${Math.random()}`, scopes: ["files:write"], expiresAt: null },
        actor,
      )
    ).secret;
  const propfind = (auth: string) => fetch(`${app.url}/dav/`, { method: "PROPFIND", headers: { depth: "0", authorization: auth } });
  const status = async (auth: string) => {
    const response = await propfind(auth);
    await response.body?.cancel();
    return response.status;
  };
  /** Lets a lock run out, as the clock would after its Retry-After. */
  const expireLock = (subject: string) =>
    app.services.cache.orLocal.set(lockoutKeys(subject, "webdav").until, String(Date.now() - 1), 1000);

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    ada = await registerPerson(app, "Ada", "ada-lockout@example.com");
    bob = await registerPerson(app, "Bob", "bob-lockout@example.com");
    adaToken = await tokenFor(ada);
    bobToken = await tokenFor(bob);
  });

  afterAll(async () => {
    await app?.close();
  });

  it("locks an account after repeated bad app passwords, refuses even the right one until the lock expires, and leaves others alone", async () => {
    // Wrong in every way a client can be: the account password, a made-up token, another account's token.
    const wrong = [PASSWORD, newTokenParts().token, bobToken, newTokenParts().token, "not a token"];
    for (const password of wrong) expect(await status(basic(ada.email, password))).toBe(401);

    const locked = await propfind(basic(ada.email, adaToken));
    expect(locked.status).toBe(429);
    const retryAfter = Number(locked.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(50);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await locked.text()).toMatch(/Too many failed attempts/);
    // The user name is matched without regard to case; a Bearer request is refused once its account is known.
    expect(await status(basic(ada.email.toUpperCase(), adaToken))).toBe(429);
    expect(await status(`Bearer ${adaToken}`)).toBe(429);

    // Another account is unaffected, its own failures included.
    expect(await status(basic(bob.email, bobToken))).toBe(207);
    expect(await status(basic(bob.email, "wrong"))).toBe(401);
    expect(await status(basic(bob.email, bobToken))).toBe(207);

    // The lock was audited, naming the account and never a secret.
    const audits = await app.services.prisma.auditEvent.findMany({ where: { action: "auth.locked" } });
    expect(audits).toHaveLength(1);
    expect(audits[0]!.details).toMatchObject({ via: "webdav", credential: ada.email, failures: 5, lockedSeconds: 60 });
    const recorded = JSON.stringify(audits);
    for (const secret of [...wrong, adaToken]) expect(recorded).not.toContain(secret);

    // Once the lock has run out the right app password works and the failures are forgotten.
    await expireLock(ada.email);
    expect(await status(basic(ada.email, adaToken))).toBe(207);
    expect(await status(basic(ada.email, "wrong"))).toBe(401);
    expect(await status(basic(ada.email, adaToken))).toBe(207);
  });

  it("locks a revoked app password that a client keeps sending, and not its owner's other clients", async () => {
    const stale = await tokenFor(ada);
    await revokeToken(app.services, { id: ada.id, role: "USER" }, parseToken(stale)!.id, actor);
    for (let attempt = 0; attempt < 5; attempt++) expect(await status(basic(ada.email, stale))).toBe(401);
    const refused = await propfind(basic(ada.email, stale));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    // The account is not locked: its other app password works, by Basic and by Bearer.
    expect(await status(basic(ada.email, adaToken))).toBe(207);
    expect(await status(`Bearer ${adaToken}`)).toBe(207);
  });

  it("locks a token guessed with Bearer", async () => {
    const real = parseToken(await tokenFor(bob))!;
    const guess = `coffer_pat_${real.id}_${newTokenParts().secret}`;
    for (let attempt = 0; attempt < 5; attempt++) expect(await status(`Bearer ${guess}`)).toBe(401);
    expect(await status(`Bearer coffer_pat_${real.id}_${real.secret}`)).toBe(429);
    expect(await status(basic(bob.email, bobToken))).toBe(207);
  });
});
