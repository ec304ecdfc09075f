// Coffer behind a reverse proxy that rewrites Host (nginx `proxy_set_header Host $upstream`,
// Kubernetes ingresses, Fly): the browser is on APP_URL, Coffer sees the upstream's name. Real
// HTTP requests through the whole app, carrying the rewritten Host as such a proxy sends them.
import { beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { behindProxy } from "./support/proxy";

const APP_URL = "https://files.example.test";
const UPSTREAM = "coffer-upstream:3000";
const EVIL = "https://evil.example";
/** What a browser on APP_URL sends, and what a TLS-terminating proxy adds. */
const BROWSER = { origin: APP_URL, "sec-fetch-site": "same-origin", "x-forwarded-proto": "https" };

describe("behind a proxy that rewrites Host (APP_URL set, TRUST_PROXY loopback)", () => {
  let app: TestApp;
  let browser: TestClient;
  let csrf: string;

  /** A second browser's requests, through the same proxy, with other headers. */
  const via = (headers: Record<string, string>) => new TestClient(app.url, behindProxy(UPSTREAM, headers));

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" }, { APP_URL, TRUST_PROXY: "loopback" });
    browser = new TestClient(app.url, behindProxy(UPSTREAM, BROWSER));
    // Forms carry the token as their first field, the way they are sent without JavaScript.
    browser.sendCsrfToken = false;
    csrf = (await browser.getCsrfToken())!;
    expect(csrf).toBeTruthy();
  });

  const folderNamed = (name: string) => app.services.prisma.folder.findFirst({ where: { name } });

  it("serves pages, with the websocket policy on APP_URL's host", async () => {
    const page = await browser.get("/login");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("connect-src 'self' wss://files.example.test;");
    expect(await page.text()).toContain('name="_csrf"');
  });

  it("runs form actions: registration, then creating a folder, with the token as a form field", async () => {
    const registered = await browser.postForm("/register", {
      _csrf: csrf,
      name: "Petra Proxy",
      email: "petra@example.com",
      password: "correct horse battery staple",
    });
    expect(registered.status).toBe(302);
    expect(registered.headers.get("location")).toBe("/files");
    expect([...browser.cookies.keys()]).toContain("__Host-coffer_session");
    // Registering signs in, which renews the token.
    const before = csrf;
    csrf = (await browser.getCsrfToken())!;
    expect(csrf).not.toBe(before);

    const created = await browser.postForm("/files", { _csrf: csrf, intent: "create-folder", name: "Through the proxy" });
    expect(created.status).toBe(200);
    expect(await created.text()).toContain("Created folder “Through the proxy”.");
    expect(await folderNamed("Through the proxy")).not.toBeNull();
  });

  it("runs an action sent by the app's scripts (single fetch, token in the header)", async () => {
    const response = await browser.request("/files.data", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-csrf-token": csrf },
      body: new URLSearchParams({ intent: "create-folder", name: "Through the proxy with JS" }).toString(),
    });
    expect(response.status).toBe(200);
    expect(await folderNamed("Through the proxy with JS")).not.toBeNull();
  });

  it("streams a form upload (multipart, token first)", async () => {
    const form = new FormData();
    form.append("_csrf", csrf);
    form.append("file", new Blob(["hello through a proxy"]), "proxied.txt");
    const response = await browser.postMultipart("/files", form);
    expect(response.status).toBe(200);
    expect(await app.services.prisma.file.count({ where: { name: "proxied.txt" } })).toBe(1);
  });

  it("links a refused form back to the page on APP_URL it came from", async () => {
    const response = await browser.request("/files", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", referer: `${APP_URL}/files?sort=name` },
      body: new URLSearchParams({ _csrf: "not-the-token", intent: "create-folder", name: "Forged" }).toString(),
    });
    expect(response.status).toBe(403);
    expect(await response.text()).toContain(`href="${APP_URL}/files?sort=name"`);
  });

  it("still refuses state changes from other sites, and from the rewritten Host's name", async () => {
    const foreign: Array<Record<string, string>> = [
      { origin: EVIL },
      { origin: APP_URL, "sec-fetch-site": "cross-site" },
      { origin: `http://${UPSTREAM}` },
      { origin: `https://${UPSTREAM}` },
      { origin: "null" },
    ];
    for (const headers of foreign) {
      const other = via({ ...headers, "x-forwarded-proto": "https" });
      other.cookies = new Map(browser.cookies);
      other.sendCsrfToken = false;
      const response = await other.postForm("/files", { _csrf: csrf, intent: "create-folder", name: "From elsewhere" });
      expect(response.status, JSON.stringify(headers)).toBe(403);
    }
    expect(await folderNamed("From elsewhere")).toBeNull();
  });

  describe("tus uploads", () => {
    const metadata = `filename ${Buffer.from("tus-proxied.txt").toString("base64")}`;

    it("answers with a Location on APP_URL's path, and the upload completes there", async () => {
      const created = await browser.request("/api/uploads", {
        method: "POST",
        headers: { "tus-resumable": "1.0.0", "upload-length": "11", "upload-metadata": metadata },
      });
      expect(created.status).toBe(201);
      const location = created.headers.get("location")!;
      expect(location).not.toContain(UPSTREAM);
      // The browser resolves it against the endpoint it used, on APP_URL.
      const resolved = new URL(location, `${APP_URL}/api/uploads`);
      expect(resolved.origin).toBe(APP_URL);
      expect(resolved.pathname).toMatch(/^\/api\/uploads\/[^/]+$/);

      const patched = await browser.request(resolved.pathname, {
        method: "PATCH",
        headers: { "tus-resumable": "1.0.0", "upload-offset": "0", "content-type": "application/offset+octet-stream" },
        body: "hello proxy",
      });
      expect(patched.status).toBe(204);
      expect(patched.headers.get("upload-offset")).toBe("11");
      expect(await app.services.prisma.file.count({ where: { name: "tus-proxied.txt" } })).toBe(1);
    });

    it("refuses an upload started from another site", async () => {
      const other = via({ origin: EVIL, "x-forwarded-proto": "https" });
      other.cookies = new Map(browser.cookies);
      const created = await other.request("/api/uploads", {
        method: "POST",
        headers: { "tus-resumable": "1.0.0", "upload-length": "5", "upload-metadata": metadata },
      });
      expect(created.status).toBe(403);
    });
  });

  describe("Socket.IO", () => {
    const handshake = (client: TestClient) => client.get("/socket.io/?EIO=4&transport=polling");

    it("accepts the handshake of a signed-in browser on APP_URL", async () => {
      const response = await handshake(browser);
      expect(response.status).toBe(200);
      expect(await response.text()).toMatch(/^0\{"sid":/);
    });

    it("refuses handshakes from another site or from the rewritten Host's name", async () => {
      for (const origin of [EVIL, `http://${UPSTREAM}`]) {
        const other = via({ origin, "x-forwarded-proto": "https" });
        other.cookies = new Map(browser.cookies);
        const response = await handshake(other);
        expect(response.status, origin).toBe(403);
        expect(await response.text()).toContain("cross-origin request refused");
      }
    });
  });
});

