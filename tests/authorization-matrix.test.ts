import path from "node:path";
import { pathToFileURL } from "node:url";
import { randomBytes } from "node:crypto";
import type { ServerBuild } from "@remix-run/node";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { SYSTEM_ACTOR } from "~/domain/audit/audit.server";
import { createWebhook } from "~/domain/events/webhooks.server";
import { trashItem } from "~/domain/files/trash.server";
import { createShareLink } from "~/domain/sharing/share-links.server";
import { shareWithUser } from "~/domain/sharing/user-shares.server";
import { hasScope, TOKEN_SCOPES, type TokenScope } from "~/domain/tokens/scopes";
import { createToken, revokeToken } from "~/domain/tokens/tokens.server";
import { userLocks } from "~/domain/webdav/locks.server";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

/**
 * Every route × {anonymous, owner, another user, admin}: the expected status of a GET and of a
 * POST. The route list comes from the production build's manifest, so a new route fails this
 * test until it has an entry below.
 *
 * Expectations are [anonymous, owner, other, admin]:
 *   LOGIN  a redirect (302/303) to /login, for pages;
 *   a number: that status (401 for APIs, 403 for admin pages to non-admins, 404 where
 *   another user's item must not be revealed, 405 for POST to a route without an action).
 * Admins may read everyone's items (so they get 200 there) but not change them: 403, since
 * the item's existence is no secret to them.
 */
const LOGIN = "login" as const;
type Want = number | typeof LOGIN;
type Row = [anonymous: Want, owner: Want, other: Want, admin: Want];
const ROLES = ["anonymous", "owner", "other", "admin"] as const;
type Role = (typeof ROLES)[number];

/** Real ids created in beforeAll; all items belong to "owner". */
interface Ids {
  folder: string;
  subfolder: string;
  file: string;
  version: string;
  /** A trashed file for /trash, another for /bulk (their owner restores them). */
  trashed: string;
  trashedForBulk: string;
  /** An open link to `folder`, a password-protected link to `file`, and a link the owner revokes. */
  token: string;
  lockedToken: string;
  revocableLink: string;
  otherUserId: string;
  /** A link to `file` and a share of `file` with a fourth account, for the sharing API rows. */
  apiLink: string;
  apiShare: string;
  /** The owner's access tokens: one to read, one the owner revokes, one the admin revokes. */
  ownerToken: string;
  ownerTokenToRevoke: string;
  tokenForAdminToRevoke: string;
  /** A notification of the owner's (only the owner may mark it read). */
  notification: string;
  /** A webhook of the owner's (only the owner may change it). */
  webhook: string;
  /** The owner's webhooks for the API rows: one they change, rotate and test, one they delete. */
  apiWebhook: string;
  apiWebhookToDelete: string;
}

type Form = Record<string, string | string[]>;
interface Entry {
  url: (ids: Ids) => string;
  get: Row;
  /** For routes with an action: the form posted and the statuses. Routes without one must answer 405. */
  post?: { form: (ids: Ids) => Form; want: Row };
}

const NO_ACTION: Row = [405, 405, 405, 405];
const PUBLIC: Row = [200, 200, 200, 200];

