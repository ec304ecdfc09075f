import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditActor } from "~/domain/audit/audit.server";
import { shareWithUser } from "~/domain/sharing/user-shares.server";
import type { TokenScope } from "~/domain/tokens/scopes";
import { parseToken } from "~/domain/tokens/token-format";
import { createToken, revokeToken } from "~/domain/tokens/tokens.server";
import { startTestApp, type TestApp } from "./support/app";
import { PASSWORD, registerPerson, type Person } from "./support/people";

/** /dav/ over HTTP: who may do what, and hostile input answered with a 4xx that changes nothing. */

const actor: AuditActor = { actorId: null, actorLabel: "test", ip: null, userAgent: null };
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("WebDAV over HTTP", () => {
  let app: TestApp;
  let ada: Person;
  let bob: Person;
  let write: string;
  let read: string;
  let bobWrite: string;

  const tokenFor = async (person: Person, scopes: TokenScope[]) =>
    (await createToken(app.services, { id: person.id, role: "USER" }, { name: `t-${Math.random()}`, scopes, expiresAt: null }, actor))
      .secret;

  const dav = (path: string, init: RequestInit & { auth?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    const auth = init.auth === undefined ? basic(ada.email, write) : init.auth;
    if (auth) headers.set("authorization", auth);
    return fetch(`${app.url}/dav/${path}`, { ...init, headers, redirect: "manual" });
  };
  const counts = async () => ({
    files: await app.services.prisma.file.count({ where: { ownerId: ada.id, trashedAt: null } }),
    folders: await app.services.prisma.folder.count({ where: { ownerId: ada.id, trashedAt: null } }),
  });

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" }, { RATE_LIMIT_AUTH: "8/1m" });
    ada = await registerPerson(app, "Ada", "ada-dav@example.com");
    bob = await registerPerson(app, "Bob", "bob-dav@example.com");
    write = await tokenFor(ada, ["files:write"]);
    read = await tokenFor(ada, ["files:read"]);
    bobWrite = await tokenFor(bob, ["files:write"]);
  });

  afterAll(async () => {
    await app?.close();
  });

  it("asks for Basic credentials, OPTIONS included, and answers OPTIONS as a class 2 server", async () => {
    const anonymous = await dav("", { method: "OPTIONS", auth: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic realm="Coffer"/);
    const options = await dav("", { method: "OPTIONS" });
    expect(options.status).toBe(200);
    expect(options.headers.get("dav")).toBe("1, 2");
    expect(options.headers.get("ms-author-via")).toBe("DAV");
    expect(options.headers.get("allow")).toContain("PROPFIND");
    expect((await dav("", { method: "PATCH" })).status).toBe(405);
  });

  it("takes an access token as Basic password or Bearer, and refuses account passwords and other emails", async () => {
    expect((await dav("", { method: "PROPFIND", headers: { depth: "0" } })).status).toBe(207);
    expect((await dav("", { method: "PROPFIND", headers: { depth: "0" }, auth: `Bearer ${write}` })).status).toBe(207);
    expect((await dav("", { method: "PROPFIND", headers: { depth: "0" }, auth: basic(ada.email, PASSWORD) })).status).toBe(401);
    expect((await dav("", { method: "PROPFIND", headers: { depth: "0" }, auth: basic(bob.email, write) })).status).toBe(401);
    expect((await dav("", { method: "PROPFIND", headers: { depth: "0" }, auth: "Basic !!!" })).status).toBe(401);
    expect((await dav("", { method: "PROPFIND", headers: { depth: "0" }, auth: "Bearer coffer_pat_nope" })).status).toBe(401);
  });

  it("keeps a read-only token read-only and refuses a revoked one", async () => {
    const auth = basic(ada.email, read);
    expect((await dav("", { method: "PROPFIND", headers: { depth: "1" }, auth })).status).toBe(207);
    const before = await counts();
    expect((await dav("ro.txt", { method: "PUT", body: "x", auth })).status).toBe(403);
    expect((await dav("ro", { method: "MKCOL", auth })).status).toBe(403);
    expect(await counts()).toEqual(before);
    const revocable = await tokenFor(ada, ["files:write"]);
    const id = parseToken(revocable)!.id;
    await revokeToken(app.services, { id: ada.id, role: "USER" }, id, actor);
    expect((await dav("", { method: "PROPFIND", headers: { depth: "0" }, auth: basic(ada.email, revocable) })).status).toBe(401);
  });

  it("writes through the domain: PUT makes a file then a version, MKCOL a folder, DELETE trashes, MOVE and COPY", async () => {
    expect((await dav("notes", { method: "MKCOL" })).status).toBe(201);
    expect((await dav("notes", { method: "MKCOL" })).status).toBe(405);
    expect((await dav("missing/child", { method: "MKCOL" })).status).toBe(409);
    expect((await dav("withbody", { method: "MKCOL", body: "<x/>" })).status).toBe(415);
    expect((await dav("notes/a.txt", { method: "PUT", body: "one" })).status).toBe(201);
    const again = await dav("notes/a.txt", { method: "PUT", body: "two!" });
    expect(again.status).toBe(204);
    const file = await app.services.prisma.file.findFirstOrThrow({ where: { ownerId: ada.id, name: "a.txt" } });
    expect(await app.services.prisma.fileVersion.count({ where: { fileId: file.id } })).toBe(1);
    const got = await dav("notes/a.txt");
    expect(got.status).toBe(200);
    expect(await got.text()).toBe("two!");
    expect(got.headers.get("etag")).toBe(again.headers.get("etag"));
    const ranged = await dav("notes/a.txt", { headers: { range: "bytes=1-2" } });
    expect(ranged.status).toBe(206);
    expect(await ranged.text()).toBe("wo");
    expect((await dav("notes/a.txt", { headers: { "if-none-match": again.headers.get("etag")! } })).status).toBe(304);
    const listing = await dav("notes/", { method: "PROPFIND", headers: { depth: "1" } });
    expect(listing.status).toBe(207);
    expect(await listing.text()).toContain("<D:href>/dav/notes/a.txt</D:href>");
    expect((await dav("notes/", { method: "GET" })).status).toBe(200);

    expect((await dav("notes/a.txt", { method: "COPY", headers: { destination: `${app.url}/dav/notes/b.txt` } })).status).toBe(201);
    expect(
      (await dav("notes/a.txt", { method: "COPY", headers: { destination: `${app.url}/dav/notes/b.txt`, overwrite: "F" } })).status,
    ).toBe(412);
    expect((await dav("notes/b.txt", { method: "MOVE", headers: { destination: "/dav/c.txt" } })).status).toBe(201);
    expect((await dav("c.txt", { method: "DELETE" })).status).toBe(204);
    const trashed = await app.services.prisma.file.findFirstOrThrow({ where: { ownerId: ada.id, name: "c.txt" } });
    expect(trashed.trashedAt).not.toBeNull();
    expect((await dav("c.txt", { method: "DELETE" })).status).toBe(404);
    expect((await dav("", { method: "DELETE" })).status).toBe(403);
  });

  it("refuses an upload over the quota from Content-Length, before storing anything", async () => {
    await app.services.prisma.user.update({ where: { id: ada.id }, data: { quotaBytes: 1000n } });
    try {
      const before = await counts();
      const response = await dav("big.bin", { method: "PUT", body: Buffer.alloc(5000) });
      expect(response.status).toBe(413);
      expect(await counts()).toEqual(before);
    } finally {
      await app.services.prisma.user.update({ where: { id: ada.id }, data: { quotaBytes: null } });
    }
  });

  it("shows only the user's own tree, and others' items only through Shared with me, read-only shares staying read-only", async () => {
    const bobDav = (path: string, init: RequestInit = {}) => dav(path, { ...init, auth: basic(bob.email, bobWrite) });
    expect((await bobDav("notes/a.txt")).status).toBe(404);
    expect((await bobDav("Shared%20with%20me/notes/a.txt")).status).toBe(404);
    const notes = await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId: ada.id, name: "notes" } });
    await shareWithUser(
      app.services,
      { id: ada.id, role: "USER" },
      { kind: "folder", id: notes.id },
      { email: bob.email, permission: "READ" },
      actor,
    );
    const shared = await bobDav("Shared%20with%20me/", { method: "PROPFIND", headers: { depth: "1" } });
    expect(await shared.text()).toContain("/dav/Shared%20with%20me/notes/");
    expect(await (await bobDav("Shared%20with%20me/notes/a.txt")).text()).toBe("two!");
    // The owner's storage figures stay private; the grantee's own are shown at the top.
    const quotaBody = `<D:propfind xmlns:D="DAV:"><D:prop><D:quota-used-bytes/></D:prop></D:propfind>`;
    const ownQuota = await (await bobDav("", { method: "PROPFIND", headers: { depth: "0" }, body: quotaBody })).text();
    expect(ownQuota).toMatch(/<D:quota-used-bytes>\d+<\/D:quota-used-bytes>/);
    const sharedQuota = await (
      await bobDav("Shared%20with%20me/notes/", { method: "PROPFIND", headers: { depth: "0" }, body: quotaBody })
    ).text();
    expect(sharedQuota).toContain("404 Not Found");
    const before = await counts();
    expect((await bobDav("Shared%20with%20me/notes/new.txt", { method: "PUT", body: "x" })).status).toBe(403);
    expect((await bobDav("Shared%20with%20me/notes/a.txt", { method: "DELETE" })).status).toBe(403);
    expect((await bobDav("Shared%20with%20me/x", { method: "MKCOL" })).status).toBe(409);
    expect(await counts()).toEqual(before);
  });

  it("answers hostile input with a 4xx and changes nothing", async () => {
    await dav("box", { method: "MKCOL" });
    const before = await counts();
    const xxe = `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><D:propfind xmlns:D="DAV:"><D:prop><D:x>&x;</D:x></D:prop></D:propfind>`;
    expect((await dav("", { method: "PROPFIND", headers: { depth: "0" }, body: xxe })).status).toBe(400);
    const laughs = `<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="y">&b;</x></D:prop></D:set></D:propertyupdate>`;
    expect((await dav("box", { method: "PROPPATCH", body: laughs })).status).toBe(400);
    expect((await dav("", { method: "PROPFIND", headers: { depth: "0" }, body: "<D:propfind xmlns:D='DAV:'><D:prop>" })).status).toBe(400);
    const huge = `<D:propfind xmlns:D="DAV:"><D:prop>${"<D:getetag/>".repeat(30_000)}</D:prop></D:propfind>`;
    expect((await dav("", { method: "PROPFIND", headers: { depth: "0" }, body: huge })).status).toBe(413);
    const infinite = await dav("", { method: "PROPFIND", headers: { depth: "infinity" } });
    expect(infinite.status).toBe(403);
    expect(await infinite.text()).toContain("propfind-finite-depth");
    expect((await dav("", { method: "PROPFIND", headers: { depth: "2" } })).status).toBe(400);
    expect((await dav("a%00b.txt", { method: "PUT", body: "x" })).status).toBe(400);
    expect((await dav("report%E2%80%AEtxt.exe", { method: "PUT", body: "x" })).status).toBe(400);
    expect((await dav("a%2Fb", { method: "MKCOL" })).status).toBe(400);
    expect((await dav("%E0%A4%A", { method: "MKCOL" })).status).toBe(400);
    expect((await dav("box", { method: "MOVE", headers: { destination: "/dav/box/inner" } })).status).toBe(409);
    expect((await dav("box", { method: "MOVE", headers: { destination: "/dav/box" } })).status).toBe(403);
    expect((await dav("box", { method: "MOVE", headers: { destination: "http://elsewhere.example/dav/x" } })).status).toBe(502);
    expect((await dav("box", { method: "MOVE", headers: { destination: "/dav/../api/v1/x" } })).status).toBe(400);
    expect((await dav("box", { method: "MOVE", headers: { destination: "/api/v1/x" } })).status).toBe(400);
    expect((await dav("box", { method: "MOVE" })).status).toBe(400);
    expect((await dav("box", { method: "MOVE", headers: { destination: "/dav/y", overwrite: "maybe" } })).status).toBe(400);
    expect((await dav("box", { method: "COPY", headers: { destination: "/dav/y", depth: "1" } })).status).toBe(400);
    expect((await dav("box", { method: "PUT", body: "x" })).status).toBe(405);
    expect((await dav("box/x.txt", { method: "PUT", body: "x", headers: { "content-range": "bytes 0-0/1" } })).status).toBe(400);
    expect((await dav("nowhere/x.txt", { method: "PUT", body: "x" })).status).toBe(409);
    expect((await dav("box", { method: "PUT", headers: { if: "(<broken" }, body: "x" })).status).toBe(400);
    expect((await dav("box", { method: "UNLOCK", headers: { "lock-token": "nope" } })).status).toBe(400);
    expect((await dav("box", { method: "UNLOCK", headers: { "lock-token": "<coffer-lock:none>" } })).status).toBe(409);
    expect((await dav("box", { method: "LOCK", body: "<D:lockinfo xmlns:D='DAV:'><D:lockscope/></D:lockinfo>" })).status).toBe(400);
    expect((await dav("box", { method: "LOCK" })).status).toBe(400);
    expect((await dav("", { method: "PROPPATCH", body: "<D:propfind xmlns:D='DAV:'/>" })).status).toBe(400);
    expect((await dav("", { method: "PROPFIND", headers: { depth: "0" }, body: "<x/>" })).status).toBe(400);
    expect(await counts()).toEqual(before);
  });

  it("refuses protected properties in PROPPATCH and applies nothing of it", async () => {
    const body = `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getetag>x</D:getetag><z:color xmlns:z="urn:z">red</z:color></D:prop></D:set></D:propertyupdate>`;
    const response = await dav("box", { method: "PROPPATCH", body });
    expect(response.status).toBe(207);
    const text = await response.text();
    expect(text).toContain("403 Forbidden");
    expect(text).toContain("424 Failed Dependency");
    expect(await app.services.prisma.webdavProperty.count({ where: { ownerId: ada.id } })).toBe(0);
  });

  it("lists a folder of several pages in PROPFIND Depth 1: every member once, in name order, with its dead properties", async () => {
    expect((await dav("many", { method: "MKCOL" })).status).toBe(201);
    const folder = await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId: ada.id, name: "many" } });
    const count = 1203; // more than two of the handler's pages of 500
    // Inserted in the reverse of name order, so that the rows' order on disk is not the listing's.
    await app.services.prisma.$executeRaw`
      INSERT INTO files (id, owner_id, folder_id, name, name_key, size, mime_type, storage_key, created_at, updated_at)
      SELECT ${folder.id} || '-' || i, ${ada.id}, ${folder.id}, 'f' || lpad((${count - 1} - i)::text, 5, '0') || '.txt',
             'f' || lpad((${count - 1} - i)::text, 5, '0') || '.txt', 1, 'text/plain', ${folder.id} || '-key-' || i, now(), now()
      FROM generate_series(0, ${count - 1}) AS i`;
    expect((await dav("many/sub", { method: "MKCOL" })).status).toBe(201);
    const late = "f01100.txt"; // on the third page
    const patch = `<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:bench"><D:set><D:prop><Z:tag>late</Z:tag></D:prop></D:set></D:propertyupdate>`;
    expect((await dav(`many/${late}`, { method: "PROPPATCH", body: patch })).status).toBe(207);
    const listing = await dav("many/", { method: "PROPFIND", headers: { depth: "1" } });
    expect(listing.status).toBe(207);
    const body = await listing.text();
    const hrefs = [...body.matchAll(/<D:href>([^<]+)<\/D:href>/g)].map((m) => m[1]);
    const files = Array.from({ length: count }, (_, i) => `/dav/many/f${String(i).padStart(5, "0")}.txt`);
    expect(hrefs).toEqual(["/dav/many/", "/dav/many/sub/", ...files]);
    const response = body.split("<D:response>").find((r) => r.includes(`<D:href>/dav/many/${late}</D:href>`));
    expect(response).toContain('<tag xmlns="urn:bench">late</tag>');
    expect(body.match(/urn:bench/g)).toHaveLength(1);
  });

  it("locks out an address after repeated failed sign-ins", async () => {
    let last = 0;
    for (let i = 0; i < 10 && last !== 429; i++) {
      last = (await dav("", { method: "PROPFIND", headers: { depth: "0" }, auth: basic(ada.email, "wrong") })).status;
    }
    expect(last).toBe(429);
    const locked = await dav("", { method: "PROPFIND", headers: { depth: "0" } });
    expect(locked.status).toBe(429);
    expect(locked.headers.get("retry-after")).toBeTruthy();
  });
});
