import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { contentIndexingSettled } from "~/domain/search/content-index.server";
import { type ContractSuite, upload } from "./env";

/** A word no other test uses, of letters only (digits would split it into several words). */
const uniqueWord = (prefix: string) => prefix + [...randomBytes(8)].map((byte) => String.fromCharCode(97 + (byte % 26))).join("");

/** Search: names and contents, the filters, paging, folder paths, and what others shared with you. */
export const searchSuite: ContractSuite = (env) => {
  it("finds names and contents with their folder path, filters them and pages your own results", async () => {
    const { api, otherApi, app, owner, rootId } = env();
    const word = uniqueWord("zebra");
    const folder = (await api.POST("/api/v1/folders", { body: { parentId: rootId, name: `${word} folder` } })).data!;
    const notes = await upload(app, owner, `${word} notes.txt`, Buffer.from("plain words"));
    const photo = await upload(app, owner, `${word} photo.png`, randomBytes(5000));
    const inside = await upload(app, owner, `${word} inside.txt`, Buffer.from("x"));
    // Content indexing writes the document as uploaded: let it finish before the move.
    await contentIndexingSettled();
    await api.PATCH("/api/v1/files/{id}", { params: { path: { id: inside } }, body: { parentId: folder.id } });
    const byContent = await upload(app, owner, "minutes.txt", Buffer.from(`the ${word} was discussed at length`));
    await contentIndexingSettled();

    const search = (query: Record<string, string | number>) => api.GET("/api/v1/search", { params: { query: { q: word, ...query } } });
    const all = await search({});
    expect(all.response.status).toBe(200);
    expect(all.data!.total).toBe(5);
    expect(all.data!.nextOffset).toBeNull();
    const names = all.data!.items.map((item) => item.id);
    expect(new Set(names)).toEqual(new Set([folder.id, notes, photo, inside, byContent]));
    // Name matches first; the content match says where the words are.
    expect(all.data!.items.at(-1)).toMatchObject({ id: byContent, matchedBy: "content" });
    const snippet = all.data!.items.at(-1)!.snippet!;
    expect(snippet.some((part) => part.match)).toBe(true);
    expect(snippet.map((part) => part.text).join("")).toContain(word);
    const found = all.data!.items.find((item) => item.id === inside)!;
    expect(found).toMatchObject({ kind: "file", folderId: folder.id, size: 1 });
    expect(found.path).toEqual([
      { id: rootId, name: "My files" },
      { id: folder.id, name: `${word} folder` },
    ]);

    const ids = async (query: Record<string, string | number>) => {
      const result = await search(query);
      expect(result.response.status, JSON.stringify(query)).toBe(200);
      return new Set(result.data!.items.map((item) => item.id));
    };
    expect(await ids({ kind: "folder" })).toEqual(new Set([folder.id]));
    expect(await ids({ mimeType: "image/" })).toEqual(new Set([photo]));
    expect(await ids({ mimeType: "text/plain" })).toEqual(new Set([notes, inside, byContent]));
    expect(await ids({ minSize: 1000 })).toEqual(new Set([photo]));
    expect(await ids({ maxSize: 11 })).toEqual(new Set([notes, inside]));
    expect(await ids({ folderId: folder.id })).toEqual(new Set([inside]));
    expect(await ids({ updatedBefore: "2000-01-01T00:00:00Z" })).toEqual(new Set());
    expect(await ids({ updatedFrom: new Date(Date.now() - 3_600_000).toISOString(), kind: "file" })).toEqual(
      new Set([notes, photo, inside, byContent]),
    );

    const first = await search({ limit: 2 });
    expect(first.data!.items).toHaveLength(2);
    expect(first.data!.nextOffset).toBe(2);
    const rest = await search({ limit: 2, offset: 2 });
    const last = await search({ limit: 2, offset: 4 });
    expect(last.data!.nextOffset).toBeNull();
    const paged = [...first.data!.items, ...rest.data!.items, ...last.data!.items].map((item) => item.id);
    expect(paged).toEqual(names);

    // Someone else finds none of it, and may not search inside the folder.
    const theirs = await otherApi.GET("/api/v1/search", { params: { query: { q: word } } });
    expect(theirs.data).toMatchObject({ items: [], total: 0, shared: { items: [], total: 0 } });
    const notTheirs = await otherApi.GET("/api/v1/search", { params: { query: { q: word, folderId: folder.id } } });
    expect(notTheirs.response.status).toBe(404);
  });

  it("finds what others shared with you, with the path from the shared folder down", async () => {
    const { api, otherApi, app, owner, rootId, otherEmail } = env();
    const word = uniqueWord("okapi");
    const shared = (await api.POST("/api/v1/folders", { body: { parentId: rootId, name: `${word} team` } })).data!;
    const sub = (await api.POST("/api/v1/folders", { body: { parentId: shared.id, name: `${word} sub` } })).data!;
    const deep = await upload(app, owner, `${word} deep.txt`, Buffer.from("d"));
    await contentIndexingSettled();
    await api.PATCH("/api/v1/files/{id}", { params: { path: { id: deep } }, body: { parentId: sub.id } });
    await upload(app, owner, `${word} private.txt`, Buffer.from("p"));
    const share = await api.POST("/api/v1/user-shares", { body: { item: { kind: "folder", id: shared.id }, email: otherEmail } });
    expect(share.response.status).toBe(201);

    const result = await otherApi.GET("/api/v1/search", { params: { query: { q: word } } });
    expect(result.data!.items).toEqual([]);
    const hits = result.data!.shared.items;
    expect(new Set(hits.map((hit) => hit.id))).toEqual(new Set([shared.id, sub.id, deep]));
    const found = hits.find((hit) => hit.id === deep)!;
    expect(found.owner).toEqual({ name: "Ada Api" });
    // The owner's folders above the share stay hidden.
    expect(found.path).toEqual([
      { id: shared.id, name: `${word} team` },
      { id: sub.id, name: `${word} sub` },
    ]);
    const below = await otherApi.GET("/api/v1/search", { params: { query: { q: word, folderId: sub.id } } });
    expect(new Set(below.data!.shared.items.map((hit) => hit.id))).toEqual(new Set([deep]));
    const files = await otherApi.GET("/api/v1/search", { params: { query: { q: word, kind: "file" } } });
    expect(files.data!.shared.items.map((hit) => hit.id)).toEqual([deep]);
  });

  it("refuses bad search parameters with 422 problems", async () => {
    const { owner, validator, rootId } = env();
    const cases: Array<[string, string]> = [
      ["", "/query/q"],
      ["q=", "/query/q"],
      [`q=${"a".repeat(201)}`, "/query/q"],
      ["q=a&surprise=1", "/query/surprise"],
      ["q=a&kind=disk", "/query/kind"],
      ["q=a&mimeType=image", "/query/mimeType"],
      ["q=a&minSize=-1", "/query/minSize"],
      ["q=a&minSize=ten", "/query/minSize"],
      ["q=a&minSize=10&maxSize=5", "/query/minSize"],
      ["q=a&updatedFrom=yesterday", "/query/updatedFrom"],
      ["q=a&updatedFrom=2026-02-01T00:00:00Z&updatedBefore=2026-01-01T00:00:00Z", "/query/updatedFrom"],
      ["q=a&folderId=a%00b", "/query/folderId"],
      ["q=a&offset=5000", "/query/offset"],
      ["q=a&limit=0", "/query/limit"],
      ["q=a&q=b", "/query/q"],
    ];
    for (const [query, pointer] of cases) {
      const response = await owner.request(`/api/v1/search?${query}`);
      await validator.check("GET", "/api/v1/search", response);
      expect(response.status, query).toBe(422);
      const body = await response.json();
      expect(
        body.errors.map((e: { pointer: string }) => e.pointer),
        query,
      ).toContain(pointer);
    }
    const missing = await owner.request(`/api/v1/search?q=a&folderId=${rootId.replace(/.$/, "_")}`);
    await validator.check("GET", "/api/v1/search", missing);
    expect(missing.status).toBe(404);
  });
};