// One line per route. Keys are the full paths as the route manifest spells them.
const MATRIX: Record<string, Entry> = {
  "/": { url: () => "/", get: [302, 302, 302, 302] },
  // A signed-in browser posting the login or registration form gets its error too (not a silent redirect).
  "/login": {
    url: () => "/login",
    get: [200, 302, 302, 302],
    post: { form: () => ({ email: "", password: "" }), want: [400, 400, 400, 400] },
  },
  "/register": {
    url: () => "/register",
    get: [200, 302, 302, 302],
    post: { form: () => ({ name: "", email: "", password: "" }), want: [400, 400, 400, 400] },
  },
  "/logout": { url: () => "/logout", get: [302, 302, 302, 302], post: { form: () => ({}), want: [302, 302, 302, 302] } },
  "/files": { url: () => "/files", get: [LOGIN, 200, 200, 200], post: { form: () => ({ intent: "probe" }), want: [LOGIN, 400, 400, 400] } },
  "/files/:folderId": {
    url: (ids) => `/files/${ids.folder}`,
    get: [LOGIN, 200, 404, 200],
    post: { form: () => ({ intent: "create-folder", name: "Probe" }), want: [LOGIN, 200, 404, 403] },
  },
  "/details/:kind/:id": {
    url: (ids) => `/details/file/${ids.file}`,
    get: [LOGIN, 200, 404, 200],
    post: { form: () => ({ intent: "rename", name: "report.txt" }), want: [LOGIN, 302, 404, 403] },
  },
  "/download/:fileId": { url: (ids) => `/download/${ids.file}`, get: [LOGIN, 200, 404, 200] },
  "/download/version/:versionId": { url: (ids) => `/download/version/${ids.version}`, get: [LOGIN, 200, 404, 200] },
  "/trash": {
    url: () => "/trash",
    get: [LOGIN, 200, 200, 200],
    post: { form: (ids) => ({ intent: "restore", kind: "file", id: ids.trashed }), want: [LOGIN, 302, 404, 404] },
  },
  "/bulk": {
    url: (ids) => `/bulk?intent=move&item=file:${ids.file}`,
    get: [LOGIN, 200, 200, 200],
    post: { form: (ids) => ({ intent: "restore", item: `file:${ids.trashedForBulk}` }), want: [LOGIN, 303, 303, 303] },
  },
  "/bulk/zip": { url: (ids) => `/bulk/zip?item=file:${ids.file}`, get: [LOGIN, 200, 404, 200] },
  // Search below a folder: as reading the folder (another user's search names nothing of it).
  "/search": { url: (ids) => `/search?q=report&folder=${ids.folder}&type=document&sort=name`, get: [LOGIN, 200, 404, 200] },
  "/shared": { url: () => "/shared", get: [LOGIN, 200, 200, 200] },
  "/shares": {
    url: (ids) => `/shares?item=file:${ids.file}`,
    get: [LOGIN, 200, 404, 404],
    post: { form: (ids) => ({ intent: "revoke-link", linkId: ids.revocableLink }), want: [LOGIN, 200, 404, 404] },
  },
  "/s/:token": {
    url: (ids) => `/s/${ids.lockedToken}`,
    get: PUBLIC,
    post: { form: () => ({ intent: "unlock", password: "wrong" }), want: [401, 401, 401, 401] },
  },
  "/s/:token/f/:folderId": {
    url: (ids) => `/s/${ids.token}/f/${ids.subfolder}`,
    get: PUBLIC,
    post: { form: () => ({ intent: "probe" }), want: [400, 400, 400, 400] },
  },
  "/s/:token/download/:fileId": { url: (ids) => `/s/${ids.token}/download/${ids.file}`, get: PUBLIC },
  "/s/:token/zip": { url: (ids) => `/s/${ids.token}/zip`, get: PUBLIC },
  "/admin": {
    url: () => "/admin",
    get: [LOGIN, 403, 403, 200],
    post: { form: () => ({ intent: "announce", title: "" }), want: [LOGIN, 403, 403, 400] },
  },
  "/admin/users": {
    url: () => "/admin/users",
    get: [LOGIN, 403, 403, 200],
    post: { form: (ids) => ({ intent: "set-quota", userId: ids.otherUserId, quota: "" }), want: [LOGIN, 403, 403, 200] },
  },
  "/admin/settings": {
    url: () => "/admin/settings",
    get: [LOGIN, 403, 403, 200],
    post: { form: () => ({}), want: [LOGIN, 403, 403, 400] },
  },
  "/admin/audit": { url: () => "/admin/audit", get: [LOGIN, 403, 403, 200] },
  "/admin/tokens": {
    url: () => "/admin/tokens",
    get: [LOGIN, 403, 403, 200],
    post: { form: () => ({ intent: "revoke", token: "0".repeat(24) }), want: [LOGIN, 403, 403, 404] },
  },
  "/admin/analytics": { url: () => "/admin/analytics", get: [LOGIN, 403, 403, 200] },
  "/admin/system": { url: () => "/admin/system", get: [LOGIN, 403, 403, 200] },
  "/admin/lifecycle": { url: () => "/admin/lifecycle", get: [LOGIN, 403, 403, 200] },
  // A hold without a reason: nothing is placed (400) for the administrator.
  "/admin/holds": {
    url: () => "/admin/holds",
    get: [LOGIN, 403, 403, 200],
    post: { form: () => ({ intent: "place", targetType: "user", email: "nobody@example.com", reason: "" }), want: [LOGIN, 403, 403, 400] },
  },
  // A queue that does not exist: nothing to run (404) for the administrator.
  "/admin/jobs": {
    url: () => "/admin/jobs",
    get: [LOGIN, 403, 403, 200],
    post: { form: () => ({ intent: "run", queue: "no-such-queue" }), want: [LOGIN, 403, 403, 404] },
  },
  // Without the admin's password nothing changes (400); the "other" user stays active.
  "/admin/users/:userId/status": {
    url: (ids) => `/admin/users/${ids.otherUserId}/status`,
    get: [LOGIN, 403, 403, 200],
    post: { form: () => ({ intent: "deactivate" }), want: [LOGIN, 403, 403, 400] },
  },
  "/admin/users/:userId/delete": {
    url: (ids) => `/admin/users/${ids.otherUserId}/delete`,
    get: [LOGIN, 403, 403, 200],
    post: { form: () => ({ files: "delete", confirmEmail: "" }), want: [LOGIN, 403, 403, 400] },
  },
  // An account that is not being erased: the page says so, to administrators only.
  "/admin/users/:userId/erasure": { url: (ids) => `/admin/users/${ids.otherUserId}/erasure`, get: [LOGIN, 403, 403, 200] },
  "/admin/audit.csv": { url: () => "/admin/audit.csv", get: [LOGIN, 403, 403, 200] },
  "/account-deleted": { url: () => "/account-deleted", get: PUBLIC },
  // A theme is this browser's choice, anyone's: a GET goes home, a choice goes back where it was made.
  "/theme": {
    url: () => "/theme",
    get: [302, 302, 302, 302],
    post: { form: () => ({ theme: "dark", redirectTo: "/" }), want: [302, 302, 302, 302] },
  },
  "/activity": { url: () => "/activity", get: [LOGIN, 200, 200, 200] },
  // Everyone sees their own list; only the owner may mark the owner's notification read.
  "/notifications": {
    url: () => "/notifications",
    get: [LOGIN, 200, 200, 200],
    post: { form: (ids) => ({ intent: "read", id: ids.notification }), want: [LOGIN, 200, 404, 404] },
  },
  // Single sign-on is not configured in this app: 404 (a signed-in browser is sent on first).
  "/auth/oidc": { url: () => "/auth/oidc", get: [404, 302, 302, 302] },
  "/auth/oidc/callback": { url: () => "/auth/oidc/callback?code=x&state=y", get: [404, 404, 404, 404] },
  // Confirming at the provider is for signed-in people only; without a provider there is nothing to confirm with.
  "/auth/oidc/reauth": { url: () => "/auth/oidc/reauth?returnTo=%2Fsettings%2Fsecurity", get: [LOGIN, 404, 404, 404] },
  "/folders/path": {
    url: () => "/folders/path",
    get: [405, 405, 405, 405],
    post: { form: (ids) => ({ folderId: ids.folder, path: "Probe/" }), want: [LOGIN, 303, 404, 403] },
  },
  // No SMTP here: the form says to ask an administrator (503). Signed-in people go to their settings.
  "/forgot-password": {
    url: () => "/forgot-password",
    get: [200, 302, 302, 302],
    post: { form: () => ({ email: "" }), want: [503, 302, 302, 302] },
  },
  "/login/mfa": {
    url: () => "/login/mfa",
    get: [LOGIN, 302, 302, 302],
    post: { form: () => ({ code: "000000" }), want: [LOGIN, 302, 302, 302] },
  },
  // JSON endpoints of the passkey buttons: a form post is malformed (400) for everyone; GET goes back to the page.
  "/login/passkey": {
    url: () => "/login/passkey",
    get: [LOGIN, LOGIN, LOGIN, LOGIN],
    post: { form: () => ({ step: "options" }), want: [400, 400, 400, 400] },
  },
  "/reset-password/:token": {
    url: () => "/reset-password/not-a-real-token",
    get: PUBLIC,
    post: { form: () => ({ password: "", confirm: "" }), want: [400, 400, 400, 400] },
  },
  "/s/:token/thumbnail/:fileId": { url: (ids) => `/s/${ids.token}/thumbnail/${ids.file}`, get: [404, 404, 404, 404] },
  "/s/:token/view/:fileId": { url: (ids) => `/s/${ids.token}/view/${ids.file}`, get: PUBLIC },
  "/settings/privacy": {
    url: () => "/settings/privacy",
    get: [LOGIN, 200, 200, 200],
    post: { form: () => ({ intent: "delete", confirmEmail: "", password: "" }), want: [LOGIN, 400, 400, 400] },
  },
  "/settings/privacy/export": {
    url: () => "/settings/privacy/export",
    get: [302, 302, 302, 302],
    post: { form: () => ({}), want: [LOGIN, 200, 200, 200] },
  },
  "/settings/security": {
    url: () => "/settings/security",
    get: [LOGIN, 200, 200, 200],
    post: { form: () => ({ intent: "probe" }), want: [LOGIN, 400, 400, 400] },
  },
  "/settings/security/mfa": {
    url: () => "/settings/security/mfa",
    get: [LOGIN, 200, 200, 200],
    post: { form: () => ({ intent: "probe" }), want: [LOGIN, 400, 400, 400] },
  },
  // Everyone has their own preferences; a plain form post saves them.
  "/settings/notifications": {
    url: () => "/settings/notifications",
    get: [LOGIN, 200, 200, 200],
    post: { form: () => ({ "channel.file.created": "in-app" }), want: [LOGIN, 302, 302, 302] },
  },
  // One-click unsubscribe: the signed token is the authority, not a session (RFC 8058). A token
  // that is not ours is a 400 for everyone, signed in or not (a valid one: notification-settings.http.test.ts).
  "/unsubscribe/:unsubscribeToken": {
    url: () => "/unsubscribe/not-a-real-token",
    get: [400, 400, 400, 400],
    post: { form: () => ({ "List-Unsubscribe": "One-Click" }), want: [400, 400, 400, 400] },
  },
  "/settings/tokens": {
    url: () => "/settings/tokens",
    get: [LOGIN, 200, 200, 200],
    // Revoking someone else's (or an unknown) token is not found, whoever asks.
    post: { form: () => ({ intent: "revoke", token: "0".repeat(24) }), want: [LOGIN, 404, 404, 404] },
  },
  // Everyone lists their own; someone else's webhook is not found, even by an administrator.
  "/settings/webhooks": {
    url: () => "/settings/webhooks",
    get: [LOGIN, 200, 200, 200],
    post: { form: (ids) => ({ intent: "disable", webhook: ids.webhook }), want: [LOGIN, 302, 404, 404] },
  },
  "/settings/security/passkeys": {
    url: () => "/settings/security/passkeys",
    get: [LOGIN, 302, 302, 302],
    post: { form: () => ({ step: "options" }), want: [LOGIN, 400, 400, 400] },
  },
  // The API's router (one route for all of /api/v1; every operation is in API_MATRIX below).
  "/api/v1/*": { url: (ids) => `/api/v1/files/${ids.file}`, get: [401, 200, 404, 200], post: { form: () => ({}), want: NO_ACTION } },
  "/api/v1/openapi.json": { url: () => "/api/v1/openapi.json", get: PUBLIC },
  "/api/docs": { url: () => "/api/docs", get: PUBLIC },
  // report.txt has no thumbnail (it is not an image): 404 even for those who may read it.
  "/thumbnail/:fileId": { url: (ids) => `/thumbnail/${ids.file}`, get: [LOGIN, 404, 404, 404] },
  "/view/:fileId": { url: (ids) => `/view/${ids.file}`, get: [LOGIN, 200, 404, 200] },
};