describe("without APP_URL, the request's Host is the origin", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
  });

  it("runs actions whose Origin matches Host, ignoring an X-Forwarded-Host nobody vouches for", async () => {
    const host = new URL(app.url).host;
    const client = new TestClient(app.url, behindProxy(host, { origin: app.url, "x-forwarded-host": "elsewhere.example" }));
    const registered = await client.register("Otto Origin", "otto@example.com");
    expect(registered.status).toBe(302);
    const refused = new TestClient(app.url, behindProxy(host, { origin: "http://elsewhere.example" }));
    expect((await refused.postForm("/login", { email: "otto@example.com", password: "x" })).status).toBe(403);
  });

  it("answers 400 to a Host header that is not a host", async () => {
    const response = await behindProxy("bad host/with path")(`${app.url}/login`);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("Host header");
  });
});

describe("without APP_URL, behind a trusted proxy that rewrites Host (TRUST_PROXY loopback)", () => {
  const PUBLIC = "https://files.example.test";
  /** What such a proxy passes on: the browser's host and scheme in X-Forwarded-Host/-Proto. */
  const FORWARDED = { "x-forwarded-host": "files.example.test", "x-forwarded-proto": "https" };
  let app: TestApp;
  let browser: TestClient;

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" }, { TRUST_PROXY: "loopback" });
    browser = new TestClient(app.url, behindProxy(UPSTREAM, { ...FORWARDED, origin: PUBLIC, "sec-fetch-site": "same-origin" }));
  });

  it("serves pages with the websocket policy on the forwarded host", async () => {
    const page = await browser.get("/login");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("connect-src 'self' wss://files.example.test;");
  });

  it("runs form actions, tus uploads and the Socket.IO handshake from the forwarded origin", async () => {
    expect((await browser.register("Fiona Forwarded", "fiona@example.com")).status).toBe(302);
    const created = await browser.postForm("/files", { intent: "create-folder", name: "Forwarded" });
    expect(created.status).toBe(200);
    expect(await app.services.prisma.folder.count({ where: { name: "Forwarded" } })).toBe(1);

    const upload = await browser.request("/api/uploads", {
      method: "POST",
      headers: {
        "tus-resumable": "1.0.0",
        "upload-length": "5",
        "upload-metadata": `filename ${Buffer.from("fwd.txt").toString("base64")}`,
      },
    });
    expect(upload.status).toBe(201);
    const location = upload.headers.get("location")!;
    expect(location).not.toContain(UPSTREAM);
    const patched = await browser.request(new URL(location, `${PUBLIC}/api/uploads`).pathname, {
      method: "PATCH",
      headers: { "tus-resumable": "1.0.0", "upload-offset": "0", "content-type": "application/offset+octet-stream" },
      body: "hello",
    });
    expect(patched.status).toBe(204);

    const handshake = await browser.get("/socket.io/?EIO=4&transport=polling");
    expect(handshake.status).toBe(200);
  });

  it("still refuses other sites, and the upstream's own name, as the origin", async () => {
    for (const origin of ["https://evil.example", `http://${UPSTREAM}`]) {
      const other = new TestClient(app.url, behindProxy(UPSTREAM, { ...FORWARDED, origin }));
      other.cookies = new Map(browser.cookies);
      const response = await other.postForm("/files", { intent: "create-folder", name: "Elsewhere" });
      expect(response.status, origin).toBe(403);
    }
    expect(await app.services.prisma.folder.count({ where: { name: "Elsewhere" } })).toBe(0);
  });
});

