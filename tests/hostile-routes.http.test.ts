import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { NOTIFIABLE_KINDS } from "~/domain/events/catalogue";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

/**
 * Property: whatever a client sends, to whichever route, the answer is never a 5xx.
 *
 * The table below lists every route file in app/routes (a new route without an entry fails the
 * first test) and the endpoints served outside Remix (health, metrics, tus, Socket.IO), each
 * with its parameters, form fields, query parameters and the headers it reads. fast-check then
 * generates hostile values for all of them (NUL and control characters, bidi overrides, huge
 * strings, lone surrogates, non-UTF-8 percent-escapes, wrong types, negative and NaN numbers,
 * wrong and broken content types) and sends them as real HTTP requests to the production build,
 * with a valid CSRF token, signed in as an administrator who owns real items or as a visitor.
 */

/** 20 keeps the file near 30 s; HOSTILE_RUNS=200 searches deeper (fast-check picks a new seed each run). */
const RUNS_PER_ROUTE = Number(process.env.HOSTILE_RUNS) || 20;

/** The kinds of route parameter; a valid value comes from the items made in beforeAll. */
type ParamKind = "folder" | "file" | "version" | "kind" | "token" | "user" | "resetToken";

interface RouteEntry {
  /** The URL pattern, with :name for each parameter. */
  path: string;
  params?: Record<string, ParamKind>;
  /** Query parameters the loader reads. */
  query?: string[];
  /** Form fields the action reads, and the intents it knows; no `post`: the route has no action. */
  post?: { fields: string[]; intents?: string[] };
  /** Headers the route reads beyond the cookie. */
  headers?: string[];
  /** A 5xx that is the route's documented answer, not a failure (503: a service is not set up). */
  documented5xx?: number[];
}

