// GET /metrics over HTTP against the whole app: access, the Prometheus text format, and that
// real uploads, downloads and logins move the counters by what actually happened.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import * as OTPAuth from "otpauth";
import { io as connectSocket } from "socket.io-client";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "~/config.server";
import { downloadKind, routeGroup } from "~/server/metrics-endpoint.server";
import { startTestApp, type DriverSet, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { captureStderr } from "./support/stderr";
import { createUpload, createUploadRequest, patchUpload } from "./support/tus";

const TOKEN = "metrics-token-for-tests-0123456789";

type Samples = Map<string, number>;

/**
 * Parses the Prometheus text exposition format strictly enough to catch a malformed body:
 * every line is a HELP or TYPE comment or a `name{labels} value` sample of a declared metric.
 * Keys are `name{label="value",…}` as written.
 */
function parsePrometheus(text: string): Samples {
  const samples: Samples = new Map();
  const typed = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (comment) {
      if (comment[1] === "TYPE") {
        expect(["counter", "gauge", "histogram", "summary", "untyped"]).toContain(comment[3]);
        typed.add(comment[2]);
      }
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (\S+)( -?\d+)?$/.exec(line);
    expect(sample, `not a Prometheus sample line: ${line}`).not.toBeNull();
    const [, name, labels = "", value] = sample!;
    const family = name.replace(/_(bucket|sum|count|total|created)$/, "");
    expect(typed.has(name) || typed.has(family) || typed.has(`${family}_total`), `sample of an undeclared metric: ${line}`).toBe(true);
    // Prometheus reads NaN in any case (prom-client writes "Nan" for an empty event-loop histogram).
    const number = value === "+Inf" ? Infinity : value === "-Inf" ? -Infinity : Number(value);
    expect(Number.isNaN(number) && !/^nan$/i.test(value), `bad value: ${line}`).toBe(false);
    samples.set(`${name}${labels}`, number);
  }
  return samples;
}

function scrape(app: TestApp, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) {
  return fetch(`${app.url}/metrics`, { headers });
}

async function samples(app: TestApp): Promise<{ text: string; values: Samples }> {
  const response = await scrape(app);
  expect(response.status).toBe(200);
  const text = await response.text();
  return { text, values: parsePrometheus(text) };
}

const value = (values: Samples, key: string) => values.get(key) ?? 0;

/**
 * Samples once `ready` holds (up to 2 s): a request is counted when its response closes, which
 * the server may see a moment after the client (in this same process) has read the last byte.
 */
async function settledSamples(app: TestApp, ready: (values: Samples) => boolean): Promise<Samples> {
  for (let i = 0; ; i++) {
    const { values } = await samples(app);
    if (ready(values) || i >= 40) return values;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A complete tus upload of `bytes` in two PATCH requests; resolves with the new file's id. */
async function tusUpload(app: TestApp, client: TestClient, name: string, bytes: Buffer): Promise<string> {
  const url = await createUpload(app, client, { name, size: bytes.length });
  const half = Math.floor(bytes.length / 2);
  const first = await patchUpload(client, url, 0, new Uint8Array(bytes.subarray(0, half)));
  expect(first.status).toBe(204);
  const last = await patchUpload(client, url, half, new Uint8Array(bytes.subarray(half)));
  expect(last.status).toBe(204);
  return last.headers.get("coffer-file-id")!;
}

describe("METRICS_TOKEN", () => {
  it("is optional, and refused when short or with spaces, without echoing it", () => {
    expect(loadConfig({}).metricsToken).toBeUndefined();
    expect(loadConfig({ METRICS_TOKEN: TOKEN }).metricsToken).toBe(TOKEN);
    for (const bad of ["short-secret", "a token with spaces in it"]) {
      const error = (() => {
        try {
          loadConfig({ METRICS_TOKEN: bad });
        } catch (caught) {
          return caught;
        }
      })();
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toContain("METRICS_TOKEN");
      expect((error as ConfigError).message).not.toContain(bad);
    }
  });
});

describe("route groups", () => {
  it("name each request by a fixed group, never by its path", () => {
    const staticFiles = new Set(["favicon.ico", "robots.txt"]);
    const cases: Array<[string, string, string]> = [
      ["GET", "/metrics", "metrics"],
      ["GET", "/healthz", "health"],
      ["GET", "/readyz?verbose=1", "health"],
      ["GET", "/socket.io/?EIO=4&transport=polling&sid=abc", "socket.io"],
      ["PATCH", "/api/uploads/0123abcd", "tus"],
      ["POST", "/api/uploads", "tus"],
      ["GET", "/download/file-id", "download"],
      ["GET", "/download/version/version-id", "download"],
      ["GET", "/bulk/zip?item=file:abc", "download"],
      ["GET", "/s/token123/download/file-id", "download"],
      ["GET", "/s/token123/zip", "download"],
      ["GET", "/s/token123", "share"],
      ["POST", "/s/token123", "share"],
      ["GET", "/assets/root-abc123.js", "static"],
      ["GET", "/favicon.ico", "static"],
      ["GET", "/files", "folder"],
      ["GET", "/files.data", "folder"],
      ["GET", "/files/folder-id", "folder"],
      ["GET", "/files/folder-id.data", "folder"],
      ["HEAD", "/files/folder-id", "folder"],
      ["POST", "/files/folder-id", "action"],
      ["GET", "/filesystem", "page"],
      ["GET", "/shared", "page"],
      ["HEAD", "/login", "page"],
      ["POST", "/login", "action"],
      ["DELETE", "/anything", "action"],
    ];
    for (const [method, url, group] of cases) expect(routeGroup(method, url, staticFiles), `${method} ${url}`).toBe(group);
    expect(downloadKind("/download/version/v1")).toBe("file");
    expect(downloadKind("/bulk/zip")).toBe("zip");
    expect(downloadKind("/s/t/zip")).toBe("share");
    expect(downloadKind("/s/t/view/f")).toBeNull();
    expect(downloadKind("/view/f")).toBeNull();
  });
});

describe("GET /metrics without METRICS_TOKEN", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
  });

  it("does not exist (404), whatever is sent, answered before Remix (which logs nothing)", async () => {
    const stderr = captureStderr();
    let printed: string;
    try {
      expect((await scrape(app, {})).status).toBe(404);
      const refused = await scrape(app);
      expect(refused.status).toBe(404);
      expect(await refused.text()).toBe("Not found. Metrics are off on this server (METRICS_TOKEN is not set).\n");
    } finally {
      printed = stderr.stop();
    }
    expect(printed).not.toContain("No route matches");
    expect(printed).not.toContain("/metrics");
  });
});

