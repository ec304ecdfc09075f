import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

const METRICS_TOKEN = "transport-metrics-token-0123456789";

/** A self-signed certificate for 127.0.0.1, made by the openssl CLI. */
function selfSignedCertificate(dir: string) {
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { stdio: "ignore" },
  );
  return { cert, key };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function request(
  url: string,
  ca: Buffer,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: init.method ?? "GET", headers: init.headers, ca }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end(init.body);
  });
}

function handshake(port: number, ca: Buffer, options: tls.ConnectionOptions): Promise<{ protocol: string | null; cipher: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca, ...options }, () => {
      const result = { protocol: socket.getProtocol(), cipher: socket.getCipher().name };
      socket.end();
      resolve(result);
    });
    socket.on("error", reject);
  });
}

describe("Coffer's own TLS listener", () => {
  let app: TestApp;
  let dir: string;
  let ca: Buffer;
  let port: number;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-tls-"));
    const files = selfSignedCertificate(dir);
    ca = fs.readFileSync(files.cert);
    app = await startTestApp(
      { storage: "local", cache: "memory" },
      { TLS_CERT_FILE: files.cert, TLS_KEY_FILE: files.key, METRICS_TOKEN: METRICS_TOKEN },
    );
    port = Number(new URL(app.url).port);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("serves HTTPS on PORT with HSTS", async () => {
    expect(app.url).toMatch(/^https:/);
    const answer = await request(`${app.url}/login`, ca);
    expect(answer.status).toBe(200);
    expect(answer.body).toContain("Log in");
    expect(answer.headers["strict-transport-security"]).toBe("max-age=31536000");
    expect(answer.headers["content-security-policy"]).toContain("connect-src 'self' wss://127.0.0.1:");
  });

  it("exports when the served certificate expires, for the expiry alert", async () => {
    const answer = await request(`${app.url}/metrics`, ca, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(answer.status).toBe(200);
    const exported = /^coffer_tls_certificate_expiry_timestamp_seconds (\d+)$/m.exec(answer.body);
    expect(exported, "no certificate expiry sample").not.toBeNull();
    const notAfter = Date.parse(new X509Certificate(ca).validTo) / 1000;
    expect(Number(exported![1])).toBe(notAfter);
    // The certificate is made for 2 days.
    expect(notAfter - Date.now() / 1000).toBeGreaterThan(86400);
    expect(notAfter - Date.now() / 1000).toBeLessThanOrEqual(2 * 86400);
  });

  it("negotiates TLS 1.3 by default and refuses TLS 1.2 suites without forward secrecy", async () => {
    expect((await handshake(port, ca, {})).protocol).toBe("TLSv1.3");
    const modern12 = await handshake(port, ca, { maxVersion: "TLSv1.2", ciphers: "ECDHE-RSA-AES128-GCM-SHA256" });
    expect(modern12).toEqual({ protocol: "TLSv1.2", cipher: "ECDHE-RSA-AES128-GCM-SHA256" });
    for (const cipher of ["AES128-GCM-SHA256", "ECDHE-RSA-AES128-SHA", "AES256-SHA256"]) {
      await expect(handshake(port, ca, { maxVersion: "TLSv1.2", ciphers: cipher }), cipher).rejects.toThrow(
        /handshake failure|no shared cipher|alert/i,
      );
    }
  });

  it("sets the session cookie with the __Host- prefix: Secure, Path=/, no Domain", async () => {
    // A browser first loads the form: it gets the CSRF cookie (also __Host-) and the form's token.
    const form = await request(`${app.url}/register`, ca);
    const csrfCookie = [form.headers["set-cookie"] ?? []].flat().find((c) => c.startsWith("__Host-coffer_csrf="))!;
    expect(csrfCookie).toMatch(/; Secure/i);
    const token = /name="_csrf" value="([^"]+)"/.exec(form.body)![1];
    const answer = await request(`${app.url}/register`, ca, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: csrfCookie.split(";")[0] },
      body: new URLSearchParams({
        _csrf: token,
        name: "Tia",
        email: "tia@example.com",
        password: "correct horse battery staple",
      }).toString(),
    });
    expect(answer.status).toBe(302);
    const cookie = [answer.headers["set-cookie"] ?? []].flat().find((c) => c.startsWith("__Host-coffer_session="))!;
    expect(cookie).toBeDefined();
    expect(cookie).toMatch(/; Secure/i);
    expect(cookie).toMatch(/; Path=\/(;|$)/);
    expect(cookie).toMatch(/; SameSite=Lax/i);
    expect(cookie).not.toMatch(/Domain=/i);
    // And the app accepts it back under that name.
    const files = await request(`${app.url}/files`, ca, { headers: { cookie: cookie.split(";")[0] } });
    expect(files.status).toBe(200);
  });

  it("refuses to start with an unreadable certificate, naming the variable", async () => {
    await expect(
      startTestApp(
        { storage: "local", cache: "memory" },
        { TLS_CERT_FILE: path.join(dir, "missing.pem"), TLS_KEY_FILE: path.join(dir, "key.pem") },
      ),
    ).rejects.toThrow(/TLS_CERT_FILE: cannot read .*missing\.pem \(ENOENT\)/);
  });
});