const ROUTES: Record<string, RouteEntry> = {
  "_index.tsx": { path: "/" },
  "account-deleted.tsx": { path: "/account-deleted", query: ["restorable", "erasing"] },
  "activity.tsx": { path: "/activity", query: ["after"] },
  "notifications.tsx": { path: "/notifications", query: ["after"], post: { fields: ["id"], intents: ["read", "read-all"] } },
  "admin._index.tsx": { path: "/admin", post: { fields: ["title", "body"], intents: ["announce"] } },
  "admin.users._index.tsx": {
    path: "/admin/users",
    query: ["done", "q"],
    post: { fields: ["userId", "quota", "role", "proof"], intents: ["set-quota", "set-role", "unlock"] },
  },
  "admin.analytics.tsx": { path: "/admin/analytics", query: ["days"] },
  "admin.system.tsx": { path: "/admin/system" },
  "admin.lifecycle.tsx": { path: "/admin/lifecycle" },
  "admin.holds.tsx": {
    path: "/admin/holds",
    query: ["done"],
    post: {
      fields: ["targetType", "email", "itemId", "path", "reason", "holdId", "kind", "days", "ruleId"],
      intents: ["place", "release", "add-rule", "remove-rule"],
    },
  },
  "admin.jobs.tsx": { path: "/admin/jobs", post: { fields: ["queue", "jobId"], intents: ["retry", "run"] } },
  "admin.audit.tsx": {
    path: "/admin/audit",
    query: ["actor", "action", "outcome", "targetType", "targetId", "ip", "from", "to", "after", "before"],
  },
  "admin.audit[.]csv.tsx": {
    path: "/admin/audit.csv",
    query: ["actor", "action", "outcome", "targetType", "targetId", "ip", "from", "to"],
  },
  "admin.tokens.tsx": { path: "/admin/tokens", query: ["user", "done"], post: { fields: ["token", "filter"], intents: ["revoke"] } },
  "admin.settings.tsx": {
    path: "/admin/settings",
    post: {
      fields: [
        "defaultQuota",
        "maxFileSize",
        "blockedExtensions",
        "versionsKept",
        "versionRetentionDays",
        "deletedAccountRetentionDays",
        "trashRetentionDays",
        "auditRetentionDays",
        "sessionIdleDays",
        "sessionAbsoluteDays",
        "tokensMustExpire",
        "tokenMaxDays",
        "requireMfaForAdmins",
        "requireMfaAfterSso",
        "proof",
        "loaded",
      ],
    },
  },
  "admin.users.$userId.delete.tsx": {
    path: "/admin/users/:userId/delete",
    params: { userId: "user" },
    post: { fields: ["files", "confirmEmail", "proof"] },
  },
  "admin.users.$userId.erasure.tsx": { path: "/admin/users/:userId/erasure", params: { userId: "user" } },
  "admin.users.$userId.status.tsx": {
    path: "/admin/users/:userId/status",
    params: { userId: "user" },
    post: { fields: ["proof"], intents: ["deactivate", "reactivate", "restore"] },
  },
  "auth.oidc.tsx": { path: "/auth/oidc", query: ["redirectTo"] },
  "auth.oidc_.callback.tsx": { path: "/auth/oidc/callback", query: ["code", "state", "error", "iss"] },
  "auth.oidc_.reauth.tsx": { path: "/auth/oidc/reauth", query: ["returnTo"] },
  "bulk.tsx": {
    path: "/bulk",
    query: ["intent", "item", "from", "respond", "result"],
    post: {
      fields: ["item", "destination", "from", "policy", "respond", "result"],
      intents: ["move", "copy", "trash", "restore", "delete"],
    },
  },
  // The API router: one entry for all of /api/v1 (tests/api-contract.http.test.ts sends hostile JSON).
  "api.v1.$.tsx": {
    path: "/api/v1/folders/:folderId/children",
    params: { folderId: "folder" },
    query: ["cursor", "sort", "dir", "limit"],
    headers: ["if-match", "range", "authorization"],
  },
  "api.v1.openapi[.]json.tsx": { path: "/api/v1/openapi.json" },
  "api.docs.tsx": { path: "/api/docs" },
  "bulk_.zip.tsx": { path: "/bulk/zip", query: ["item"] },
  "details.$kind.$id.tsx": {
    path: "/details/:kind/:id",
    params: { kind: "kind", id: "file" },
    query: ["done", "version"],
    post: { fields: ["name", "destination", "policy", "versionId"], intents: ["rename", "move", "copy", "trash", "restore-version"] },
  },
  "download.$fileId.tsx": {
    path: "/download/:fileId",
    params: { fileId: "file" },
    headers: ["range", "if-range", "if-none-match", "if-modified-since"],
  },
  "download.version.$versionId.tsx": { path: "/download/version/:versionId", params: { versionId: "version" }, headers: ["range"] },
  "files.$folderId.tsx": {
    path: "/files/:folderId",
    params: { folderId: "folder" },
    query: ["sort", "dir", "view", "after", "before"],
    post: { fields: ["name", "open", "onConflict"], intents: ["create-folder"] },
  },
  "files._index.tsx": {
    path: "/files",
    query: ["sort", "dir", "view", "after", "before"],
    post: { fields: ["name", "open", "onConflict"], intents: ["create-folder"] },
  },
  "folders.path.ts": { path: "/folders/path", post: { fields: ["folderId", "path"] } },
  // No SMTP in this app: the form says to ask an administrator, with 503.
  "forgot-password.tsx": { path: "/forgot-password", query: ["sent"], post: { fields: ["email"] }, documented5xx: [503] },
  "login.tsx": { path: "/login", query: ["redirectTo"], post: { fields: ["email", "password", "redirectTo"] } },
  "login_.mfa.tsx": { path: "/login/mfa", post: { fields: ["code", "method"] } },
  "login_.passkey.tsx": { path: "/login/passkey", post: { fields: ["step", "mode", "redirectTo", "response"] } },
  "logout.tsx": { path: "/logout" },
  "theme.tsx": { path: "/theme", post: { fields: ["theme", "redirectTo"] } },
  "register.tsx": { path: "/register", post: { fields: ["name", "email", "password"] } },
  "reset-password.$token.tsx": {
    path: "/reset-password/:token",
    params: { token: "resetToken" },
    query: ["done"],
    post: { fields: ["newPassword", "confirmPassword"] },
  },
  "s.$token.tsx": {
    path: "/s/:token",
    params: { token: "token" },
    query: ["after", "sort", "dir"],
    post: { fields: ["password", "onConflict"], intents: ["unlock", "upload"] },
  },
  "s.$token_.download.$fileId.tsx": { path: "/s/:token/download/:fileId", params: { token: "token", fileId: "file" }, headers: ["range"] },
  "s.$token_.f.$folderId.tsx": {
    path: "/s/:token/f/:folderId",
    params: { token: "token", folderId: "folder" },
    query: ["after"],
    post: { fields: ["password", "onConflict"], intents: ["unlock", "upload"] },
  },
  "s.$token_.thumbnail.$fileId.tsx": { path: "/s/:token/thumbnail/:fileId", params: { token: "token", fileId: "file" } },
  "s.$token_.view.$fileId.tsx": { path: "/s/:token/view/:fileId", params: { token: "token", fileId: "file" }, headers: ["range"] },
  "s.$token_.zip.tsx": { path: "/s/:token/zip", params: { token: "token" }, query: ["folder"] },
  "search.tsx": { path: "/search", query: ["q", "type", "modified", "from", "to", "size", "folder", "sort", "order"] },
  "settings.privacy.tsx": { path: "/settings/privacy", post: { fields: ["confirmEmail", "password", "proof"], intents: ["delete"] } },
  "settings.privacy_.export.tsx": { path: "/settings/privacy/export", post: { fields: [] } },
  "settings.security.tsx": {
    path: "/settings/security",
    query: ["done"],
    post: {
      fields: ["currentPassword", "newPassword", "confirmPassword", "session", "proof"],
      intents: ["change-password", "revoke-session", "revoke-other-sessions"],
    },
  },
  "settings.security_.mfa.tsx": {
    path: "/settings/security/mfa",
    post: { fields: ["code", "proof"], intents: ["start", "confirm", "regenerate", "disable"] },
  },
  "settings.security_.passkeys.tsx": {
    path: "/settings/security/passkeys",
    post: { fields: ["step", "name", "passkey", "response", "proof"], intents: ["remove-passkey", "rename-passkey"] },
  },
  "settings.notifications.tsx": {
    path: "/settings/notifications",
    query: ["done"],
    post: { fields: ["locale", "timeZone", ...NOTIFIABLE_KINDS.map((entry) => `channel.${entry.kind}`)] },
  },
  "settings.tokens.tsx": {
    path: "/settings/tokens",
    query: ["done"],
    post: { fields: ["name", "scopes", "expiry", "token"], intents: ["create", "revoke"] },
  },
  "settings.webhooks.tsx": {
    path: "/settings/webhooks",
    query: ["done"],
    post: { fields: ["url", "eventTypes", "scope", "webhook"], intents: ["create", "enable", "disable", "delete", "rotate", "test"] },
  },
  "shared.tsx": { path: "/shared", query: ["after"] },
  "shares.tsx": {
    path: "/shares",
    query: ["item", "done"],
    post: {
      fields: ["item", "linkId", "shareId", "email", "permission", "password", "clearPassword", "expiresAt", "maxDownloads", "mode"],
      intents: ["create-link", "update-link", "revoke-link", "share-user", "remove-user-share"],
    },
  },
  // No login, no CSRF token (RFC 8058); anything but a signed token is a 400.
  "unsubscribe.$unsubscribeToken.tsx": {
    path: "/unsubscribe/:unsubscribeToken",
    params: { unsubscribeToken: "resetToken" },
    post: { fields: ["List-Unsubscribe"] },
  },
  "thumbnail.$fileId.tsx": { path: "/thumbnail/:fileId", params: { fileId: "file" } },
  "trash.tsx": {
    path: "/trash",
    query: ["done", "item", "after"],
    post: { fields: ["kind", "id", "item", "confirm", "confirmed"], intents: ["restore", "delete", "empty"] },
  },
  "view.$fileId.tsx": { path: "/view/:fileId", params: { fileId: "file" }, headers: ["range"] },
};

