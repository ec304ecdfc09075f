import { beforeAll, describe, expect, it } from "vitest";
import type http from "node:http";
import { isSameOriginRequest } from "~/server/origin-check.server";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

const EVIL = "https://evil.example";
/** APP_URL of the app below. */
const APP_ORIGIN = "http://files.example.test";

describe("isSameOriginRequest", () => {
  const request = (headers: Record<string, string>) =>
    ({ headers: { host: "10.0.0.5:3000", ...headers } }) as unknown as http.IncomingMessage;
  const APP_URL = "https://files.example.test";

  it.each([
    [{ origin: APP_URL }, true],
    // With APP_URL, Host may be a proxy's rewrite: it is no evidence of the page's origin.
    [{ origin: "http://10.0.0.5:3000" }, false],
    [{ origin: APP_URL, host: "coffer-upstream:3000" }, true],
    [{ origin: "http://coffer-upstream:3000", host: "coffer-upstream:3000" }, false],
    [{}, true],
    [{ "sec-fetch-site": "same-origin" }, true],
    [{ "sec-fetch-site": "none" }, true],
    [{ origin: APP_ORIGIN }, false],
    [{ origin: "https://files.example.test:8443" }, false],
    [{ origin: "https://evil.example" }, false],
    [{ origin: "null" }, false],
    [{ origin: "not a url" }, false],
    [{ origin: APP_URL, "sec-fetch-site": "cross-site" }, false],
  ] as Array<[Record<string, string>, boolean]>)("%j → %s", (headers, expected) => {
    expect(isSameOriginRequest(request(headers), { appUrl: APP_URL, trustProxy: false })).toBe(expected);
  });

  it.each([
    [{ origin: "http://10.0.0.5:3000" }, true],
    [{ origin: "https://10.0.0.5:3000" }, true],
    [{ origin: APP_ORIGIN, host: "Files.Example.Test:80" }, true],
    [{ origin: "http://10.0.0.5:3001" }, false],
    [{ origin: "http://10.0.0.5:3000", host: "10.0.0.5:3000/evil" }, false],
    [{ origin: "http://10.0.0.5" }, false],
    [{ origin: APP_URL }, false],
    [{ origin: "null" }, false],
  ] as Array<[Record<string, string>, boolean]>)("without APP_URL, the request's Host is the origin: %j → %s", (headers, expected) => {
    expect(isSameOriginRequest(request(headers), { appUrl: undefined, trustProxy: false })).toBe(expected);
  });

  const fromPeer = (address: string, headers: Record<string, string>) =>
    ({ headers: { host: "coffer-upstream:3000", ...headers }, socket: { remoteAddress: address } }) as unknown as http.IncomingMessage;
  const forwarded = { "x-forwarded-host": "files.example.test", origin: "https://files.example.test" };

  it.each([
    ["a trusted proxy's X-Forwarded-Host is the host", fromPeer("127.0.0.1", forwarded), ["loopback"], true],
    [
      "its first value, when proxies appended",
      fromPeer("127.0.0.1", { ...forwarded, "x-forwarded-host": "files.example.test, coffer-upstream:3000" }),
      ["loopback"],
      true,
    ],
    ["then Host is not", fromPeer("127.0.0.1", { ...forwarded, origin: "http://coffer-upstream:3000" }), ["loopback"], false],
    ["a hop count trusts the peer", fromPeer("10.1.2.3", forwarded), 1, true],
    ["an untrusted peer's X-Forwarded-Host counts for nothing", fromPeer("203.0.113.5", forwarded), ["loopback"], false],
    ["nor with TRUST_PROXY off", fromPeer("127.0.0.1", forwarded), false, false],
    [
      "an untrusted peer cannot vouch for another site",
      fromPeer("203.0.113.5", { "x-forwarded-host": "evil.example", origin: "https://evil.example" }),
      ["10.0.0.0/8"],
      false,
    ],
  ] as Array<[string, http.IncomingMessage, false | number | string[], boolean]>)(
    "without APP_URL, %s",
    (_label, req, trustProxy, expected) => {
      expect(isSameOriginRequest(req, { appUrl: undefined, trustProxy })).toBe(expected);
    },
  );
});

