// Account lockout (app/domain/accounts/lockout.server.ts) in process, against a real database:
// the lock a failure starts, what an admin's unlock records, and what each function does when
// the cache is down (a closed cache, as in lockout.test.ts): logins go on, an unlock fails closed.
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { assertNotLocked, clearFailedLogins, lockStatus, recordFailedLogin, unlockAccount } from "~/domain/accounts/lockout.server";
import type { AuditActor } from "~/domain/audit/audit.server";
import { NotFoundError, ServiceUnavailableError } from "~/domain/errors";
import { TooManyRequestsError } from "~/domain/rate-limit.server";
import { MemoryCache } from "~/services/cache/memory.server";
import type { Services } from "~/services/index.server";
import { createTestDatabase, type TestDatabase } from "./support/database";

// lockDurationMs: the lock starts with the FREE_FAILURES-th failure.
const FREE_FAILURES = 3;
const actor: AuditActor = { actorId: null, actorLabel: "admin@example.com", ip: "10.0.0.9", userAgent: "vitest" };

describe("account lockout in process", () => {
  let db: TestDatabase;
  let warnings: string[];

  function servicesWith(cache: MemoryCache): Services {
    const log = { debug() {}, info() {}, error() {}, warn: (message: string) => warnings.push(message) };
    return { cache, log, prisma: db.prisma, config: { lockoutFreeFailures: FREE_FAILURES } } as unknown as Services;
  }

  async function downCache(): Promise<MemoryCache> {
    const cache = new MemoryCache();
    await cache.close();
    return cache;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  beforeEach(() => {
    warnings = [];
  });

  it("locks at the third failure, says how long, and an admin's unlock lifts it and is audited", async () => {
    const services = servicesWith(new MemoryCache());
    const user = await db.prisma.user.create({ data: { email: "locked@example.com", name: "Lou Locked", passwordHash: "x" } });

    expect(await recordFailedLogin(services, user.email)).toBeNull();
    expect(await recordFailedLogin(services, user.email)).toBeNull();
    await expect(assertNotLocked(services, user.email)).resolves.toBe(2);
    expect(await recordFailedLogin(services, user.email)).toEqual({ lockedSeconds: 60, failures: 3 });

    const refused = await assertNotLocked(services, " LOCKED@example.com").catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TooManyRequestsError);
    expect((refused as TooManyRequestsError).retryAfter).toBeGreaterThan(55);
    expect((refused as TooManyRequestsError).retryAfter).toBeLessThanOrEqual(60);
    const status = await lockStatus(services, user.email);
    expect(status.failures).toBe(3);
    expect(status.lockedUntil!.getTime()).toBeGreaterThan(Date.now());

    // WebDAV's lock of the same email is its own: neither counts toward the other.
    await expect(assertNotLocked(services, user.email, "webdav")).resolves.toBe(0);
    for (let n = 0; n < 4; n++) await recordFailedLogin(services, user.email, "webdav");
    await expect(assertNotLocked(services, user.email, "webdav")).rejects.toBeInstanceOf(TooManyRequestsError);
    expect((await lockStatus(services, user.email)).failures).toBe(4);

    // The unlock lifts both.
    expect(await unlockAccount(services, actor, user.id)).toEqual({ name: "Lou Locked" });
    await expect(assertNotLocked(services, user.email)).resolves.toBe(0);
    await expect(assertNotLocked(services, user.email, "webdav")).resolves.toBe(0);
    expect(await lockStatus(services, user.email)).toEqual({ failures: 0, lockedUntil: null });
    const audit = await db.prisma.auditEvent.findFirstOrThrow({ where: { action: "admin.user_unlocked", targetId: user.id } });
    expect(audit.details).toEqual({ failures: 4, wasLocked: true });
  });

  it("refuses to unlock an account that does not exist, or no account at all", async () => {
    const services = servicesWith(new MemoryCache());
    await expect(unlockAccount(services, actor, "")).rejects.toBeInstanceOf(NotFoundError);
    await expect(unlockAccount(services, actor, "no-such-user")).rejects.toBeInstanceOf(NotFoundError);
    expect(await db.prisma.auditEvent.count({ where: { action: "admin.user_unlocked", targetId: { in: ["", "no-such-user"] } } })).toBe(0);
  });

  it("lets logins through with the cache down, logging each skipped step, and reports no lock", async () => {
    const services = servicesWith(await downCache());

    await expect(assertNotLocked(services, "anyone@example.com")).resolves.toBe(0);
    expect(await recordFailedLogin(services, "anyone@example.com")).toBeNull();
    await expect(clearFailedLogins(services, "anyone@example.com")).resolves.toBeUndefined();
    expect(await lockStatus(services, "anyone@example.com")).toEqual({ failures: 0, lockedUntil: null });
    expect(warnings).toEqual([
      "account lockout skipped: the cache is unavailable",
      "failed login not counted: the cache is unavailable",
      "failed logins not cleared: the cache is unavailable",
    ]);
  });

  it("fails an unlock closed with the cache down: 503, nothing audited", async () => {
    const services = servicesWith(await downCache());
    const user = await db.prisma.user.create({ data: { email: "stuck@example.com", name: "Stu Stuck", passwordHash: "x" } });

    await expect(unlockAccount(services, actor, user.id)).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect(await db.prisma.auditEvent.count({ where: { action: "admin.user_unlocked", targetId: user.id } })).toBe(0);
  });
});
