import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../setup/free-port";
import { TestClient } from "../support/client";
import { type BuiltApp, startBuiltApp } from "./built-app";
import { descendsFrom, type ReceivedSpan, startOtlpReceiver, traceIdOf } from "./otlp-receiver";

/**
 * Tracing end to end: the production build (build/start.js) exports to an OTLP/HTTP receiver
 * started here. TRUST_PROXY names 127.0.0.1 alone, so requests sent from 127.0.0.2 (also this
 * machine) come from an untrusted client.
 */
const SDK_PACKAGES = /\/node_modules\/(@opentelemetry\/(sdk-|instrumentation|exporter-|resources)|import-in-the-middle)/;

/** A GET sent from `localAddress`, as a client there would. */
function getFrom(localAddress: string, url: string, headers: Record<string, string> = {}): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { localAddress, headers }, (res) => {
        res.resume();
        res.on("end", () => resolve(res));
      })
      .on("error", reject);
  });
}

const isPg = (span: ReceivedSpan) => span.attributes["db.system"] === "postgresql" || span.attributes["db.system.name"] === "postgresql";
const isAws = (span: ReceivedSpan) => span.attributes["rpc.system"] === "aws-api";
const isRedis = (span: ReceivedSpan) => span.attributes["db.system"] === "redis" || span.attributes["db.system.name"] === "redis";
const isServer = (span: ReceivedSpan) => span.kind === 2;

/** One root (the HTTP server span), and every other span's parent is in the trace. */
function expectConnected(spans: ReceivedSpan[]) {
  const ids = new Set(spans.map((span) => span.spanId));
  const roots = spans.filter((span) => !span.parentSpanId || !ids.has(span.parentSpanId));
  expect(
    roots.map((span) => span.name),
    "one root",
  ).toHaveLength(1);
  expect(isServer(roots[0]!)).toBe(true);
  return roots[0]!;
}