describe("without APP_URL, X-Forwarded-Host from a peer TRUST_PROXY does not name", () => {
  let app: TestApp;
  beforeAll(async () => {
    // The test client is on loopback, which this list leaves out.
    app = await startTestApp({ storage: "local", cache: "memory" }, { TRUST_PROXY: "10.0.0.0/8" });
  });

  it("is ignored: it cannot make another site's page an origin, and Host stays the origin", async () => {
    const host = new URL(app.url).host;
    const spoofed = new TestClient(app.url, behindProxy(host, { "x-forwarded-host": "evil.example", origin: "https://evil.example" }));
    expect(
      (await spoofed.postForm("/register", { name: "Eve", email: "eve@example.com", password: "correct horse battery staple" })).status,
    ).toBe(403);
    const page = await spoofed.get("/login");
    expect(page.headers.get("content-security-policy")).toContain(`connect-src 'self' ws://${host};`);
    expect(page.headers.get("content-security-policy")).not.toContain("evil.example");
    expect(await app.services.prisma.user.count()).toBe(0);
  });
});

describe("without APP_URL, behind an untrusted TLS proxy that passes Host with :443", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
  });

  it("runs form actions (no 500): the origin is https:// on that host", async () => {
    // What the browser sends to https://files.example.test, passed on unchanged over plain HTTP.
    const browser = new TestClient(
      app.url,
      behindProxy("files.example.test:443", { origin: "https://files.example.test", "sec-fetch-site": "same-origin" }),
    );
    const registered = await browser.register("Tilda TLS", "tilda@example.com");
    expect(registered.status).toBe(302);
    const created = await browser.postForm("/files", { intent: "create-folder", name: "Over TLS" });
    expect(created.status).toBe(200);
    const page = await browser.get("/files");
    expect(page.headers.get("content-security-policy")).toContain("connect-src 'self' wss://files.example.test;");
  });
});
