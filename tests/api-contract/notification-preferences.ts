import { expect, it } from "vitest";
import { createToken } from "~/domain/tokens/tokens.server";
import { bearerApiClient } from "../support/api-client";
import type { ContractSuite } from "./env";

/**
 * Notification preferences through the API (docs/events.md#preferences), with the page's rules:
 * every notifiable kind listed with its default, a PUT changes only what it names, an unknown
 * kind, channel, language or time zone is a 422 naming the field and saves nothing, and each
 * account sees only its own; reading needs files:read, changing files:write.
 */
export const notificationPreferencesSuite: ContractSuite = (env) => {
  it("gets and changes your notification preferences, leaving out what is not named", async () => {
    const { api, otherApi } = env();
    const before = await api.GET("/api/v1/me/notification-preferences");
    expect(before.response.status).toBe(200);
    const kinds = before.data!.kinds;
    expect(kinds.find((k) => k.kind === "share.granted")).toMatchObject({ channel: "in-app", defaultChannel: "in-app" });
    expect(kinds.find((k) => k.kind === "webhook.disabled")).toMatchObject({ channel: "email", defaultChannel: "email" });

    const changed = await api.PUT("/api/v1/me/notification-preferences", {
      body: { channels: { "share.granted": "digest", "file.created": "off" }, locale: "de-DE", timeZone: "Europe/Berlin" },
    });
    expect(changed.response.status).toBe(200);
    expect(changed.data).toMatchObject({ locale: "de-DE", timeZone: "Europe/Berlin" });
    const channels = Object.fromEntries(changed.data!.kinds.map((k) => [k.kind, k.channel]));
    expect(channels).toMatchObject({ "share.granted": "digest", "file.created": "off", "share.dropped": "in-app" });
    const again = await api.PUT("/api/v1/me/notification-preferences", { body: { channels: { "file.created": "email" } } });
    expect(again.data).toMatchObject({ locale: "de-DE", timeZone: "Europe/Berlin" });
    expect(again.data!.kinds.find((k) => k.kind === "share.granted")!.channel).toBe("digest");
    // Another account's are its own.
    const other = await otherApi.GET("/api/v1/me/notification-preferences");
    expect(other.data!.kinds.find((k) => k.kind === "share.granted")!.channel).toBe("in-app");
    await api.PUT("/api/v1/me/notification-preferences", {
      body: { channels: { "share.granted": "in-app", "file.created": "in-app" }, locale: null, timeZone: null },
    });
  });

  it("refuses unknown kinds, channels, languages and time zones with a 422 naming the field", async () => {
    const { api } = env();
    const unknownKind = await api.PUT("/api/v1/me/notification-preferences", { body: { channels: { "made.up": "off" } } });
    expect(unknownKind.response.status).toBe(422);
    expect(unknownKind.error).toMatchObject({ errors: [{ pointer: "/body/channels/made.up" }] });
    const badZone = await api.PUT("/api/v1/me/notification-preferences", {
      body: { channels: { "share.granted": "off" }, timeZone: "Mars/Olympus" },
    });
    expect(badZone.response.status).toBe(422);
    expect(badZone.error).toMatchObject({ errors: [{ pointer: "/body/timeZone" }] });
    const badChannel = await api.PUT("/api/v1/me/notification-preferences", {
      body: { channels: { "share.granted": "loud" as never } },
    });
    expect(badChannel.response.status).toBe(422);
    const after = await api.GET("/api/v1/me/notification-preferences");
    expect(after.data!.kinds.find((k) => k.kind === "share.granted")!.channel).toBe("in-app");
  });

  it("needs files:read to read and files:write to change", async () => {
    const { app, ownerUser, validator } = env();
    const audit = { actorId: ownerUser.id, actorLabel: ownerUser.email, ip: null, userAgent: null };
    const read = (await createToken(app.services, ownerUser, { name: "prefs read", scopes: ["files:read"], expiresAt: null }, audit))
      .secret;
    const reader = bearerApiClient(app.url, read, validator);
    expect((await reader.GET("/api/v1/me/notification-preferences")).response.status).toBe(200);
    const refused = await reader.PUT("/api/v1/me/notification-preferences", { body: { channels: { "share.granted": "off" } } });
    expect(refused.response.status).toBe(403);
  });
};
