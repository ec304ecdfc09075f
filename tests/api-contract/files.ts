import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { shareWithUser } from "~/domain/sharing/user-shares.server";
import { createToken, revokeToken } from "~/domain/tokens/tokens.server";
import { apiClient, bearerApiClient } from "../support/api-client";
import { TestClient } from "../support/client";
import { type ContractSuite, upload } from "./env";

/** Files and folders: the items, their content and versions, bulk changes and tokens (bad input: hostile.ts). */
export const filesSuite: ContractSuite = (env) => {
  it("creates, lists, renames, moves, copies, trashes, restores and deletes folders", async () => {
    const { api, rootId } = env();
    const created = await api.POST("/api/v1/folders", { body: { parentId: rootId, name: "Reports" } });
    expect(created.response.status).toBe(201);
    const reports = created.data!;
    expect(created.response.headers.get("etag")).toBe(reports.etag);
    const target = (await api.POST("/api/v1/folders", { body: { parentId: null, name: "Archive" } })).data!;

    const taken = await api.POST("/api/v1/folders", { body: { parentId: rootId, name: "Reports" } });
    expect(taken.response.status).toBe(409);
    expect(taken.error).toMatchObject({ type: "/api/docs#problem-conflict", status: 409 });

    const got = await api.GET("/api/v1/folders/{id}", { params: { path: { id: reports.id } } });
    expect(got.data).toEqual(reports);

    const renamed = await api.PATCH("/api/v1/folders/{id}", {
      params: { path: { id: reports.id }, header: { "if-match": reports.etag } },
      body: { name: "Reports 2026" },
    });
    expect(renamed.response.status).toBe(200);
    expect(renamed.data!.name).toBe("Reports 2026");
    expect(renamed.data!.etag).not.toBe(reports.etag);

    const lost = await api.PATCH("/api/v1/folders/{id}", {
      params: { path: { id: reports.id }, header: { "if-match": reports.etag } },
      body: { name: "Lost update" },
    });
    expect(lost.response.status).toBe(412);
    expect((await api.GET("/api/v1/folders/{id}", { params: { path: { id: reports.id } } })).data!.name).toBe("Reports 2026");

    const moved = await api.PATCH("/api/v1/folders/{id}", { params: { path: { id: reports.id } }, body: { parentId: target.id } });
    expect(moved.data!.parentId).toBe(target.id);

    const copied = await api.POST("/api/v1/folders/{id}/copy", { params: { path: { id: reports.id } }, body: { destinationId: rootId } });
    expect(copied.response.status).toBe(201);
    expect(copied.data).toMatchObject({ name: "Reports 2026", parentId: rootId });

    const listing = await api.GET("/api/v1/folders/{id}/children", { params: { path: { id: rootId }, query: { limit: 1 } } });
    expect(listing.data!.items).toHaveLength(1);
    expect(listing.data!.nextCursor).not.toBeNull();
    const next = await api.GET("/api/v1/folders/{id}/children", {
      params: { path: { id: rootId }, query: { limit: 1, cursor: listing.data!.nextCursor! } },
    });
    expect(next.data!.items.map((i) => i.name)).toEqual(["Reports 2026"]);
    expect(listing.data!.items.map((i) => i.name)).toEqual(["Archive"]);

    const stale = await api.POST("/api/v1/folders/{id}/trash", {
      params: { path: { id: copied.data!.id }, header: { "if-match": '"stale"' } },
    });
    expect(stale.response.status).toBe(412);
    const trashed = await api.POST("/api/v1/folders/{id}/trash", { params: { path: { id: copied.data!.id } } });
    expect(trashed.response.status).toBe(204);
    expect((await api.GET("/api/v1/folders/{id}", { params: { path: { id: copied.data!.id } } })).response.status).toBe(404);
    const restored = await api.POST("/api/v1/folders/{id}/restore", { params: { path: { id: copied.data!.id } } });
    expect(restored.response.status).toBe(200);

    const live = await api.DELETE("/api/v1/folders/{id}", { params: { path: { id: copied.data!.id } } });
    expect(live.response.status).toBe(404);
    await api.POST("/api/v1/folders/{id}/trash", { params: { path: { id: copied.data!.id } } });
    const deleted = await api.DELETE("/api/v1/folders/{id}", { params: { path: { id: copied.data!.id } } });
    expect(deleted.data).toEqual({ kind: "folder", id: copied.data!.id, deleted: true });
  });

  it("uploads with tus, then reads, downloads (with Range), versions, copies, trashes and deletes files", async () => {
    const { api, app, owner, storage, rootId } = env();
    const first = randomBytes(40_000);
    const fileId = await upload(app, owner, `data-${storage}.bin`, first);
    const meta = await api.GET("/api/v1/files/{id}", { params: { path: { id: fileId } } });
    expect(meta.data).toMatchObject({ kind: "file", id: fileId, size: first.length, parentId: rootId });

    const whole = await api.GET("/api/v1/files/{id}/content", { params: { path: { id: fileId } }, parseAs: "arrayBuffer" });
    expect(Buffer.from(whole.data as ArrayBuffer).equals(first)).toBe(true);
    const part = await api.GET("/api/v1/files/{id}/content", {
      params: { path: { id: fileId }, header: { range: "bytes=10-19" } },
      parseAs: "arrayBuffer",
    });
    expect(part.response.status).toBe(206);
    expect(Buffer.from(part.data as ArrayBuffer).equals(first.subarray(10, 20))).toBe(true);

    // The same name again replaces the content; the earlier one becomes a version.
    const second = randomBytes(1000);
    expect(await upload(app, owner, `data-${storage}.bin`, second, "replace")).toBe(fileId);
    const versions = await api.GET("/api/v1/files/{id}/versions", { params: { path: { id: fileId } } });
    expect(versions.data!.items).toHaveLength(1);
    const versionId = versions.data!.items[0]!.id;
    const old = await api.GET("/api/v1/files/{id}/versions/{versionId}/content", {
      params: { path: { id: fileId, versionId } },
      parseAs: "arrayBuffer",
    });
    expect(Buffer.from(old.data as ArrayBuffer).equals(first)).toBe(true);
    const restored = await api.POST("/api/v1/files/{id}/versions/{versionId}/restore", { params: { path: { id: fileId, versionId } } });
    expect(restored.data!.size).toBe(first.length);

    const renamed = await api.PATCH("/api/v1/files/{id}", { params: { path: { id: fileId } }, body: { name: `renamed-${storage}.bin` } });
    expect(renamed.data!.name).toBe(`renamed-${storage}.bin`);
    const copy = await api.POST("/api/v1/files/{id}/copy", {
      params: { path: { id: fileId } },
      body: { destinationId: rootId, onConflict: "keep-both" },
    });
    expect(copy.response.status).toBe(201);
    expect(copy.data!.id).not.toBe(fileId);

    expect((await api.POST("/api/v1/files/{id}/trash", { params: { path: { id: copy.data!.id } } })).response.status).toBe(204);
    expect((await api.POST("/api/v1/files/{id}/restore", { params: { path: { id: copy.data!.id } } })).response.status).toBe(200);
    await api.POST("/api/v1/files/{id}/trash", { params: { path: { id: copy.data!.id } } });
    expect((await api.DELETE("/api/v1/files/{id}", { params: { path: { id: copy.data!.id } } })).data).toMatchObject({ deleted: true });
  });

  it("creates once per Idempotency-Key and replays the first answer", async () => {
    const { api, rootId } = env();
    const key = `create-${randomBytes(6).toString("hex")}`;
    const create = (name: string) =>
      api.POST("/api/v1/folders", { params: { header: { "idempotency-key": key } }, body: { parentId: rootId, name } });
    const first = await create("Once only");
    expect(first.response.status).toBe(201);
    expect(first.response.headers.get("idempotent-replayed")).toBeNull();
    const again = await create("Once only");
    expect(again.response.status).toBe(201);
    expect(again.response.headers.get("idempotent-replayed")).toBe("true");
    expect(again.data).toEqual(first.data);
    const other = await create("Something else");
    expect(other.response.status).toBe(422);
    const listing = await api.GET("/api/v1/folders/{id}/children", { params: { path: { id: rootId }, query: { limit: 500 } } });
    expect(listing.data!.items.filter((item) => item.name === "Once only" || item.name === "Something else")).toHaveLength(1);

    const copyKey = `copy-${randomBytes(6).toString("hex")}`;
    const copy = () =>
      api.POST("/api/v1/folders/{id}/copy", {
        params: { path: { id: first.data!.id }, header: { "idempotency-key": copyKey } },
        body: { destinationId: rootId, onConflict: "keep-both" },
      });
    const copied = await copy();
    expect(copied.response.status).toBe(201);
    expect((await copy()).data!.id).toBe(copied.data!.id);
    const bad = await api.POST("/api/v1/folders", {
      params: { header: { "idempotency-key": "no spaces" } },
      body: { parentId: rootId, name: "x" },
    });
    expect(bad.response.status).toBe(422);
  });

  it("moves, copies, trashes and restores several items at once, reporting each", async () => {
    const { api, app, owner, storage, rootId } = env();
    const box = (await api.POST("/api/v1/folders", { body: { parentId: rootId, name: `Box ${storage}` } })).data!;
    const a = await upload(app, owner, `bulk-a-${storage}.txt`, Buffer.from("a"));
    const b = await upload(app, owner, `bulk-b-${storage}.txt`, Buffer.from("b"));
    const items = [
      { kind: "file" as const, id: a },
      { kind: "file" as const, id: b },
      { kind: "file" as const, id: "missing-file-id" },
    ];
    const moved = await api.POST("/api/v1/items/bulk", { body: { operation: "move", items, destinationId: box.id } });
    expect(moved.data).toMatchObject({ operation: "move", done: 2, skipped: 1 });
    expect(moved.data!.results[2]).toMatchObject({ ok: false, status: 404, name: null });
    expect((await api.GET("/api/v1/files/{id}", { params: { path: { id: a } } })).data!.parentId).toBe(box.id);
    const copied = await api.POST("/api/v1/items/bulk", { body: { operation: "copy", items: items.slice(0, 2), destinationId: rootId } });
    expect(copied.data!.done).toBe(2);
    expect((await api.POST("/api/v1/items/bulk", { body: { operation: "trash", items: items.slice(0, 2) } })).data!.done).toBe(2);
    expect((await api.POST("/api/v1/items/bulk", { body: { operation: "restore", items: items.slice(0, 2) } })).data!.done).toBe(2);
    const noDestination = await api.POST("/api/v1/items/bulk", { body: { operation: "move", items } });
    expect(noDestination.response.status).toBe(422);
    expect(noDestination.error!.errors![0]!.pointer).toBe("/body/destinationId");
  });

  it("lets a share recipient do exactly what the share allows, as on the pages", async () => {
    const { api, otherApi, app, owner, ownerUser, otherEmail, storage, rootId } = env();
    const shared = (await api.POST("/api/v1/folders", { body: { parentId: rootId, name: `Shared ${storage}` } })).data!;
    const fileId = await upload(app, owner, `shared-${storage}.txt`, Buffer.from("shared bytes"));
    await api.PATCH("/api/v1/files/{id}", { params: { path: { id: fileId } }, body: { parentId: shared.id } });
    const audit = { actorId: ownerUser.id, actorLabel: ownerUser.email, ip: null, userAgent: null };
    await shareWithUser(app.services, ownerUser, { kind: "folder", id: shared.id }, { email: otherEmail, permission: "READ" }, audit);

    expect((await otherApi.GET("/api/v1/folders/{id}", { params: { path: { id: shared.id } } })).response.status).toBe(200);
    const listing = await otherApi.GET("/api/v1/folders/{id}/children", { params: { path: { id: shared.id } } });
    expect(listing.data!.items.map((i) => i.id)).toEqual([fileId]);
    const content = await otherApi.GET("/api/v1/files/{id}/content", { params: { path: { id: fileId } }, parseAs: "text" });
    expect(content.data).toBe("shared bytes");
    const readOnly = await otherApi.POST("/api/v1/folders", { body: { parentId: shared.id, name: "Theirs" } });
    expect(readOnly.response.status).toBe(403);
    const rename = await otherApi.PATCH("/api/v1/files/{id}", { params: { path: { id: fileId } }, body: { name: "renamed.txt" } });
    expect(rename.response.status).toBe(403);

    await shareWithUser(app.services, ownerUser, { kind: "folder", id: shared.id }, { email: otherEmail, permission: "WRITE" }, audit);
    const created = await otherApi.POST("/api/v1/folders", { body: { parentId: shared.id, name: "Theirs" } });
    expect(created.response.status).toBe(201);
    expect((await otherApi.GET("/api/v1/folders/{id}", { params: { path: { id: rootId } } })).response.status).toBe(404);
  });

  it("accepts access tokens within their scopes, without a cookie or CSRF token", async () => {
    const { app, ownerUser, validator, storage, rootId } = env();
    const audit = { actorId: ownerUser.id, actorLabel: ownerUser.email, ip: null, userAgent: null };
    const make = async (scopes: string[]) =>
      (await createToken(app.services, ownerUser, { name: `t-${scopes.join("+")}`, scopes, expiresAt: null }, audit)).secret;
    const bearer = (token: string) => bearerApiClient(app.url, token, validator);
    const reader = bearer(await make(["files:read"]));
    expect((await reader.GET("/api/v1/folders/{id}", { params: { path: { id: rootId } } })).response.status).toBe(200);
    const refused = await reader.POST("/api/v1/folders", { body: { parentId: rootId, name: "By reader" } });
    expect(refused.response.status).toBe(403);
    const writerToken = await make(["files:write"]);
    const writer = bearer(writerToken);
    expect((await writer.POST("/api/v1/folders", { body: { parentId: rootId, name: `By writer ${storage}` } })).response.status).toBe(201);
    const sharesOnly = bearer(await make(["shares"]));
    expect((await sharesOnly.GET("/api/v1/folders/root")).response.status).toBe(403);

    const tokens = await app.services.prisma.apiToken.findMany({ where: { userId: ownerUser.id, name: "t-files:write" } });
    await revokeToken(app.services, ownerUser, tokens[0]!.id, audit);
    const revoked = await writer.GET("/api/v1/folders/root");
    expect(revoked.response.status).toBe(401);
    expect(revoked.response.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await bearer("coffer_pat_nope").GET("/api/v1/folders/root")).response.status).toBe(401);
  });

  it("shows another user nothing of yours and refuses anonymous callers", async () => {
    const { api, otherApi, app, owner, storage, validator } = env();
    const fileId = await upload(app, owner, `private-${storage}.txt`, Buffer.from("mine"));
    expect((await otherApi.GET("/api/v1/files/{id}", { params: { path: { id: fileId } } })).response.status).toBe(404);
    expect((await otherApi.GET("/api/v1/files/{id}/content", { params: { path: { id: fileId } } })).response.status).toBe(404);
    const rename = await otherApi.PATCH("/api/v1/files/{id}", { params: { path: { id: fileId } }, body: { name: "theirs.txt" } });
    expect(rename.response.status).toBe(404);
    expect((await api.GET("/api/v1/files/{id}", { params: { path: { id: fileId } } })).data!.name).toBe(`private-${storage}.txt`);

    const anonymous = apiClient(new TestClient(app.url), validator);
    const refused = await anonymous.GET("/api/v1/files/{id}", { params: { path: { id: fileId } } });
    expect(refused.response.status).toBe(401);
    expect(refused.response.headers.get("content-type")).toBe("application/problem+json");
    expect(refused.error).toMatchObject({ type: "/api/docs#problem-unauthenticated", status: 401 });
  });
};
