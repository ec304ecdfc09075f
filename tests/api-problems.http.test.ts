import { afterAll, describe, expect, inject, it } from "vitest";
import { createToken } from "~/domain/tokens/tokens.server";
import { type OpenApiDocument, responseValidator } from "./support/api-client";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { outageRelay, type OutageRelay } from "./support/outage-relay";
import { tusHeaders } from "./support/tus";
import { upload } from "./api-contract/env";
import { createTestDatabase } from "./support/database";

/**
 * The problems the host answers for every /api/v1 operation and for tus, before or around the
 * router: the rate limiter's 429 and a dependency's 503. Both are real here (a low limit, an
 * object store that goes away) and validated against the shared responses of the document.
 */
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function documentOf(app: TestApp) {
  return responseValidator((await (await fetch(`${app.url}/api/v1/openapi.json`)).json()) as OpenApiDocument);
}

async function expectProblem(response: Response, status: 429 | 503, type: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
  const body = await response.json();
  expect(body).toMatchObject({ type: `/api/docs#problem-${type}`, status });
  expect(JSON.stringify(body)).not.toMatch(/\n\s+at /);
  return body;
}

describe("the API's shared problems", () => {
  it("answers 429 as a documented problem with Retry-After, on /api/v1 and on tus, whatever the client accepts", async () => {
    const app = await startTestApp({ storage: "local", cache: "memory" }, { RATE_LIMIT_API: "6/1m" });
    cleanups.push(() => app.close());
    const validator = await documentOf(app);
    const owner = new TestClient(app.url);
    await owner.register("Rita Rate", "rita-rate@example.com");
    let limited: Response | null = null;
    for (let i = 0; i < 10 && !limited; i++) {
      const response = await owner.request("/api/v1/folders/root", { headers: { accept: "*/*" } });
      await validator.check("GET", "/api/v1/folders/root", response);
      if (response.status === 429) limited = response;
      else expect(response.status).toBe(200);
    }
    expect(limited, "the limit was reached").not.toBeNull();
    await expectProblem(limited!, 429, "rate-limited");

    const creation = await fetch(`${app.url}/api/uploads`, {
      method: "POST",
      headers: tusHeaders(owner, { "Upload-Length": "1", "Upload-Metadata": `filename ${Buffer.from("x").toString("base64")}` }),
    });
    await validator.check("POST", "/api/uploads", creation);
    await expectProblem(creation, 429, "rate-limited");
  });

  describe("with the object store down", () => {
    let relay: OutageRelay;
    let app: TestApp;

    it("answers 503 as a documented problem with Retry-After, from the router and from tus", async () => {
      relay = await outageRelay(inject("services").s3.endpoint);
      cleanups.push(() => relay.close());
      app = await startTestApp({ storage: "s3", cache: "memory" }, { S3_ENDPOINT: relay.endpoint });
      cleanups.push(() => app.close());
      const validator = await documentOf(app);
      const owner = new TestClient(app.url);
      await owner.register("Otis Outage", "otis-outage@example.com");
      const fileId = await upload(app, owner, "outage.txt", Buffer.from("still here"));

      await relay.kill();
      try {
        const download = await owner.request(`/api/v1/files/${fileId}/content`);
        await validator.check("GET", "/api/v1/files/{id}/content", download);
        expect(await expectProblem(download, 503, "unavailable")).toMatchObject({ dependency: "storage" });

        const creation = await fetch(`${app.url}/api/uploads`, {
          method: "POST",
          headers: tusHeaders(owner, { "Upload-Length": "1", "Upload-Metadata": `filename ${Buffer.from("y").toString("base64")}` }),
        });
        await validator.check("POST", "/api/uploads", creation);
        expect(await expectProblem(creation, 503, "unavailable")).toMatchObject({ dependency: "storage" });
      } finally {
        await relay.revive();
      }
      // Once the breaker lets a trial request through, the API answers again by itself.
      await expect
        .poll(async () => (await owner.request(`/api/v1/files/${fileId}/content`)).text(), { timeout: 30_000, interval: 500 })
        .toBe("still here");
    }, 60_000);
  });

  /** A dependency's own address with the relay's host and port in its place. */
  function through(relay: OutageRelay, url: string): string {
    const relayed = new URL(url);
    relayed.host = new URL(relay.endpoint).host;
    return relayed.toString();
  }

  const json = (body: unknown) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  describe("with the database down", () => {
    it("answers 503 with Retry-After to sessions and tokens, changes nothing, and answers again once it is back", async () => {
      const database = await createTestDatabase();
      const relay = await outageRelay(database.url);
      cleanups.push(() => relay.close());
      const app = await startTestApp({ storage: "local", cache: "memory" }, { DATABASE_URL: through(relay, database.url) });
      cleanups.push(() => app.close());
      const validator = await documentOf(app);
      const owner = new TestClient(app.url);
      await owner.register("Dora Database", "dora-database@example.com");
      const user = await database.prisma.user.findUniqueOrThrow({ where: { email: "dora-database@example.com" } });
      const audit = { actorId: user.id, actorLabel: user.email, ip: null, userAgent: null };
      const { secret } = await createToken(app.services, user, { name: "outage", scopes: ["files:write"], expiresAt: null }, audit);
      const byToken = (url: string, init: RequestInit = {}) =>
        fetch(`${app.url}${url}`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${secret}` } });
      const root = (await (await owner.request("/api/v1/folders/root")).json()) as { id: string };
      const children = `/api/v1/folders/${root.id}/children`;
      const before = await database.prisma.folder.count();

      await relay.kill();
      try {
        const listing = await owner.request(children);
        await validator.check("GET", "/api/v1/folders/{id}/children", listing);
        expect(await expectProblem(listing, 503, "unavailable")).toMatchObject({ dependency: "database" });
        const created = await owner.request("/api/v1/folders", json({ parentId: root.id, name: "Made in the outage" }));
        await validator.check("POST", "/api/v1/folders", created);
        expect(await expectProblem(created, 503, "unavailable")).toMatchObject({ dependency: "database" });
        const tokenCreate = await byToken("/api/v1/folders", json({ parentId: root.id, name: "Made by a token in the outage" }));
        await validator.check("POST", "/api/v1/folders", tokenCreate);
        expect(await expectProblem(tokenCreate, 503, "unavailable")).toMatchObject({ dependency: "database" });
      } finally {
        await relay.revive();
      }
      await expect.poll(async () => (await owner.request(children)).status, { timeout: 30_000, interval: 500 }).toBe(200);
      expect(await database.prisma.folder.count()).toBe(before);
      const after = await byToken("/api/v1/folders", json({ parentId: root.id, name: "Made after the outage" }));
      await validator.check("POST", "/api/v1/folders", after);
      expect(after.status).toBe(201);
    }, 90_000);
  });

  describe("with Redis down", () => {
    it("keeps /api/v1 up, answers tus 503 with Retry-After without keeping anything, and takes uploads again once it is back", async () => {
      const redisUrl = inject("services").redisUrl;
      const relay = await outageRelay(redisUrl);
      cleanups.push(() => relay.close());
      const app = await startTestApp({ storage: "local", cache: "redis" }, { REDIS_URL: through(relay, redisUrl) });
      cleanups.push(() => app.close());
      const validator = await documentOf(app);
      const owner = new TestClient(app.url);
      await owner.register("Rhea Redis", "rhea-redis@example.com");
      const root = (await (await owner.request("/api/v1/folders/root")).json()) as { id: string };
      const creation = () =>
        fetch(`${app.url}/api/uploads`, {
          method: "POST",
          headers: tusHeaders(owner, { "Upload-Length": "1", "Upload-Metadata": `filename ${Buffer.from("r.txt").toString("base64")}` }),
        });
      const uploadsBefore = await app.services.prisma.upload.count();

      await relay.kill();
      try {
        // Nothing under /api/v1 needs Redis: sessions, limits and idempotency keys live elsewhere.
        const listing = await owner.request(`/api/v1/folders/${root.id}/children`);
        await validator.check("GET", "/api/v1/folders/{id}/children", listing);
        expect(listing.status).toBe(200);
        // Uploads keep their state in Redis: a clear 503 each time, and no upload begun.
        for (const attempt of [1, 2]) {
          const refused = await creation();
          await validator.check("POST", "/api/uploads", refused);
          expect(await expectProblem(refused, 503, "unavailable"), `attempt ${attempt}`).toMatchObject({ dependency: "cache" });
        }
        expect(await app.services.prisma.upload.count()).toBe(uploadsBefore);
      } finally {
        await relay.revive();
      }
      await expect.poll(async () => (await creation()).status, { timeout: 30_000, interval: 500 }).toBe(201);
    }, 90_000);
  });
});
