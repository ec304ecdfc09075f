import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { getRootFolder } from "~/domain/files/folders.server";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

/**
 * What a CDN or a browser may keep: hashed assets for a year and the same for everyone (so never
 * with a cookie), authorised content only privately, revalidated with ETag or Last-Modified.
 */
const CLIENT_DIR = path.resolve(import.meta.dirname, "../build/client");

function biggestAsset(extension: string): string {
  const names = fs.readdirSync(path.join(CLIENT_DIR, "assets")).filter((name) => name.endsWith(extension));
  return names.sort(
    (a, b) => fs.statSync(path.join(CLIENT_DIR, "assets", b)).size - fs.statSync(path.join(CLIENT_DIR, "assets", a)).size,
  )[0]!;
}

function plainGet(url: string, headers: Record<string, string>): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (response) => {
        response.resume();
        resolve(response);
      })
      .on("error", reject);
  });
}

function tokenFrom(text: string): string {
  const match = /\/s\/([A-Za-z0-9_-]{43})/.exec(text);
  if (!match) throw new Error("no share URL in the page");
  return match[1]!;
}

describe("caching headers", () => {
  let app: TestApp;
  let owner: TestClient;
  let fileId: string;
  const bytes = randomBytes(50_000);

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    owner = new TestClient(app.url);
    await owner.register("Carla Cache", "carla-cache@example.com");
    const user = await app.services.prisma.user.findUniqueOrThrow({ where: { email: "carla-cache@example.com" } });
    const root = await getRootFolder(app.services, user.id);
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(bytes)], { type: "application/octet-stream" }), "cached.bin");
    expect((await owner.postMultipart(`/files/${root.id}`, form)).status).toBe(200);
    fileId = (await app.services.prisma.file.findFirstOrThrow({ where: { name: "cached.bin" } })).id;
  });

  it("serves hashed assets to everyone for a year, compressed per Accept-Encoding, without a cookie", async () => {
    const asset = `/assets/${biggestAsset(".js")}`;
    const response = await fetch(`${app.url}${asset}`, { headers: { "accept-encoding": "gzip" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(response.headers.get("set-cookie")).toBeNull();
    expect(response.headers.get("content-encoding")).toBe("gzip");
    expect(response.headers.get("vary")).toMatch(/accept-encoding/i);
    const etag = response.headers.get("etag");
    expect(etag).toBeTruthy();
    expect(response.headers.get("last-modified")).toBeTruthy();
    await response.arrayBuffer();

    // Not fetch: it adds Cache-Control: no-cache to any conditional request, as browsers do on reload.
    const again = await plainGet(`${app.url}${asset}`, { "if-none-match": etag! });
    expect(again.statusCode).toBe(304);
    expect(again.headers["set-cookie"]).toBeUndefined();
  });

  it("serves the other client files for an hour, also without a cookie, and still gives pages their CSRF cookie", async () => {
    const icon = await fetch(`${app.url}/favicon.svg`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get("cache-control")).toBe("public, max-age=3600");
    expect(icon.headers.get("set-cookie")).toBeNull();
    await icon.arrayBuffer();
    const page = await fetch(`${app.url}/login`);
    expect(page.headers.getSetCookie().some((cookie) => /_csrf=/.test(cookie))).toBe(true);
    await page.arrayBuffer();
  });

  it("serves no source map: the client's maps are outside build/client and no served script points at one", async () => {
    // The build makes them (the e2e coverage report reads them, docs/decisions/0029)...
    const maps = fs.readdirSync(path.join(CLIENT_DIR, "../client-sourcemaps/assets")).filter((name) => name.endsWith(".js.map"));
    expect(maps.length).toBeGreaterThan(10);
    // ...but not where the server serves files from, under the name a browser would ask for.
    for (const name of [maps[0]!, `${biggestAsset(".js")}.map`]) {
      const response = await fetch(`${app.url}/assets/${name}`);
      expect(response.status, name).toBe(404);
      await response.arrayBuffer();
    }
    const assets = fs.readdirSync(path.join(CLIENT_DIR, "assets"));
    expect(assets.filter((name) => name.endsWith(".map"))).toEqual([]);
    const scripts = assets.filter((name) => name.endsWith(".js"));
    // Each has its map, apart from the route manifest Remix writes itself.
    expect(scripts.filter((name) => !maps.includes(`${name}.map`))).toEqual([expect.stringMatching(/^manifest-\w+\.js$/)]);
    for (const name of scripts) {
      expect(fs.readFileSync(path.join(CLIENT_DIR, "assets", name), "utf8"), name).not.toMatch(/sourceMappingURL/);
    }
    // And as served: the biggest script, whole.
    const served = await fetch(`${app.url}/assets/${biggestAsset(".js")}`);
    expect(served.status).toBe(200);
    expect(served.headers.get("sourcemap")).toBeNull();
    expect(await served.text()).not.toMatch(/sourceMappingURL/);
  });

  it("keeps downloads private and revalidates them by ETag (a list, weak or not) or by date", async () => {
    const first = await owner.get(`/download/${fileId}`);
    expect(first.status).toBe(200);
    expect(first.headers.get("cache-control")).toBe("private, no-cache");
    const etag = first.headers.get("etag")!;
    const lastModified = first.headers.get("last-modified")!;
    expect(new Date(lastModified).getTime()).toBeGreaterThan(0);
    await first.arrayBuffer();

    expect((await owner.get(`/download/${fileId}`, { "if-none-match": `"other", W/${etag}` })).status).toBe(304);
    expect((await owner.get(`/download/${fileId}`, { "if-none-match": "*" })).status).toBe(304);
    expect((await owner.get(`/download/${fileId}`, { "if-modified-since": lastModified })).status).toBe(304);
    const earlier = new Date(new Date(lastModified).getTime() - 1000).toUTCString();
    const changed = await owner.get(`/download/${fileId}`, { "if-modified-since": earlier });
    expect(changed.status).toBe(200);
    expect(Buffer.from(await changed.arrayBuffer()).equals(bytes)).toBe(true);
    // If-None-Match decides when both are sent.
    const tagWins = await owner.get(`/download/${fileId}`, { "if-none-match": '"other"', "if-modified-since": lastModified });
    expect(tagWins.status).toBe(200);
    await tagWins.arrayBuffer();
  });

  it("counts a share link download however its validators were made up", async () => {
    const created = await owner.postForm("/shares", { intent: "create-link", item: `file:${fileId}`, maxDownloads: "1" });
    const token = tokenFrom(await created.text());
    const visitor = new TestClient(app.url);
    const first = await visitor.get(`/s/${token}/download/${fileId}`, {
      "if-none-match": '"made-up"',
      range: "bytes=1-",
      "if-range": '"x"',
    });
    expect(first.status).toBe(200);
    expect(Buffer.from(await first.arrayBuffer()).equals(bytes)).toBe(true);
    const second = await visitor.get(`/s/${token}/download/${fileId}`, { "if-none-match": '"made-up"' });
    expect(second.status).toBe(410);
  });
});