/** Endpoints served outside Remix; each returns the status for a role. */
const ENDPOINTS: Record<string, { want: Row; probe: (client: TestClient, ids: Ids) => Promise<number> }> = {
  "GET /healthz": { want: PUBLIC, probe: async (client) => (await client.get("/healthz")).status },
  "GET /readyz": { want: PUBLIC, probe: async (client) => (await client.get("/readyz")).status },
  // Creating an upload into the owner's folder: only the owner may.
  "POST /api/uploads": {
    want: [401, 201, 404, 403],
    probe: async (client, ids) =>
      (
        await client.request("/api/uploads", {
          method: "POST",
          headers: {
            "Tus-Resumable": "1.0.0",
            "Upload-Length": "3",
            "Upload-Metadata": tusMetadata({ filename: `probe-${randomBytes(4).toString("hex")}.txt`, folderId: ids.folder }),
          },
        })
      ).status,
  },
  // Continuing the owner's upload: only the owner may (others learn nothing: 404).
  "HEAD /api/uploads/:id": {
    want: [401, 200, 404, 404],
    probe: async (client) => (await client.request(ownerUploadUrl, { method: "HEAD", headers: { "Tus-Resumable": "1.0.0" } })).status,
  },
  // Cancelling the owner's upload (tus termination): only the owner may; others learn nothing (404).
  "DELETE /api/uploads/:id": {
    want: [401, 204, 404, 404],
    probe: async (client) =>
      (await client.request(ownerUploadToCancelUrl, { method: "DELETE", headers: { "Tus-Resumable": "1.0.0" } })).status,
  },
  "GET /api/uploads/:id": {
    want: [401, 405, 405, 405],
    probe: async (client) => (await client.request(ownerUploadUrl, { headers: { "Tus-Resumable": "1.0.0" } })).status,
  },
  // Socket.IO: the handshake is refused (403) without a session, before a connection exists.
  "GET /socket.io/": { want: [403, 200, 200, 200], probe: (client) => socketConnect(client) },
};

/**
 * Every /api/v1 operation × role, with a JSON body where it takes one: the same answers as the
 * pages give (404 where another user's item must not be revealed, 403 where an administrator
 * may read but not change), as problems. `recipient` is a user the owner shared `ids.folder`
 * with for reading: they may read what is in it and change nothing (403), and the owner's trash
 * is not theirs (404). Owners go last, so their changes come after the probes.
 */