describe("Origin and Sec-Fetch-Site checks on state-changing requests", () => {
  let app: TestApp;
  let user: TestClient;
  let rootId: string;

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" }, { APP_URL: APP_ORIGIN });
    user = new TestClient(app.url);
    await user.register("Bob User", "bob@example.com");
    const owner = await app.services.prisma.user.findUniqueOrThrow({ where: { email: "bob@example.com" } });
    rootId = (await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId: owner.id, parentId: null } })).id;
  });

  const createFolder = (name: string, headers: Record<string, string>) =>
    user.request("/files", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "text/html", ...headers },
      body: new URLSearchParams({ intent: "create-folder", name }).toString(),
    });
  const folderExists = async (name: string) => (await app.services.prisma.folder.count({ where: { name } })) > 0;

  it("refuses a form posted from another site with a clear 403 page, and changes nothing", async () => {
    const response = await createFolder("From evil", { origin: EVIL, "sec-fetch-site": "cross-site" });
    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    const page = await response.text();
    expect(page).toContain("<h1>Request refused</h1>");
    expect(page).toContain("came from another website");
    expect(page).toContain('href="/files"');
    expect(await folderExists("From evil")).toBe(false);
  });

  it("refuses a foreign Origin alone, Sec-Fetch-Site cross-site alone, and Origin null", async () => {
    expect((await createFolder("Origin only", { origin: EVIL })).status).toBe(403);
    expect((await createFolder("Fetch site only", { "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect((await createFolder("Null origin", { origin: "null" })).status).toBe(403);
    // Same host name, another port: another origin.
    expect((await createFolder("Other port", { origin: "http://files.example.test:8080" })).status).toBe(403);
    for (const name of ["Origin only", "Fetch site only", "Null origin", "Other port"]) expect(await folderExists(name)).toBe(false);
  });

  it("answers non-HTML clients in plain text", async () => {
    const response = await user.request("/logout", { method: "POST", headers: { origin: EVIL, accept: "application/json" } });
    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await response.text()).toContain("came from another website");
    // Still signed in: the refused logout did nothing.
    expect((await user.get("/files")).status).toBe(200);
  });

  it("accepts posts from APP_URL's origin, whatever the Host, and from clients that send no Origin", async () => {
    expect((await createFolder("Via APP_URL", { origin: APP_ORIGIN })).status).toBe(200);
    expect((await createFolder("No origin", {})).status).toBe(200);
    expect((await createFolder("Same site, right origin", { origin: APP_ORIGIN, "sec-fetch-site": "same-site" })).status).toBe(200);
    for (const name of ["Via APP_URL", "No origin", "Same site, right origin"]) expect(await folderExists(name)).toBe(true);
  });

  it("refuses posts whose Origin is only the request's Host: with APP_URL set, that is not Coffer's origin", async () => {
    expect((await createFolder("Via own host", { origin: app.url })).status).toBe(403);
    expect(await folderExists("Via own host")).toBe(false);
  });

  it("lets cross-site GETs through: links from other sites must keep working", async () => {
    const response = await user.get("/files", { origin: EVIL, "sec-fetch-site": "cross-site" });
    expect(response.status).toBe(200);
  });

  describe("tus uploads", () => {
    const metadata = () => `filename ${Buffer.from("hello.txt").toString("base64")},folderId ${Buffer.from(rootId).toString("base64")}`;
    const create = (headers: Record<string, string>) =>
      user.request("/api/uploads", {
        method: "POST",
        headers: { "tus-resumable": "1.0.0", "upload-length": "5", "upload-metadata": metadata(), ...headers },
      });

    it("refuses creating, continuing and deleting an upload from another origin", async () => {
      expect((await create({ origin: EVIL })).status).toBe(403);
      expect((await create({ "sec-fetch-site": "cross-site" })).status).toBe(403);
      expect(await app.services.prisma.upload.count()).toBe(0);

      const created = await create({ origin: APP_ORIGIN });
      expect(created.status).toBe(201);
      const location = new URL(created.headers.get("location")!, app.url).pathname;
      const patch = (headers: Record<string, string>) =>
        user.request(location, {
          method: "PATCH",
          headers: { "tus-resumable": "1.0.0", "upload-offset": "0", "content-type": "application/offset+octet-stream", ...headers },
          body: "hello",
        });
      expect((await patch({ origin: EVIL })).status).toBe(403);
      expect((await user.request(location, { method: "DELETE", headers: { "tus-resumable": "1.0.0", origin: EVIL } })).status).toBe(403);
      expect((await patch({ origin: APP_ORIGIN })).status).toBe(204);
      expect(await app.services.prisma.file.count({ where: { name: "hello.txt" } })).toBe(1);
    });
  });

  describe("Socket.IO handshakes", () => {
    const handshake = (headers: Record<string, string>) => fetch(`${app.url}/socket.io/?EIO=4&transport=polling`, { headers });

    it("accepts a same-origin browser with a session", async () => {
      const response = await handshake({ origin: APP_ORIGIN, cookie: user.cookieHeader });
      expect(response.status).toBe(200);
      expect(await response.text()).toMatch(/^0\{"sid":/);
    });

    it("refuses another origin even with a valid session", async () => {
      for (const headers of [{ origin: EVIL }, { "sec-fetch-site": "cross-site" }] as Record<string, string>[]) {
        const response = await handshake({ ...headers, cookie: user.cookieHeader });
        expect(response.status).toBe(403);
        expect(await response.text()).toContain("cross-origin request refused");
      }
    });

    it("refuses a handshake without a valid session", async () => {
      for (const cookie of ["", "coffer_session=forged.value"]) {
        const response = await handshake({ origin: APP_ORIGIN, cookie });
        expect(response.status).toBe(403);
        expect(await response.text()).toContain("sign in first");
      }
    });
  });
});