describe.each<DriverSet>([
  { storage: "local", cache: "memory" },
  { storage: "s3", cache: "redis" },
])("GET /metrics with METRICS_TOKEN ($storage, $cache)", (drivers) => {
  let app: TestApp;
  let bob: TestClient;
  let bobId: string;
  let shareToken = "";
  const seed = randomBytes(1234);
  const seedName = "Seed Holiday Photos.bin";

  beforeAll(async () => {
    app = await startTestApp(drivers, { METRICS_TOKEN: TOKEN, RATE_LIMIT_AUTH: "12/1m", LOCKOUT_FREE_FAILURES: "3" });
    bob = new TestClient(app.url);
    await bob.register("Bob Metrics", "bob.metrics@example.com");
    bobId = (await app.services.prisma.user.findUniqueOrThrow({ where: { email: "bob.metrics@example.com" } })).id;
    // Before the first scrape, so the storage totals (cached for 30 s from then on) include it.
    await tusUpload(app, bob, seedName, seed);
  });

  it("refuses requests without the right bearer token with 401 and WWW-Authenticate: Bearer", async () => {
    for (const headers of <Array<Record<string, string>>>[
      {},
      { authorization: "Bearer wrong-token-of-some-length" },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `bearer${TOKEN}` },
      { authorization: `Basic ${Buffer.from(`metrics:${TOKEN}`).toString("base64")}` },
      { authorization: TOKEN },
    ]) {
      const response = await scrape(app, headers);
      expect(response.status, JSON.stringify(headers)).toBe(401);
      expect(response.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
      expect(response.headers.get("cache-control")).toBe("no-store");
      expect(await response.text()).not.toContain("coffer_");
    }
  });

  it("answers the token with Prometheus text: process metrics, storage totals and driver health, uncompressed and uncached", async () => {
    const response = await scrape(app, { authorization: `Bearer ${TOKEN}`, "accept-encoding": "gzip, deflate, br" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain;.*\bversion=0\.0\.4\b/);
    expect(response.headers.get("content-encoding")).toBeNull();
    expect(response.headers.get("cache-control")).toBe("no-store");
    const values = parsePrometheus(await response.text());
    for (const name of [
      "coffer_process_cpu_user_seconds_total",
      "coffer_process_resident_memory_bytes",
      "coffer_nodejs_heap_size_used_bytes",
      "coffer_nodejs_eventloop_lag_seconds",
    ]) {
      expect(values.has(name), name).toBe(true);
    }
    expect(value(values, `coffer_storage_files{driver="${drivers.storage}"}`)).toBe(1);
    expect(value(values, `coffer_storage_stored_bytes{driver="${drivers.storage}"}`)).toBe(seed.length);
    // Bob, signed in before the first scrape; nobody else has an account yet.
    expect(value(values, 'coffer_active_users{window="1d"}')).toBe(1);
    expect(value(values, 'coffer_active_users{window="7d"}')).toBe(1);
    // Plain HTTP: no certificate, so no expiry sample for the certificate alert to misread.
    expect([...values.keys()].filter((key) => key.startsWith("coffer_tls_certificate_expiry"))).toEqual([]);
    // Label sets known at start are there from the first scrape, at 0 when nothing happened yet.
    for (const key of [
      'coffer_quota_refusals_total{operation="copy"}',
      'coffer_share_link_accesses_total{outcome="wrong_password"}',
      'coffer_socketio_events_total{direction="emitted",event="thumbnail_ready"}',
      'coffer_uploads_failed_total{stage="complete"}',
      `coffer_storage_operation_errors_total{driver="${drivers.storage}",operation="copy"}`,
      `coffer_storage_operation_duration_seconds_count{driver="${drivers.storage}",operation="delete_many"}`,
      'coffer_search_operation_errors_total{driver="postgres",operation="search"}',
      'coffer_http_requests_total{method="GET",route="folder",status="5xx"}',
      'coffer_http_requests_total{method="PATCH",route="tus",status="5xx"}',
    ])
      expect(values.has(key), key).toBe(true);
    for (const driver of ["database", "storage", "search", "cache"])
      expect(values.get(`coffer_driver_up{driver="${driver}"}`), driver).toBe(1);
    // The scheme's case does not matter (RFC 9110).
    expect((await scrape(app, { authorization: `bearer ${TOKEN}` })).status).toBe(200);
  });

  it("counts tus, form and download bytes exactly, and requests by route group", async () => {
    // The form token first: the client fetches it from a page (My files), which must not count below.
    await bob.getCsrfToken();
    const before = (await samples(app)).values;
    const bytes = randomBytes(300_001);
    const fileId = await tusUpload(app, bob, "Quarterly Report.pdf", bytes);

    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(randomBytes(5_003))]), "No Script Notes.txt");
    expect((await bob.postMultipart("/files", form)).status).toBe(200);

    const download = await bob.get(`/download/${fileId}`);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);
    const partial = await bob.get(`/download/${fileId}`, { range: "bytes=100-199" });
    expect(partial.status).toBe(206);
    expect((await partial.arrayBuffer()).byteLength).toBe(100);
    // Not downloads: a HEAD and a revalidation that is answered 304.
    expect((await bob.request(`/download/${fileId}`, { method: "HEAD" })).status).toBe(200);
    expect((await bob.get(`/download/${fileId}`, { "if-none-match": download.headers.get("etag")! })).status).toBe(304);
    const zip = await bob.get(`/bulk/zip?item=file:${fileId}`);
    expect(zip.status).toBe(200);
    const zipLength = (await zip.arrayBuffer()).byteLength;
    const shared = await bob.postForm("/shares", { intent: "create-link", item: `file:${fileId}` });
    expect(shared.status).toBe(200);
    shareToken = /\/s\/([A-Za-z0-9_-]{43})/.exec(await shared.text())![1];
    const visitor = new TestClient(app.url);
    const viaShare = await visitor.get(`/s/${shareToken}/download/${fileId}`);
    expect(viaShare.status).toBe(200);
    expect((await viaShare.arrayBuffer()).byteLength).toBe(bytes.length);

    expect((await bob.get("/files")).status).toBe(200);

    const downloadRequests = 'coffer_http_requests_total{method="GET",route="download",status="2xx"}';
    const folderRequests = 'coffer_http_requests_total{method="GET",route="folder",status="2xx"}';
    const after = await settledSamples(
      app,
      (values) =>
        value(values, downloadRequests) - value(before, downloadRequests) >= 4 &&
        value(values, folderRequests) - value(before, folderRequests) >= 1,
    );
    const delta = (key: string) => value(after, key) - value(before, key);
    expect(delta("coffer_tus_received_bytes_total")).toBe(bytes.length);
    expect(delta("coffer_uploads_created_total")).toBe(1);
    expect(delta("coffer_uploads_completed_total")).toBe(1);
    expect(value(after, "coffer_uploads_receiving")).toBe(0);
    expect(delta("coffer_form_upload_received_bytes_total")).toBe(5_003);
    expect(delta('coffer_downloads_started_total{kind="file"}')).toBe(2);
    expect(delta('coffer_download_sent_bytes_total{kind="file"}')).toBe(bytes.length + 100);
    expect(delta('coffer_downloads_started_total{kind="zip"}')).toBe(1);
    expect(delta('coffer_download_sent_bytes_total{kind="zip"}')).toBe(zipLength);
    expect(delta('coffer_downloads_started_total{kind="share"}')).toBe(1);
    expect(delta('coffer_download_sent_bytes_total{kind="share"}')).toBe(bytes.length);
    expect(delta('coffer_http_requests_total{method="PATCH",route="tus",status="2xx"}')).toBe(2);
    expect(delta('coffer_http_requests_total{method="POST",route="tus",status="2xx"}')).toBe(1);
    // The upload form and the share link's creation.
    expect(delta('coffer_http_requests_total{method="POST",route="action",status="2xx"}')).toBe(2);
    expect(delta('coffer_http_requests_total{method="GET",route="share",status="2xx"}')).toBe(0);
    expect(delta(downloadRequests)).toBe(4);
    expect(delta('coffer_http_requests_total{method="GET",route="download",status="3xx"}')).toBe(1);
    expect(delta('coffer_http_requests_total{method="GET",route="metrics",status="2xx"}')).toBeGreaterThanOrEqual(1);
    expect(delta('coffer_http_request_duration_seconds_count{method="PATCH",route="tus",status="2xx"}')).toBe(2);
    expect(delta('coffer_http_requests_total{method="GET",route="folder",status="2xx"}')).toBe(1);
    expect(delta('coffer_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="folder",status="2xx"}')).toBe(1);
    expect(after.has('coffer_http_request_duration_seconds_bucket{le="0.3",method="GET",route="folder",status="2xx"}')).toBe(true);
  });

  it("times database queries by model and operation, and counts failures but not the conflicts the app answers", async () => {
    const before = (await samples(app)).values;
    await expect(app.services.prisma.$queryRawUnsafe("SELECT * FROM no_such_table_for_metrics")).rejects.toThrow();
    await expect(
      app.services.prisma.user.create({ data: { email: "bob.metrics@example.com", name: "Twin", passwordHash: "x" } }),
    ).rejects.toMatchObject({ code: "P2002" });
    expect((await bob.get("/files")).status).toBe(200);
    const after = (await samples(app)).values;
    const delta = (key: string) => value(after, key) - value(before, key);
    expect(delta('coffer_db_query_errors_total{model="raw",operation="queryRaw"}')).toBe(1);
    expect(delta('coffer_db_query_duration_seconds_count{model="raw",operation="queryRaw"}')).toBeGreaterThan(1);
    expect(delta('coffer_db_query_errors_total{model="User",operation="create"}')).toBe(0);
    expect(delta('coffer_db_query_duration_seconds_count{model="User",operation="create"}')).toBe(1);
    expect(delta('coffer_db_query_duration_seconds_count{model="Folder",operation="findFirst"}')).toBeGreaterThan(0);
  });

  it("times storage operations and search queries and index writes by driver", async () => {
    const before = (await samples(app)).values;
    const fileId = await tusUpload(app, bob, "Searchable Minutes.txt", randomBytes(2048));
    expect((await bob.get(`/download/${fileId}`)).status).toBe(200);
    expect((await bob.get("/search?q=Searchable")).status).toBe(200);
    const after = await settledSamples(
      app,
      (values) => value(values, 'coffer_http_requests_total{method="GET",route="page",status="2xx"}') > 0,
    );
    const delta = (key: string) => value(after, key) - value(before, key);
    const storage = (operation: string) =>
      delta(`coffer_storage_operation_duration_seconds_count{driver="${drivers.storage}",operation="${operation}"}`);
    expect(storage("tus_create")).toBe(1);
    expect(storage("tus_write")).toBe(2);
    // The download; extracting the text for search may read it too.
    expect(storage("get")).toBeGreaterThanOrEqual(1);
    expect(delta(`coffer_storage_operation_errors_total{driver="${drivers.storage}",operation="get"}`)).toBe(0);
    expect(delta('coffer_search_operation_duration_seconds_count{driver="postgres",operation="search"}')).toBe(1);
    expect(delta('coffer_search_operation_duration_seconds_count{driver="postgres",operation="upsert"}')).toBeGreaterThan(0);
    expect(delta('coffer_search_operation_errors_total{driver="postgres",operation="search"}')).toBe(0);
  });

  it("counts quota refusals of uploads and copies", async () => {
    const carol = new TestClient(app.url);
    await carol.register("Carol Quota", "carol.quota@example.com");
    const carolId = (await app.services.prisma.user.findUniqueOrThrow({ where: { email: "carol.quota@example.com" } })).id;
    const kept = await tusUpload(app, carol, "Kept.bin", randomBytes(600));
    await app.services.prisma.user.update({ where: { id: carolId }, data: { quotaBytes: 1000 } });
    const before = (await samples(app)).values;
    expect((await createUploadRequest(app, carol, { name: "Too big.bin", size: 5000 })).status).toBe(413);
    const root = await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId: carolId, parentId: null } });
    const copy = await carol.postForm("/bulk", {
      intent: "copy",
      item: `file:${kept}`,
      destination: root.id,
      policy: "keep-both",
      respond: "inline",
    });
    expect(await copy.text()).toContain("Not enough room");
    const after = (await samples(app)).values;
    expect(
      value(after, 'coffer_quota_refusals_total{operation="upload"}') - value(before, 'coffer_quota_refusals_total{operation="upload"}'),
    ).toBe(1);
    expect(
      value(after, 'coffer_quota_refusals_total{operation="copy"}') - value(before, 'coffer_quota_refusals_total{operation="copy"}'),
    ).toBe(1);
  });

  it("counts share links created and every share-link access by outcome", async () => {
    const fileId = await tusUpload(app, bob, "Shared Plans.txt", randomBytes(100));
    const before = (await samples(app)).values;
    const link = async (fields: Record<string, string>) => {
      const created = await bob.postForm("/shares", { intent: "create-link", item: `file:${fileId}`, ...fields });
      expect(created.status).toBe(200);
      const html = await created.text();
      const tokens = [...html.matchAll(/\/s\/([A-Za-z0-9_-]{43})/g)].map((m) => m[1]);
      const known = await app.services.prisma.shareLink.findMany({ where: { token: { in: tokens } }, orderBy: { createdAt: "desc" } });
      return known[0]!.token;
    };
    const open = await link({});
    const locked = await link({ password: "open sesame" });
    const once = await link({ maxDownloads: "1" });
    const expiring = await link({});
    await app.services.prisma.shareLink.update({ where: { token: expiring }, data: { expiresAt: new Date(Date.now() - 1000) } });

    const visitor = new TestClient(app.url);
    expect((await visitor.get(`/s/${open}`)).status).toBe(200);
    expect((await visitor.get(`/s/${"x".repeat(43)}`)).status).toBe(404);
    expect((await visitor.get(`/s/${expiring}`)).status).toBe(410);
    expect((await visitor.get(`/s/${locked}`)).status).toBe(200);
    expect((await visitor.postForm(`/s/${locked}`, { intent: "unlock", password: "wrong guess" })).status).toBe(401);
    expect((await visitor.postForm(`/s/${locked}`, { intent: "unlock", password: "open sesame" })).status).toBe(302);
    expect((await visitor.get(`/s/${once}/download/${fileId}`)).status).toBe(200);
    expect((await visitor.get(`/s/${once}/download/${fileId}`)).status).toBe(410);

    const after = await settledSamples(app, () => true);
    const delta = (key: string) => value(after, key) - value(before, key);
    expect(delta('coffer_share_links_created_total{mode="read"}')).toBe(4);
    expect(delta('coffer_share_links_created_total{mode="drop"}')).toBe(0);
    const outcomes = ["ok", "unlocked", "password_required", "wrong_password", "expired", "limit_reached", "not_found", "rate_limited"];
    expect(
      Object.fromEntries(outcomes.map((outcome) => [outcome, delta(`coffer_share_link_accesses_total{outcome="${outcome}"}`)])),
    ).toEqual({
      ok: 2,
      unlocked: 1,
      // The first visit, and the form shown again with the wrong password's answer (the page's loader runs after its action).
      password_required: 2,
      wrong_password: 1,
      expired: 1,
      limit_reached: 1,
      not_found: 1,
      rate_limited: 0,
    });
  });

  it("counts a refused tus body as a failed upload", async () => {
    const before = (await samples(app)).values;
    const url = await createUpload(app, bob, { name: "short.bin", size: 10 });
    // Longer than the declared size, without Content-Length (so tus cannot refuse it up front):
    // the body is cut off where the upload ends and answered 413.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(20));
        controller.close();
      },
    });
    expect((await patchUpload(bob, url, 0, body)).status).toBe(413);
    const after = (await samples(app)).values;
    expect(
      value(after, 'coffer_uploads_failed_total{stage="receive"}') - value(before, 'coffer_uploads_failed_total{stage="receive"}'),
    ).toBe(1);
    expect(value(after, "coffer_uploads_receiving")).toBe(0);
  });

  it("counts a tus body refused up front for its Content-Length as a failed upload", async () => {
    const before = (await samples(app)).values;
    const url = await createUpload(app, bob, { name: "declared-short.bin", size: 10 });
    // fetch sends Content-Length: 20, past the upload's end: tus refuses it before reading it.
    expect((await patchUpload(bob, url, 0, new Uint8Array(20))).status).toBe(413);
    const after = (await samples(app)).values;
    expect(
      value(after, 'coffer_uploads_failed_total{stage="receive"}') - value(before, 'coffer_uploads_failed_total{stage="receive"}'),
    ).toBe(1);
    expect(value(after, "coffer_uploads_receiving")).toBe(0);
  });

  it("counts logins by outcome and rate-limit refusals by limiter", async () => {
    const before = (await samples(app)).values;
    const guest = new TestClient(app.url);
    expect((await guest.login("bob.metrics@example.com", "not the right password at all")).status).toBe(401);
    expect((await guest.login("bob.metrics@example.com")).status).toBe(302);
    let after = (await samples(app)).values;
    expect(
      value(after, 'coffer_login_attempts_total{outcome="failure"}') - value(before, 'coffer_login_attempts_total{outcome="failure"}'),
    ).toBe(1);
    expect(
      value(after, 'coffer_login_attempts_total{outcome="success"}') - value(before, 'coffer_login_attempts_total{outcome="success"}'),
    ).toBe(1);

    // Wrong passwords for one email: it gets locked (LOCKOUT_FREE_FAILURES 3), then the per-IP limit (12/1m) refuses.
    const stranger = new TestClient(app.url);
    let refusedByLimit = false;
    for (let i = 0; i < 14 && !refusedByLimit; i++) {
      const response = await stranger.login("nobody.metrics@example.com", "a wrong password for nobody");
      const text = await response.text();
      refusedByLimit = response.status === 429 && text.includes("from your network");
    }
    expect(refusedByLimit).toBe(true);
    after = (await samples(app)).values;
    expect(
      value(after, 'coffer_login_attempts_total{outcome="locked"}') - value(before, 'coffer_login_attempts_total{outcome="locked"}'),
    ).toBeGreaterThan(0);
    expect(
      value(after, 'coffer_rate_limit_refusals_total{limiter="auth-login"}') -
        value(before, 'coffer_rate_limit_refusals_total{limiter="auth-login"}'),
    ).toBe(1);
  });

  it("counts Socket.IO events emitted and received by event name", async () => {
    const before = (await samples(app)).values;
    const socket = connectSocket(app.url, { path: "/socket.io", extraHeaders: { cookie: bob.cookieHeader } });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", () => resolve());
        socket.once("connect_error", reject);
      });
      const created = new Promise<void>((resolve) =>
        socket.on("event", (event: { type: string }) => event.type === "file:created" && resolve()),
      );
      await tusUpload(app, bob, "Live Notes.txt", randomBytes(64));
      await created;
      socket.emit("anything", { from: "a client" });
    } finally {
      socket.disconnect();
    }
    const key = (direction: string, event: string) => `coffer_socketio_events_total{direction="${direction}",event="${event}"}`;
    const after = await settledSamples(
      app,
      (values) => value(values, key("received", "disconnect")) > value(before, key("received", "disconnect")),
    );
    const delta = (k: string) => value(after, k) - value(before, k);
    expect(delta(key("emitted", "file_created"))).toBe(1);
    expect(delta(key("received", "connection"))).toBe(1);
    expect(delta(key("received", "disconnect"))).toBe(1);
    expect(delta(key("received", "other"))).toBe(1);
    expect(after.has(key("received", "anything"))).toBe(false);
  });

  it("counts connected Socket.IO sockets and their polling requests", async () => {
    const before = (await samples(app)).values;
    // Polling first (the default), so Socket.IO's HTTP requests are seen, then the websocket upgrade.
    const socket = connectSocket(app.url, { path: "/socket.io", extraHeaders: { cookie: bob.cookieHeader } });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", () => resolve());
        socket.once("connect_error", reject);
      });
      const during = (await samples(app)).values;
      expect(value(during, "coffer_socketio_connected_sockets") - value(before, "coffer_socketio_connected_sockets")).toBe(1);
      expect(value(during, 'coffer_http_requests_total{method="GET",route="socket.io",status="2xx"}')).toBeGreaterThan(
        value(before, 'coffer_http_requests_total{method="GET",route="socket.io",status="2xx"}'),
      );
    } finally {
      socket.disconnect();
    }
    for (let i = 0; i < 50; i++) {
      const now = (await samples(app)).values;
      if (value(now, "coffer_socketio_connected_sockets") === value(before, "coffer_socketio_connected_sockets")) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error("the socket gauge did not go back down after the disconnect");
  });

  it("exports exactly the metrics docs/metrics.md lists", async () => {
    const { text } = await samples(app);
    const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map(([, name]) => name!));
    const docs = fs.readFileSync(path.resolve(import.meta.dirname, "../docs/metrics.md"), "utf8");
    const listed = docs
      .split("\n")
      .filter((line) => line.startsWith("| `coffer_"))
      .flatMap((line) => [...line.split("|")[1]!.matchAll(/`(coffer_[a-z0-9_*]+)`/g)].map(([, name]) => name!));
    const prefixes = listed.filter((name) => name.endsWith("*")).map((name) => name.slice(0, -1));
    const documented = (name: string) => listed.includes(name) || prefixes.some((prefix) => name.startsWith(prefix));
    expect([...exported].filter((name) => !documented(name))).toEqual([]);
    expect(listed.filter((name) => !name.endsWith("*") && !exported.has(name))).toEqual([]);
  });

  it("never puts ids, emails, file names or URLs into labels", async () => {
    const { text } = await samples(app);
    const files = await app.services.prisma.file.findMany({ select: { id: true, name: true, storageKey: true } });
    expect(files.length).toBeGreaterThan(1);
    expect(shareToken).not.toBe("");
    const secrets = [
      bobId,
      shareToken,
      "bob.metrics@example.com",
      "nobody.metrics@example.com",
      "Bob Metrics",
      TOKEN,
      ...files.flatMap((f) => [f.id, f.name, f.storageKey]),
    ];
    for (const secret of secrets) expect(text, secret).not.toContain(secret);
    // Every label value is one of a few fixed words.
    for (const [, label, labelValue] of text.matchAll(/[{,]([a-z_]+)="([^"]*)"/g)) {
      if (label === "le") continue;
      expect(labelValue, `${label}="${labelValue}"`).toMatch(/^[A-Za-z0-9._-]+$/);
      expect(labelValue.length).toBeLessThan(32);
    }
  });
});

