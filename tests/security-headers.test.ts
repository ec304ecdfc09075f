import { beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

/** Headers every response carries, whatever its kind. Each must appear exactly once. */
const EVERYWHERE: Record<string, string | RegExp> = {
  "x-content-type-options": "nosniff",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": /^accelerometer=\(\), camera=\(\), .*geolocation=\(\), .*microphone=\(\), .*payment=\(\)/,
  "x-frame-options": "SAMEORIGIN",
};

const PAGE_CSP = [
  "default-src 'self'",
  /script-src 'self' 'nonce-[A-Za-z0-9+/]{24}'(;|$)/,
  "style-src 'self';",
  "style-src-attr 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  /connect-src 'self' ws:\/\/127\.0\.0\.1:\d+/,
  "frame-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "object-src 'none'",
];

function expectCommonHeaders(response: Response, label: string) {
  for (const [name, expected] of Object.entries(EVERYWHERE)) {
    const value = response.headers.get(name);
    if (typeof expected === "string") expect(value, `${label}: ${name}`).toBe(expected);
    else expect(value, `${label}: ${name}`).toMatch(expected);
  }
  // Over plain HTTP, HSTS would be ignored by browsers and wrong to send.
  expect(response.headers.get("strict-transport-security"), `${label}: HSTS`).toBeNull();
  expect(response.headers.get("x-powered-by"), `${label}: x-powered-by`).toBeNull();
}

function expectPageCsp(response: Response, label: string): string {
  const csp = response.headers.get("content-security-policy") ?? "";
  for (const part of PAGE_CSP) {
    if (typeof part === "string") expect(csp, `${label}: CSP`).toContain(part);
    else expect(csp, `${label}: CSP`).toMatch(part);
  }
  expect(csp, `${label}: no unsafe script sources`).not.toMatch(/script-src[^;]*(unsafe-inline|unsafe-eval|\*)/);
  return /'nonce-([^']+)'/.exec(csp)![1];
}

/** Every script element of an HTML page carries this response's nonce. */
async function expectScriptsCarryNonce(response: Response, nonce: string, label: string) {
  const html = await response.text();
  const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
  expect(scripts.length, `${label}: the page has scripts`).toBeGreaterThan(0);
  for (const tag of scripts) expect(tag, `${label}: script without the nonce`).toContain(`nonce="${nonce}"`);
  return html;
}

describe("security headers on every kind of response", () => {
  let app: TestApp;
  let admin: TestClient;
  let user: TestClient;
  const anonymous = () => new TestClient(app.url);
  let fileId: string;
  let shareToken: string;

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    admin = new TestClient(app.url);
    user = new TestClient(app.url);
    await admin.register("Ada Admin", "ada@example.com");
    await user.register("Bob User", "bob@example.com");
    const owner = await app.services.prisma.user.findUniqueOrThrow({ where: { email: "bob@example.com" } });
    const root = await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId: owner.id, parentId: null } });
    const form = new FormData();
    form.append("file", new Blob(["<script>alert(1)</script>"], { type: "text/html" }), "page.html");
    expect((await user.postMultipart(`/files/${root.id}`, form)).status).toBe(200);
    fileId = (await app.services.prisma.file.findFirstOrThrow({ where: { name: "page.html" } })).id;
    const shared = await user.postForm("/shares", { intent: "create-link", item: `file:${fileId}` });
    shareToken = /\/s\/([A-Za-z0-9_-]{43})/.exec(await shared.text())![1];
  });

  it.each([
    ["public page (login)", "anonymous", "/login", 200],
    ["public page (register)", "anonymous", "/register", 200],
    ["private page (my files)", "user", "/files", 200],
    ["private page (search)", "user", "/search?q=page", 200],
    ["admin page", "admin", "/admin", 200],
    ["404 page", "user", "/no-such-page", 404],
    ["error page (403 for a non-admin)", "user", "/admin", 403],
    ["share page", "anonymous", "/s/{token}", 200],
  ] as const)("%s: page CSP with a nonce on every script, and the common headers", async (label, who, target, status) => {
    const client = who === "anonymous" ? anonymous() : who === "admin" ? admin : user;
    const response = await client.get(target.replace("{token}", shareToken));
    expect(response.status, label).toBe(status);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expectCommonHeaders(response, label);
    expect(response.headers.get("referrer-policy"), label).toBe("same-origin");
    const nonce = expectPageCsp(response, label);
    await expectScriptsCarryNonce(response, nonce, label);
  });

  it("uses a fresh nonce for every response", async () => {
    const nonces = new Set<string>();
    for (let i = 0; i < 3; i++) nonces.add(expectPageCsp(await anonymous().get("/login"), "login"));
    expect(nonces.size).toBe(3);
  });

  it("redirects and the error page of an action carry the headers too", async () => {
    const redirect = await anonymous().get("/files");
    expect(redirect.status).toBe(302);
    expectCommonHeaders(redirect, "redirect");
    const failed = await anonymous().postForm("/login", { email: "nobody@example.com", password: "wrong password here" });
    expect(failed.status).toBeGreaterThanOrEqual(400);
    expectCommonHeaders(failed, "failed login");
    await expectScriptsCarryNonce(failed, expectPageCsp(failed, "failed login"), "failed login");
  });

  it("JSON and data responses (single-fetch data, readiness)", async () => {
    const data = await user.get("/files.data");
    expect(data.status).toBe(200);
    expectCommonHeaders(data, "files.data");
    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.headers.get("content-type")).toMatch(/^application\/json/);
    expectCommonHeaders(ready, "readyz");
    expect(ready.headers.get("content-security-policy")).toContain("default-src 'self'");
  });

  it("downloads keep their own sandbox policy, once, and can be embedded only by our pages", async () => {
    const response = await user.get(`/download/${fileId}`);
    expect(response.status).toBe(200);
    expectCommonHeaders(response, "download");
    expect(response.headers.get("content-security-policy")).toBe("default-src 'none'; sandbox");
    expect(await response.text()).toBe("<script>alert(1)</script>");
  });

  it("share downloads send no referrer", async () => {
    const response = await anonymous().get(`/s/${shareToken}/download/${fileId}`);
    expect(response.status).toBe(200);
    expectCommonHeaders(response, "share download");
    expect(response.headers.get("referrer-policy")).toBe("no-referrer");
    expect(response.headers.get("content-security-policy")).toBe("default-src 'none'; sandbox");
  });

  it("static assets and the favicon", async () => {
    const assets = fs.readdirSync(path.resolve(import.meta.dirname, "../build/client/assets"));
    const script = assets.find((name) => name.endsWith(".js"))!;
    for (const target of [`/assets/${script}`, "/favicon.svg"]) {
      const response = await fetch(`${app.url}${target}`);
      expect(response.status, target).toBe(200);
      expectCommonHeaders(response, target);
      expect(response.headers.get("content-security-policy"), target).toContain("frame-ancestors 'none'");
    }
  });

  it("health checks", async () => {
    const response = await fetch(`${app.url}/healthz`);
    expect(await response.text()).toBe("ok");
    expectCommonHeaders(response, "healthz");
  });

  it("session cookie: HttpOnly, SameSite=Lax, Path=/ and the plain name over plain HTTP", async () => {
    const response = await anonymous().postForm("/register", {
      name: "Cy",
      email: "cy@example.com",
      password: "correct horse battery staple",
    });
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith("coffer_session="));
    expect(cookie).toBeDefined();
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; SameSite=Lax/i);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).not.toMatch(/Domain=/i);
  });
});
