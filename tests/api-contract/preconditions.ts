import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { type ContractSuite, upload } from "./env";

/** If-Match on every change that can be lost, atomic with the change; Idempotency-Key on bulk. */
export const preconditionsSuite: ContractSuite = (env) => {
  it("lets exactly one of two racing changes with the same ETag win; the other gets 412", async () => {
    const { api, rootId, storage } = env();
    for (let round = 0; round < 4; round++) {
      const folder = (await api.POST("/api/v1/folders", { body: { parentId: rootId, name: `Race ${storage} ${round}` } })).data!;
      const patch = (name: string) =>
        api.PATCH("/api/v1/folders/{id}", { params: { path: { id: folder.id }, header: { "if-match": folder.etag } }, body: { name } });
      const [a, b] = await Promise.all([patch(`Race A ${storage} ${round}`), patch(`Race B ${storage} ${round}`)]);
      const statuses = [a.response.status, b.response.status].sort();
      expect(statuses, `round ${round}`).toEqual([200, 412]);
      const [winner, loser] = a.response.status === 200 ? [a, b] : [b, a];
      expect((await api.GET("/api/v1/folders/{id}", { params: { path: { id: folder.id } } })).data!.name).toBe(winner.data!.name);
      expect(loser.error).toMatchObject({ type: "/api/docs#problem-precondition-failed", status: 412 });
    }
  });

  it("lets exactly one of two racing changes of a share link or a share with the same ETag win", async () => {
    const { api, rootId, storage, otherEmail } = env();
    for (let round = 0; round < 4; round++) {
      const folder = (
        await api.POST("/api/v1/folders", {
          body: { parentId: rootId, name: `Shared race ${storage} ${round}` },
        })
      ).data!;
      const item = { kind: "folder" as const, id: folder.id };

      const link = (await api.POST("/api/v1/share-links", { body: { item } })).data!;
      const patchLink = (body: { password?: string; maxDownloads?: number }) =>
        api.PATCH("/api/v1/share-links/{id}", {
          params: { path: { id: link.id }, header: { "if-match": link.etag } },
          body,
        });
      // Neither change shows in the other's fields: only the claim tells them apart.
      const [a, b] = await Promise.all([patchLink({ password: "first secret" }), patchLink({ password: "second secret" })]);
      expect([a.response.status, b.response.status].sort(), `link, round ${round}`).toEqual([200, 412]);
      const loser = a.response.status === 412 ? a : b;
      expect(loser.error).toMatchObject({
        type: "/api/docs#problem-precondition-failed",
        status: 412,
      });
      // The 412 names the version it found, already claimed by the winner.
      expect(loser.response.headers.get("etag")).not.toBe(link.etag);
      const revokeStale = await api.DELETE("/api/v1/share-links/{id}", {
        params: { path: { id: link.id }, header: { "if-match": link.etag } },
      });
      expect(revokeStale.response.status).toBe(412);
      expect(
        (
          await api.GET("/api/v1/share-links/{id}", {
            params: { path: { id: link.id } },
          })
        ).response.status,
      ).toBe(200);

      const share = (
        await api.POST("/api/v1/user-shares", {
          body: { item, email: otherEmail, permission: "read" },
        })
      ).data!;
      const patchShare = (permission: "read" | "write") =>
        api.PATCH("/api/v1/user-shares/{id}", {
          params: {
            path: { id: share.id },
            header: { "if-match": share.etag },
          },
          body: { permission },
        });
      const [c, d] = await Promise.all([patchShare("write"), patchShare("read")]);
      expect([c.response.status, d.response.status].sort(), `share, round ${round}`).toEqual([200, 412]);
      const winner = c.response.status === 200 ? c : d;
      const stored = (
        await api.GET("/api/v1/user-shares/{id}", {
          params: { path: { id: share.id } },
        })
      ).data!;
      expect(stored.permission).toBe(winner.data!.permission);
      const removeStale = await api.DELETE("/api/v1/user-shares/{id}", {
        params: { path: { id: share.id }, header: { "if-match": share.etag } },
      });
      expect(removeStale.response.status).toBe(412);
      const removed = await api.DELETE("/api/v1/user-shares/{id}", {
        params: { path: { id: share.id }, header: { "if-match": stored.etag } },
      });
      expect(removed.response.status).toBe(204);
    }
  });

  it("leaves the ETag as it was when a change with a current If-Match fails", async () => {
    const { api, rootId, storage } = env();
    const make = async (name: string) =>
      (await api.POST("/api/v1/folders", { body: { parentId: rootId, name: `${name} ${storage}` } })).data!;
    const [mine, taken] = [await make("Keeps its tag"), await make("Name in use")];
    const refused = await api.PATCH("/api/v1/folders/{id}", {
      params: { path: { id: mine.id }, header: { "if-match": mine.etag } },
      body: { name: taken.name, onConflict: "cancel" },
    });
    expect(refused.response.status).toBe(409);
    expect((await api.GET("/api/v1/folders/{id}", { params: { path: { id: mine.id } } })).data!.etag).toBe(mine.etag);
    const renamed = await api.PATCH("/api/v1/folders/{id}", {
      params: { path: { id: mine.id }, header: { "if-match": mine.etag } },
      body: { name: `Renamed at last ${storage}` },
    });
    expect(renamed.response.status).toBe(200);
  });

  it("refuses a stale If-Match on restore, delete forever, copy and version restore, changing nothing", async () => {
    const { api, app, owner, storage, rootId } = env();
    const stale = '"stale-etag"';
    const folder = (await api.POST("/api/v1/folders", { body: { parentId: rootId, name: `Guarded ${storage}` } })).data!;

    const copyStale = await api.POST("/api/v1/folders/{id}/copy", {
      params: { path: { id: folder.id }, header: { "if-match": stale } },
      body: { destinationId: rootId, onConflict: "keep-both" },
    });
    expect(copyStale.response.status).toBe(412);
    expect(copyStale.response.headers.get("etag")).toBe(folder.etag);
    const copied = await api.POST("/api/v1/folders/{id}/copy", {
      params: { path: { id: folder.id }, header: { "if-match": folder.etag } },
      body: { destinationId: rootId, onConflict: "keep-both" },
    });
    expect(copied.response.status).toBe(201);
    // A copy leaves its source as it was.
    expect((await api.GET("/api/v1/folders/{id}", { params: { path: { id: folder.id } } })).data!.etag).toBe(folder.etag);

    const trashed = await api.POST("/api/v1/folders/{id}/trash", {
      params: { path: { id: folder.id }, header: { "if-match": folder.etag } },
    });
    expect(trashed.response.status).toBe(204);
    const trashedTag = trashed.response.headers.get("etag")!;
    expect(trashedTag).toMatch(/^".+"$/);
    expect(trashedTag).not.toBe(folder.etag);

    const restoreStale = await api.POST("/api/v1/folders/{id}/restore", {
      params: { path: { id: folder.id }, header: { "if-match": folder.etag } },
    });
    expect(restoreStale.response.status).toBe(412);
    expect(restoreStale.response.headers.get("etag")).toBe(trashedTag);
    const deleteStale = await api.DELETE("/api/v1/folders/{id}", { params: { path: { id: folder.id }, header: { "if-match": stale } } });
    expect(deleteStale.response.status).toBe(412);
    const restored = await api.POST("/api/v1/folders/{id}/restore", {
      params: { path: { id: folder.id }, header: { "if-match": trashedTag } },
    });
    expect(restored.response.status).toBe(200);

    const again = await api.POST("/api/v1/folders/{id}/trash", { params: { path: { id: folder.id } } });
    const deleted = await api.DELETE("/api/v1/folders/{id}", {
      params: { path: { id: folder.id }, header: { "if-match": again.response.headers.get("etag")! } },
    });
    expect(deleted.response.status).toBe(200);

    const name = `guarded-${storage}-${randomBytes(3).toString("hex")}.txt`;
    const fileId = await upload(app, owner, name, Buffer.from("one"));
    await upload(app, owner, name, Buffer.from("two"), "replace");
    const current = (await api.GET("/api/v1/files/{id}", { params: { path: { id: fileId } } })).data!;
    const versionId = (await api.GET("/api/v1/files/{id}/versions", { params: { path: { id: fileId } } })).data!.items[0]!.id;
    const path = { id: fileId, versionId };
    const versionStale = await api.POST("/api/v1/files/{id}/versions/{versionId}/restore", {
      params: { path, header: { "if-match": stale } },
    });
    expect(versionStale.response.status).toBe(412);
    const unchanged = await api.GET("/api/v1/files/{id}/content", { params: { path: { id: fileId } }, parseAs: "text" });
    expect(unchanged.data).toBe("two");
    expect((await api.GET("/api/v1/files/{id}", { params: { path: { id: fileId } } })).data!.etag).toBe(current.etag);
    const versionRestored = await api.POST("/api/v1/files/{id}/versions/{versionId}/restore", {
      params: { path, header: { "if-match": current.etag } },
    });
    expect(versionRestored.response.status).toBe(200);
    expect(versionRestored.data!.size).toBe(3);
  });

  it("skips bulk items whose etag is stale with status 412 and changes the others", async () => {
    const { api, storage, rootId } = env();
    const make = async (name: string) =>
      (await api.POST("/api/v1/folders", { body: { parentId: rootId, name: `${name} ${storage}` } })).data!;
    const [fresh, old, bare] = await Promise.all([make("Bulk fresh"), make("Bulk old"), make("Bulk bare")]);
    await api.PATCH("/api/v1/folders/{id}", { params: { path: { id: old.id } }, body: { name: `Bulk old renamed ${storage}` } });
    const trashed = await api.POST("/api/v1/items/bulk", {
      body: {
        operation: "trash",
        items: [
          { kind: "folder", id: fresh.id, etag: fresh.etag },
          { kind: "folder", id: old.id, etag: old.etag },
          { kind: "folder", id: bare.id },
        ],
      },
    });
    expect(trashed.data).toMatchObject({ done: 2, skipped: 1 });
    expect(trashed.data!.results.map((r) => [r.id, r.ok, r.status ?? null])).toEqual([
      [fresh.id, true, null],
      [old.id, false, 412],
      [bare.id, true, null],
    ]);
    expect((await api.GET("/api/v1/folders/{id}", { params: { path: { id: old.id } } })).response.status).toBe(200);
  });

  it("runs a bulk request once per Idempotency-Key and refuses the key for another body", async () => {
    const { api, storage, rootId } = env();
    const source = (await api.POST("/api/v1/folders", { body: { parentId: rootId, name: `Bulk once ${storage}` } })).data!;
    const key = `bulk-${randomBytes(6).toString("hex")}`;
    const body = {
      operation: "copy" as const,
      items: [{ kind: "folder" as const, id: source.id }],
      destinationId: rootId,
      onConflict: "keep-both" as const,
    };
    const first = await api.POST("/api/v1/items/bulk", { params: { header: { "idempotency-key": key } }, body });
    expect(first.data).toMatchObject({ done: 1 });
    expect(first.response.headers.get("idempotent-replayed")).toBeNull();
    const replay = await api.POST("/api/v1/items/bulk", { params: { header: { "idempotency-key": key } }, body });
    expect(replay.response.status).toBe(200);
    expect(replay.response.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.data).toEqual(first.data);
    const other = await api.POST("/api/v1/items/bulk", {
      params: { header: { "idempotency-key": key } },
      body: { ...body, operation: "move" },
    });
    expect(other.response.status).toBe(422);
    expect(other.error!.errors![0]!.pointer).toBe("/header/idempotency-key");
    const listing = await api.GET("/api/v1/folders/{id}/children", { params: { path: { id: rootId }, query: { limit: 500 } } });
    expect(listing.data!.items.filter((item) => item.name.startsWith(`Bulk once ${storage}`))).toHaveLength(2);
  });
};