describe("two-step verification counters", () => {
  it("counts a wrong code as a failed challenge and a recovery code as a passed one (and the login)", async () => {
    const app = await startTestApp({ storage: "local", cache: "memory" }, { METRICS_TOKEN: TOKEN });
    const carol = new TestClient(app.url);
    await carol.register("Carol Metrics", "carol.metrics@example.com");
    expect((await carol.postForm("/settings/security/mfa", { intent: "start" })).status).toBe(302);
    const setup = await (await carol.get("/settings/security/mfa")).text();
    const secret = /data-testid="mfa-secret"[^>]*>([A-Z2-7 ]+)</.exec(setup)![1].replace(/ /g, "");
    const code = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30, algorithm: "SHA1" }).generate();
    const confirmed = await carol.postForm("/settings/security/mfa", { intent: "confirm", code });
    expect(confirmed.status).toBe(200);
    const recoveryCode = /data-testid="recovery-codes">\s*<li>([a-z0-9-]+)<\/li>/.exec(await confirmed.text())![1];

    const before = (await samples(app)).values;
    const client = new TestClient(app.url);
    const passwordStep = await client.login("carol.metrics@example.com");
    expect(passwordStep.headers.get("location")).toBe("/login/mfa");
    expect((await client.postForm("/login/mfa", { code: "000000" })).status).toBe(401);
    expect((await client.postForm("/login/mfa", { code: recoveryCode })).status).toBe(302);
    const after = (await samples(app)).values;
    const delta = (key: string) => value(after, key) - value(before, key);
    expect(delta('coffer_mfa_challenges_total{outcome="failure"}')).toBe(1);
    expect(delta('coffer_mfa_challenges_total{outcome="success"}')).toBe(1);
    // The password step alone is no login yet: only the passed second step counts.
    expect(delta('coffer_login_attempts_total{outcome="success"}')).toBe(1);
    expect(delta('coffer_login_attempts_total{outcome="failure"}')).toBe(0);
  });
});