const API_MATRIX: Record<string, { want: Row; recipient: Want; probe: (client: TestClient, ids: Ids) => Promise<Response> }> = {
  "GET /api/v1/folders/root": { want: [401, 200, 200, 200], recipient: 200, probe: (c) => c.get("/api/v1/folders/root") },
  "GET /api/v1/folders/{id}": { want: [401, 200, 404, 200], recipient: 200, probe: (c, ids) => c.get(`/api/v1/folders/${ids.folder}`) },
  "GET /api/v1/folders/{id}/children": {
    want: [401, 200, 404, 200],
    recipient: 200,
    probe: (c, ids) => c.get(`/api/v1/folders/${ids.folder}/children`),
  },
  "POST /api/v1/folders": {
    want: [401, 201, 404, 403],
    recipient: 403,
    probe: (c, ids) => apiJson(c, "POST", "/api/v1/folders", { parentId: ids.folder, name: `Probe ${randomBytes(4).toString("hex")}` }),
  },
  "PATCH /api/v1/folders/{id}": {
    want: [401, 200, 404, 403],
    recipient: 403,
    probe: (c, ids) => apiJson(c, "PATCH", `/api/v1/folders/${ids.subfolder}`, { name: `Drafts ${randomBytes(4).toString("hex")}` }),
  },
  "POST /api/v1/folders/{id}/copy": {
    want: [401, 201, 404, 403],
    recipient: 403,
    probe: (c, ids) => apiJson(c, "POST", `/api/v1/folders/${ids.subfolder}/copy`, { destinationId: ids.folder, onConflict: "keep-both" }),
  },
  "GET /api/v1/files/{id}": { want: [401, 200, 404, 200], recipient: 200, probe: (c, ids) => c.get(`/api/v1/files/${ids.file}`) },
  "GET /api/v1/files/{id}/content": {
    want: [401, 200, 404, 200],
    recipient: 200,
    probe: (c, ids) => c.get(`/api/v1/files/${ids.file}/content`),
  },
  "GET /api/v1/files/{id}/versions": {
    want: [401, 200, 404, 200],
    recipient: 200,
    probe: (c, ids) => c.get(`/api/v1/files/${ids.file}/versions`),
  },
  "GET /api/v1/files/{id}/versions/{versionId}/content": {
    want: [401, 200, 404, 200],
    recipient: 200,
    probe: (c, ids) => c.get(`/api/v1/files/${ids.file}/versions/${ids.version}/content`),
  },
  "POST /api/v1/files/{id}/copy": {
    want: [401, 201, 404, 403],
    recipient: 403,
    probe: (c, ids) => apiJson(c, "POST", `/api/v1/files/${ids.file}/copy`, { destinationId: ids.folder, onConflict: "keep-both" }),
  },
  // Each item is authorised on its own: others' items are reported as not found (done: 0), never changed.
  "POST /api/v1/items/bulk": {
    want: [401, 200, 200, 200],
    recipient: 200,
    probe: (c, ids) =>
      apiJson(c, "POST", "/api/v1/items/bulk", {
        operation: "copy",
        items: [{ kind: "file", id: ids.file }],
        destinationId: ids.folder,
        onConflict: "keep-both",
      }),
  },
  // Trashing, restoring and deleting for good are refused to everyone but the owner; the owner's
  // success is in tests/api-contract.http.test.ts (here it would take the items other rows use).
  "POST /api/v1/files/{id}/trash": { want: [401, 412, 404, 403], recipient: 403, probe: (c, ids) => apiTrash(c, ids.file) },
  "POST /api/v1/files/{id}/restore": {
    want: [401, 404, 404, 404],
    recipient: 404,
    probe: (c, ids) => apiJson(c, "POST", `/api/v1/files/${ids.file}/restore`),
  },
  "DELETE /api/v1/files/{id}": {
    want: [401, 404, 404, 404],
    recipient: 404,
    probe: (c, ids) => apiJson(c, "DELETE", `/api/v1/files/${ids.file}`),
  },
  // Search below a folder: as reading the folder (another user's search names nothing of it).
  "GET /api/v1/search": {
    want: [401, 200, 404, 200],
    recipient: 200,
    probe: (c, ids) => c.get(`/api/v1/search?q=report&folderId=${ids.folder}`),
  },
  // Sharing: only the item's owner shares it, only a link's or share's owner sees or changes it
  // (an administrator too gets 404, as on /shares). Revoking and removing carry a stale If-Match
  // (412 for the owner), so the link and the share stay for the other rows.
  "POST /api/v1/share-links": {
    want: [401, 201, 404, 404],
    recipient: 404,
    probe: (c, ids) => apiJson(c, "POST", "/api/v1/share-links", { item: { kind: "file", id: ids.file }, maxDownloads: 5 }),
  },
  "GET /api/v1/share-links": { want: [401, 200, 200, 200], recipient: 200, probe: (c) => c.get("/api/v1/share-links") },
  "GET /api/v1/share-links/{id}": {
    want: [401, 200, 404, 404],
    recipient: 404,
    probe: (c, ids) => c.get(`/api/v1/share-links/${ids.apiLink}`),
  },
  "PATCH /api/v1/share-links/{id}": {
    want: [401, 200, 404, 404],
    recipient: 404,
    probe: (c, ids) => apiJson(c, "PATCH", `/api/v1/share-links/${ids.apiLink}`, { maxDownloads: 50 }),
  },
  "DELETE /api/v1/share-links/{id}": {
    want: [401, 412, 404, 404],
    recipient: 404,
    probe: (c, ids) => staleDelete(c, `/api/v1/share-links/${ids.apiLink}`),
  },
  "POST /api/v1/user-shares": {
    want: [401, 201, 404, 404],
    recipient: 404,
    probe: (c, ids) =>
      apiJson(c, "POST", "/api/v1/user-shares", { item: { kind: "file", id: ids.file }, email: GRANTEE_EMAIL, permission: "read" }),
  },
  "GET /api/v1/user-shares": { want: [401, 200, 200, 200], recipient: 200, probe: (c) => c.get("/api/v1/user-shares") },
  "GET /api/v1/user-shares/{id}": {
    want: [401, 200, 404, 404],
    recipient: 404,
    probe: (c, ids) => c.get(`/api/v1/user-shares/${ids.apiShare}`),
  },
  "PATCH /api/v1/user-shares/{id}": {
    want: [401, 200, 404, 404],
    recipient: 404,
    probe: (c, ids) => apiJson(c, "PATCH", `/api/v1/user-shares/${ids.apiShare}`, { permission: "read" }),
  },
  "DELETE /api/v1/user-shares/{id}": {
    want: [401, 412, 404, 404],
    recipient: 404,
    probe: (c, ids) => staleDelete(c, `/api/v1/user-shares/${ids.apiShare}`),
  },
  "GET /api/v1/shared-with-me": { want: [401, 200, 200, 200], recipient: 200, probe: (c) => c.get("/api/v1/shared-with-me") },

  // Your own account: everyone signed in has one.
  "GET /api/v1/me": { want: [401, 200, 200, 200], recipient: 200, probe: (c) => c.get("/api/v1/me") },
  "GET /api/v1/me/usage": { want: [401, 200, 200, 200], recipient: 200, probe: (c) => c.get("/api/v1/me/usage") },
  "GET /api/v1/me/activity": { want: [401, 200, 200, 200], recipient: 200, probe: (c) => c.get("/api/v1/me/activity") },
  // Everyone reads and changes their own notification preferences.
  "GET /api/v1/me/notification-preferences": {
    want: [401, 200, 200, 200],
    recipient: 200,
    probe: (c) => c.get("/api/v1/me/notification-preferences"),
  },
  "PUT /api/v1/me/notification-preferences": {
    want: [401, 200, 200, 200],
    recipient: 200,
    probe: (c) => apiJson(c, "PUT", "/api/v1/me/notification-preferences", { channels: { "file.created": "in-app" } }),
  },
  // Administration: administrators only (403 for everyone else, as the admin pages answer).
  "GET /api/v1/admin/users": { want: [401, 403, 403, 200], recipient: 403, probe: (c) => c.get("/api/v1/admin/users") },
  "POST /api/v1/admin/users": {
    want: [401, 403, 403, 201],
    recipient: 403,
    probe: (c) =>
      apiJson(c, "POST", "/api/v1/admin/users", {
        email: `probe-${randomBytes(4).toString("hex")}@example.com`,
        name: "Probe",
        password: "correct horse battery staple",
      }),
  },
  "GET /api/v1/admin/users/{id}": {
    want: [401, 403, 403, 200],
    recipient: 403,
    probe: (c, ids) => c.get(`/api/v1/admin/users/${ids.otherUserId}`),
  },
  "PATCH /api/v1/admin/users/{id}": {
    want: [401, 403, 403, 200],
    recipient: 403,
    probe: (c, ids) => apiJson(c, "PATCH", `/api/v1/admin/users/${ids.otherUserId}`, { quotaBytes: null }),
  },
  // The admin gets as far as confirming it is them (no proof sent: 422), so nothing changes.
  "POST /api/v1/admin/users/{id}/status": {
    want: [401, 403, 403, 422],
    recipient: 403,
    probe: (c, ids) => apiJson(c, "POST", `/api/v1/admin/users/${ids.otherUserId}/status`, { active: false, proof: "" }),
  },
  "POST /api/v1/admin/users/{id}/unlock": {
    want: [401, 403, 403, 200],
    recipient: 403,
    probe: (c, ids) => apiJson(c, "POST", `/api/v1/admin/users/${ids.otherUserId}/unlock`),
  },
  // No proof sent: refused (422) before anything is looked at further.
  "POST /api/v1/admin/users/{id}/restore": {
    want: [401, 403, 403, 422],
    recipient: 403,
    probe: (c, ids) => apiJson(c, "POST", `/api/v1/admin/users/${ids.otherUserId}/restore`, { proof: "" }),
  },
  "POST /api/v1/admin/users/{id}/delete": {
    want: [401, 403, 403, 422],
    recipient: 403,
    probe: (c, ids) =>
      apiJson(c, "POST", `/api/v1/admin/users/${ids.otherUserId}/delete`, { confirmEmail: "nobody@example.com", proof: "" }),
  },
  "GET /api/v1/admin/users/{id}/erasure": {
    want: [401, 403, 403, 404],
    recipient: 403,
    probe: (c, ids) => c.get(`/api/v1/admin/users/${ids.otherUserId}/erasure`),
  },
  "GET /api/v1/admin/audit": { want: [401, 403, 403, 200], recipient: 403, probe: (c) => c.get("/api/v1/admin/audit") },
  "GET /api/v1/admin/audit/export.csv": {
    want: [401, 403, 403, 200],
    recipient: 403,
    probe: (c) => c.get("/api/v1/admin/audit/export.csv"),
  },
  "GET /api/v1/admin/audit/export.ndjson": {
    want: [401, 403, 403, 200],
    recipient: 403,
    probe: (c) => c.get("/api/v1/admin/audit/export.ndjson"),
  },
  // Your own tokens, with the browser session only (any access token gets 403, see below); only
  // your own: an administrator too gets 404 for the owner's token here.
  "GET /api/v1/me/tokens": { want: [401, 200, 200, 200], recipient: 200, probe: (c) => c.get("/api/v1/me/tokens") },
  "POST /api/v1/me/tokens": {
    want: [401, 201, 201, 201],
    recipient: 201,
    probe: (c) => apiJson(c, "POST", "/api/v1/me/tokens", { name: `Probe ${randomBytes(4).toString("hex")}`, scopes: ["files:read"] }),
  },
  "GET /api/v1/me/tokens/{tokenId}": {
    want: [401, 200, 404, 404],
    recipient: 404,
    probe: (c, ids) => c.get(`/api/v1/me/tokens/${ids.ownerToken}`),
  },
  "DELETE /api/v1/me/tokens/{tokenId}": {
    want: [401, 204, 404, 404],
    recipient: 404,
    probe: (c, ids) => apiJson(c, "DELETE", `/api/v1/me/tokens/${ids.ownerTokenToRevoke}`),
  },
  // Your own webhooks: everyone lists theirs; another account's is not found, even by an
  // administrator. The create asks for the metadata address: refused (422) after every check of who.
  "GET /api/v1/me/webhooks": { want: [401, 200, 200, 200], recipient: 200, probe: (c) => c.get("/api/v1/me/webhooks") },
  "POST /api/v1/me/webhooks": {
    want: [401, 422, 422, 422],
    recipient: 422,
    probe: (c) => apiJson(c, "POST", "/api/v1/me/webhooks", { url: "http://169.254.169.254/latest", eventTypes: ["file.created"] }),
  },
  "GET /api/v1/me/webhooks/{webhookId}": {
    want: [401, 200, 404, 404],
    recipient: 404,
    probe: (c, ids) => c.get(`/api/v1/me/webhooks/${ids.apiWebhook}`),
  },
  "PATCH /api/v1/me/webhooks/{webhookId}": {
    want: [401, 200, 404, 404],
    recipient: 404,
    probe: (c, ids) => apiJson(c, "PATCH", `/api/v1/me/webhooks/${ids.apiWebhook}`, { eventTypes: ["file.created"] }),
  },
  "DELETE /api/v1/me/webhooks/{webhookId}": {
    want: [401, 204, 404, 404],
    recipient: 404,
    probe: (c, ids) => apiJson(c, "DELETE", `/api/v1/me/webhooks/${ids.apiWebhookToDelete}`),
  },
  "POST /api/v1/me/webhooks/{webhookId}/secret": {
    want: [401, 200, 404, 404],
    recipient: 404,
    probe: (c, ids) => apiJson(c, "POST", `/api/v1/me/webhooks/${ids.apiWebhook}/secret`),
  },
  "POST /api/v1/me/webhooks/{webhookId}/test": {
    want: [401, 202, 404, 404],
    recipient: 404,
    probe: (c, ids) => apiJson(c, "POST", `/api/v1/me/webhooks/${ids.apiWebhook}/test`),
  },
  "GET /api/v1/me/webhooks/{webhookId}/deliveries": {
    want: [401, 200, 404, 404],
    recipient: 404,
    probe: (c, ids) => c.get(`/api/v1/me/webhooks/${ids.apiWebhook}/deliveries`),
  },
  "GET /api/v1/admin/tokens": { want: [401, 403, 403, 200], recipient: 403, probe: (c) => c.get("/api/v1/admin/tokens") },
  "DELETE /api/v1/admin/tokens/{tokenId}": {
    want: [401, 403, 403, 204],
    recipient: 403,
    probe: (c, ids) => apiJson(c, "DELETE", `/api/v1/admin/tokens/${ids.tokenForAdminToRevoke}`),
  },
  "GET /api/v1/admin/settings": { want: [401, 403, 403, 200], recipient: 403, probe: (c) => c.get("/api/v1/admin/settings") },
  // A stale If-Match: the admin's change is refused (412), so the settings stay as they are.
  "PATCH /api/v1/admin/settings": {
    want: [401, 403, 403, 412],
    recipient: 403,
    probe: (c) =>
      c.request("/api/v1/admin/settings", {
        method: "PATCH",
        headers: { "content-type": "application/json", "if-match": '"stale"' },
        body: JSON.stringify({ trashRetentionDays: 7 }),
      }),
  },
  "GET /api/v1/admin/jobs": { want: [401, 403, 403, 200], recipient: 403, probe: (c) => c.get("/api/v1/admin/jobs") },
  // A queue that does not exist: nothing to run or retry (404) for the administrator.
  "POST /api/v1/admin/jobs/{queue}/run": {
    want: [401, 403, 403, 404],
    recipient: 403,
    probe: (c) => c.request("/api/v1/admin/jobs/no-such-queue/run", { method: "POST" }),
  },
  "POST /api/v1/admin/jobs/{queue}/retry": {
    want: [401, 403, 403, 404],
    recipient: 403,
    probe: (c) =>
      c.request("/api/v1/admin/jobs/no-such-queue/retry", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }),
  },
  "GET /api/v1/admin/lifecycle": { want: [401, 403, 403, 200], recipient: 403, probe: (c) => c.get("/api/v1/admin/lifecycle") },
  // A stale If-Match: the admin's change is refused (412), so the rules stay as they are.
  "PATCH /api/v1/admin/lifecycle": {
    want: [401, 403, 403, 412],
    recipient: 403,
    probe: (c) =>
      c.request("/api/v1/admin/lifecycle", {
        method: "PATCH",
        headers: { "content-type": "application/json", "if-match": '"stale"' },
        body: JSON.stringify({ trashRetentionDays: 7 }),
      }),
  },
  "GET /api/v1/admin/holds": { want: [401, 403, 403, 200], recipient: 403, probe: (c) => c.get("/api/v1/admin/holds") },
  // A hold that does not exist: nothing to read or release (404) for the administrator.
  "GET /api/v1/admin/holds/{id}": {
    want: [401, 403, 403, 404],
    recipient: 403,
    probe: (c) => c.get(`/api/v1/admin/holds/${"0".repeat(25)}`),
  },
  // No reason: nothing is placed (422) for the administrator.
  "POST /api/v1/admin/holds": {
    want: [401, 403, 403, 422],
    recipient: 403,
    probe: (c) =>
      c.request("/api/v1/admin/holds", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ targetType: "user", email: "nobody@example.com", reason: "" }),
      }),
  },
  "POST /api/v1/admin/holds/{id}/release": {
    want: [401, 403, 403, 404],
    recipient: 403,
    probe: (c) =>
      c.request(`/api/v1/admin/holds/${"0".repeat(25)}/release`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ reason: "Because" }),
      }),
  },
  "GET /api/v1/admin/retention-rules": {
    want: [401, 403, 403, 200],
    recipient: 403,
    probe: (c) => c.get("/api/v1/admin/retention-rules"),
  },
  // A rule that does not exist: nothing to read or remove (404) for the administrator.
  "GET /api/v1/admin/retention-rules/{id}": {
    want: [401, 403, 403, 404],
    recipient: 403,
    probe: (c) => c.get(`/api/v1/admin/retention-rules/${"0".repeat(25)}`),
  },
  // No reason: nothing is added (422) for the administrator.
  "POST /api/v1/admin/retention-rules": {
    want: [401, 403, 403, 422],
    recipient: 403,
    probe: (c) =>
      c.request("/api/v1/admin/retention-rules", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "nobody@example.com", path: "/", kind: "keep_at_least", days: 1, reason: "" }),
      }),
  },
  "POST /api/v1/admin/retention-rules/{id}/remove": {
    want: [401, 403, 403, 404],
    recipient: 403,
    probe: (c) =>
      c.request(`/api/v1/admin/retention-rules/${"0".repeat(25)}/remove`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ reason: "Because" }),
      }),
  },
  "GET /api/v1/admin/system": { want: [401, 403, 403, 200], recipient: 403, probe: (c) => c.get("/api/v1/admin/system") },
  "GET /api/v1/admin/analytics": { want: [401, 403, 403, 200], recipient: 403, probe: (c) => c.get("/api/v1/admin/analytics?days=7") },
};