/** Endpoints served by Express outside Remix, with the methods and headers each reads. */
const ENDPOINTS: Array<{
  name: string;
  path: string;
  params?: Record<string, ParamKind | "upload">;
  query?: string[];
  methods: string[];
  headers: string[];
}> = [
  { name: "health", path: "/healthz", methods: ["GET", "HEAD", "POST"], headers: [] },
  { name: "readiness", path: "/readyz", methods: ["GET"], headers: [] },
  { name: "metrics", path: "/metrics", methods: ["GET"], headers: ["authorization"] },
  {
    name: "tus creation",
    path: "/api/uploads",
    methods: ["POST", "OPTIONS", "GET", "TRACE", "PUT"],
    headers: [
      "tus-resumable",
      "upload-length",
      "upload-defer-length",
      "upload-metadata",
      "upload-concat",
      "content-type",
      "x-http-method-override",
    ],
  },
  {
    name: "tus upload",
    path: "/api/uploads/:upload",
    params: { upload: "upload" },
    methods: ["HEAD", "PATCH", "DELETE", "OPTIONS", "GET", "TRACE", "PROPFIND"],
    headers: ["tus-resumable", "upload-offset", "upload-length", "content-type", "x-http-method-override"],
  },
  {
    name: "WebDAV",
    path: "/dav/:name",
    params: { name: "kind" },
    methods: ["OPTIONS", "PROPFIND", "PROPPATCH", "MKCOL", "GET", "PUT", "DELETE", "COPY", "MOVE", "LOCK", "UNLOCK"],
    headers: ["authorization", "depth", "destination", "overwrite", "if", "lock-token", "timeout", "range", "content-type"],
  },
  { name: "Socket.IO", path: "/socket.io/", query: ["EIO", "transport", "sid", "t"], methods: ["GET", "POST"], headers: ["content-type"] },
];

