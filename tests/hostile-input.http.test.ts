import http from "node:http";
import { beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { captureStderr } from "./support/stderr";

/**
 * Hostile requests found by probing the app as an attacker would: each once answered 500. Every
 * one must get a clear 4xx and change nothing.
 */

const base64 = (value: string) => Buffer.from(value).toString("base64");

/** A request fetch would refuse to send (TRACE, a forged Host, a body cut short): plain node:http. */
function rawRequest(
  app: TestApp,
  options: { method: string; path: string; headers?: Record<string, string | number>; body?: string | Buffer },
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const url = new URL(app.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: options.method,
        path: options.path,
        headers: options.headers,
        setHost: !options.headers?.host,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), headers: res.headers }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

describe("hostile input gets a clear 4xx, never a 500", () => {
  let app: TestApp;
  let owner: TestClient;
  let folderId: string;

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    owner = new TestClient(app.url);
    await owner.register("Olivia Owner", "olivia@example.com");
    const created = await owner.postForm("/files", { intent: "create-folder", name: "Projects", open: "1" });
    expect(created.status).toBe(302);
    folderId = created.headers.get("location")!.split("/").pop()!;
  });

  describe("ids", () => {
    for (const path of [
      "/files/%00",
      "/download/%00",
      "/view/%00",
      "/thumbnail/%00",
      "/details/file/%00",
      "/download/version/%00",
      "/details/folder/a%00b",
    ]) {
      it(`GET ${path} is not found`, async () => {
        const response = await owner.get(path);
        expect(response.status).toBe(404);
        expect(await response.text()).not.toMatch(/at .*\.(js|ts):\d+/);
      });
    }

    it("refuses a NUL byte in the tus folderId metadata with 400 and says why", async () => {
      const response = await owner.request("/api/uploads", {
        method: "POST",
        headers: {
          "Tus-Resumable": "1.0.0",
          "Upload-Length": "3",
          "Upload-Metadata": `filename ${base64("a.txt")},folderId ${base64("\u0000")}`,
        },
      });
      expect(response.status).toBe(400);
      expect(await response.text()).toMatch(/folder/i);
    });

    it("bounds every tus metadata value before it is used", async () => {
      for (const [key, value, message] of [
        ["filetype", "x".repeat(300), "The file type is too long."],
        ["relativePath", "a/".repeat(3000), "The folder path of this upload is too long."],
        ["folderId", "a".repeat(300), "The folder id of this upload (folderId) is not valid."],
      ]) {
        const response = await owner.request("/api/uploads", {
          method: "POST",
          headers: {
            "Tus-Resumable": "1.0.0",
            "Upload-Length": "3",
            "Upload-Metadata": `filename ${base64("a.txt")},${key} ${base64(value)}`,
          },
        });
        expect(response.status, key).toBe(400);
        expect(await response.text()).toContain(message);
      }
    });
  });

  it("refuses control characters in the account name on /register with the form's message", async () => {
    const client = new TestClient(app.url);
    const response = await client.postForm("/register", {
      name: "Eve\u0000l",
      email: "eve@example.com",
      password: "correct horse battery staple",
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("Name cannot contain control characters.");
    expect(await app.services.prisma.user.count({ where: { email: "eve@example.com" } })).toBe(0);
  });

  it("answers a Host with an invalid port with 400, not a broken page", async () => {
    const response = await rawRequest(app, { method: "GET", path: "/login", headers: { host: "127.0.0.1:99999" } });
    expect(response.status).toBe(400);
    expect(response.body).not.toContain("Invalid URL");
  });

  it("answers TRACE on pages with 405, without a stack trace", async () => {
    for (const method of ["TRACE"]) {
      const response = await rawRequest(app, {
        method,
        path: "/files",
        headers: { cookie: owner.cookieHeader, "x-csrf-token": (await owner.getCsrfToken())! },
      });
      expect(response.status, method).toBe(405);
      expect(response.body).not.toMatch(/at .+\.(js|ts):\d+/);
    }
  });

  it("answers a method tus does not support with 405", async () => {
    for (const path of ["/api/uploads/abc123", "/api/uploads"]) {
      const response = await rawRequest(app, { method: "TRACE", path, headers: { cookie: owner.cookieHeader, "tus-resumable": "1.0.0" } });
      expect(response.status, path).toBe(405);
    }
  });

  for (const contentType of ["application/json", "text/plain"]) {
    it(`refuses POST /files with ${contentType} with 415 and says why`, async () => {
      const response = await owner.request("/files", {
        method: "POST",
        headers: { "content-type": contentType },
        body: contentType === "application/json" ? '{"intent":"create-folder"}' : "intent=create-folder",
      });
      expect(response.status).toBe(415);
      expect(await response.text()).toContain("form");
    });
  }

  it("refuses a multipart body cut short (no closing boundary) with 400", async () => {
    const boundary = "----coffer-test-boundary";
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.txt"\r\nContent-Type: text/plain\r\n\r\nsome bytes and then nothing`;
    const response = await rawRequest(app, {
      method: "POST",
      path: `/files/${folderId}`,
      headers: {
        cookie: owner.cookieHeader,
        "x-csrf-token": (await owner.getCsrfToken())!,
        "content-type": `multipart/form-data; boundary=${boundary}`,
        "content-length": Buffer.byteLength(body),
      },
      body,
    });
    expect(response.status).toBe(400);
    expect(await app.services.prisma.file.count({ where: { name: "cut.txt" } })).toBe(0);
  });

  it("refuses a multipart part whose headers do not parse with 400", async () => {
    const boundary = "----coffer-test-boundary";
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a\u0000&%="\r\n\r\nbytes\r\n--${boundary}--\r\n`;
    const response = await rawRequest(app, {
      method: "POST",
      path: `/files/${folderId}`,
      headers: {
        cookie: owner.cookieHeader,
        "x-csrf-token": (await owner.getCsrfToken())!,
        "content-type": `multipart/form-data; boundary=${boundary}`,
        "content-length": Buffer.byteLength(body),
      },
      body,
    });
    expect(response.status).toBe(400);
  });

  it("refuses a 1,000-character confirmation code with the form's message", async () => {
    expect((await owner.postForm("/settings/security/mfa", { intent: "start" })).status).toBe(302);
    const response = await owner.postForm("/settings/security/mfa", { intent: "confirm", code: "1".repeat(1000) });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("Enter the 6-digit code from your app.");
  });

  describe("names with bidirectional overrides and invisible characters", () => {
    const SPOOFS = [
      "report\u202Etxt.exe",
      "a\u2066b",
      "a\u2067b",
      "a\u2068b",
      "a\u2069b",
      "zero\u200Bwidth",
      "mark\u200E",
      "mark\u200F",
      "\uFEFFbom",
    ];

    it("are refused on new folders", async () => {
      for (const name of SPOOFS) {
        const response = await owner.postForm("/files", { intent: "create-folder", name });
        expect(response.status, JSON.stringify(name)).toBe(400);
        expect(await response.text()).toContain("invisible or direction-changing characters");
      }
    });

    it("are refused on form uploads", async () => {
      const form = new FormData();
      form.append("file", new Blob(["x"]), "report\u202Etxt.exe");
      const response = await owner.postMultipart(`/files/${folderId}`, form);
      expect(response.status).toBe(400);
      expect(await response.text()).toContain("invisible or direction-changing characters");
    });

    it("are refused in tus metadata, in the file name and in a dropped folder's path", async () => {
      for (const metadata of [
        `filename ${base64("report\u202Etxt.exe")}`,
        `filename ${base64("a.txt")},relativePath ${base64("Photos\u200B/")}`,
      ]) {
        const response = await owner.request("/api/uploads", {
          method: "POST",
          headers: { "Tus-Resumable": "1.0.0", "Upload-Length": "3", "Upload-Metadata": metadata },
        });
        expect(response.status, metadata).toBe(400);
        expect(await response.text()).toContain("invisible or direction-changing characters");
      }
    });

    it("are refused on rename", async () => {
      const response = await owner.postForm(`/details/folder/${folderId}`, { intent: "rename", name: "Pro\u2067jects" });
      expect(response.status).toBe(400);
      expect(await response.text()).toContain("invisible or direction-changing characters");
      expect((await app.services.prisma.folder.findUniqueOrThrow({ where: { id: folderId } })).name).toBe("Projects");
    });
  });

  it("keeps redirects after sign-in on this site, in bytes a Location header can hold", async () => {
    const signedIn = await owner.get(`/auth/oidc?redirectTo=${encodeURIComponent("/files?q=\u202Eé")}`);
    expect(signedIn.status).toBe(302);
    expect(signedIn.headers.get("location")).toBe("/files?q=%E2%80%AE%C3%A9");
    const browser = new TestClient(app.url);
    const tab = await browser.postForm("/login", {
      email: "olivia@example.com",
      password: "correct horse battery staple",
      redirectTo: "/\t/evil.example",
    });
    expect(tab.status).toBe(302);
    // Browsers drop tabs from URLs: unencoded, this would be "//evil.example".
    expect(tab.headers.get("location")).toBe("/%09/evil.example");
  });

  it("logs no error for an unknown URL or a refused parameter: refusals are not server errors", async () => {
    const output = captureStderr();
    try {
      expect((await owner.get("/no/such/page")).status).toBe(404);
      expect((await owner.get("/download/%00")).status).toBe(404);
      expect((await owner.postForm("/settings/security/mfa", { intent: "confirm", code: "1".repeat(1000) })).status).toBe(400);
    } finally {
      // (React Router's one-line "No routes matched" warning is printed outside production only.)
      expect(output.stop()).not.toMatch(/No route matches URL|"level":"error"|\n\s+at \S/);
    }
  });

  describe("login while signed in", () => {
    it("shows the login error for a wrong password instead of a silent redirect", async () => {
      const response = await owner.postForm("/login", { email: "olivia@example.com", password: "not the password" });
      expect(response.status).toBe(401);
      expect(await response.text()).toContain("That email and password do not match an account.");
      // Still signed in as before.
      expect((await owner.get("/files")).status).toBe(200);
    });

    it("answers a taken address with the neutral page, and stays signed in", async () => {
      const response = await owner.postForm("/register", {
        name: "Olivia Again",
        email: "olivia@example.com",
        password: "correct horse battery staple",
      });
      // Registration never says an address has an account (issue 16): the same "check your email".
      expect(response.status).toBe(303);
      expect(response.headers.get("location")).toBe("/register?check=1");
      expect((await owner.get("/files")).status).toBe(200);
    });

    it("signs in afresh as the account whose password is given", async () => {
      const other = new TestClient(app.url);
      await other.register("Oscar Other", "oscar@example.com");
      const browser = new TestClient(app.url);
      await browser.login("olivia@example.com");
      const response = await browser.login("oscar@example.com");
      expect(response.status).toBe(302);
      const page = await (await browser.get("/settings/security")).text();
      expect(page).toContain("oscar@example.com");
    });
  });

  it("renews the CSRF cookie at login, and the new page's token works", async () => {
    const browser = new TestClient(app.url);
    const oldToken = await browser.getCsrfToken();
    const before = browser.cookies.get("coffer_csrf");
    expect(before).toBeTruthy();
    const response = await browser.login("olivia@example.com");
    expect(response.status).toBe(302);
    const after = browser.cookies.get("coffer_csrf");
    expect(after).toBeTruthy();
    expect(after).not.toBe(before);
    // The token of the old cookie no longer passes…
    const stale = await fetch(`${app.url}/files`, {
      method: "POST",
      redirect: "manual",
      headers: { cookie: browser.cookieHeader, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf: oldToken!, intent: "create-folder", name: "Stale" }).toString(),
    });
    expect(stale.status).toBe(403);
    // …and the one on the next page does (the client fetches it afresh).
    expect((await browser.postForm("/files", { intent: "create-folder", name: "After login" })).status).toBe(200);
  });
});