describe("tracing on (OTLP/HTTP JSON, 100 % sampling, S3 storage, Redis)", () => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let app: BuiltApp;
  let client: TestClient;
  let uploadedFileId: string;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    app = await startBuiltApp(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_SERVICE_NAME: "coffer-under-test",
        OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=test",
        OTEL_BSP_SCHEDULE_DELAY: "100",
        TRUST_PROXY: "127.0.0.1",
        // Access lines of pages are info: the log test below reads them.
        LOG_LEVEL: "info",
      },
      { storage: "s3", cache: "redis" },
    );
    client = new TestClient(app.url);
    await client.register("Tracy", "tracy@example.com");
  });
  afterAll(() => receiver.close());

  it("one tus upload (created with its bytes) is one connected trace: HTTP → tus → PostgreSQL and storage (AWS SDK)", async () => {
    const bytes = Buffer.from("traced bytes ".repeat(100));
    const response = await fetch(`${app.url}/api/uploads`, {
      method: "POST",
      headers: {
        cookie: client.cookieHeader,
        "Tus-Resumable": "1.0.0",
        "Upload-Length": String(bytes.length),
        "Upload-Metadata": `filename ${Buffer.from("secret-plans.txt").toString("base64")}`,
        "Content-Type": "application/offset+octet-stream",
      },
      body: bytes,
    });
    expect(response.status, await response.clone().text()).toBe(201);
    expect(response.headers.get("upload-offset")).toBe(String(bytes.length));
    uploadedFileId = response.headers.get("coffer-file-id")!;
    const traceId = traceIdOf(response.headers.get("traceresponse"));

    const spans = await receiver.trace(traceId, (found) => found.some((s) => s.name === "upload.complete") && found.some(isServer));
    const root = expectConnected(spans);
    expect(root.attributes["url.path"]).toBe("/api/uploads");
    expect(root.resource["service.name"]).toBe("coffer-under-test");
    expect(root.resource["deployment.environment"]).toBe("test");

    const tus = spans.find((s) => s.name === "tus.create")!;
    expect(tus, spans.map((s) => s.name).join(", ")).toBeDefined();
    expect(descendsFrom(spans, tus, root)).toBe(true);
    const write = spans.find((s) => s.name === "storage.tus.write")!;
    expect(write).toBeDefined();
    expect(write.attributes).toMatchObject({ "storage.driver": "s3", "storage.operation": "tus.write" });
    expect(descendsFrom(spans, write, tus)).toBe(true);
    // The AWS SDK's S3 calls (the tus store), under Coffer's storage spans.
    const s3Calls = spans.filter(isAws);
    expect(s3Calls.length).toBeGreaterThan(0);
    expect(s3Calls.every((s) => spans.some((storage) => storage.name.startsWith("storage.") && descendsFrom(spans, s, storage)))).toBe(
      true,
    );
    const queries = spans.filter(isPg);
    expect(queries.length).toBeGreaterThan(0);
    expect(queries.every((s) => descendsFrom(spans, s, tus))).toBe(true);
    const complete = spans.find((s) => s.name === "upload.complete")!;
    expect(descendsFrom(spans, complete, tus)).toBe(true);
    expect(queries.some((s) => descendsFrom(spans, s, complete))).toBe(true);

    // Nothing a user owns or typed: no file name, no email, no session cookie.
    const exported = JSON.stringify(spans);
    expect(exported).not.toContain("secret-plans");
    expect(exported).not.toContain("tracy@example.com");
    expect(exported).not.toContain(client.cookies.values().next().value as string);
  });

  it("writes the request's trace id into its log lines, the access line included", async () => {
    const page = await client.get("/files?sort=size");
    expect(page.status).toBe(200);
    const traceId = traceIdOf(page.headers.get("traceresponse"));
    const requestId = page.headers.get("x-request-id")!;
    const linesOfRequest = () =>
      app
        .output()
        .split("\n")
        .filter((line) => line.includes(requestId))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    const deadline = Date.now() + 10_000;
    while (!linesOfRequest().some((line) => line.duration_ms !== undefined) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    const lines = linesOfRequest();
    expect(lines.length, app.output().slice(-2000)).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line.trace_id).toBe(traceId);
      expect(line.span_id).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it("one page load (My files, logged in) is one connected trace: HTTP → Remix loaders → PostgreSQL, and Redis", async () => {
    const page = await client.get("/files?sort=name");
    expect(page.status).toBe(200);
    const traceId = traceIdOf(page.headers.get("traceresponse"));

    const spans = await receiver.trace(traceId, (found) => found.some((s) => s.name === "folder.list") && found.some(isServer));
    const root = expectConnected(spans);
    expect(root.attributes["url.path"]).toBe("/files");
    // Named by the Remix route, not by Express's catch-all.
    expect(root.name).toBe("GET /files");
    expect(root.attributes["http.route"]).toBe("/files");
    expect(root.attributes["url.query"], "the query is not exported").toBeUndefined();
    const loader = spans.find((s) => s.name === "remix.loader" && s.attributes["remix.route.id"] === "routes/files._index")!;
    expect(loader, spans.map((s) => `${s.name} ${s.attributes["remix.route.id"] ?? ""}`).join(", ")).toBeDefined();
    expect(descendsFrom(spans, loader, root)).toBe(true);
    const listing = spans.find((s) => s.name === "folder.list")!;
    expect(descendsFrom(spans, listing, loader)).toBe(true);
    expect(spans.filter(isPg).some((s) => descendsFrom(spans, s, listing))).toBe(true);
    // The per-address rate limit counts in Redis before the page runs; the command alone is recorded.
    const redis = spans.filter(isRedis);
    expect(redis.length, spans.map((s) => s.name).join(", ")).toBeGreaterThan(0);
    for (const command of redis) expect(command.attributes["db.statement"] ?? command.attributes["db.query.text"]).toMatch(/^[a-z]+$/i);
  });

  it("a resumable upload's stages are spans of their own requests: tus.create, tus.head, tus.patch (→ upload.complete)", async () => {
    const bytes = Buffer.from("resumed ".repeat(64));
    const tus = { cookie: client.cookieHeader, "Tus-Resumable": "1.0.0" };
    const created = await fetch(`${app.url}/api/uploads`, {
      method: "POST",
      headers: {
        ...tus,
        "Upload-Length": String(bytes.length),
        "Upload-Metadata": `filename ${Buffer.from("later.txt").toString("base64")}`,
      },
    });
    expect(created.status).toBe(201);
    const location = new URL(created.headers.get("location")!, app.url).toString();
    // Asking for the offset, as a client resuming does (a finished upload has none to ask for).
    const head = await fetch(location, { method: "HEAD", headers: tus });
    expect(head.status).toBe(200);
    const patched = await fetch(location, {
      method: "PATCH",
      headers: { ...tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream" },
      body: bytes,
    });
    expect(patched.status).toBe(204);

    const stage = async (response: Response, name: string, more: (spans: ReceivedSpan[]) => boolean = () => true) => {
      const spans = await receiver.trace(
        traceIdOf(response.headers.get("traceresponse")),
        (found) => found.some((s) => s.name === name) && more(found),
      );
      const root = expectConnected(spans);
      expect(root.name).toBe(`${name === "tus.create" ? "POST" : name === "tus.patch" ? "PATCH" : "HEAD"} /api/uploads,/api/uploads/*`);
      return spans;
    };
    await stage(created, "tus.create");
    const patch = await stage(patched, "tus.patch", (found) => found.some((s) => s.name === "upload.complete"));
    expect(patch.some((s) => s.name === "storage.tus.write")).toBe(true);
    await stage(head, "tus.head");
  });

  it("a search and a download each show their work: search.query, file.download → storage.get", async () => {
    const search = await client.get("/search?q=secret-plans");
    expect(search.status).toBe(200);
    const searchSpans = await receiver.trace(traceIdOf(search.headers.get("traceresponse")), (found) =>
      found.some((s) => s.name === "search.query"),
    );
    expect(searchSpans.find((s) => s.name === "search.query")?.attributes).toMatchObject({
      "search.driver": "postgres",
      "search.query_length": "secret-plans".length,
    });
    expect(JSON.stringify(searchSpans), "the query's words are not exported").not.toContain("secret-plans");

    const download = await client.get(`/download/${uploadedFileId}`);
    expect(download.status).toBe(200);
    const downloadSpans = await receiver.trace(traceIdOf(download.headers.get("traceresponse")), (found) =>
      found.some((s) => s.name === "storage.get"),
    );
    const reply = downloadSpans.find((s) => s.name === "file.download")!;
    expect(reply).toBeDefined();
    const get = downloadSpans.find((s) => s.name === "storage.get")!;
    expect(descendsFrom(downloadSpans, get, reply)).toBe(true);
    expect(downloadSpans.find(isServer)?.name).toBe("GET /download/:fileId");
  });

  it("continues a trace from a trusted proxy's traceparent, and starts a new one for an untrusted client's", async () => {
    const sentTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const traceparent = `00-${sentTraceId}-00f067aa0ba902b7-01`;

    const fromProxy = await getFrom("127.0.0.1", `${app.url}/login`, { traceparent });
    expect(traceIdOf(fromProxy.headers.traceresponse as string)).toBe(sentTraceId);
    const proxied = await receiver.trace(sentTraceId, (found) => found.some(isServer));
    expect(proxied.find(isServer)?.parentSpanId).toBe("00f067aa0ba902b7");

    const fromClient = await getFrom("127.0.0.2", `${app.url}/login`, { traceparent, tracestate: "vendor=forged" });
    const own = traceIdOf(fromClient.headers.traceresponse as string);
    expect(own).not.toBe(sentTraceId);
    const spans = await receiver.trace(own, (found) => found.some(isServer));
    const root = spans.find(isServer)!;
    expect(root.parentSpanId || "").toBe("");
  });

  it("keeps share-link tokens out of exported paths", async () => {
    const response = await client.get("/s/some-share-token-value");
    const traceId = traceIdOf(response.headers.get("traceresponse"));
    const spans = await receiver.trace(traceId, (found) => found.some(isServer));
    expect(spans.find(isServer)?.attributes["url.path"]).toBe("/s/:token");
    expect(spans.find(isServer)?.name).toBe("GET /s/:token");
    expect(JSON.stringify(spans)).not.toContain("some-share-token-value");
  });
});

describe("stopping", () => {
  it("sends the spans still batched before the process exits (SIGTERM)", async () => {
    const receiver = await startOtlpReceiver();
    try {
      const app = await startBuiltApp({
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.endpoint}/v1/traces`,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_BSP_SCHEDULE_DELAY: "600000",
      });
      const page = await fetch(`${app.url}/login`);
      const traceId = traceIdOf(page.headers.get("traceresponse"));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(
        receiver.spans.filter((span) => span.traceId === traceId),
        "not sent before the batch delay",
      ).toEqual([]);
      await app.stop();
      expect(receiver.spans.filter((span) => span.traceId === traceId && isServer(span))).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });
});

describe("an unreachable collector", () => {
  it("says so in the log (once), and the app serves on", async () => {
    const closedPort = await freePort();
    const app = await startBuiltApp({
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closedPort}/otlp?key=secret-key`,
      OTEL_BSP_SCHEDULE_DELAY: "100",
      LOG_LEVEL: "info",
    });
    for (let i = 0; i < 3; i++) expect((await fetch(`${app.url}/login`)).status).toBe(200);
    const deadline = Date.now() + 20_000;
    while (!/tracing: /.test(app.output()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const lines = app
      .output()
      .split("\n")
      .filter((line) => line.includes('"tracing'));
    expect(lines.find((line) => line.includes('"tracing on"'))).toContain(`"endpoint":"http://127.0.0.1:${closedPort}"`);
    const warnings = lines.filter((line) => line.includes('"tracing: '));
    expect(warnings.length, app.output()).toBe(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({
      level: "warn",
      message: `tracing: spans were not exported: connect ECONNREFUSED 127.0.0.1:${closedPort}`,
    });
    expect(app.output()).not.toContain("secret-key");
    expect((await fetch(`${app.url}/login`)).status).toBe(200);
  });
});

describe("tracing off (no OTEL_* variables)", () => {
  it("loads no OpenTelemetry SDK module and sends no traceresponse header", async () => {
    const app = await startBuiltApp({});
    const client = new TestClient(app.url);
    await client.register("Untraced", "untraced@example.com");
    const page = await client.get("/files");
    expect(page.status).toBe(200);
    expect(page.headers.get("traceresponse")).toBeNull();
    const modules = await app.resolvedModules();
    expect(modules.some((url) => url.endsWith("/build/start.js"))).toBe(true);
    expect(modules.filter((url) => SDK_PACKAGES.test(url))).toEqual([]);
  });
});