describe("behind a TLS-terminating proxy (APP_URL https, TRUST_PROXY loopback)", () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" }, { APP_URL: "https://files.example.test", TRUST_PROXY: "loopback" });
  });

  it("redirects plain-HTTP requests to the HTTPS address with 308, except health checks", async () => {
    const plain = await fetch(`${app.url}/files?sort=name`, { headers: { "x-forwarded-proto": "http" }, redirect: "manual" });
    expect(plain.status).toBe(308);
    expect(plain.headers.get("location")).toBe("https://files.example.test/files?sort=name");
    const post = await fetch(`${app.url}/login`, { method: "POST", headers: { "x-forwarded-proto": "http" }, redirect: "manual" });
    expect(post.status).toBe(308);
    for (const target of ["/healthz", "/readyz"]) {
      expect((await fetch(`${app.url}${target}`, { headers: { "x-forwarded-proto": "http" } })).status, target).toBe(200);
    }
  });

  it("serves HTTPS requests with HSTS and the __Host- cookie, and takes the client IP from X-Forwarded-For", async () => {
    const client = new TestClient(app.url);
    const page = await client.get("/login", { "x-forwarded-proto": "https" });
    expect(page.status).toBe(200);
    expect(page.headers.get("strict-transport-security")).toBe("max-age=31536000");
    expect(page.headers.get("content-security-policy")).toContain("connect-src 'self' wss://files.example.test;");
    await client.getCsrfToken({ "x-forwarded-proto": "https" });
    const registered = await client.request("/register", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.7" },
      body: new URLSearchParams({ name: "Pia", email: "pia@example.com", password: "correct horse battery staple" }).toString(),
    });
    expect(registered.status).toBe(302);
    expect(registered.headers.getSetCookie().some((c) => c.startsWith("__Host-coffer_session=") && /; Secure/i.test(c))).toBe(true);
    const session = await app.services.prisma.session.findFirstOrThrow({ where: { user: { email: "pia@example.com" } } });
    expect(session.ip).toBe("203.0.113.7");
  });
});

describe("APP_URL https without a trusted proxy", () => {
  it("does not redirect (every request would look like plain HTTP) and ignores X-Forwarded-*", async () => {
    const app = await startTestApp({ storage: "local", cache: "memory" }, { APP_URL: "https://files.example.test" });
    const response = await fetch(`${app.url}/login`, { headers: { "x-forwarded-proto": "https" }, redirect: "manual" });
    expect(response.status).toBe(200);
    expect(response.headers.get("strict-transport-security")).toBeNull();
  });
});
