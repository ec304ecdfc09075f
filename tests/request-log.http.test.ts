import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { captureLogLines, type LogLine } from "./support/log-lines";
import { createUpload, tusHeaders } from "./support/tus";

/**
 * Request ids and the access log, against the built app behind a proxy it trusts (127.0.0.1).
 * Requests from 127.0.0.2 come from a peer it does not trust.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function get(
  app: TestApp,
  path: string,
  options: { headers?: http.OutgoingHttpHeaders; from?: string } = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const url = new URL(app.url);
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: url.hostname, port: url.port, path, headers: options.headers, localAddress: options.from ?? "127.0.0.1" },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), headers: res.headers }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
  });
}

describe("request ids and the access log", () => {
  let app: TestApp;
  let log: ReturnType<typeof captureLogLines>;
  const accessLines = (requestId: string) => log.lines().filter((line) => line.message === "request" && line.request_id === requestId);
  /** The one access line of a request, once written (just after the response). */
  async function accessLine(requestId: string): Promise<LogLine> {
    await expect.poll(() => accessLines(requestId).length).toBeGreaterThan(0);
    // Nothing more arrives for it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(accessLines(requestId)).toHaveLength(1);
    return accessLines(requestId)[0];
  }

  beforeAll(async () => {
    log = captureLogLines();
    app = await startTestApp({ storage: "local", cache: "memory" }, { LOG_LEVEL: "debug", TRUST_PROXY: "127.0.0.1" });
  });
  afterAll(() => log.stop());

  it("takes the request id of a proxy it trusts, echoes it, and logs one access line with it", async () => {
    const response = await get(app, "/healthz", { headers: { "x-request-id": "lb-7f3a.9:Z_x-1" } });
    expect(response.status).toBe(200);
    expect(response.headers["x-request-id"]).toBe("lb-7f3a.9:Z_x-1");
    const line = await accessLine("lb-7f3a.9:Z_x-1");
    expect(line).toEqual({
      level: "debug",
      time: expect.any(String),
      message: "request",
      method: "GET",
      route: "health",
      status: 200,
      duration_ms: expect.any(Number),
      bytes_sent: 2,
      request_id: "lb-7f3a.9:Z_x-1",
    });
  });

  it("ignores the X-Request-Id of a peer it does not trust, and gives the request its own", async () => {
    const response = await get(app, "/login", { from: "127.0.0.2", headers: { "x-request-id": "forged-by-a-client" } });
    expect(response.status).toBe(200);
    const id = String(response.headers["x-request-id"]);
    expect(id).toMatch(UUID);
    const line = await accessLine(id);
    expect(line).toMatchObject({ level: "info", method: "GET", route: "page", status: 200, bytes_sent: Buffer.byteLength(response.body) });
    expect(log.text()).not.toContain("forged-by-a-client");
  });

  it("replaces a trusted proxy's id that is not a plain id", async () => {
    for (const hostile of ["two words", "x".repeat(129), 'id","level":"error', "ünïcode", "a/b", ["one", "two"]]) {
      const response = await get(app, "/healthz", { headers: { "x-request-id": hostile } });
      expect(response.status).toBe(200);
      expect(response.headers["x-request-id"]).toMatch(UUID);
      await accessLine(String(response.headers["x-request-id"]));
    }
    // An empty one too (node will not send an empty header value through http.get's headers object otherwise).
    const empty = await get(app, "/healthz", { headers: { "x-request-id": "" } });
    expect(empty.headers["x-request-id"]).toMatch(UUID);
    expect(log.text()).not.toMatch(/two words|xxxxxxxxxxxxxxxxxxxx|"level":"error"|ünïcode|a\/b/);
  });

  it("names the signed-in user by id on every line of the request, never by email, cookie or token", async () => {
    const owner = new TestClient(app.url);
    await owner.register("Logan Logs", "logan.logs@example.com", "a password nobody should read");
    const user = await app.services.prisma.user.findUniqueOrThrow({ where: { email: "logan.logs@example.com" } });
    const created = await owner.postForm("/files", { intent: "create-folder", name: "Quarterly figures", open: "1" });
    expect(created.status).toBe(302);
    const folderId = created.headers.get("location")!.split("/").pop()!;
    expect((await owner.postForm("/shares", { intent: "create-link", item: `folder:${folderId}` })).status).toBe(200);
    const { token } = await app.services.prisma.shareLink.findFirstOrThrow({ where: { folderId } });

    const page = await owner.get(`/files/${folderId}?q=Quarterly`, { "x-request-id": "page-of-logan" });
    expect(page.status).toBe(200);
    expect(await accessLine("page-of-logan")).toMatchObject({ level: "info", route: "folder", status: 200, user_id: user.id });
    const shared = await get(app, `/s/${token}`, { headers: { "x-request-id": "share-visit" } });
    expect(shared.status).toBe(200);
    expect(await accessLine("share-visit")).toMatchObject({ route: "share", status: 200 });
    expect(await accessLine("share-visit")).not.toHaveProperty("user_id");

    const text = log.text();
    const cookies = [...owner.cookies.values()];
    expect(cookies.length).toBeGreaterThan(0);
    for (const secret of ["logan.logs@example.com", "a password nobody should read", token, "Quarterly", ...cookies]) {
      expect(text).not.toContain(secret);
    }
  });

  it("logs a request whose client left before the answer as aborted, without a status", async () => {
    const owner = new TestClient(app.url);
    await owner.register("Uma Upload", "uma.upload@example.com");
    const user = await app.services.prisma.user.findUniqueOrThrow({ where: { email: "uma.upload@example.com" } });
    const uploadUrl = new URL(await createUpload(app, owner, { name: "Confidential plan.bin", size: 1024 * 1024 }));
    await new Promise<void>((resolve) => {
      const request = http.request({
        host: uploadUrl.hostname,
        port: uploadUrl.port,
        path: uploadUrl.pathname,
        method: "PATCH",
        headers: tusHeaders(owner, {
          "Upload-Offset": "0",
          "Content-Type": "application/offset+octet-stream",
          "Content-Length": String(1024 * 1024),
          "X-Request-Id": "dropped-patch",
        }),
      });
      request.on("error", () => resolve());
      request.on("close", () => resolve());
      request.write(Buffer.alloc(64 * 1024), () => setTimeout(() => request.destroy(), 300));
    });
    const line = await accessLine("dropped-patch");
    expect(line).toMatchObject({ method: "PATCH", route: "tus", aborted: true, user_id: user.id });
    expect(line).not.toHaveProperty("status");
    expect(log.text()).not.toContain("Confidential plan");
  });

  it("logs an unknown URL as its access line only: no error, no stack trace", async () => {
    const before = log.lines().length;
    for (const path of ["/no/such/page", "/no/such/page.data", "/s/not-a-share-token-at-all"]) {
      const response = await get(app, path, { headers: { "x-request-id": `unknown-${path.length}` } });
      expect(response.status).toBe(404);
      expect(await accessLine(`unknown-${path.length}`)).toMatchObject({ level: "info", status: 404 });
    }
    // Background jobs may log their runs meanwhile (info, no request id): only these requests' own
    // lines and anything at warn or above count.
    const written = log.lines().slice(before);
    const ours = written.filter(
      (line) => String(line.request_id ?? "").startsWith("unknown-") || line.level === "warn" || line.level === "error",
    );
    expect(ours.filter((line) => line.message !== "request")).toEqual([]);
    expect(JSON.stringify(written)).not.toMatch(/No route matches|\\n\s+at |"stack"/);
    expect(log.text()).not.toContain("not-a-share-token-at-all");
  });

  it("writes a failure's stack trace to the log, under the request's id, and never to the response", async () => {
    const owner = new TestClient(app.url);
    await owner.register("Erin Error", "erin.error@example.com");
    const user = await app.services.prisma.user.findUniqueOrThrow({ where: { email: "erin.error@example.com" } });
    // The database refuses this folder (as a full disk or a broken database would): a bug-shaped 500.
    await app.services.prisma.$executeRawUnsafe(`ALTER TABLE folders ADD CONSTRAINT test_refuse_doomed CHECK (name <> 'Doomed') NOT VALID`);
    let failed: Response;
    try {
      failed = await owner.request("/files", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "x-request-id": "doomed-folder" },
        body: new URLSearchParams({ intent: "create-folder", name: "Doomed" }).toString(),
      });
    } finally {
      await app.services.prisma.$executeRawUnsafe(`ALTER TABLE folders DROP CONSTRAINT test_refuse_doomed`);
    }
    expect(failed.status).toBe(500);
    const body = await failed.text();
    expect(body).not.toMatch(/\n\s+at |test_refuse_doomed|node_modules/);

    expect(await accessLine("doomed-folder")).toMatchObject({ route: "action", status: 500, user_id: user.id });
    const errors = log.lines().filter((line) => line.level === "error" && line.request_id === "doomed-folder");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ message: "request failed", route: "action", user_id: user.id, path: "/files" });
    expect(JSON.stringify(errors[0])).toMatch(/test_refuse_doomed/);
    expect(String(errors[0].stack)).toMatch(/\n\s+at /);
  });
});