describe("GET /metrics when a driver is down", () => {
  it("reports the failing driver as 0 and still answers", async () => {
    const app = await startTestApp({ storage: "local", cache: "memory" }, { METRICS_TOKEN: TOKEN });
    // Where local storage writes its health probe (and its temp files): gone, the storage check fails, as /readyz's does.
    fs.rmSync(path.join(app.dataDir, "objects", ".tmp"), { recursive: true, force: true });
    const { values } = await samples(app);
    expect(values.get('coffer_driver_up{driver="storage"}')).toBe(0);
    expect(values.get('coffer_driver_up{driver="database"}')).toBe(1);
    expect((await fetch(`${app.url}/readyz`)).status).toBe(503);
    // Writing to it fails too: a store failure, counted as one.
    const alice = new TestClient(app.url);
    await alice.register("Alice Outage", "alice.outage@example.com");
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(randomBytes(100))]), "Lost.txt");
    expect((await alice.postMultipart("/files", form)).status).toBeGreaterThanOrEqual(500);
    const after = (await samples(app)).values;
    expect(
      value(after, 'coffer_storage_operation_errors_total{driver="local",operation="put"}') -
        value(values, 'coffer_storage_operation_errors_total{driver="local",operation="put"}'),
    ).toBe(1);
  });
});