/**
 * WebDAV (/dav/, outside Remix): every method × every caller that must be refused or limited,
 * then the owner. Each caller reaches the owner's folder "DAV Matrix" (holding dav.txt and Sub/)
 * at its own `base`: the owner and the read-only app password at "DAV Matrix"; anonymous and the
 * revoked app password try the owner's path; another user tries the same path in their own tree
 * and under "Shared with me/" (nothing is shared with them: nothing of the owner's is reachable);
 * the share recipient holds a read-only share of the folder (reads answer, writes are refused)
 * with an app password that may write. A refusal changes nothing (rows, objects, locks); the owner
 * goes last in each row, so the rows run in order: LOCK takes the lock UNLOCK then releases, MOVE
 * and DELETE come last.
 */
const DAV_CALLERS = ["anonymous", "revoked", "other", "otherShared", "readOnlyShare", "readOnlyToken", "owner"] as const;
type DavCaller = (typeof DAV_CALLERS)[number];
type DavRow = Record<DavCaller, number>;
interface DavProbe {
  /** The path below /dav/ (given the caller's base) and the rest of the request. */
  path: (base: string) => string;
  init?: (base: string, dav: { url: string; lockToken: string }) => RequestInit;
  want: DavRow;
}
const LOCKINFO =
  '<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>';
const PROPERTYUPDATE =
  '<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:matrix"><D:set><D:prop><Z:colour>red</Z:colour></D:prop></D:set></D:propertyupdate>';
/** Reads: refused without valid credentials, nothing there for another user, answered through the share. */
const DAV_READ = (ok: number): DavRow => ({
  anonymous: 401,
  revoked: 401,
  other: 404,
  otherShared: 404,
  readOnlyShare: ok,
  readOnlyToken: ok,
  owner: ok,
});
/** Writes: as reads, but the read-only share and the read-only app password are refused (403). */
const DAV_WRITE = (ok: number, missing = 404): DavRow => ({
  anonymous: 401,
  revoked: 401,
  other: missing,
  otherShared: missing,
  readOnlyShare: 403,
  readOnlyToken: 403,
  owner: ok,
});
const destination = (url: string, base: string, name: string) => `${url}/dav/${encodeURI(`${base}/${name}`)}`;
const DAV_MATRIX: Record<string, DavProbe> = {
  // OPTIONS names no item: any valid app password gets it; Windows needs the 401 before it.
  OPTIONS: {
    path: (base) => `${base}/dav.txt`,
    init: () => ({ method: "OPTIONS" }),
    want: { ...DAV_READ(200), other: 200, otherShared: 200 },
  },
  PROPFIND: { path: (base) => `${base}/`, init: () => ({ method: "PROPFIND", headers: { depth: "1" } }), want: DAV_READ(207) },
  PROPPATCH: {
    path: (base) => `${base}/dav.txt`,
    init: () => ({ method: "PROPPATCH", headers: { "content-type": "application/xml" }, body: PROPERTYUPDATE }),
    want: DAV_WRITE(207),
  },
  // In a folder that is not there (another user's tree): 409, as RFC 4918 says for a missing parent.
  MKCOL: { path: (base) => `${base}/New folder`, init: () => ({ method: "MKCOL" }), want: DAV_WRITE(201, 409) },
  GET: { path: (base) => `${base}/dav.txt`, init: () => ({ method: "GET" }), want: DAV_READ(200) },
  HEAD: { path: (base) => `${base}/dav.txt`, init: () => ({ method: "HEAD" }), want: DAV_READ(200) },
  PUT: { path: (base) => `${base}/dav.txt`, init: () => ({ method: "PUT", body: "changed" }), want: DAV_WRITE(204, 409) },
  LOCK: {
    path: (base) => `${base}/dav.txt`,
    init: () => ({ method: "LOCK", headers: { "content-type": "application/xml", timeout: "Second-600" }, body: LOCKINFO }),
    want: DAV_WRITE(200, 409),
  },
  // Everyone sends the owner's lock token: the lock is the owner's, so others' requests name no lock
  // of theirs (409), and the owner's read-only app password may not release it (403).
  UNLOCK: {
    path: (base) => `${base}/dav.txt`,
    init: (_, dav) => ({ method: "UNLOCK", headers: { "lock-token": `<${dav.lockToken}>` } }),
    want: { ...DAV_WRITE(204, 409), readOnlyShare: 409 },
  },
  COPY: {
    path: (base) => `${base}/dav.txt`,
    init: (base, dav) => ({ method: "COPY", headers: { destination: destination(dav.url, base, "copy.txt") } }),
    want: DAV_WRITE(201),
  },
  MOVE: {
    path: (base) => `${base}/dav.txt`,
    init: (base, dav) => ({ method: "MOVE", headers: { destination: destination(dav.url, base, "moved.txt") } }),
    want: DAV_WRITE(201),
  },
  DELETE: { path: (base) => `${base}/Sub/`, init: () => ({ method: "DELETE" }), want: DAV_WRITE(204) },
};

