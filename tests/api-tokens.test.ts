import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "~/config.server";
import { updateSettings } from "~/domain/admin/settings.server";
import type { AuditActor } from "~/domain/audit/audit.server";
import { hasScope } from "~/domain/tokens/scopes";
import {
  authenticateBearer,
  createToken,
  listAllTokens,
  listTokens,
  revokeToken,
  TokenAuthenticationError,
} from "~/domain/tokens/tokens.server";
import type { Services } from "~/services/index.server";
import { createTestDatabase, type TestDatabase } from "./support/database";

const DAY_MS = 24 * 3600 * 1000;
const actor: AuditActor = { actorId: null, actorLabel: "test", ip: "203.0.113.9", userAgent: "vitest" };

describe("personal access tokens", () => {
  let db: TestDatabase;
  let services: Services;
  let ada: { id: string; role: "USER" | "ADMIN" };
  let bob: { id: string; role: "USER" | "ADMIN" };
  let admin: { id: string; role: "USER" | "ADMIN" };

  beforeAll(async () => {
    db = await createTestDatabase();
    const config = loadConfig({
      DATABASE_URL: db.url,
      SESSION_SECRET: "test-secret-that-is-at-least-32-characters-long",
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "coffer-tokens-")),
    });
    services = { prisma: db.prisma, config } as unknown as Services;
    const make = (email: string, role: "USER" | "ADMIN") =>
      db.prisma.user.create({ data: { email, name: email, passwordHash: "x", role }, select: { id: true, role: true } });
    ada = await make("ada@example.com", "USER");
    bob = await make("bob@example.com", "USER");
    admin = await make("root@example.com", "ADMIN");
  });

  const expectRefused = async (header: string | null, reason: string) => {
    const error = await authenticateBearer(services, header, "198.51.100.1").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TokenAuthenticationError);
    expect(error).toMatchObject({ status: 401, reason });
    return error as TokenAuthenticationError;
  };

  it("shows the secret once, stores only its hash, and authenticates with it", async () => {
    const { secret, token } = await createToken(services, ada, { name: "backup script", scopes: ["files:read"], expiresAt: null }, actor);
    expect(secret).toMatch(/^coffer_pat_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/);
    const row = await db.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } });
    expect(JSON.stringify(row)).not.toContain(secret.slice(-43));
    const principal = await authenticateBearer(services, `Bearer ${secret}`, "198.51.100.1");
    expect(principal.user).toMatchObject({ id: ada.id, email: "ada@example.com", role: "USER" });
    expect(principal.token).toEqual({ id: token.id, scopes: ["files:read"] });
    const used = await db.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } });
    expect(used.lastUsedIp).toBe("198.51.100.1");
    expect(used.lastUsedAt).not.toBeNull();
    const audit = await db.prisma.auditEvent.findFirstOrThrow({ where: { action: "auth.token_created", targetId: token.id } });
    expect(JSON.stringify(audit)).not.toContain(secret);
  });

  it("refreshes last use at most once a minute", async () => {
    const { secret, token } = await createToken(services, ada, { name: "busy", scopes: ["files:read"], expiresAt: null }, actor);
    await authenticateBearer(services, `Bearer ${secret}`, "198.51.100.1");
    const first = await db.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } });
    await authenticateBearer(services, `Bearer ${secret}`, "198.51.100.2");
    const second = await db.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } });
    expect(second.lastUsedAt).toEqual(first.lastUsedAt);
    await db.prisma.apiToken.update({ where: { id: token.id }, data: { lastUsedAt: new Date(Date.now() - 61_000) } });
    await authenticateBearer(services, `Bearer ${secret}`, "198.51.100.2");
    expect((await db.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } })).lastUsedIp).toBe("198.51.100.2");
  });

  it("refuses malformed, unknown, wrong-secret, expired, revoked and deactivated alike", async () => {
    const { secret, token } = await createToken(services, bob, { name: "ci", scopes: ["files:write"], expiresAt: null }, actor);
    const messages = new Set<string>();
    for (const header of [null, "", "Basic abc", "Bearer", "Bearer coffer_pat_nope", `Bearer ${secret}x`, `Token ${secret}`]) {
      messages.add((await expectRefused(header, "malformed")).message);
    }
    messages.add((await expectRefused(`Bearer ${secret.replace(token.id, "0".repeat(24))}`, "unknown")).message);
    const wrongSecret = `${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}`;
    messages.add((await expectRefused(`Bearer ${wrongSecret}`, "unknown")).message);

    await db.prisma.apiToken.update({ where: { id: token.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    messages.add((await expectRefused(`Bearer ${secret}`, "expired")).message);
    await db.prisma.apiToken.update({ where: { id: token.id }, data: { expiresAt: null } });

    await db.prisma.user.update({ where: { id: bob.id }, data: { deactivatedAt: new Date() } });
    messages.add((await expectRefused(`Bearer ${secret}`, "deactivated")).message);
    await db.prisma.user.update({ where: { id: bob.id }, data: { deactivatedAt: null } });
    await expect(authenticateBearer(services, `bearer  ${secret}`, null)).resolves.toMatchObject({ user: { id: bob.id } });

    await revokeToken(services, bob, token.id, actor);
    messages.add((await expectRefused(`Bearer ${secret}`, "revoked")).message);
    expect(messages.size).toBe(1);
  });

  it("validates names, scopes and expiry", async () => {
    const attempt = (input: unknown, user = ada) => createToken(services, user, input, actor).catch((error: unknown) => error);
    expect(await attempt({ name: "  ", scopes: ["files:read"], expiresAt: null })).toMatchObject({
      status: 400,
      fieldErrors: { name: expect.any(String) },
    });
    expect(await attempt({ name: "a\u202eb", scopes: ["files:read"], expiresAt: null })).toMatchObject({ status: 400 });
    expect(await attempt({ name: "x", scopes: [], expiresAt: null })).toMatchObject({
      status: 400,
      fieldErrors: { scopes: expect.any(String) },
    });
    expect(await attempt({ name: "x", scopes: ["root"], expiresAt: null })).toMatchObject({ status: 400 });
    expect(await attempt({ name: "x", scopes: ["files:read"], expiresAt: null, extra: 1 })).toMatchObject({ status: 400 });
    expect(await attempt({ name: "x", scopes: ["files:read"], expiresAt: new Date(Date.now() - 1) })).toMatchObject({
      status: 400,
      fieldErrors: { expiresAt: expect.any(String) },
    });
    expect(await attempt({ name: "x", scopes: ["admin"], expiresAt: null })).toMatchObject({
      status: 400,
      fieldErrors: { scopes: expect.any(String) },
    });
    const made = await attempt({ name: "x", scopes: ["admin", "files:read"], expiresAt: null }, admin);
    expect(made).toMatchObject({ token: { scopes: ["files:read", "admin"] } });
  });

  it("enforces the administrator's 'tokens must expire' setting", async () => {
    await updateSettings(services, { tokensMustExpire: true, tokenMaxDays: 30 });
    try {
      const attempt = (expiresAt: Date | null) =>
        createToken(services, ada, { name: "limited", scopes: ["files:read"], expiresAt }, actor).catch((error: unknown) => error);
      expect(await attempt(null)).toMatchObject({ status: 400, fieldErrors: { expiresAt: expect.any(String) } });
      expect(await attempt(new Date(Date.now() + 90 * DAY_MS))).toMatchObject({ status: 400, fieldErrors: { expiresAt: /30 days/ } });
      expect(await attempt(new Date(Date.now() + 30 * DAY_MS))).toMatchObject({ token: { name: "limited" } });
    } finally {
      await updateSettings(services, { tokensMustExpire: false });
    }
  });

  it("lists and revokes one's own tokens; administrators see and revoke anyone's", async () => {
    const mine = await createToken(services, ada, { name: "laptop sync", scopes: ["files:write"], expiresAt: null }, actor);
    const bobs = await createToken(services, bob, { name: "bob's", scopes: ["shares"], expiresAt: null }, actor);
    expect((await listTokens(services, ada)).map((token) => token.id)).toContain(mine.token.id);
    expect((await listTokens(services, ada)).map((token) => token.id)).not.toContain(bobs.token.id);

    await expect(revokeToken(services, ada, bobs.token.id, actor)).rejects.toMatchObject({ status: 404 });
    await expect(revokeToken(services, ada, "not an id", actor)).rejects.toMatchObject({ status: 404 });
    await expect(authenticateBearer(services, `Bearer ${bobs.secret}`, null)).resolves.toBeTruthy();

    await expect(listAllTokens(services, ada)).rejects.toMatchObject({ status: 403 });
    const all = await listAllTokens(services, admin, "BOB@");
    expect(all.map((token) => token.user.email)).toEqual(expect.arrayContaining(["bob@example.com"]));
    expect(all.every((token) => token.user.email === "bob@example.com")).toBe(true);
    await revokeToken(services, admin, bobs.token.id, actor);
    await expect(authenticateBearer(services, `Bearer ${bobs.secret}`, null)).rejects.toBeInstanceOf(TokenAuthenticationError);
    await expect(revokeToken(services, admin, bobs.token.id, actor)).rejects.toMatchObject({ status: 404 });
    const audit = await db.prisma.auditEvent.findFirstOrThrow({ where: { action: "auth.token_revoked", targetId: bobs.token.id } });
    expect(audit.details).toMatchObject({ ownerId: bob.id });
  });
});

describe("token scopes", () => {
  const user = { role: "USER" };
  const adminUser = { role: "ADMIN" };
  const token = (...scopes: string[]) => ({ id: "t", scopes });

  it("files:write implies files:read, and nothing else implies anything", () => {
    expect(hasScope({ user, token: token("files:write") }, "files:read")).toBe(true);
    expect(hasScope({ user, token: token("files:read") }, "files:write")).toBe(false);
    expect(hasScope({ user, token: token("shares") }, "files:read")).toBe(false);
    expect(hasScope({ user: adminUser, token: token("admin") }, "files:read")).toBe(false);
    expect(hasScope({ user: adminUser, token: token("admin") }, "shares")).toBe(false);
  });

  it("admin needs an administrator, with or without a token", () => {
    expect(hasScope({ user, token: token("admin") }, "admin")).toBe(false);
    expect(hasScope({ user: adminUser, token: token("admin") }, "admin")).toBe(true);
    expect(hasScope({ user: adminUser, token: token("files:write") }, "admin")).toBe(false);
    expect(hasScope({ user }, "admin")).toBe(false);
    expect(hasScope({ user: adminUser }, "admin")).toBe(true);
  });

  it("a browser session holds every scope", () => {
    for (const scope of ["files:read", "files:write", "shares"] as const) expect(hasScope({ user, token: null }, scope)).toBe(true);
  });
});
