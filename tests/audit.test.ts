import { beforeAll, describe, expect, it } from "vitest";
import { pseudonymiseAuditActor, recordAudit, type AuditActor } from "~/domain/audit/audit.server";
import { createTestDatabase, type TestDatabase } from "./support/database";

describe("audit log storage", () => {
  let db: TestDatabase;
  const actor: AuditActor = { actorId: "user-1", actorLabel: "ada@example.com", ip: "203.0.113.9", userAgent: "Firefox" };

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  it("records who did what, from where, to which target", async () => {
    await recordAudit(db.prisma, actor, {
      action: "auth.login",
      outcome: "failure",
      targetType: "user",
      targetId: "user-1",
      details: { reason: "bad-password" },
    });
    const [row] = await db.prisma.auditEvent.findMany({ where: { actorId: "user-1" } });
    expect(row).toMatchObject({
      action: "auth.login",
      outcome: "failure",
      actorLabel: "ada@example.com",
      ip: "203.0.113.9",
      userAgent: "Firefox",
      targetType: "user",
      targetId: "user-1",
      details: { reason: "bad-password" },
    });
  });

  it("refuses to delete events or rewrite what happened", async () => {
    await recordAudit(db.prisma, actor, { action: "share.created", targetType: "share", targetId: "share-1" });
    await expect(db.prisma.auditEvent.deleteMany({ where: { actorId: "user-1" } })).rejects.toThrow(/append-only/);
    await expect(db.prisma.auditEvent.updateMany({ where: { actorId: "user-1" }, data: { action: "auth.logout" } })).rejects.toThrow(
      /append-only/,
    );
    await expect(db.prisma.auditEvent.updateMany({ where: { actorId: "user-1" }, data: { targetId: "other" } })).rejects.toThrow(
      /append-only/,
    );
    expect(await db.prisma.auditEvent.count({ where: { actorId: "user-1" } })).toBe(2);
  });

  it("pseudonymises an actor's personal data and keeps the events", async () => {
    await recordAudit(db.prisma, { ...actor, actorId: "user-2", actorLabel: "bob@example.com" }, { action: "auth.login" });
    expect(await pseudonymiseAuditActor(db.prisma, "user-1", "deleted-user-7f3a")).toBe(2);
    const rows = await db.prisma.auditEvent.findMany({ where: { actorId: "user-1" } });
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatchObject({ actorLabel: "deleted-user-7f3a", ip: null, userAgent: null, details: {} });
    const other = await db.prisma.auditEvent.findFirstOrThrow({ where: { actorId: "user-2" } });
    expect(other.actorLabel).toBe("bob@example.com");
  });
});