// ---- hostile values ---------------------------------------------------------------------------

const HOSTILE_TEXT = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\u0001\u001f\u007f\u0085",
  "report\u202Etxt.exe",
  "\u2066x\u2069",
  "zero\u200Bwidth",
  "\uFEFFbom",
  "\ud800",
  "\udfff\ud800",
  "..",
  "../../etc/passwd",
  "/\\//",
  "C:\\Windows",
  "-1",
  "-0",
  "NaN",
  "Infinity",
  "1e309",
  "0x10",
  "9".repeat(400),
  "99999999999999999999999",
  "1.5",
  "true",
  "null",
  "undefined",
  "[]",
  "{}",
  '{"__proto__":{"x":1}}',
  "file:",
  "file:\u0000",
  "folder:../x",
  "file:" + "a".repeat(300),
  "<script>alert(1)</script>",
  "'; DROP TABLE users; --",
  "%00",
  "%",
  "\r\n\r\nX-Injected: 1",
  "2026-13-45T99:99:99Z",
  "x".repeat(70_000),
  "é".repeat(5_000),
  "👨‍👩‍👧".repeat(100),
];

/** Percent-escapes that do not decode to UTF-8 (or at all), sent as they are. */
const RAW_ESCAPES = ["%00", "%FF", "%C0%AF", "%E0%A4%A", "%ED%A0%80", "%", "%%", "%zz", "%2e%2e", "%2F", "%5C", "%0D%0A"];

const hostileText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_TEXT) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  {
    weight: 2,
    arbitrary: fc.string({
      unit: fc.constantFrom("\u0000", "\u001b", "\u202e", "\u2067", "\u200b", "\ufeff", "a", "/", ".", "%", "&", "=", ":"),
      maxLength: 30,
    }),
  },
  { weight: 1, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.double().map(String) },
);

/** Either as text (to be encoded) or a raw escape sent as it is. */
type Piece = { raw: string } | { text: string };
const hostilePiece: fc.Arbitrary<Piece> = fc.oneof(
  { weight: 4, arbitrary: hostileText.map((text) => ({ text })) },
  { weight: 1, arbitrary: fc.constantFrom(...RAW_ESCAPES).map((raw) => ({ raw })) },
);