/** What an operation needs of a token (x-coffer-scope): a scope, or `session`, which no token holds. */
type Needed = TokenScope | "session";

/** The account the owner shares `file` with for the sharing API rows; not one of the probed roles. */
const GRANTEE_EMAIL = "greta@example.com";

function staleDelete(client: TestClient, url: string): Promise<Response> {
  return client.request(url, { method: "DELETE", headers: { "if-match": '"stale"' } });
}

function apiJson(client: TestClient, method: string, url: string, body?: unknown): Promise<Response> {
  return client.request(url, {
    method,
    ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
}

/** Trash with a stale If-Match: refused (412) for the owner, so the file stays for the other rows. */
function apiTrash(client: TestClient, fileId: string): Promise<Response> {
  return client.request(`/api/v1/files/${fileId}/trash`, { method: "POST", headers: { "if-match": '"stale"' } });
}

let ownerUploadUrl = "";
let ownerUploadToCancelUrl = "";

function tusMetadata(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([key, value]) => `${key} ${Buffer.from(value).toString("base64")}`)
    .join(",");
}

/** Engine.IO long-polling handshake, then a connect to the main namespace: 200 connected, 401 refused. */
async function socketConnect(client: TestClient): Promise<number> {
  const open = await client.get("/socket.io/?EIO=4&transport=polling");
  if (open.status !== 200) return open.status;
  const sid = JSON.parse((await open.text()).slice(1)).sid as string;
  const url = `/socket.io/?EIO=4&transport=polling&sid=${sid}`;
  await client.request(url, { method: "POST", headers: { "content-type": "text/plain;charset=UTF-8" }, body: "40" });
  const reply = await (await client.get(url)).text();
  if (reply.includes("unauthorized")) return 401;
  return reply.startsWith("40") || reply.includes("\u001e40") ? 200 : 500;
}

/** Full paths of the Remix routes that answer requests themselves (not the root layout). */
async function manifestPaths(): Promise<string[]> {
  const build = (await import(pathToFileURL(path.resolve(import.meta.dirname, "../build/server/index.js")).href)) as ServerBuild;
  const fullPath = (id: string): string => {
    const route = build.routes[id];
    if (!route || id === "root") return "";
    const parent = route.parentId ? fullPath(route.parentId) : "";
    return route.path ? `${parent}/${route.path}` : parent;
  };
  const paths = new Set<string>();
  for (const [id, route] of Object.entries(build.routes)) {
    if (id === "root") continue;
    if (!route.module.loader && !route.module.action && !route.module.default) continue;
    paths.add(fullPath(id) || "/");
  }
  return [...paths].sort();
}

function coverage(paths: string[]): { missing: string[]; stale: string[] } {
  return { missing: paths.filter((p) => !(p in MATRIX)), stale: Object.keys(MATRIX).filter((p) => !paths.includes(p)) };
}

function describeResponse(response: Response): string {
  const location = response.headers.get("location");
  return location ? `${response.status} → ${location}` : String(response.status);
}

function matches(want: Want, response: Response): boolean {
  if (want === LOGIN)
    return (response.status === 302 || response.status === 303) && (response.headers.get("location") ?? "").startsWith("/login");
  return response.status === want;
}

function formBody(form: Form): string {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) for (const one of Array.isArray(value) ? value : [value]) body.append(name, one);
  return body.toString();
}

