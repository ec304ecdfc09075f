import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { createUpload, patchUpload, tusHeaders } from "../support/tus";
import type { ApiEnv, ContractSuite } from "./env";
import { bearerApiClient } from "../support/api-client";

/**
 * Personal access tokens through the API: your own with the browser session (a token manages no
 * tokens), everyone's for administrators; a token revoked here fails at once on /api/v1 and on tus.
 */

const TOKEN = /^coffer_pat_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/;
const FORBIDDEN = "/api/docs#problem-forbidden";
/** The secret of a token: its last 43 characters (it may itself contain "_"). */
const secretPart = (token: string) => token.slice(-43);

/** A script: the token and no cookie, every answer validated against the document. */
const bearerClient = (env: ApiEnv, secret: string) => bearerApiClient(env.app.url, secret, env.validator);

/** A tus creation with only the token, as a script uploads: its status. */
async function tusCreateWith(env: ApiEnv, secret: string): Promise<number> {
  const response = await fetch(`${env.app.url}/api/uploads`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${secret}`,
      "Tus-Resumable": "1.0.0",
      "Upload-Length": "3",
      "Upload-Metadata": `filename ${Buffer.from(`by-token-${randomBytes(4).toString("hex")}.txt`).toString("base64")}`,
    },
  });
  await env.validator.check("POST", "/api/uploads", response);
  return response.status;
}

const name = (what: string) => `${what} ${randomBytes(3).toString("hex")}`;

export const tokensSuite: ContractSuite = (env) => {
  it("creates your token with the session, shows its secret once, lists it without, and revokes it at once", async () => {
    const { api, app, ownerUser } = env();
    const created = await api.POST("/api/v1/me/tokens", {
      body: { name: name("backup script"), scopes: ["files:write", "files:read"], expiresInDays: 30 },
    });
    expect(created.response.status).toBe(201);
    const token = created.data!;
    expect(token.secret).toMatch(TOKEN);
    expect(token.secret).toContain(token.id);
    expect(token.scopes).toEqual(["files:read", "files:write"]);
    expect(Date.parse(token.expiresAt!) - Date.now()).toBeGreaterThan(29 * 24 * 3600 * 1000);
    expect(token).toMatchObject({ expired: false, lastUsedAt: null, lastUsedIp: null });
    expect(created.response.headers.get("location")).toBe(`/api/v1/me/tokens/${token.id}`);
    expect(created.response.headers.get("etag")).toBe(token.etag);
    const createdEvent = await app.services.prisma.auditEvent.findFirst({ where: { action: "auth.token_created", targetId: token.id } });
    expect(createdEvent).toMatchObject({ actorId: ownerUser.id });

    // The token works, on the API and on tus.
    const script = bearerClient(env(), token.secret!);
    expect((await script.GET("/api/v1/me")).data!.id).toBe(ownerUser.id);
    expect(await tusCreateWith(env(), token.secret!)).toBe(201);

    const listed = await api.GET("/api/v1/me/tokens");
    const entry = listed.data!.items.find((item) => item.id === token.id)!;
    expect(entry).toMatchObject({ name: token.name, scopes: ["files:read", "files:write"], expiresAt: token.expiresAt });
    // Last use and its address are recorded; neither the secret nor its hash is ever shown.
    expect(entry.lastUsedAt).not.toBeNull();
    expect(entry.lastUsedIp).not.toBeNull();
    expect(Object.keys(entry).sort()).toEqual([
      "createdAt",
      "etag",
      "expired",
      "expiresAt",
      "id",
      "lastUsedAt",
      "lastUsedIp",
      "name",
      "scopes",
    ]);
    const row = await app.services.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } });
    expect(JSON.stringify(listed.data)).not.toContain(row.secretHash);
    expect(JSON.stringify(listed.data)).not.toContain(secretPart(token.secret!));

    const one = await api.GET("/api/v1/me/tokens/{tokenId}", { params: { path: { tokenId: token.id } } });
    expect(one.data).toEqual(entry);
    expect(one.response.headers.get("etag")).toBe(entry.etag);

    const revoked = await api.DELETE("/api/v1/me/tokens/{tokenId}", { params: { path: { tokenId: token.id } } });
    expect(revoked.response.status).toBe(204);
    const event = await app.services.prisma.auditEvent.findFirst({ where: { action: "auth.token_revoked", targetId: token.id } });
    expect(event).toMatchObject({ actorId: ownerUser.id, details: { name: token.name, ownerId: ownerUser.id } });
    // At once: the very next requests fail, on the API and on tus.
    const refused = await script.GET("/api/v1/me");
    expect(refused.response.status).toBe(401);
    expect(refused.error).toMatchObject({ type: "/api/docs#problem-unauthenticated" });
    expect(await tusCreateWith(env(), token.secret!)).toBe(401);
    expect((await api.GET("/api/v1/me/tokens/{tokenId}", { params: { path: { tokenId: token.id } } })).response.status).toBe(404);
    expect((await api.DELETE("/api/v1/me/tokens/{tokenId}", { params: { path: { tokenId: token.id } } })).response.status).toBe(404);
    expect((await api.GET("/api/v1/me/tokens")).data!.items.map((item) => item.id)).not.toContain(token.id);
  });

  it("creates once per Idempotency-Key, and never keeps the secret for the replay", async () => {
    const { api, app } = env();
    const key = `token-${randomBytes(6).toString("hex")}`;
    const body = { name: name("retried"), scopes: ["files:read" as const], expiresAt: new Date(Date.now() + 3600_000).toISOString() };
    const create = () => api.POST("/api/v1/me/tokens", { params: { header: { "idempotency-key": key } }, body });
    const first = await create();
    expect(first.response.status).toBe(201);
    expect(first.data!.secret).toMatch(TOKEN);
    const replay = await create();
    expect(replay.response.status).toBe(201);
    expect(replay.response.headers.get("idempotent-replayed")).toBe("true");
    const { secret, ...withoutSecret } = first.data!;
    expect(replay.data).toEqual({ ...withoutSecret, secret: null });
    expect(await app.services.prisma.apiToken.count({ where: { name: body.name } })).toBe(1);
    const stored = await app.services.prisma.apiIdempotencyKey.findMany({ where: { key } });
    expect(stored).toHaveLength(1);
    expect(stored[0]!.body).not.toContain(secretPart(secret!));
    await api.DELETE("/api/v1/me/tokens/{tokenId}", { params: { path: { tokenId: first.data!.id } } });
  });

  it("lets no access token manage tokens, whatever its scopes: it cannot mint a stronger one", async () => {
    const { adminApi, app, adminUser } = env();
    const all = await adminApi.POST("/api/v1/me/tokens", {
      body: { name: name("everything"), scopes: ["files:write", "shares", "admin"], expiresInDays: 1 },
    });
    expect(all.response.status).toBe(201);
    const script = bearerClient(env(), all.data!.secret!);
    const before = await app.services.prisma.apiToken.count({ where: { userId: adminUser.id } });
    const attempts = [
      await script.POST("/api/v1/me/tokens", { body: { name: name("stronger"), scopes: ["files:write", "shares", "admin"] } }),
      await script.POST("/api/v1/me/tokens", { body: { name: name("weaker"), scopes: ["files:read"], expiresInDays: 1 } }),
      await script.GET("/api/v1/me/tokens"),
      await script.GET("/api/v1/me/tokens/{tokenId}", { params: { path: { tokenId: all.data!.id } } }),
      await script.DELETE("/api/v1/me/tokens/{tokenId}", { params: { path: { tokenId: all.data!.id } } }),
    ];
    for (const attempt of attempts) {
      expect(attempt.response.status).toBe(403);
      expect(attempt.error).toMatchObject({ type: FORBIDDEN, detail: expect.stringContaining("browser session") });
    }
    expect(await app.services.prisma.apiToken.count({ where: { userId: adminUser.id } })).toBe(before);
    // The token still works: refusing it revoked nothing.
    expect((await script.GET("/api/v1/admin/tokens", { params: { query: { userId: adminUser.id } } })).response.status).toBe(200);
    await adminApi.DELETE("/api/v1/me/tokens/{tokenId}", { params: { path: { tokenId: all.data!.id } } });
  });

  it("refuses what the tokens page refuses, pointing at the field, and creates nothing", async () => {
    const { api, otherApi, adminApi, app, otherUser } = env();
    const count = () => app.services.prisma.apiToken.count();
    const before = await count();
    const refusals: Array<[unknown, string]> = [
      [{ name: "", scopes: ["files:read"] }, "/body/name"],
      [{ name: "   ", scopes: ["files:read"] }, "/body/name"],
      [{ name: "x".repeat(101), scopes: ["files:read"] }, "/body/name"],
      [{ name: "x".repeat(5000), scopes: ["files:read"] }, "/body/name"],
      [{ name: "tab\tname", scopes: ["files:read"] }, "/body/name"],
      [{ name: "nul\u0000name", scopes: ["files:read"] }, "/body/name"],
      [{ name: "no scopes", scopes: [] }, "/body/scopes"],
      [{ name: "odd scope", scopes: ["files:delete"] }, "/body/scopes/0"],
      [{ name: "past", scopes: ["files:read"], expiresAt: "2020-01-01T00:00:00Z" }, "/body/expiresAt"],
      [{ name: "zero days", scopes: ["files:read"], expiresInDays: 0 }, "/body/expiresInDays"],
      [
        { name: "both", scopes: ["files:read"], expiresAt: new Date(Date.now() + 3600_000).toISOString(), expiresInDays: 3 },
        "/body/expiresInDays",
      ],
      [{ name: "unknown field", scopes: ["files:read"], secret: "mine" }, "/body/secret"],
    ];
    for (const [body, pointer] of refusals) {
      const refused = await api.POST("/api/v1/me/tokens", { body: body as never });
      expect(refused.response.status, JSON.stringify(body)).toBe(422);
      expect(
        refused.error!.errors!.map((e) => e.pointer),
        JSON.stringify(body),
      ).toContain(pointer);
    }
    // Only administrators may hold the admin scope.
    expect(otherUser.role).toBe("USER");
    const notAdmin = await otherApi.POST("/api/v1/me/tokens", { body: { name: name("sneaky"), scopes: ["admin"] } });
    expect(notAdmin.response.status).toBe(422);
    expect(notAdmin.error!.errors!.map((e) => e.pointer)).toEqual(["/body/scopes"]);

    // The administrator's rule: tokens must expire, within 30 days.
    const original = (await adminApi.GET("/api/v1/admin/settings")).data!;
    try {
      expect((await adminApi.PATCH("/api/v1/admin/settings", { body: { tokensMustExpire: true, tokenMaxDays: 30 } })).response.status).toBe(
        200,
      );
      const forever = await otherApi.POST("/api/v1/me/tokens", { body: { name: name("forever"), scopes: ["files:read"] } });
      expect(forever.response.status).toBe(422);
      expect(forever.error!.errors!.map((e) => e.pointer)).toEqual(["/body/expiresAt"]);
      const tooLong = await otherApi.POST("/api/v1/me/tokens", { body: { name: name("long"), scopes: ["files:read"], expiresInDays: 90 } });
      expect(tooLong.error!.errors).toEqual([{ pointer: "/body/expiresInDays", detail: "Tokens can last at most 30 days here." }]);
      const farDate = new Date(Date.now() + 90 * 24 * 3600_000).toISOString();
      const tooFar = await otherApi.POST("/api/v1/me/tokens", { body: { name: name("far"), scopes: ["files:read"], expiresAt: farDate } });
      expect(tooFar.error!.errors!.map((e) => e.pointer)).toEqual(["/body/expiresAt"]);
      expect(await count()).toBe(before);
      const allowed = await otherApi.POST("/api/v1/me/tokens", {
        body: { name: name("month"), scopes: ["files:read"], expiresInDays: 30 },
      });
      expect(allowed.response.status).toBe(201);
      await otherApi.DELETE("/api/v1/me/tokens/{tokenId}", { params: { path: { tokenId: allowed.data!.id } } });
    } finally {
      await adminApi.PATCH("/api/v1/admin/settings", {
        body: { tokensMustExpire: original.tokensMustExpire, tokenMaxDays: original.tokenMaxDays },
      });
    }
  });

  it("keeps each person's tokens their own: another account's token is not found", async () => {
    const { api, otherApi, adminApi, app } = env();
    const mine = (await api.POST("/api/v1/me/tokens", { body: { name: name("mine"), scopes: ["shares"], expiresInDays: 7 } })).data!;
    for (const client of [otherApi, adminApi]) {
      expect((await client.GET("/api/v1/me/tokens/{tokenId}", { params: { path: { tokenId: mine.id } } })).response.status).toBe(404);
      // Even an administrator revokes others' tokens only through /admin/tokens.
      expect((await client.DELETE("/api/v1/me/tokens/{tokenId}", { params: { path: { tokenId: mine.id } } })).response.status).toBe(404);
      expect((await client.GET("/api/v1/me/tokens")).data!.items.map((item) => item.id)).not.toContain(mine.id);
    }
    expect((await app.services.prisma.apiToken.findUniqueOrThrow({ where: { id: mine.id } })).revokedAt).toBeNull();
    for (const bad of ["nope", "0".repeat(25), "A".repeat(24)]) {
      expect((await api.GET("/api/v1/me/tokens/{tokenId}", { params: { path: { tokenId: bad } } })).response.status).toBe(404);
    }
    await api.DELETE("/api/v1/me/tokens/{tokenId}", { params: { path: { tokenId: mine.id } } });
  });

  it("lists everyone's tokens for administrators, filtered and paged, and revokes anyone's at once", async () => {
    const { api, otherApi, adminApi, app, ownerUser, otherUser, adminUser, validator } = env();
    const mine = (await api.POST("/api/v1/me/tokens", { body: { name: name("owner's"), scopes: ["files:write"], expiresInDays: 7 } }))
      .data!;
    const others = (await otherApi.POST("/api/v1/me/tokens", { body: { name: name("other's"), scopes: ["files:read"] } })).data!;
    const byOwner = await adminApi.GET("/api/v1/admin/tokens", { params: { query: { userId: ownerUser.id } } });
    expect(byOwner.data!.items.map((item) => item.id)).toContain(mine.id);
    expect(byOwner.data!.items.every((item) => item.user.id === ownerUser.id)).toBe(true);
    const entry = byOwner.data!.items.find((item) => item.id === mine.id)!;
    expect(entry).toMatchObject({ name: mine.name, scopes: ["files:write"], user: { id: ownerUser.id, email: ownerUser.email } });
    expect(entry).not.toHaveProperty("secret");
    const byEmail = await adminApi.GET("/api/v1/admin/tokens", { params: { query: { email: otherUser.email.toUpperCase() } } });
    expect(byEmail.data!.items.map((item) => item.id)).toContain(others.id);
    expect(byEmail.data!.items.every((item) => item.user.id === otherUser.id)).toBe(true);
    expect((await adminApi.GET("/api/v1/admin/tokens", { params: { query: { email: "%" } } })).data!.items).toEqual([]);

    // Newest first, a page at a time, every token once.
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await adminApi.GET("/api/v1/admin/tokens", { params: { query: { limit: 1, ...(cursor ? { cursor } : {}) } } });
      expect(page.data!.items.length).toBeLessThanOrEqual(1);
      seen.push(...page.data!.items.map((item) => item.id));
      cursor = page.data!.nextCursor ?? undefined;
    } while (cursor && seen.length < 500);
    const live = await app.services.prisma.apiToken.findMany({
      where: { revokedAt: null },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    });
    expect(seen).toEqual(live.map((row) => row.id));
    const badCursor = await adminApi.GET("/api/v1/admin/tokens", { params: { query: { cursor: "bm9wZQ" } } });
    expect(badCursor.response.status).toBe(422);
    expect(badCursor.error!.errors![0]!.pointer).toBe("/query/cursor");
    const unknownUser = await adminApi.GET("/api/v1/admin/tokens", { params: { query: { userId: "nobody" } } });
    expect(unknownUser.error!.errors![0]!.pointer).toBe("/query/userId");

    // Only administrators, and only with the admin scope.
    expect((await otherApi.GET("/api/v1/admin/tokens")).response.status).toBe(403);
    expect((await otherApi.DELETE("/api/v1/admin/tokens/{tokenId}", { params: { path: { tokenId: mine.id } } })).response.status).toBe(403);
    const adminFiles = (await adminApi.POST("/api/v1/me/tokens", { body: { name: name("admin files"), scopes: ["files:write"] } })).data!;
    expect((await bearerClient(env(), adminFiles.secret!).GET("/api/v1/admin/tokens")).response.status).toBe(403);
    const adminScope = (await adminApi.POST("/api/v1/me/tokens", { body: { name: name("admin"), scopes: ["admin"] } })).data!;
    const adminScript = bearerClient(env(), adminScope.secret!);

    // The owner's token works until an administrator's script revokes it; then at once it does not.
    const ownerScript = bearerClient(env(), mine.secret!);
    expect((await ownerScript.GET("/api/v1/me")).response.status).toBe(200);
    const revoked = await adminScript.DELETE("/api/v1/admin/tokens/{tokenId}", { params: { path: { tokenId: mine.id } } });
    expect(revoked.response.status).toBe(204);
    const event = await app.services.prisma.auditEvent.findFirst({ where: { action: "auth.token_revoked", targetId: mine.id } });
    expect(event).toMatchObject({ actorId: adminUser.id, details: { name: mine.name, ownerId: ownerUser.id } });
    expect((await ownerScript.GET("/api/v1/me")).response.status).toBe(401);
    expect(await tusCreateWith(env(), mine.secret!)).toBe(401);
    expect((await api.GET("/api/v1/me/tokens")).data!.items.map((item) => item.id)).not.toContain(mine.id);
    const again = await adminApi.DELETE("/api/v1/admin/tokens/{tokenId}", { params: { path: { tokenId: mine.id } } });
    expect(again.response.status).toBe(404);
    const junk = await app.services.prisma.auditEvent.count({ where: { action: "auth.token_revoked", targetId: mine.id } });
    expect(junk).toBe(1);
    const anonymous = await fetch(`${app.url}/api/v1/admin/tokens`);
    await validator.check("GET", "/api/v1/admin/tokens", anonymous);
    expect(anonymous.status).toBe(401);

    for (const id of [others.id, adminFiles.id, adminScope.id]) {
      await adminApi.DELETE("/api/v1/admin/tokens/{tokenId}", { params: { path: { tokenId: id } } });
    }
  });

  it("cancels an unfinished upload (tus DELETE) for its owner only, with the session or a files:write token", async () => {
    const { app, owner, other, api, validator, storage } = env();
    const template = "/api/uploads/{uploadId}";
    const terminate = async (url: string, headers: Record<string, string>) => {
      const response = await fetch(url, { method: "DELETE", headers: { "Tus-Resumable": "1.0.0", ...headers } });
      await validator.check("DELETE", template, response);
      return response.status;
    };
    const usedBefore = (await api.GET("/api/v1/me/usage")).data!.usedBytes;
    const url = await createUpload(app, owner, { name: `cancelled-${storage}.bin`, size: 50_000 });
    const uploadId = url.split("/").pop()!;
    expect((await patchUpload(owner, url, 0, new Uint8Array(randomBytes(20_000)))).status).toBe(204);
    expect((await api.GET("/api/v1/me/usage")).data!.usedBytes).toBe(usedBefore + 50_000);

    expect(await terminate(url, {})).toBe(401);
    expect(await terminate(url, { cookie: other.cookieHeader })).toBe(404);
    const reader = (await api.POST("/api/v1/me/tokens", { body: { name: name("reader"), scopes: ["files:read"], expiresInDays: 1 } }))
      .data!;
    expect(await terminate(url, { authorization: `Bearer ${reader.secret}` })).toBe(403);
    expect(await app.services.prisma.upload.count({ where: { id: uploadId } })).toBe(1);

    expect(await terminate(url, tusHeaders(owner))).toBe(204);
    // Nothing is left: not the row, not its reserved quota, not a byte in storage.
    await expect.poll(() => app.services.prisma.upload.count({ where: { id: uploadId } })).toBe(0);
    expect((await api.GET("/api/v1/me/usage")).data!.usedBytes).toBe(usedBefore);
    const left: string[] = [];
    for await (const object of app.services.storage.list(uploadId)) left.push(object.key);
    expect(left).toEqual([]);
    const head = await fetch(url, { method: "HEAD", headers: tusHeaders(owner) });
    expect(head.status).toBe(404);
    expect(await terminate(url, tusHeaders(owner))).toBe(404);

    // A script cancels its own upload with a files:write token.
    const writer = (await api.POST("/api/v1/me/tokens", { body: { name: name("writer"), scopes: ["files:write"], expiresInDays: 1 } }))
      .data!;
    const byScript = await fetch(`${app.url}/api/uploads`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${writer.secret}`,
        "Tus-Resumable": "1.0.0",
        "Upload-Length": "10",
        "Upload-Metadata": `filename ${Buffer.from(`script-${storage}.bin`).toString("base64")}`,
      },
    });
    expect(byScript.status).toBe(201);
    const scriptUrl = new URL(byScript.headers.get("location")!, app.url).toString();
    expect(await terminate(scriptUrl, { authorization: `Bearer ${writer.secret}` })).toBe(204);
    for (const id of [reader.id, writer.id]) await api.DELETE("/api/v1/me/tokens/{tokenId}", { params: { path: { tokenId: id } } });
  });
};
