import { expect, it } from "vitest";
import { dispatchEvents } from "~/domain/events/dispatcher.server";
import { createToken } from "~/domain/tokens/tokens.server";
import { bearerApiClient } from "../support/api-client";
import type { ContractSuite } from "./env";

/**
 * Webhook endpoints through the API, with the page's rules: the secret once (on create and
 * rotation), the SSRF guard on the URL, `instance` for administrators only (and with a token,
 * only one holding `admin`), someone else's endpoint not found, the delivery log paged.
 */

const WHSEC = /^whsec_[A-Za-z0-9+/]{32}$/;

export const webhooksSuite: ContractSuite = (env) => {
  it("creates a webhook with its secret once, lists, gets, changes, rotates, tests and deletes it", async () => {
    const { api, app, otherApi } = env();
    const created = await api.POST("/api/v1/me/webhooks", {
      body: { url: "https://example.com/coffer-hook", eventTypes: ["file.created", "folder.created", "file.created"] },
    });
    expect(created.response.status).toBe(201);
    const hook = created.data!;
    expect(hook.secret).toMatch(WHSEC);
    expect(hook).toMatchObject({ scope: "user", enabled: true, eventTypes: ["file.created", "folder.created"] });
    expect(hook.secretHint).toBe(`whsec_…${hook.secret!.slice(-4)}`);
    expect(created.response.headers.get("location")).toBe(`/api/v1/me/webhooks/${hook.id}`);
    const audited = await app.services.prisma.auditEvent.findFirst({ where: { action: "webhook.created", targetId: hook.id } });
    expect(audited).toMatchObject({ actorId: env().ownerUser.id, targetType: "webhook" });
    const stored = await app.services.prisma.webhook.findUniqueOrThrow({ where: { id: hook.id } });
    expect(stored.secretEncrypted).not.toContain(hook.secret!.slice(6));

    const listed = await api.GET("/api/v1/me/webhooks");
    expect(listed.data!.items.map((item) => item.id)).toContain(hook.id);
    expect(JSON.stringify(listed.data)).not.toContain(hook.secret!);
    const got = await api.GET("/api/v1/me/webhooks/{webhookId}", { params: { path: { webhookId: hook.id } } });
    expect(got.data).toMatchObject({ id: hook.id, url: "https://example.com/coffer-hook" });
    expect(got.data).not.toHaveProperty("secret");

    // Someone else's: not found, whatever is asked.
    const path = { path: { webhookId: hook.id } };
    expect((await otherApi.GET("/api/v1/me/webhooks/{webhookId}", { params: path })).response.status).toBe(404);
    expect((await otherApi.PATCH("/api/v1/me/webhooks/{webhookId}", { params: path, body: { enabled: false } })).response.status).toBe(404);
    expect((await otherApi.DELETE("/api/v1/me/webhooks/{webhookId}", { params: path })).response.status).toBe(404);
    expect((await otherApi.GET("/api/v1/me/webhooks/{webhookId}/deliveries", { params: path })).response.status).toBe(404);
    expect((await otherApi.POST("/api/v1/me/webhooks/{webhookId}/secret", { params: path })).response.status).toBe(404);
    expect((await otherApi.POST("/api/v1/me/webhooks/{webhookId}/test", { params: path })).response.status).toBe(404);

    const changed = await api.PATCH("/api/v1/me/webhooks/{webhookId}", {
      params: path,
      body: { url: "https://example.org/other", eventTypes: ["share.created"], enabled: false },
    });
    expect(changed.response.status).toBe(200);
    expect(changed.data).toMatchObject({
      url: "https://example.org/other",
      eventTypes: ["share.created"],
      enabled: false,
      disabledReason: "owner",
    });
    // Off: no test event.
    expect((await api.POST("/api/v1/me/webhooks/{webhookId}/test", { params: path })).response.status).toBe(422);
    const on = await api.PATCH("/api/v1/me/webhooks/{webhookId}", { params: path, body: { enabled: true } });
    expect(on.data).toMatchObject({ enabled: true, disabledReason: null, url: "https://example.org/other" });

    const rotated = await api.POST("/api/v1/me/webhooks/{webhookId}/secret", { params: path });
    expect(rotated.response.status).toBe(200);
    expect(rotated.data!.secret).toMatch(WHSEC);
    expect(rotated.data!.secret).not.toBe(hook.secret);

    expect((await api.POST("/api/v1/me/webhooks/{webhookId}/test", { params: path })).response.status).toBe(202);
    await dispatchEvents(app.services);
    const deliveries = await api.GET("/api/v1/me/webhooks/{webhookId}/deliveries", { params: path });
    expect(deliveries.response.status).toBe(200);
    expect(deliveries.data!.items.map((delivery) => delivery.kind)).toContain("webhook.test");

    expect((await api.DELETE("/api/v1/me/webhooks/{webhookId}", { params: path })).response.status).toBe(204);
    expect((await api.GET("/api/v1/me/webhooks/{webhookId}", { params: path })).response.status).toBe(404);
    expect(await app.services.prisma.webhookDelivery.count({ where: { webhookId: hook.id } })).toBe(0);
    const actions = await app.services.prisma.auditEvent.findMany({ where: { targetId: hook.id }, orderBy: { createdAt: "asc" } });
    expect(actions.map((row) => row.action)).toEqual([
      "webhook.created",
      "webhook.updated",
      "webhook.disabled",
      "webhook.enabled",
      "webhook.secret_rotated",
      "webhook.deleted",
    ]);
  });

  it("refuses private addresses, unknown events and instance scope for users, naming the field", async () => {
    const { api } = env();
    for (const url of [
      "http://127.0.0.1:8080/",
      "http://[::1]/",
      "http://169.254.169.254/latest/meta-data",
      "ftp://example.com/",
      "https://user:pw@example.com/",
    ]) {
      const refused = await api.POST("/api/v1/me/webhooks", { body: { url, eventTypes: ["file.created"] } });
      expect(refused.response.status, url).toBe(422);
      expect((refused.error as { errors: Array<{ pointer: string }> }).errors.map((error) => error.pointer)).toContain("/body/url");
    }
    const unknown = await api.POST("/api/v1/me/webhooks", { body: { url: "https://example.com/", eventTypes: ["file.exploded"] } });
    expect(unknown.response.status).toBe(422);
    // The owner may be the instance's first account, an administrator: ask as the other user.
    const instance = await env().otherApi.POST("/api/v1/me/webhooks", {
      body: { url: "https://example.com/", eventTypes: ["file.created"], scope: "instance" },
    });
    expect(instance.response.status).toBe(403);
    const hook = (await api.POST("/api/v1/me/webhooks", { body: { url: "https://example.com/p", eventTypes: ["file.created"] } })).data!;
    const patched = await api.PATCH("/api/v1/me/webhooks/{webhookId}", {
      params: { path: { webhookId: hook.id } },
      body: { url: "http://10.0.0.1/" },
    });
    expect(patched.response.status).toBe(422);
    expect((await api.GET("/api/v1/me/webhooks/{webhookId}", { params: { path: { webhookId: hook.id } } })).data!.url).toBe(
      "https://example.com/p",
    );
    await api.DELETE("/api/v1/me/webhooks/{webhookId}", { params: { path: { webhookId: hook.id } } });
  });

  it("honours If-Match on PATCH: the ETag of GET, 412 when stale, one winner of a race", async () => {
    const { api } = env();
    const hook = (await api.POST("/api/v1/me/webhooks", { body: { url: "https://example.com/etag", eventTypes: ["file.created"] } })).data!;
    const path = { path: { webhookId: hook.id } };
    const got = await api.GET("/api/v1/me/webhooks/{webhookId}", { params: path });
    const etag = got.response.headers.get("etag")!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    // The same version reads the same ETag.
    expect((await api.GET("/api/v1/me/webhooks/{webhookId}", { params: path })).response.headers.get("etag")).toBe(etag);

    const changed = await api.PATCH("/api/v1/me/webhooks/{webhookId}", {
      params: { ...path, header: { "if-match": etag } },
      body: { eventTypes: ["file.created", "file.moved"] },
    });
    expect(changed.response.status).toBe(200);
    const renewed = changed.response.headers.get("etag")!;
    expect(renewed).not.toBe(etag);
    expect((await api.GET("/api/v1/me/webhooks/{webhookId}", { params: path })).response.headers.get("etag")).toBe(renewed);

    // The old ETag is stale: 412 with the current ETag, and nothing changes.
    const stale = await api.PATCH("/api/v1/me/webhooks/{webhookId}", {
      params: { ...path, header: { "if-match": etag } },
      body: { enabled: false },
    });
    expect(stale.response.status).toBe(412);
    expect(stale.error).toMatchObject({ type: "/api/docs#problem-precondition-failed" });
    expect(stale.response.headers.get("etag")).toBe(renewed);
    expect((await api.GET("/api/v1/me/webhooks/{webhookId}", { params: path })).data!.enabled).toBe(true);

    // Two changes made against the same version at once: one wins, the other is told (412).
    const race = await Promise.all(
      ["https://example.com/one", "https://example.com/two"].map((url) =>
        api.PATCH("/api/v1/me/webhooks/{webhookId}", { params: { ...path, header: { "if-match": renewed } }, body: { url } }),
      ),
    );
    expect(race.map((r) => r.response.status).sort()).toEqual([200, 412]);
    const winner = race.find((r) => r.response.status === 200)!;
    const now = await api.GET("/api/v1/me/webhooks/{webhookId}", { params: path });
    expect(now.data!.url).toBe(winner.data!.url);
    expect(now.response.headers.get("etag")).toBe(winner.response.headers.get("etag"));
    // A refused change (422) leaves the version as it was; "*" matches any version.
    const refused = await api.PATCH("/api/v1/me/webhooks/{webhookId}", {
      params: { ...path, header: { "if-match": now.response.headers.get("etag")! } },
      body: { url: "http://10.0.0.1/" },
    });
    expect(refused.response.status).toBe(422);
    expect((await api.GET("/api/v1/me/webhooks/{webhookId}", { params: path })).response.headers.get("etag")).toBe(
      now.response.headers.get("etag"),
    );
    const any = await api.PATCH("/api/v1/me/webhooks/{webhookId}", {
      params: { ...path, header: { "if-match": "*" } },
      body: { enabled: false },
    });
    expect(any.response.status).toBe(200);
    await api.DELETE("/api/v1/me/webhooks/{webhookId}", { params: path });
  });

  it("pages the delivery log newest first with a cursor", async () => {
    const { api, app } = env();
    const hook = (await api.POST("/api/v1/me/webhooks", { body: { url: "https://example.com/paged", eventTypes: ["file.created"] } }))
      .data!;
    const path = { path: { webhookId: hook.id } };
    for (let i = 0; i < 3; i++)
      expect((await api.POST("/api/v1/me/webhooks/{webhookId}/test", { params: path })).response.status).toBe(202);
    await dispatchEvents(app.services);
    const first = await api.GET("/api/v1/me/webhooks/{webhookId}/deliveries", { params: { ...path, query: { limit: 2 } } });
    expect(first.data!.items).toHaveLength(2);
    expect(first.data!.nextCursor).not.toBeNull();
    const second = await api.GET("/api/v1/me/webhooks/{webhookId}/deliveries", {
      params: { ...path, query: { limit: 2, cursor: first.data!.nextCursor! } },
    });
    expect(second.data!.items).toHaveLength(1);
    expect(second.data!.nextCursor).toBeNull();
    const ids = [...first.data!.items, ...second.data!.items].map((delivery) => delivery.id);
    expect(new Set(ids).size).toBe(3);
    const bad = await api.GET("/api/v1/me/webhooks/{webhookId}/deliveries", { params: { ...path, query: { cursor: "nope" } } });
    expect(bad.response.status).toBe(422);
    await api.DELETE("/api/v1/me/webhooks/{webhookId}", { params: path });
  });

  it("lets an administrator's token reach instance webhooks only with the admin scope", async () => {
    const { adminApi, app, adminUser, validator } = env();
    const created = await adminApi.POST("/api/v1/me/webhooks", {
      body: { url: "https://example.com/everything", eventTypes: ["file.created"], scope: "instance" },
    });
    expect(created.response.status).toBe(201);
    const path = { path: { webhookId: created.data!.id } };
    const audit = { actorId: adminUser.id, actorLabel: adminUser.email, ip: null, userAgent: null };
    const filesOnly = (await createToken(app.services, adminUser, { name: "hooks files", scopes: ["files:write"], expiresAt: null }, audit))
      .secret;
    const withAdmin = (
      await createToken(app.services, adminUser, { name: "hooks admin", scopes: ["files:write", "admin"], expiresAt: null }, audit)
    ).secret;
    const files = bearerApiClient(app.url, filesOnly, validator);
    const admin = bearerApiClient(app.url, withAdmin, validator);
    expect((await files.GET("/api/v1/me/webhooks/{webhookId}", { params: path })).response.status).toBe(403);
    expect((await files.GET("/api/v1/me/webhooks/{webhookId}/deliveries", { params: path })).response.status).toBe(403);
    const instance = { url: "https://example.com/all", eventTypes: ["file.created"], scope: "instance" as const };
    expect((await files.POST("/api/v1/me/webhooks", { body: instance })).response.status).toBe(403);
    expect((await admin.GET("/api/v1/me/webhooks/{webhookId}", { params: path })).response.status).toBe(200);
    // A user-scope webhook needs files:write only; a token holding only admin may not touch webhooks.
    const mine = await files.POST("/api/v1/me/webhooks", { body: { url: "https://example.com/mine", eventTypes: ["file.created"] } });
    expect(mine.response.status).toBe(201);
    const adminOnly = (await createToken(app.services, adminUser, { name: "hooks only admin", scopes: ["admin"], expiresAt: null }, audit))
      .secret;
    expect((await bearerApiClient(app.url, adminOnly, validator).GET("/api/v1/me/webhooks")).response.status).toBe(403);
    await adminApi.DELETE("/api/v1/me/webhooks/{webhookId}", { params: path });
    await adminApi.DELETE("/api/v1/me/webhooks/{webhookId}", { params: { path: { webhookId: mine.data!.id } } });
  });
};