describe("authorization matrix: every route × {anonymous, owner, another user, admin} (and a share recipient for the API and WebDAV)", () => {
  let app: TestApp;
  let ids: Ids;
  const clients = {} as Record<Role, TestClient>;
  /** A user the owner shared ids.folder with, for reading (API_MATRIX's `recipient`). */
  let recipient: TestClient;

  beforeAll(() => {
    // Remix logs every POST to a route without an action (the 405 expected here) as an error.
    const original = console.error.bind(console);
    const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
      if (String(args[0]).includes("did not provide an `action`")) return;
      original(...args);
    });
    return () => spy.mockRestore();
  });

  // biome-ignore lint/suspicious/noDuplicateTestHooks: the console spy keeps its own teardown.
  beforeAll(async () => {
    // The WebDAV rows send a revoked app password to every method: past the free failures its
    // lockout (tests/webdav-lockout.http.test.ts) would answer 429 instead of the 401 probed here.
    app = await startTestApp({ storage: "local", cache: "memory" }, { LOCKOUT_FREE_FAILURES: "100" });
    for (const role of ROLES) clients[role] = new TestClient(app.url);
    await clients.admin.register("Ada Admin", "ada@example.com");
    await clients.owner.register("Olivia Owner", "olivia@example.com");
    await clients.other.register("Oscar Other", "oscar@example.com");
    const { prisma } = app.services;
    const owner = await prisma.user.findUniqueOrThrow({ where: { email: "olivia@example.com" } });
    const other = await prisma.user.findUniqueOrThrow({ where: { email: "oscar@example.com" } });

    const createFolder = async (parent: string, name: string) => {
      const response = await clients.owner.postForm(parent, { intent: "create-folder", name, open: "1" });
      expect(response.status).toBe(302);
      return response.headers.get("location")!.split("/").pop()!;
    };
    const upload = async (folderId: string, name: string, onConflict?: string) => {
      const form = new FormData();
      if (onConflict) form.append("onConflict", onConflict);
      form.append("file", new Blob([new Uint8Array(randomBytes(100))]), name);
      expect((await clients.owner.postMultipart(`/files/${folderId}`, form)).status).toBe(200);
      return (await prisma.file.findFirstOrThrow({ where: { name, folderId } })).id;
    };
    const folder = await createFolder("/files", "Projects");
    const subfolder = await createFolder(`/files/${folder}`, "Drafts");
    const file = await upload(folder, "report.txt");
    await upload(folder, "report.txt", "replace");
    const version = (await prisma.fileVersion.findFirstOrThrow({ where: { fileId: file } })).id;
    const trashed = await upload(folder, "old.txt");
    const trashedForBulk = await upload(folder, "older.txt");
    await trashItem(app.services, owner, "file", trashed);
    await trashItem(app.services, owner, "file", trashedForBulk);
    const link = async (item: string, fields: Record<string, string> = {}) => {
      const response = await clients.owner.postForm("/shares", { intent: "create-link", item, ...fields });
      expect(response.status).toBe(200);
      return prisma.shareLink.findFirstOrThrow({ where: { ownerId: owner.id }, orderBy: { createdAt: "desc" } });
    };
    const token = (await link(`folder:${folder}`)).token;
    const lockedToken = (await link(`file:${file}`, { password: "open sesame" })).token;
    const revocableLink = (await link(`file:${file}`)).id;
    const audit = { actorId: owner.id, actorLabel: owner.email, ip: null, userAgent: null };
    const apiLink = (await createShareLink(app.services, owner, { kind: "file", id: file }, {}, audit)).id;
    await new TestClient(app.url).register("Greta Grantee", GRANTEE_EMAIL);
    const apiShare = (await shareWithUser(app.services, owner, { kind: "file", id: file }, { email: GRANTEE_EMAIL }, audit)).share.id;
    const event = await prisma.event.create({
      data: { kind: "share.granted", actorUserId: other.id, subjectType: "folder", subjectId: folder, resourceKey: `folder:${folder}` },
    });
    const notification = (await prisma.notification.create({ data: { userId: owner.id, eventId: event.id, kind: event.kind } })).id;
    const ownerTokenNamed = async (name: string) =>
      (await createToken(app.services, owner, { name, scopes: ["files:read"], expiresAt: null }, audit)).token.id;
    ids = {
      ownerToken: await ownerTokenNamed("matrix owner's"),
      ownerTokenToRevoke: await ownerTokenNamed("matrix owner revokes"),
      tokenForAdminToRevoke: await ownerTokenNamed("matrix admin revokes"),
      folder,
      subfolder,
      file,
      version,
      trashed,
      trashedForBulk,
      token,
      lockedToken,
      revocableLink,
      otherUserId: other.id,
      apiLink,
      apiShare,
      notification,
      webhook: (await createWebhook(app.services, owner, { url: "https://example.com/hook", eventTypes: ["file.created"] }, SYSTEM_ACTOR))
        .webhook.id,
      apiWebhook: (
        await createWebhook(app.services, owner, { url: "https://example.com/api-hook", eventTypes: ["file.created"] }, SYSTEM_ACTOR)
      ).webhook.id,
      apiWebhookToDelete: (
        await createWebhook(app.services, owner, { url: "https://example.com/gone", eventTypes: ["file.created"] }, SYSTEM_ACTOR)
      ).webhook.id,
    };
    recipient = new TestClient(app.url);
    await recipient.register("Rhea Recipient", "rhea@example.com");
    const shareAudit = { actorId: owner.id, actorLabel: owner.email, ip: null, userAgent: null };
    await shareWithUser(app.services, owner, { kind: "folder", id: folder }, { email: "rhea@example.com", permission: "READ" }, shareAudit);

    const created = await clients.owner.request("/api/uploads", {
      method: "POST",
      headers: {
        "Tus-Resumable": "1.0.0",
        "Upload-Length": "10",
        "Upload-Metadata": tusMetadata({ filename: "pending.bin", folderId: folder }),
      },
    });
    expect(created.status).toBe(201);
    ownerUploadUrl = new URL(created.headers.get("location")!, app.url).pathname;
    const toCancel = await clients.owner.request("/api/uploads", {
      method: "POST",
      headers: { "Tus-Resumable": "1.0.0", "Upload-Length": "10", "Upload-Metadata": tusMetadata({ filename: "cancelled.bin" }) },
    });
    expect(toCancel.status).toBe(201);
    ownerUploadToCancelUrl = new URL(toCancel.headers.get("location")!, app.url).pathname;
  });

  it("has an entry for every route in the build's route manifest, and none for routes that are gone", async () => {
    const paths = await manifestPaths();
    expect(paths).toContain("/files/:folderId");
    const { missing, stale } = coverage(paths);
    expect(
      missing,
      `routes without an authorization entry: ${missing.join(", ")} — add it to the matrix in tests/authorization-matrix.test.ts`,
    ).toEqual([]);
    expect(stale, `matrix entries for routes that no longer exist: ${stale.join(", ")}`).toEqual([]);
    // A route added without an entry is reported by name.
    expect(coverage([...paths, "/a/route/nobody/added"]).missing).toEqual(["/a/route/nobody/added"]);
  });

  // Owners go last so what they change (a rename, a restore) cannot mask another role's answer.
  const ORDER: Role[] = ["anonymous", "other", "admin", "owner"];

  it("answers GET with the expected status for every route and role", async () => {
    const failures: string[] = [];
    for (const [route, entry] of Object.entries(MATRIX)) {
      for (const role of ORDER) {
        const want = entry.get[ROLES.indexOf(role)];
        const response = await clients[role].get(entry.url(ids));
        await response.body?.cancel();
        if (!matches(want, response)) failures.push(`GET ${route} as ${role}: expected ${want}, got ${describeResponse(response)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("answers POST with the expected status for every route and role (405 where there is no action)", async () => {
    const failures: string[] = [];
    for (const [route, entry] of Object.entries(MATRIX)) {
      for (const role of ORDER) {
        const want = entry.post ? entry.post.want[ROLES.indexOf(role)] : NO_ACTION[ROLES.indexOf(role)];
        const response = await clients[role].request(entry.url(ids), {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: formBody(entry.post?.form(ids) ?? {}),
        });
        await response.body?.cancel();
        if (!matches(want, response)) failures.push(`POST ${route} as ${role}: expected ${want}, got ${describeResponse(response)}`);
      }
      // /logout signs the client out: sign it back in for the routes that follow.
      if (route === "/logout") {
        for (const [role, email] of [
          ["owner", "olivia@example.com"],
          ["other", "oscar@example.com"],
          ["admin", "ada@example.com"],
        ] as const) {
          expect((await clients[role].login(email)).status).toBe(302);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it("refuses a POST without the CSRF token on every route, for every role, before anything else runs", async () => {
    const failures: string[] = [];
    for (const [route, entry] of Object.entries(MATRIX)) {
      for (const role of ORDER) {
        clients[role].sendCsrfToken = false;
        try {
          const response = await clients[role].request(entry.url(ids), {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: formBody(entry.post?.form(ids) ?? {}),
          });
          await response.body?.cancel();
          // The one deliberate exemption (RFC 8058 one-click unsubscribe, isOneClickUnsubscribe):
          // the route runs, and refuses a token that is not ours itself.
          if (route === "/unsubscribe/:unsubscribeToken") {
            if (response.status !== 400)
              failures.push(`POST ${route} as ${role} without a token: expected 400, got ${describeResponse(response)}`);
            continue;
          }
          // Anonymous visitors of a first page have no CSRF cookie yet: refused all the same.
          if (response.status !== 403)
            failures.push(`POST ${route} as ${role} without a token: expected 403, got ${describeResponse(response)}`);
        } finally {
          clients[role].sendCsrfToken = true;
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it("answers every /api/v1 operation as expected for every role, a share recipient included", async () => {
    const failures: string[] = [];
    for (const [operation, { want, recipient: forRecipient, probe }] of Object.entries(API_MATRIX)) {
      // The recipient before the owner, whose changes come last.
      const callers: Array<[string, TestClient, Want]> = ORDER.map((role) => [role, clients[role], want[ROLES.indexOf(role)]!]);
      callers.splice(ORDER.indexOf("owner"), 0, ["recipient", recipient, forRecipient]);
      for (const [role, client, expected] of callers) {
        const response = await probe(client, ids);
        await response.body?.cancel();
        if (!matches(expected, response)) failures.push(`${operation} as ${role}: expected ${expected}, got ${response.status}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("refuses every /api/v1 operation to a token without its scope, an expired and a revoked token", async () => {
    const { prisma } = app.services;
    const owner = await prisma.user.findUniqueOrThrow({ where: { email: "olivia@example.com" } });
    const audit = { actorId: owner.id, actorLabel: owner.email, ip: null, userAgent: null };
    const withScope = async (name: string) =>
      (await createToken(app.services, owner, { name, scopes: ["files:write"], expiresAt: null }, audit)).secret;
    // The scope each operation needs, from the document; its "token without the scope" holds
    // every other scope that does not imply it, so only that one scope is missing.
    const document = (await (await fetch(`${app.url}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { "x-coffer-scope": Needed }>>;
    };
    const neededScope = (operation: string): Needed => {
      const [method, template] = operation.split(" ");
      const scope = document.paths[template!]?.[method!.toLowerCase()]?.["x-coffer-scope"];
      expect(scope, `${operation} names its scope in the document`).toBeDefined();
      return scope!;
    };
    const tokenLacking = new Map<Needed, string>();
    for (const needed of new Set(Object.keys(API_MATRIX).map(neededScope))) {
      // Only administrators may hold an admin token; the owner is not one. No token holds
      // `session` (managing tokens): the one lacking it holds every other scope.
      const scopes = TOKEN_SCOPES.filter(
        (scope) => scope !== "admin" && (needed === "session" || !hasScope({ user: owner, token: { id: "", scopes: [scope] } }, needed)),
      );
      if (needed !== "session") expect(hasScope({ user: owner, token: { id: "", scopes } }, needed)).toBe(false);
      const name = `matrix without ${needed}`;
      tokenLacking.set(needed, (await createToken(app.services, owner, { name, scopes, expiresAt: null }, audit)).secret);
    }
    const expired = await withScope("matrix expired");
    await prisma.apiToken.updateMany({
      where: { userId: owner.id, name: "matrix expired" },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    const revoked = await withScope("matrix revoked");
    const revokedRow = await prisma.apiToken.findFirstOrThrow({ where: { userId: owner.id, name: "matrix revoked" } });
    await revokeToken(app.services, owner, revokedRow.id, audit);
    const failures: string[] = [];
    const bearer = (token: string) => {
      const client = new TestClient(app.url, (url, init) => {
        const headers = new Headers(init.headers);
        headers.set("authorization", `Bearer ${token}`);
        return fetch(url, { ...init, headers });
      });
      client.sendCsrfToken = false;
      return client;
    };
    for (const [label, token, want] of [
      ["token without the scope", null, 403],
      ["expired token", expired, 401],
      ["revoked token", revoked, 401],
    ] as const) {
      for (const [operation, { probe }] of Object.entries(API_MATRIX)) {
        const client = bearer(token ?? tokenLacking.get(neededScope(operation))!);
        // A script holds no cookies: one kept from an earlier answer would make this a cookie request.
        client.cookies.clear();
        const response = await probe(client, ids);
        await response.body?.cancel();
        if (response.status !== want) failures.push(`${operation} with a ${label}: expected ${want}, got ${response.status}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("answers the endpoints outside Remix (uploads, health, Socket.IO) as expected", async () => {
    const failures: string[] = [];
    for (const [endpoint, { want, probe }] of Object.entries(ENDPOINTS)) {
      for (const role of ORDER) {
        const expected = want[ROLES.indexOf(role)];
        const status = await probe(clients[role], ids);
        if (status !== expected) failures.push(`${endpoint} as ${role}: expected ${expected}, got ${status}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("answers every WebDAV method as expected for every caller, and a refusal changes nothing", async () => {
    const { prisma } = app.services;
    const audit = { actorId: null, actorLabel: "matrix", ip: null, userAgent: null };
    const person = (email: string) => prisma.user.findUniqueOrThrow({ where: { email } });
    const [owner, other, reader] = await Promise.all([
      person("olivia@example.com"),
      person("oscar@example.com"),
      person("rhea@example.com"),
    ]);
    const token = async (user: { id: string; role: "USER" | "ADMIN" }, scopes: TokenScope[]) =>
      createToken(app.services, user, { name: `dav matrix ${randomBytes(4).toString("hex")}`, scopes, expiresAt: null }, audit);
    const ownerWrite = (await token(owner, ["files:write"])).secret;
    const revoked = await token(owner, ["files:write"]);
    await revokeToken(app.services, owner, revoked.token.id, audit);
    const basic = (email: string, secret: string) => `Basic ${Buffer.from(`${email}:${secret}`).toString("base64")}`;
    const callers: Record<DavCaller, { auth: string | null; base: string }> = {
      anonymous: { auth: null, base: "DAV Matrix" },
      revoked: { auth: basic(owner.email, revoked.secret), base: "DAV Matrix" },
      other: { auth: basic(other.email, (await token(other, ["files:write"])).secret), base: "DAV Matrix" },
      otherShared: { auth: basic(other.email, (await token(other, ["files:write"])).secret), base: "Shared with me/DAV Matrix" },
      readOnlyShare: { auth: basic(reader.email, (await token(reader, ["files:write"])).secret), base: "Shared with me/DAV Matrix" },
      readOnlyToken: { auth: basic(owner.email, (await token(owner, ["files:read"])).secret), base: "DAV Matrix" },
      owner: { auth: basic(owner.email, ownerWrite), base: "DAV Matrix" },
    };
    const dav = (caller: DavCaller, path: string, init: RequestInit = {}) => {
      const headers = new Headers(init.headers);
      const { auth } = callers[caller];
      if (auth) headers.set("authorization", auth);
      return fetch(`${app.url}/dav/${encodeURI(path)}`, { ...init, headers, redirect: "manual" });
    };
    // The owner's folder, its file and subfolder, shared read-only with the recipient.
    for (const [path, init] of [
      ["DAV Matrix", { method: "MKCOL" }],
      ["DAV Matrix/Sub", { method: "MKCOL" }],
      ["DAV Matrix/dav.txt", { method: "PUT", body: "dav matrix" }],
    ] as const) {
      expect((await dav("owner", path, init)).status).toBe(201);
    }
    const folder = await prisma.folder.findFirstOrThrow({ where: { ownerId: owner.id, name: "DAV Matrix" } });
    await shareWithUser(app.services, owner, { kind: "folder", id: folder.id }, { email: reader.email, permission: "READ" }, audit);

    /** Everything a WebDAV request could change: rows, stored objects, and every caller's locks. */
    const snapshot = async () => {
      const objects: string[] = [];
      for await (const object of app.services.storage.list()) objects.push(object.key);
      const plain = (_: string, value: unknown) => (typeof value === "bigint" ? value.toString() : value);
      return JSON.stringify(
        {
          files: await prisma.file.findMany({
            select: { id: true, name: true, folderId: true, size: true, sha256: true, storageKey: true, trashedAt: true },
            orderBy: { id: "asc" },
          }),
          folders: await prisma.folder.findMany({
            select: { id: true, name: true, parentId: true, trashedAt: true },
            orderBy: { id: "asc" },
          }),
          versions: await prisma.fileVersion.findMany({ select: { id: true, fileId: true, storageKey: true }, orderBy: { id: "asc" } }),
          properties: await prisma.webdavProperty.findMany({
            select: { itemId: true, name: true, value: true },
            orderBy: { itemId: "asc" },
          }),
          objects: objects.sort(),
          locks: await Promise.all([owner, other, reader].map((user) => userLocks(app.services, user.id))),
        },
        plain,
      );
    };
    const state = { url: app.url, lockToken: "coffer-lock:none" };
    const failures: string[] = [];
    for (const [method, probe] of Object.entries(DAV_MATRIX)) {
      for (const caller of DAV_CALLERS) {
        const want = probe.want[caller];
        const base = callers[caller].base;
        const before = caller === "owner" ? null : await snapshot();
        const response = await dav(caller, probe.path(base), probe.init?.(base, state));
        const lockToken = response.headers.get("lock-token");
        if (caller === "owner" && method === "LOCK" && lockToken) state.lockToken = lockToken.slice(1, -1);
        await response.body?.cancel();
        const label = `${method} /dav/${probe.path(base)} as ${caller}`;
        if (response.status !== want) failures.push(`${label}: expected ${want}, got ${response.status}`);
        if (response.status === 401 && !/^Basic realm="Coffer"/.test(response.headers.get("www-authenticate") ?? ""))
          failures.push(`${label}: a 401 without WWW-Authenticate: Basic`);
        if (before !== null && (await snapshot()) !== before) failures.push(`${label}: the refusal changed something`);
      }
    }
    expect(failures).toEqual([]);
    // The owner's rows did what they say (so the refusals above were of requests that work).
    const moved = await prisma.file.findFirstOrThrow({ where: { folderId: folder.id, name: "moved.txt", trashedAt: null } });
    expect(await prisma.fileVersion.count({ where: { fileId: moved.id } })).toBe(1);
    expect(await prisma.webdavProperty.count({ where: { itemId: moved.id } })).toBe(1);
    expect(await prisma.file.count({ where: { folderId: folder.id, name: "copy.txt", trashedAt: null } })).toBe(1);
    expect(await prisma.folder.count({ where: { parentId: folder.id, name: "New folder", trashedAt: null } })).toBe(1);
    expect(await prisma.folder.count({ where: { parentId: folder.id, name: "Sub", trashedAt: { not: null } } })).toBe(1);
    expect(await userLocks(app.services, owner.id)).toEqual([]);
  });
});