/** encodeURIComponent, except that a lone surrogate (which it refuses) goes as its WTF-8 bytes. */
function encode(piece: Piece): string {
  if ("raw" in piece) return piece.raw;
  return [...piece.text]
    .map((ch) => {
      try {
        return encodeURIComponent(ch);
      } catch {
        return wtf8(ch.charCodeAt(0));
      }
    })
    .join("");
}

function wtf8(code: number): string {
  const bytes = [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)];
  return bytes.map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join("");
}

/** A header value Node will send: printable Latin-1 only, at most 2 kB (see MAX_URL_PIECE). */
function headerSafe(value: string): string {
  return value.replace(/[^\u0020-\u007e\u0080-\u00ff]/g, "?").slice(0, 2_000);
}

const HEADER_VALUES: Record<string, fc.Arbitrary<string>> = {
  range: fc.constantFrom(
    "bytes=0-0",
    "bytes=-1",
    "bytes=5-2",
    "bytes=99999999999999999999-",
    "bytes=0-1,2-3,4-5",
    "bytes=abc",
    "items=0-1",
    "bytes=-0",
    "bytes=--1",
    "bytes=",
  ),
  "if-range": fc.constantFrom('"etag"', "Thu, 01 Jan 1970 00:00:00 GMT", "garbage"),
  "if-none-match": fc.constantFrom("*", '"x"', "W/", "", '"x", W/"y"', ","),
  "if-modified-since": fc.constantFrom("Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "garbage", "-1", ""),
  "tus-resumable": fc.constantFrom("1.0.0", "0.2.2", "", "1.0.0, 1.0.0", "NaN"),
  "upload-length": fc.constantFrom("-1", "NaN", "1e3", "18446744073709551616", "3", "0", " 3", "3.5", ""),
  "upload-defer-length": fc.constantFrom("1", "0", "x"),
  "upload-offset": fc.constantFrom("-1", "NaN", "0", "99999999999999999999", "1.5", ""),
  "upload-concat": fc.constantFrom("partial", "final;/api/uploads/x /api/uploads/%00", "final;", "junk"),
  "x-http-method-override": fc.constantFrom("TRACE", "DELETE", "PATCH", "CONNECT", "\u00ff"),
  authorization: fc.constantFrom("Bearer ", "Bearer x", "Basic Og==", "Basic eDp5", "Bearer " + "a".repeat(5000)),
  "content-type": fc.constantFrom("application/offset+octet-stream", "text/plain", "application/json", "multipart/form-data", "x/\u00ff"),
  "upload-metadata": fc
    .array(fc.tuple(fc.constantFrom("filename", "folderId", "relativePath", "onConflict", "filetype", "x", ""), hostileText), {
      maxLength: 4,
    })
    .chain((pairs) =>
      fc.constantFrom(
        pairs.map(([key, value]) => `${key} ${Buffer.from(value).toString("base64")}`).join(","),
        pairs.map(([key, value]) => `${key} ${value}`).join(","),
        pairs.map(([key]) => key).join(",,"),
      ),
    ),
};

function headerArbitrary(names: string[]): fc.Arbitrary<Record<string, string>> {
  const entries = names.map(
    (name) => [name, fc.option(fc.oneof(HEADER_VALUES[name] ?? hostileText, hostileText), { nil: undefined })] as const,
  );
  return fc.record(Object.fromEntries(entries)).map((headers) => {
    const sent: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) if (value !== undefined) sent[name] = headerSafe(value);
    return sent;
  });
}

/** Cookies the app reads besides the session; hostile values ride along the real session. */
const EXTRA_COOKIE_NAMES = ["coffer_view", "coffer_mfa", "coffer_passkey", "coffer_oidc", "coffer_share", "coffer_search_query"];
const extraCookie = fc.option(fc.tuple(fc.constantFrom(...EXTRA_COOKIE_NAMES), hostilePiece), { nil: undefined });

