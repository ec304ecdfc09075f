import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { createToken } from "~/domain/tokens/tokens.server";
import { TestClient } from "../support/client";
import { type ContractSuite, upload } from "./env";
import { bearerApiClient } from "../support/api-client";

/** Share links and shares with other accounts: what the share pages do, through the API. */
export const sharingSuite: ContractSuite = (env) => {
  const inAWeek = () => new Date(Date.now() + 7 * 86_400_000).toISOString();

  it("creates a link with a password, opens it anonymously, edits it with If-Match and revokes it", async () => {
    const { api, otherApi, app, owner, storage } = env();
    const bytes = randomBytes(2000);
    const fileId = await upload(app, owner, `linked-${storage}.bin`, bytes);
    const key = `link-${randomBytes(6).toString("hex")}`;
    const expiresAt = inAWeek();
    const create = () =>
      api.POST("/api/v1/share-links", {
        params: { header: { "idempotency-key": key } },
        body: { item: { kind: "file", id: fileId }, password: "open sesame", expiresAt, maxDownloads: 3 },
      });
    const created = await create();
    expect(created.response.status).toBe(201);
    const link = created.data!;
    expect(link).toMatchObject({ mode: "read", hasPassword: true, maxDownloads: 3, downloadCount: 0, expired: false });
    expect(link.item).toEqual({ kind: "file", id: fileId, name: `linked-${storage}.bin`, inTrash: false });
    expect(created.response.headers.get("etag")).toBe(link.etag);
    const raw = JSON.stringify(link);
    expect(raw).not.toContain("open sesame");
    expect(raw).not.toContain("argon2");
    const replay = await create();
    expect(replay.response.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.data!.id).toBe(link.id);
    expect(await app.services.prisma.shareLink.count({ where: { fileId } })).toBe(1);

    // Anyone with the URL and the password downloads the file.
    const path = new URL(link.url).pathname;
    expect(path).toMatch(/^\/s\/[A-Za-z0-9_-]+$/);
    const visitor = new TestClient(app.url);
    expect((await visitor.get(`${path}/download/${fileId}`)).status).toBe(302);
    expect((await visitor.postForm(path, { intent: "unlock", password: "open sesame" })).status).toBe(302);
    const download = await visitor.get(`${path}/download/${fileId}`);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);

    const got = await api.GET("/api/v1/share-links/{id}", { params: { path: { id: link.id } } });
    expect(got.data).toMatchObject({ id: link.id, downloadCount: 1 });
    const forItem = await api.GET("/api/v1/share-links", { params: { query: { itemKind: "file", itemId: fileId } } });
    expect(forItem.data!.items.map((item) => item.id)).toEqual([link.id]);
    const notTheirItem = await otherApi.GET("/api/v1/share-links", { params: { query: { itemKind: "file", itemId: fileId } } });
    expect(notTheirItem.response.status).toBe(404);
    const listed = await api.GET("/api/v1/share-links");
    expect(listed.data!.items.map((item) => item.id)).toContain(link.id);
    expect(JSON.stringify(listed.data)).not.toContain("open sesame");

    // An edit against the old representation is refused (the download changed it), and changes nothing.
    const lost = await api.PATCH("/api/v1/share-links/{id}", {
      params: { path: { id: link.id }, header: { "if-match": link.etag } },
      body: { password: null },
    });
    expect(lost.response.status).toBe(412);
    expect((await api.GET("/api/v1/share-links/{id}", { params: { path: { id: link.id } } })).data!.hasPassword).toBe(true);
    const edited = await api.PATCH("/api/v1/share-links/{id}", {
      params: { path: { id: link.id }, header: { "if-match": got.data!.etag } },
      body: { password: null, maxDownloads: null },
    });
    expect(edited.response.status).toBe(200);
    // Left out, the expiry stays.
    expect(edited.data).toMatchObject({ hasPassword: false, maxDownloads: null, expiresAt: link.expiresAt });
    expect((await new TestClient(app.url).get(`${path}/download/${fileId}`)).status).toBe(200);

    expect((await otherApi.GET("/api/v1/share-links/{id}", { params: { path: { id: link.id } } })).response.status).toBe(404);
    expect((await otherApi.DELETE("/api/v1/share-links/{id}", { params: { path: { id: link.id } } })).response.status).toBe(404);
    const stale = await api.DELETE("/api/v1/share-links/{id}", { params: { path: { id: link.id }, header: { "if-match": '"stale"' } } });
    expect(stale.response.status).toBe(412);
    const revoked = await api.DELETE("/api/v1/share-links/{id}", { params: { path: { id: link.id } } });
    expect(revoked.response.status).toBe(204);
    expect((await new TestClient(app.url).get(path)).status).toBe(404);
    expect((await api.GET("/api/v1/share-links/{id}", { params: { path: { id: link.id } } })).response.status).toBe(404);
    expect((await api.PATCH("/api/v1/share-links/{id}", { params: { path: { id: link.id } }, body: {} })).response.status).toBe(404);
  });

  it("makes upload-only links for folders and refuses what the share page refuses", async () => {
    const { api, otherApi, app, owner, storage, rootId } = env();
    const folder = (await api.POST("/api/v1/folders", { body: { parentId: rootId, name: `Drop ${storage}` } })).data!;
    const fileId = await upload(app, owner, `not-a-drop-${storage}.txt`, Buffer.from("x"));
    const drop = await api.POST("/api/v1/share-links", { body: { item: { kind: "folder", id: folder.id }, mode: "upload" } });
    expect(drop.response.status).toBe(201);
    expect(drop.data).toMatchObject({ mode: "upload", hasPassword: false, expiresAt: null, maxDownloads: null });
    const past = await api.PATCH("/api/v1/share-links/{id}", {
      params: { path: { id: drop.data!.id } },
      body: { expiresAt: "2001-01-01T00:00:00Z" },
    });
    expect(past.response.status).toBe(422);
    expect(past.error!.errors![0]!.pointer).toBe("/body/expiresAt");
    const limited = await api.PATCH("/api/v1/share-links/{id}", { params: { path: { id: drop.data!.id } }, body: { maxDownloads: 3 } });
    expect(limited.response.status).toBe(422);
    expect(limited.error!.errors![0]!.pointer).toBe("/body/maxDownloads");

    const refusals = [
      [{ item: { kind: "file", id: fileId }, mode: "upload" }, 422, "/body/mode"],
      [{ item: { kind: "folder", id: folder.id }, mode: "upload", maxDownloads: 2 }, 422, "/body/maxDownloads"],
      [{ item: { kind: "file", id: fileId }, expiresAt: "2001-01-01T00:00:00Z" }, 422, "/body/expiresAt"],
      [{ item: { kind: "file", id: fileId }, password: "abc" }, 422, "/body/password"],
      [{ item: { kind: "folder", id: rootId } }, 422, undefined],
      [{ item: { kind: "file", id: "no-such-file" } }, 404, undefined],
    ] as const;
    for (const [body, status, pointer] of refusals) {
      const refused = await api.POST("/api/v1/share-links", { body: body as never });
      expect(refused.response.status, JSON.stringify(body)).toBe(status);
      if (pointer) expect(refused.error!.errors!.map((e) => e.pointer)).toContain(pointer);
    }
    // Only the owner shares an item.
    const theirs = await otherApi.POST("/api/v1/share-links", { body: { item: { kind: "file", id: fileId } } });
    expect(theirs.response.status).toBe(404);
    expect(await app.services.prisma.shareLink.count({ where: { fileId } })).toBe(0);
  });

  it("shares with another account, which then reads and writes through the files API as allowed", async () => {
    const { api, otherApi, app, owner, otherEmail, otherUser, ownerUser, storage, rootId } = env();
    const folder = (await api.POST("/api/v1/folders", { body: { parentId: rootId, name: `Team ${storage}` } })).data!;
    const fileId = await upload(app, owner, `team-${storage}.txt`, Buffer.from("team notes"));
    await api.PATCH("/api/v1/files/{id}", { params: { path: { id: fileId } }, body: { parentId: folder.id } });

    const key = `share-${randomBytes(6).toString("hex")}`;
    const created = await api.POST("/api/v1/user-shares", {
      params: { header: { "idempotency-key": key } },
      body: { item: { kind: "folder", id: folder.id }, email: otherEmail.toUpperCase() },
    });
    expect(created.response.status).toBe(201);
    const share = created.data!;
    expect(share).toMatchObject({
      permission: "read",
      item: { kind: "folder", id: folder.id, name: `Team ${storage}` },
      grantee: { id: otherUser.id, email: otherEmail },
    });

    const withMe = await otherApi.GET("/api/v1/shared-with-me");
    const mine = withMe.data!.items.find((entry) => entry.id === share.id);
    expect(mine).toMatchObject({ item: { kind: "folder", id: folder.id, size: null }, permission: "read", owner: { name: "Ada Api" } });
    const listing = await otherApi.GET("/api/v1/folders/{id}/children", { params: { path: { id: folder.id } } });
    expect(listing.data!.items.map((entry) => entry.id)).toEqual([fileId]);
    const content = await otherApi.GET("/api/v1/files/{id}/content", { params: { path: { id: fileId } }, parseAs: "text" });
    expect(content.data).toBe("team notes");
    expect((await otherApi.POST("/api/v1/folders", { body: { parentId: folder.id, name: "Theirs" } })).response.status).toBe(403);
    // A recipient cannot pass the item on.
    const reshare = await otherApi.POST("/api/v1/user-shares", {
      body: { item: { kind: "folder", id: folder.id }, email: ownerUser.email },
    });
    expect(reshare.response.status).toBe(404);

    expect((await api.GET("/api/v1/user-shares")).data!.items.map((entry) => entry.id)).toContain(share.id);
    const access = await api.GET("/api/v1/user-shares", { params: { query: { itemKind: "folder", itemId: folder.id } } });
    expect(access.data!.items.map((entry) => entry.id)).toEqual([share.id]);
    const elsewhere = await api.GET("/api/v1/user-shares", { params: { query: { itemKind: "file", itemId: fileId } } });
    expect(elsewhere.data!.items).toEqual([]);
    const got = await api.GET("/api/v1/user-shares/{id}", { params: { path: { id: share.id } } });
    expect(got.data).toEqual(share);
    expect((await otherApi.GET("/api/v1/user-shares/{id}", { params: { path: { id: share.id } } })).response.status).toBe(404);
    expect((await otherApi.GET("/api/v1/user-shares")).data!.items.map((entry) => entry.id)).not.toContain(share.id);

    const write = await api.PATCH("/api/v1/user-shares/{id}", {
      params: { path: { id: share.id }, header: { "if-match": share.etag } },
      body: { permission: "write" },
    });
    expect(write.response.status).toBe(200);
    expect(write.data!.permission).toBe("write");
    const lost = await api.PATCH("/api/v1/user-shares/{id}", {
      params: { path: { id: share.id }, header: { "if-match": share.etag } },
      body: { permission: "read" },
    });
    expect(lost.response.status).toBe(412);
    expect((await otherApi.POST("/api/v1/folders", { body: { parentId: folder.id, name: "Theirs" } })).response.status).toBe(201);
    const notTheirs = await otherApi.PATCH("/api/v1/user-shares/{id}", {
      params: { path: { id: share.id } },
      body: { permission: "read" },
    });
    expect(notTheirs.response.status).toBe(404);

    const refusals = [
      [{ item: { kind: "folder", id: folder.id }, email: "nobody-here@example.com" }, 422, "/body/email"],
      [{ item: { kind: "folder", id: folder.id }, email: ownerUser.email }, 422, "/body/email"],
      [{ item: { kind: "folder", id: folder.id }, email: "not an email" }, 422, "/body/email"],
      [{ item: { kind: "folder", id: folder.id }, email: otherEmail, permission: "admin" }, 422, "/body/permission"],
      [{ item: { kind: "folder", id: rootId }, email: otherEmail }, 422, undefined],
    ] as const;
    for (const [body, status, pointer] of refusals) {
      const refused = await api.POST("/api/v1/user-shares", { body: body as never });
      expect(refused.response.status, JSON.stringify(body)).toBe(status);
      if (pointer) expect(refused.error!.errors!.map((e) => e.pointer)).toContain(pointer);
    }

    const stale = await api.DELETE("/api/v1/user-shares/{id}", { params: { path: { id: share.id }, header: { "if-match": '"stale"' } } });
    expect(stale.response.status).toBe(412);
    expect((await api.DELETE("/api/v1/user-shares/{id}", { params: { path: { id: share.id } } })).response.status).toBe(204);
    expect((await otherApi.GET("/api/v1/folders/{id}", { params: { path: { id: folder.id } } })).response.status).toBe(404);
    expect((await otherApi.GET("/api/v1/shared-with-me")).data!.items.map((entry) => entry.id)).not.toContain(share.id);
    expect((await api.DELETE("/api/v1/user-shares/{id}", { params: { path: { id: share.id } } })).response.status).toBe(404);
  });

  it("needs the shares scope on an access token", async () => {
    const { app, ownerUser, validator } = env();
    const audit = { actorId: ownerUser.id, actorLabel: ownerUser.email, ip: null, userAgent: null };
    const bearer = async (scopes: string[]) => {
      const { secret } = await createToken(app.services, ownerUser, { name: `share-${scopes.join("+")}`, scopes, expiresAt: null }, audit);
      return bearerApiClient(app.url, secret, validator);
    };
    const filesOnly = await bearer(["files:write"]);
    expect((await filesOnly.GET("/api/v1/share-links")).response.status).toBe(403);
    expect((await filesOnly.GET("/api/v1/shared-with-me")).response.status).toBe(403);
    const sharer = await bearer(["shares"]);
    expect((await sharer.GET("/api/v1/share-links")).response.status).toBe(200);
    expect((await sharer.GET("/api/v1/user-shares")).response.status).toBe(200);
  });

  it("answers hostile sharing input with 4xx problems and changes nothing", async () => {
    const { owner, validator, app, ownerUser, otherEmail, storage } = env();
    const fileId = await upload(app, owner, `hostile-share-${storage}.txt`, Buffer.from("h"));
    const send = async (method: string, url: string, template: string, body?: unknown) => {
      const init =
        body === undefined ? { method } : { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
      const response = await owner.request(url, init);
      await validator.check(method, template, response);
      return { status: response.status, body: await response.json() };
    };
    const item = { kind: "file", id: fileId };
    const cases: Array<[string, string, string, unknown, number]> = [
      ["POST", "/api/v1/share-links", "/api/v1/share-links", { item: { kind: "file", id: "a\u0000b" } }, 422],
      ["POST", "/api/v1/share-links", "/api/v1/share-links", { item: { kind: "disk", id: fileId } }, 422],
      ["POST", "/api/v1/share-links", "/api/v1/share-links", { item, maxDownloads: "3" }, 422],
      ["POST", "/api/v1/share-links", "/api/v1/share-links", { item, maxDownloads: 0 }, 422],
      ["POST", "/api/v1/share-links", "/api/v1/share-links", { item, expiresAt: "tomorrow" }, 422],
      ["POST", "/api/v1/share-links", "/api/v1/share-links", { item, token: "mine" }, 422],
      ["POST", "/api/v1/share-links", "/api/v1/share-links", { item, password: 1234 }, 422],
      ["GET", "/api/v1/share-links?owner=all", "/api/v1/share-links", undefined, 422],
      ["GET", "/api/v1/share-links/a%00b", "/api/v1/share-links/{id}", undefined, 404],
      ["PATCH", "/api/v1/share-links/a%00b", "/api/v1/share-links/{id}", {}, 404],
      ["DELETE", "/api/v1/share-links/a%00b", "/api/v1/share-links/{id}", undefined, 404],
      ["POST", "/api/v1/user-shares", "/api/v1/user-shares", { item, email: "a\u0000@example.com" }, 422],
      ["POST", "/api/v1/user-shares", "/api/v1/user-shares", { item, email: ["x@example.com"] }, 422],
      ["POST", "/api/v1/user-shares", "/api/v1/user-shares", { item, email: otherEmail, ownerId: ownerUser.id }, 422],
      ["POST", "/api/v1/user-shares", "/api/v1/user-shares", { item: `file:${fileId}`, email: otherEmail }, 422],
      ["GET", "/api/v1/user-shares?page=2", "/api/v1/user-shares", undefined, 422],
      ["GET", `/api/v1/user-shares?itemKind=file`, "/api/v1/user-shares", undefined, 422],
      ["GET", `/api/v1/share-links?itemKind=file&itemId=a%00b`, "/api/v1/share-links", undefined, 422],
      ["PATCH", `/api/v1/share-links/${"x".repeat(300)}`, "/api/v1/share-links/{id}", { expiresAt: "2001-01-01T00:00:00Z" }, 404],
      ["GET", "/api/v1/shared-with-me?all=1", "/api/v1/shared-with-me", undefined, 422],
      ["GET", "/api/v1/user-shares/a%00b", "/api/v1/user-shares/{id}", undefined, 404],
      ["PATCH", "/api/v1/user-shares/a%00b", "/api/v1/user-shares/{id}", { permission: "read" }, 404],
      ["DELETE", `/api/v1/user-shares/${"x".repeat(300)}`, "/api/v1/user-shares/{id}", undefined, 404],
    ];
    for (const [method, url, template, body, status] of cases) {
      const result = await send(method, url, template, body);
      expect(result.status, `${method} ${url} ${JSON.stringify(body)}`).toBe(status);
      expect(result.body.type).toMatch(/^\/api\/docs#problem-/);
    }
    const prisma = app.services.prisma;
    expect(await prisma.shareLink.count({ where: { fileId } })).toBe(0);
    expect(await prisma.userShare.count({ where: { fileId } })).toBe(0);
  });
};
