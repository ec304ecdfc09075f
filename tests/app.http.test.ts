import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import { io as connectSocket } from "socket.io-client";
import * as tus from "tus-js-client";
import { beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type DriverSet, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

const DRIVER_SETS: Array<{ label: string; drivers: DriverSet }> = [
  { label: "embedded defaults (local disk, memory)", drivers: { storage: "local", cache: "memory" } },
  { label: "production drivers (S3, Redis)", drivers: { storage: "s3", cache: "redis" } },
];

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

/** Uploads with the real tus client in Node, authenticated by the session cookie. */
function tusUpload(
  app: TestApp,
  client: TestClient,
  data: Buffer,
  metadata: Record<string, string>,
  options: Partial<tus.UploadOptions> = {},
): Promise<{ url: string | null; error?: tus.DetailedError | Error }> {
  return new Promise((resolve) => {
    const upload = new tus.Upload(data, {
      endpoint: `${app.url}/api/uploads`,
      uploadSize: data.length,
      chunkSize: 4 * 1024 * 1024,
      metadata,
      headers: { cookie: client.cookieHeader },
      retryDelays: [],
      ...options,
      onSuccess: () => resolve({ url: upload.url }),
      onError: (error) => resolve({ url: upload.url, error }),
    });
    upload.start();
  });
}

describe.each(DRIVER_SETS)("Coffer over HTTP with $label", ({ drivers }) => {
  let app: TestApp;
  let admin: TestClient;
  let user: TestClient;

  beforeAll(async () => {
    app = await startTestApp(drivers, { MAX_UPLOAD_SIZE: "20MiB" });
    admin = new TestClient(app.url);
    user = new TestClient(app.url);
    await admin.register("Ada Admin", "ada@example.com");
    await user.register("Bob User", "bob@example.com");
  });

  describe("health", () => {
    it("answers liveness and reports every driver as ready", async () => {
      const live = await fetch(`${app.url}/healthz`);
      expect(live.status).toBe(200);
      const ready = await fetch(`${app.url}/readyz`);
      expect(ready.status).toBe(200);
      const body = await ready.json();
      expect(body.ok).toBe(true);
      expect(Object.keys(body.checks).sort()).toEqual(["cache", "database", "search", "storage"]);
      expect(body.checks.storage.driver).toBe(drivers.storage);
      expect(body.checks.cache.driver).toBe(drivers.cache);
      expect(body.checks.search.driver).toBe("postgres");
    });
  });

  describe("accounts and sessions", () => {
    it("makes the first account an admin and later ones users", async () => {
      const users = await app.services.prisma.user.findMany({ orderBy: { createdAt: "asc" } });
      expect(users.map((u) => [u.email, u.role])).toEqual([
        ["ada@example.com", "ADMIN"],
        ["bob@example.com", "USER"],
      ]);
    });

    it("sets an httpOnly, SameSite=Lax, Secure session cookie that refers to a server-side session", async () => {
      const client = new TestClient(app.url);
      const response = await client.register("Cy", "cy@example.com");
      const cookie = response.headers.getSetCookie().find((c) => c.startsWith("coffer_session="));
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Lax/i);
      expect(cookie).toMatch(/Secure/i);
      expect(await app.services.prisma.session.count({ where: { user: { email: "cy@example.com" } } })).toBe(1);
    });

    it("explains, instead of silently looping, when a production login arrives over plain HTTP", async () => {
      // fetch() will not send a custom Host header, so use node:http as a browser on the LAN would.
      const body = new URLSearchParams({ email: "bob@example.com", password: "correct horse battery staple" }).toString();
      const response = await new Promise<{ status: number; cookies: string[]; text: string }>((resolve, reject) => {
        const request = http.request(
          `${app.url}/login`,
          {
            method: "POST",
            headers: {
              host: "files.example.org",
              "content-type": "application/x-www-form-urlencoded",
              "content-length": Buffer.byteLength(body),
            },
          },
          (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (chunk) => (text += chunk));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, cookies: res.headers["set-cookie"] ?? [], text }));
          },
        );
        request.on("error", reject);
        request.end(body);
      });
      expect(response.status).toBe(400);
      expect(response.cookies).toEqual([]);
      expect(response.text).toContain("set APP_URL=http://files.example.org");
    });

    it("refuses bad registrations with field messages and a 4xx status", async () => {
      const client = new TestClient(app.url);
      const short = await client.postForm("/register", { name: "X", email: "x@example.com", password: "short" });
      expect(short.status).toBe(400);
      expect(await short.text()).toContain("Use at least 12 characters.");
      const badEmail = await client.postForm("/register", { name: "X", email: "not-an-email", password: "long enough password" });
      expect(badEmail.status).toBe(400);
      expect(await badEmail.text()).toContain("Enter a valid email address.");
      // A taken address is not revealed (issue 16): the same "check your email" step, no session.
      const duplicate = await client.postForm("/register", { name: "Bob", email: "BOB@example.com", password: "long enough password" });
      expect(duplicate.status).toBe(303);
      expect(duplicate.headers.get("location")).toBe("/register?check=1");
      expect(client.cookies.has("coffer_session")).toBe(false);
      const answer = /<main[\s\S]*<\/main>/.exec(await (await client.get("/register?check=1")).text())![0];
      expect(answer).toContain("No account was created");
      expect(answer).not.toContain("already exists");
    });

    it("rejects a wrong password without saying which part was wrong", async () => {
      const client = new TestClient(app.url);
      const wrong = await client.login("bob@example.com", "not the password at all");
      expect(wrong.status).toBe(401);
      const unknown = await client.login("nobody@example.com", "not the password at all");
      expect(unknown.status).toBe(401);
      expect(await wrong.text()).toContain("That email and password do not match an account.");
      expect(client.cookies.has("coffer_session")).toBe(false);
    });

    it("logs in, returns to the page asked for, and ignores off-site redirect targets", async () => {
      const client = new TestClient(app.url);
      const ok = await client.postForm("/login", {
        email: "bob@example.com",
        password: "correct horse battery staple",
        redirectTo: "/search?q=x",
      });
      expect(ok.status).toBe(302);
      expect(ok.headers.get("location")).toBe("/search?q=x");
      const evil = await client.postForm("/login", {
        email: "bob@example.com",
        password: "correct horse battery staple",
        redirectTo: "//evil.example",
      });
      expect(evil.headers.get("location")).toBe("/files");
    });

    it("logout revokes the session on the server, so the old cookie stops working", async () => {
      const client = new TestClient(app.url);
      await client.login("bob@example.com");
      const stolen = client.cookieHeader;
      expect((await client.get("/files")).status).toBe(200);
      const out = await client.postForm("/logout", {});
      expect(out.status).toBe(302);
      const replay = await fetch(`${app.url}/files`, { headers: { cookie: stolen }, redirect: "manual" });
      expect(replay.status).toBe(302);
      expect(replay.headers.get("location")).toMatch(/^\/login\?redirectTo=/);
    });

    it("treats a forged or expired session cookie as logged out", async () => {
      const forged = await fetch(`${app.url}/files`, { headers: { cookie: "coffer_session=abc.def" }, redirect: "manual" });
      expect(forged.status).toBe(302);
      const client = new TestClient(app.url);
      await client.login("bob@example.com");
      await app.services.prisma.session.updateMany({
        where: { user: { email: "bob@example.com" } },
        data: { expiresAt: new Date(Date.now() - 1000) },
      });
      const expired = await client.get("/files");
      expect(expired.status).toBe(302);
      await user.login("bob@example.com");
    });
  });

  describe("folders", () => {
    it("sends anonymous visitors to the login page", async () => {
      const response = await fetch(`${app.url}/files`, { redirect: "manual" });
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe("/login?redirectTo=%2Ffiles");
    });

    it("creates subfolders and lists them with breadcrumbs", async () => {
      const created = await user.postForm("/files", { intent: "create-folder", name: "Projects", open: "1" });
      expect(created.status).toBe(302);
      const projectsUrl = created.headers.get("location")!;
      expect(projectsUrl).toMatch(/^\/files\/\w+$/);
      const nested = await user.postForm(projectsUrl, { intent: "create-folder", name: "2026 Plans" });
      expect(nested.status).toBe(200);
      const page = await (await user.get(projectsUrl)).text();
      expect(page).toContain("2026 Plans");
      expect(page).toContain('aria-label="Breadcrumb"');
      expect(page).toContain("My files");
      const root = await (await user.get("/files")).text();
      expect(root).toContain("Projects");
    });

    it.each([
      ["a/b", "cannot contain"],
      ["..", "cannot be &quot;.&quot; or &quot;..&quot;"],
      [".", "cannot be &quot;.&quot; or &quot;..&quot;"],
      ["bad\u0007name", "control characters"],
      ["x".repeat(256), "too long"],
      ["   ", "cannot be empty"],
    ])("refuses the folder name %j", async (name, message) => {
      const response = await user.postForm("/files", { intent: "create-folder", name });
      expect(response.status).toBe(400);
      expect(await response.text()).toContain(message);
    });

    it("treats Unicode normalisation and case variants as the same name", async () => {
      const composed = "Caf\u00e9";
      const decomposed = "Cafe\u0301";
      expect((await user.postForm("/files", { intent: "create-folder", name: composed })).status).toBe(200);
      const again = await user.postForm("/files", { intent: "create-folder", name: decomposed });
      expect(again.status).toBe(409);
      const upper = await user.postForm("/files", { intent: "create-folder", name: "CAF\u00c9" });
      expect(upper.status).toBe(409);
      const stored = await app.services.prisma.folder.findMany({ where: { nameKey: "caf\u00e9" } });
      expect(stored).toHaveLength(1);
      expect(stored[0].name).toBe(composed);
    });

    it("answers 404, never 500, for unknown and other people's folders", async () => {
      expect((await user.get("/files/doesnotexist")).status).toBe(404);
      const adminRoot = await app.services.prisma.folder.findFirstOrThrow({
        where: { owner: { email: "ada@example.com" }, parentId: null },
      });
      const adminFolder = await app.services.prisma.folder.create({
        data: { ownerId: adminRoot.ownerId, parentId: adminRoot.id, name: "Secret", nameKey: "secret" },
      });
      const response = await user.get(`/files/${adminFolder.id}`);
      expect(response.status).toBe(404);
      expect(await response.text()).not.toContain("Secret");
      const post = await user.postForm(`/files/${adminFolder.id}`, { intent: "create-folder", name: "Intrusion" });
      expect(post.status).toBe(404);
    });
  });

  describe("uploads without JavaScript (multipart form)", () => {
    it("streams the file into storage and records size, type and SHA-256", async () => {
      const bytes = randomBytes(3 * 1024 * 1024 + 17);
      const form = new FormData();
      form.append("file", new Blob([new Uint8Array(bytes)], { type: "application/pdf" }), "Quarterly Report.pdf");
      const response = await user.postMultipart("/files", form);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain("Uploaded “Quarterly Report.pdf”");
      const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "Quarterly Report.pdf" } });
      expect(Number(file.size)).toBe(bytes.length);
      expect(file.mimeType).toBe("application/pdf");
      expect(file.sha256).toBe(sha256(bytes));
      expect((await app.services.storage.stat(file.storageKey))?.size).toBe(bytes.length);
    });

    it("keeps both files when a name is taken", async () => {
      for (let i = 0; i < 2; i++) {
        const form = new FormData();
        form.append("file", new Blob(["hello"]), "notes.txt");
        expect((await user.postMultipart("/files", form)).status).toBe(200);
      }
      const names = (await app.services.prisma.file.findMany({ where: { name: { startsWith: "notes" } } })).map((f) => f.name).sort();
      expect(names).toEqual(["notes (1).txt", "notes.txt"]);
    });

    it("refuses a file over the size limit with 413 and leaves nothing behind", async () => {
      const before = await app.services.prisma.file.count();
      const objectsBefore = await countObjects(app);
      const form = new FormData();
      form.append("file", new Blob([new Uint8Array(randomBytes(21 * 1024 * 1024))]), "too-big.bin");
      const response = await user.postMultipart("/files", form);
      expect(response.status).toBe(413);
      expect(await response.text()).toContain("larger than the 20 MiB limit");
      expect(await app.services.prisma.file.count()).toBe(before);
      expect(await countObjects(app)).toBe(objectsBefore);
    });

    it("asks for a file when none was chosen", async () => {
      const form = new FormData();
      form.append("file", new Blob([]), "");
      const response = await user.postMultipart("/files", form);
      expect(response.status).toBe(400);
      expect(await response.text()).toContain("Choose a file to upload.");
    });
  });

  describe("downloads", () => {
    let fileId: string;
    let bytes: Buffer;

    beforeAll(async () => {
      bytes = randomBytes(1024 * 1024 + 5);
      const form = new FormData();
      form.append("file", new Blob([new Uint8Array(bytes)], { type: "application/octet-stream" }), "Résumé «final».bin");
      await user.postMultipart("/files", form);
      fileId = (await app.services.prisma.file.findFirstOrThrow({ where: { name: "Résumé «final».bin" } })).id;
    });

    it("streams the exact bytes with type, length, ETag and an RFC 6266 filename*", async () => {
      const response = await user.get(`/download/${fileId}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("application/octet-stream");
      expect(response.headers.get("content-length")).toBe(String(bytes.length));
      expect(response.headers.get("content-disposition")).toBe(
        `attachment; filename="R_sum_ _final_.bin"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%C2%ABfinal%C2%BB.bin`,
      );
      expect(response.headers.get("etag")).toMatch(/^"[0-9a-f]{64}"$/);
      expect(response.headers.get("accept-ranges")).toBe("bytes");
      expect(sha256(new Uint8Array(await response.arrayBuffer()))).toBe(sha256(bytes));
    });

    it("answers Range requests with 206 and the right slice", async () => {
      const response = await user.get(`/download/${fileId}`, { range: "bytes=100-1099" });
      expect(response.status).toBe(206);
      expect(response.headers.get("content-range")).toBe(`bytes 100-1099/${bytes.length}`);
      expect(response.headers.get("content-length")).toBe("1000");
      expect(Buffer.from(await response.arrayBuffer()).equals(bytes.subarray(100, 1100))).toBe(true);
      const suffix = await user.get(`/download/${fileId}`, { range: "bytes=-10" });
      expect(Buffer.from(await suffix.arrayBuffer()).equals(bytes.subarray(bytes.length - 10))).toBe(true);
      const beyond = await user.get(`/download/${fileId}`, { range: `bytes=${bytes.length + 5}-` });
      expect(beyond.status).toBe(416);
      expect(beyond.headers.get("content-range")).toBe(`bytes */${bytes.length}`);
    });

    it("answers 304 to a matching If-None-Match", async () => {
      const first = await user.get(`/download/${fileId}`);
      await first.arrayBuffer();
      const again = await user.get(`/download/${fileId}`, { "if-none-match": first.headers.get("etag")! });
      expect(again.status).toBe(304);
    });

    it("gives 404 for unknown files and for other people's files, and sends anonymous visitors to login", async () => {
      expect((await user.get("/download/nope")).status).toBe(404);
      const other = new TestClient(app.url);
      await other.register("Eve", `eve-${drivers.storage}@example.com`);
      const response = await other.get(`/download/${fileId}`);
      expect(response.status).toBe(404);
      expect(await response.text()).not.toContain("Résumé");
      const anonymous = await fetch(`${app.url}/download/${fileId}`, { redirect: "manual" });
      expect(anonymous.status).toBe(302);
    });
  });

  describe("resumable uploads (tus)", () => {
    it("uploads through /api/uploads, records the file and pushes a live event to the user's other tabs", async () => {
      const bytes = randomBytes(9 * 1024 * 1024 + 3);
      const socket = connectSocket(app.url, { path: "/socket.io", extraHeaders: { cookie: user.cookieHeader }, transports: ["websocket"] });
      await new Promise<void>((resolve, reject) => {
        socket.on("connect", () => resolve());
        socket.on("connect_error", reject);
      });
      const event = new Promise<{ type: string; file: { name: string; size: number } }>((resolve) =>
        socket.on("event", (e) => e.type === "file:created" && resolve(e)),
      );
      const result = await tusUpload(app, user, bytes, { filename: "video.mp4", filetype: "video/mp4" });
      expect(result.error).toBeUndefined();
      const received = await event;
      socket.disconnect();
      expect(received.file).toMatchObject({ name: "video.mp4", size: bytes.length });
      const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "video.mp4" } });
      expect(file.mimeType).toBe("video/mp4");
      // Hashed while the bytes streamed in: the digest is there as soon as the file is.
      expect(file.sha256).toBe(sha256(bytes));
      const download = await user.get(`/download/${file.id}`);
      expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(sha256(bytes));
      expect(await app.services.prisma.upload.count({ where: { id: file.storageKey } })).toBe(0);
      // Only the object itself stays: the tus metadata beside it is removed once the upload is a file.
      await expect
        .poll(async () => {
          const keys: string[] = [];
          for await (const object of app.services.storage.list(file.storageKey)) keys.push(object.key);
          return keys;
        })
        .toEqual([file.storageKey]);
    });

    it("resumes an interrupted upload from its offset", async () => {
      const bytes = randomBytes(10 * 1024 * 1024);
      const first = await new Promise<string>((resolve, reject) => {
        const upload = new tus.Upload(bytes, {
          endpoint: `${app.url}/api/uploads`,
          uploadSize: bytes.length,
          chunkSize: 5 * 1024 * 1024,
          metadata: { filename: "resumed.bin" },
          headers: { cookie: user.cookieHeader },
          retryDelays: [],
          onChunkComplete: (_chunk, accepted) => {
            if (accepted >= 5 * 1024 * 1024) void upload.abort().then(() => resolve(upload.url!));
          },
          onError: reject,
        });
        upload.start();
      });
      const head = await fetch(first, { method: "HEAD", headers: { cookie: user.cookieHeader, "Tus-Resumable": "1.0.0" } });
      const offset = Number(head.headers.get("upload-offset"));
      expect(offset).toBe(5 * 1024 * 1024);
      // A new client given the upload URL asks the server for its offset and sends only the rest.
      const result = await tusUpload(app, user, bytes, { filename: "resumed.bin" }, { uploadUrl: first });
      expect(result.error).toBeUndefined();
      const file = await app.services.prisma.file.findFirstOrThrow({ where: { name: "resumed.bin" } });
      await expect
        .poll(async () => (await app.services.prisma.file.findUniqueOrThrow({ where: { id: file.id } })).sha256)
        .toBe(sha256(bytes));
      const download = await user.get(`/download/${file.id}`);
      expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(sha256(bytes));
    });

    it("refuses an upload over the limit at creation (413) and leaves nothing behind", async () => {
      const objectsBefore = await countObjects(app);
      const response = await fetch(`${app.url}/api/uploads`, {
        method: "POST",
        headers: {
          cookie: user.cookieHeader,
          "Tus-Resumable": "1.0.0",
          "Upload-Length": String(21 * 1024 * 1024),
          "Upload-Metadata": `filename ${Buffer.from("huge.bin").toString("base64")}`,
        },
      });
      expect(response.status).toBe(413);
      expect(await response.text()).toContain("upload limit");
      expect(await app.services.prisma.upload.count()).toBe(0);
      expect(await countObjects(app)).toBe(objectsBefore);
    });

    it("refuses anonymous uploads and bad metadata with clear messages", async () => {
      const anonymous = await fetch(`${app.url}/api/uploads`, {
        method: "POST",
        headers: {
          "Tus-Resumable": "1.0.0",
          "Upload-Length": "5",
          "Upload-Metadata": `filename ${Buffer.from("a.txt").toString("base64")}`,
        },
      });
      expect(anonymous.status).toBe(401);
      const badName = await fetch(`${app.url}/api/uploads`, {
        method: "POST",
        headers: {
          cookie: user.cookieHeader,
          "Tus-Resumable": "1.0.0",
          "Upload-Length": "5",
          "Upload-Metadata": `filename ${Buffer.from("../etc/passwd").toString("base64")}`,
        },
      });
      expect(badName.status).toBe(400);
      expect(await badName.text()).toContain("cannot contain");
      const badFolder = await fetch(`${app.url}/api/uploads`, {
        method: "POST",
        headers: {
          cookie: user.cookieHeader,
          "Tus-Resumable": "1.0.0",
          "Upload-Length": "5",
          "Upload-Metadata": `filename ${Buffer.from("a.txt").toString("base64")},folderId ${Buffer.from("missing").toString("base64")}`,
        },
      });
      expect(badFolder.status).toBe(404);
    });

    it("does not let another user continue or inspect someone's upload", async () => {
      const create = await fetch(`${app.url}/api/uploads`, {
        method: "POST",
        headers: {
          cookie: user.cookieHeader,
          "Tus-Resumable": "1.0.0",
          "Upload-Length": "10",
          "Upload-Metadata": `filename ${Buffer.from("mine.txt").toString("base64")}`,
        },
      });
      expect(create.status).toBe(201);
      const location = new URL(create.headers.get("location")!, app.url).toString();
      const head = await fetch(location, { method: "HEAD", headers: { cookie: admin.cookieHeader, "Tus-Resumable": "1.0.0" } });
      expect(head.status).toBe(404);
      const patch = await fetch(location, {
        method: "PATCH",
        headers: {
          cookie: admin.cookieHeader,
          "Tus-Resumable": "1.0.0",
          "Upload-Offset": "0",
          "Content-Type": "application/offset+octet-stream",
        },
        body: "0123456789",
      });
      expect(patch.status).toBe(404);
    });
  });

  describe("search", () => {
    it("finds files by word, prefix and misspelling through the configured driver, only the user's own", async () => {
      const plain = await (await user.get("/search?q=quarterly")).text();
      expect(plain).toContain("Quarterly Report.pdf");
      const misspelt = await (await user.get("/search?q=quartrly")).text();
      expect(misspelt).toContain("Quarterly Report.pdf");
      const prefix = await (await user.get("/search?q=repo")).text();
      expect(prefix).toContain("Quarterly Report.pdf");
      const adminView = await (await admin.get("/search?q=quarterly")).text();
      expect(adminView).not.toContain("Quarterly Report.pdf");
      const nothing = await (await user.get("/search?q=zzzzqqq")).text();
      expect(nothing).toContain("Nothing matches");
    });

    it("says there are more results than it counted when the driver stopped counting", async () => {
      const { ownerId, folderId } = await app.services.prisma.file.findFirstOrThrow({ where: { name: "Quarterly Report.pdf" } });
      const lanterns = Array.from({ length: 1005 }, (_, i) => ({
        id: `lantern-${i}-${drivers.storage}`,
        ownerId,
        kind: "file" as const,
        name: `Lantern ${String(i).padStart(4, "0")}.txt`,
        folderId,
        mimeType: "text/plain",
        size: 1,
        updatedAt: new Date(),
      }));
      await app.services.search.upsert(lanterns);
      try {
        const page = await (await user.get("/search?q=lantern")).text();
        expect(page).toContain("More than 1000 results for “lantern”");
        const few = await (await user.get("/search?q=lantern%200004")).text();
        expect(few).toContain("1 result for “lantern 0004”");
      } finally {
        await app.services.search.remove(lanterns.map((doc) => doc.id));
      }
    });
  });

  describe("admin", () => {
    it("shows users with their storage used to admins", async () => {
      const response = await admin.get("/admin/users");
      expect(response.status).toBe(200);
      const page = await response.text();
      expect(page).toContain("bob@example.com");
      const usage = await app.services.prisma.file.aggregate({ where: { owner: { email: "bob@example.com" } }, _sum: { size: true } });
      expect(Number(usage._sum.size)).toBeGreaterThan(0);
    });

    it("answers 403 to non-admins and sends anonymous visitors to login", async () => {
      const forbidden = await user.get("/admin");
      expect(forbidden.status).toBe(403);
      expect(await forbidden.text()).not.toMatch(/at \w+ \(.*:\d+:\d+\)/);
      const anonymous = await fetch(`${app.url}/admin`, { redirect: "manual" });
      expect(anonymous.status).toBe(302);
      expect(anonymous.headers.get("location")).toBe("/login?redirectTo=%2Fadmin");
    });
  });
});

async function countObjects(app: TestApp): Promise<number> {
  let count = 0;
  for await (const _ of app.services.storage.list()) count++;
  return count;
}