// ---- requests -------------------------------------------------------------------------------

type Body = { contentType: string | null; bytes: Buffer };
type BodyKind = "urlencoded" | "multipart" | "json" | "text" | "none" | "multipart-cut" | "multipart-no-boundary";

function urlencoded(csrf: string, fields: Array<[string, Piece]>): Buffer {
  return Buffer.from(
    [`_csrf=${csrf}`, ...fields.map(([name, value]) => `${encodeURIComponent(name)}=${encode(value)}`)].join("&"),
    "latin1",
  );
}

function multipart(csrf: string, fields: Array<[string, Piece]>, withFile: boolean, cut: boolean): { boundary: string; bytes: Buffer } {
  const boundary = `----hostile${randomBytes(8).toString("hex")}`;
  const parts: Buffer[] = [Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${csrf}\r\n`)];
  for (const [name, value] of fields) {
    const text = "raw" in value ? value.raw : value.text;
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`),
      Buffer.from(text, "utf8"),
      Buffer.from("\r\n"),
    );
  }
  if (withFile) {
    const name = fields[0] ? ("raw" in fields[0][1] ? fields[0][1].raw : fields[0][1].text) : "a.txt";
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name.replace(/["\r\n]/g, "_")}"\r\nContent-Type: text/plain\r\n\r\nhostile bytes\r\n`,
      ),
    );
  }
  if (!cut) parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { boundary, bytes: Buffer.concat(parts) };
}

function body(kind: BodyKind, csrf: string, fields: Array<[string, Piece]>, withFile: boolean): Body {
  switch (kind) {
    case "urlencoded":
      return { contentType: "application/x-www-form-urlencoded", bytes: urlencoded(csrf, fields) };
    case "multipart":
    case "multipart-cut": {
      const { boundary, bytes } = multipart(csrf, fields, withFile, kind === "multipart-cut");
      return { contentType: `multipart/form-data; boundary=${boundary}`, bytes };
    }
    case "multipart-no-boundary":
      return { contentType: "multipart/form-data", bytes: multipart(csrf, fields, withFile, false).bytes };
    case "json":
      return {
        contentType: "application/json",
        bytes: Buffer.from(
          JSON.stringify(Object.fromEntries(fields.map(([name, value]) => [name, "raw" in value ? value.raw : value.text]))),
        ),
      };
    case "text":
      return { contentType: "text/plain", bytes: urlencoded(csrf, fields) };
    case "none":
      return { contentType: null, bytes: Buffer.alloc(0) };
  }
}

const bodyKind = fc.constantFrom<BodyKind>(
  "urlencoded",
  "urlencoded",
  "urlencoded",
  "multipart",
  "multipart",
  "json",
  "text",
  "none",
  "multipart-cut",
  "multipart-no-boundary",
);

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

function send(app: TestApp, request: Sent): Promise<{ status: number; body: string }> {
  const url = new URL(app.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method: request.method, path: request.path, headers: request.headers },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          // Enough to see what went wrong; a large download is not read to its end.
          if (size < 4096) chunks.push(chunk);
          size += chunk.length;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8").slice(0, 4096) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(request.body);
  });
}

function describeSent(request: Sent): string {
  const shown = {
    ...request,
    headers: { ...request.headers, cookie: "(session…)" },
    body: request.body?.subarray(0, 300).toString("latin1"),
  };
  return JSON.stringify(shown);
}

/**
 * Node's HTTP parser refuses a request head over 16 kB before the app sees it (431, or a closed
 * socket): URLs are kept below that, so that what is tested is the app.
 */
const MAX_URL_PIECE = 3_000;
const inUrl = (piece: Piece) => encode(piece).slice(0, MAX_URL_PIECE);

/** The route's path with each parameter either valid (a real item) or hostile. */
function pathArbitrary(pattern: string, params: Record<string, string>, valid: (kind: string) => string): fc.Arbitrary<string> {
  const names = Object.keys(params);
  const values = names.map((name) =>
    fc.oneof({ weight: 1, arbitrary: fc.constant<Piece>({ raw: valid(params[name]) }) }, { weight: 2, arbitrary: hostilePiece }),
  );
  return fc
    .tuple(...values)
    .map((pieces) => names.reduce((built, name, index) => built.replace(`:${name}`, inUrl(pieces[index]) || "%20"), pattern));
}

function queryArbitrary(names: string[]): fc.Arbitrary<string> {
  if (names.length === 0) return fc.constantFrom("", "?%FF=%00", "?a=%E0%A4%A");
  return fc
    .array(fc.tuple(fc.constantFrom(...names), hostilePiece), { maxLength: 4 })
    .map((pairs) =>
      pairs.length === 0 ? "" : `?${pairs.map(([name, value]) => `${name}=${inUrl(value)}`).join("&")}`.slice(0, 2 * MAX_URL_PIECE),
    );
}

// ---- the test -------------------------------------------------------------------------------

describe("hostile values for every route's parameters, fields and headers never get a 5xx", () => {
  let app: TestApp;
  let admin: TestClient;
  /** A browser that is not signed in (it has its CSRF cookie): public pages and share links. */
  let visitor: TestClient;
  let valid: Record<string, string>;

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    admin = new TestClient(app.url);
    await admin.register("Ada Admin", "ada@example.com");
    visitor = new TestClient(app.url);
    await visitor.getCsrfToken();
    const other = new TestClient(app.url);
    await other.register("Oscar Other", "oscar@example.com");
    const { prisma } = app.services;
    const created = await admin.postForm("/files", { intent: "create-folder", name: "Projects", open: "1" });
    expect(created.status).toBe(302);
    const folder = created.headers.get("location")!.split("/").pop()!;
    for (let i = 0; i < 2; i++) {
      const form = new FormData();
      form.append("onConflict", "replace");
      form.append("file", new Blob(["report"]), "report.txt");
      expect((await admin.postMultipart(`/files/${folder}`, form)).status).toBe(200);
    }
    const file = await prisma.file.findFirstOrThrow({ where: { folderId: folder } });
    const version = await prisma.fileVersion.findFirstOrThrow({ where: { fileId: file.id } });
    expect((await admin.postForm("/shares", { intent: "create-link", item: `folder:${folder}` })).status).toBe(200);
    const link = await prisma.shareLink.findFirstOrThrow({ where: { folderId: folder } });
    const upload = await admin.request("/api/uploads", {
      method: "POST",
      headers: {
        "Tus-Resumable": "1.0.0",
        "Upload-Length": "10",
        "Upload-Metadata": `filename ${Buffer.from("pending.bin").toString("base64")}`,
      },
    });
    expect(upload.status).toBe(201);
    const otherUser = await prisma.user.findUniqueOrThrow({ where: { email: "oscar@example.com" } });
    valid = {
      folder,
      file: file.id,
      version: version.id,
      kind: "folder",
      token: link.token,
      user: otherUser.id,
      resetToken: "not-a-real-token",
      upload: upload.headers.get("location")!.split("/").pop()!,
    };
  });

  it("has an entry for every route file, and none for route files that are gone", () => {
    const files = fs.readdirSync(path.resolve(import.meta.dirname, "../app/routes")).filter((name) => /\.(tsx?|jsx?)$/.test(name));
    const missing = files.filter((name) => !(name in ROUTES));
    const stale = Object.keys(ROUTES).filter((name) => !files.includes(name));
    expect(missing, `route files without an entry in tests/hostile-routes.http.test.ts: ${missing.join(", ")}`).toEqual([]);
    expect(stale, `entries for route files that no longer exist: ${stale.join(", ")}`).toEqual([]);
  });

  /** Signs the admin back in if a request (a hostile logout, say) ended the session. */
  async function stillSignedIn() {
    if ((await admin.get("/files")).status !== 200) expect((await admin.login("ada@example.com")).status).toBe(302);
  }

  async function check(request: Sent, failures: string[], documented: number[] = []) {
    try {
      const response = await send(app, request);
      if (response.status >= 500 && !documented.includes(response.status))
        failures.push(`${response.status} for ${describeSent(request)}: ${response.body.slice(0, 300)}`);
      return response.status < 500;
    } catch (error) {
      failures.push(`no answer (${String(error)}) for ${describeSent(request)}`);
      return false;
    }
  }

  for (const [file, route] of Object.entries(ROUTES)) {
    it(`${file}: ${route.path}`, async () => {
      const failures: string[] = [];
      const csrf = { admin: (await admin.getCsrfToken())!, visitor: (await visitor.getCsrfToken())! };
      const methods = route.post
        ? ["GET", "POST", "POST", "HEAD", "PUT", "DELETE", "TRACE"]
        : ["GET", "GET", "HEAD", "POST", "TRACE", "PROPFIND"];
      const fields = [...(route.post?.fields ?? []), "intent", "_extra"];
      const intent = fc.oneof(
        fc.constantFrom(...(route.post?.intents ?? ["probe"])).map<Piece>((text) => ({ text })),
        hostilePiece,
      );
      const request = fc.record({
        method: fc.constantFrom(...methods),
        path: pathArbitrary(route.path, route.params ?? {}, (kind) => valid[kind]),
        query: queryArbitrary(route.query ?? []),
        intent,
        fields: fc.array(fc.tuple(fc.constantFrom(...fields), hostilePiece), { maxLength: 6 }),
        bodyKind,
        withFile: fc.boolean(),
        headers: headerArbitrary(route.headers ?? []),
        cookie: extraCookie,
        as: fc.constantFrom("admin", "admin", "visitor") as fc.Arbitrary<"admin" | "visitor">,
      });
      await fc
        .assert(
          fc.asyncProperty(request, async (generated) => {
            const client = generated.as === "admin" ? admin : visitor;
            const token = csrf[generated.as];
            const headers: Record<string, string> = { ...generated.headers, cookie: client.cookieHeader, "x-csrf-token": token };
            if (generated.cookie) headers.cookie += `; ${generated.cookie[0]}=${inUrl(generated.cookie[1])}`;
            const sent: Sent = { method: generated.method, path: generated.path + generated.query, headers };
            if (generated.method !== "GET" && generated.method !== "HEAD") {
              const built = body(generated.bodyKind, token, [["intent", generated.intent], ...generated.fields], generated.withFile);
              if (built.contentType) headers["content-type"] = built.contentType;
              headers["content-length"] = String(built.bytes.length);
              sent.body = built.bytes;
            }
            return check(sent, failures, route.documented5xx);
          }),
          { numRuns: RUNS_PER_ROUTE, endOnFailure: true },
        )
        .catch(() => {});
      await stillSignedIn();
      expect(failures).toEqual([]);
    });
  }

  for (const endpoint of ENDPOINTS) {
    it(`${endpoint.name}: ${endpoint.path}`, async () => {
      const failures: string[] = [];
      const request = fc.record({
        method: fc.constantFrom(...endpoint.methods),
        path: pathArbitrary(endpoint.path, endpoint.params ?? {}, (kind) => valid[kind]),
        query: queryArbitrary(endpoint.query ?? []),
        headers: headerArbitrary(endpoint.headers),
        body: fc.oneof(fc.constant(""), hostileText),
        signedIn: fc.boolean(),
      });
      await fc
        .assert(
          fc.asyncProperty(request, async (generated) => {
            const headers: Record<string, string> = { ...generated.headers, ...(generated.signedIn ? { cookie: admin.cookieHeader } : {}) };
            const sent: Sent = { method: generated.method, path: generated.path + generated.query, headers };
            if (!["GET", "HEAD", "OPTIONS", "TRACE"].includes(generated.method)) {
              sent.body = Buffer.from(generated.body, "utf8");
              headers["content-length"] = String(sent.body.length);
            }
            return check(sent, failures);
          }),
          { numRuns: RUNS_PER_ROUTE, endOnFailure: true },
        )
        .catch(() => {});
      await stillSignedIn();
      expect(failures).toEqual([]);
    });
  }
});
