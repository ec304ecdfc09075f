import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { ADMIN_AUDIENCE, ADMIN_KINDS, EVENT_KINDS, type EventKind, eventFor, notificationText } from "./catalogue";
import { EVENT_PAYLOADS, eventEnvelope, payloadSchema } from "./payloads";

describe("eventFor", () => {
  it("maps an upload to file.created, and one through a drop link to share.dropped", () => {
    expect(eventFor("file.uploaded", { name: "a.txt" })?.kind).toBe("file.created");
    expect(eventFor("file.uploaded", { via: "share", shareId: "s" })).toEqual({
      kind: "share.dropped",
      payload: { via: "share", shareId: "s" },
    });
  });

  it("names the change of an update in the payload", () => {
    expect(eventFor("file.renamed", { from: "a", to: "b" })).toEqual({
      kind: "file.updated",
      payload: { from: "a", to: "b", change: "renamed" },
    });
    expect(eventFor("folder.renamed", {})?.kind).toBe("folder.updated");
  });

  it("keeps settings values (credentials, perhaps) out of the payload", () => {
    const event = eventFor("settings.updated", { changed: ["smtpPassword"], before: { smtpPassword: "x" }, after: { smtpPassword: "y" } });
    expect(event).toEqual({ kind: "settings.updated", payload: { changed: ["smtpPassword"] } });
    expect(eventFor("settings.updated", {})?.payload).toEqual({ changed: [] });
  });

  it("maps share.used to share.accessed, and refuses an unknown action", () => {
    expect(eventFor("share.used", { download: "zip" })?.kind).toBe("share.accessed");
    expect(eventFor("nothing.like.this", {})).toBeNull();
  });

  it("produces only kinds of the catalogue", () => {
    const actions = ["file.uploaded", "file.renamed", "file.moved", "share.removed", "user.quota_changed", "trash.emptied"];
    for (const action of actions) expect(EVENT_KINDS).toContain(eventFor(action, {})?.kind);
  });
});

describe("notificationText", () => {
  it("says what happened, by kind", () => {
    expect(notificationText("share.granted", { permission: "WRITE" })).toContain("can add and change");
    expect(notificationText("share.granted", {})).toBe("shared an item with you");
    expect(notificationText("share.dropped", { name: "r.pdf" })).toBe("sent “r.pdf” through your file-drop link");
    expect(notificationText("file.created", {})).toBe("uploaded an item into your shared folder");
    expect(notificationText("folder.moved", {})).toBe("folder moved");
  });
});

describe("the kinds that are not activities", () => {
  const kinds = [
    "user.quota_threshold",
    "share.expiring",
    "security.new_device_login",
    "security.mfa_disabled",
    "admin.announcement",
    "job.failed",
  ];

  it("are in the catalogue, pass their payload through and say something of their own", () => {
    for (const kind of kinds) {
      expect(EVENT_KINDS).toContain(kind);
      expect(eventFor(kind, { a: 1 })).toEqual({ kind, payload: { a: 1 } });
      expect(notificationText(kind, {})).not.toBe(kind.replace(/[._]/g, " "));
    }
    expect(notificationText("user.quota_threshold", { level: 95 })).toBe("reports your storage is 95 % full");
    expect(notificationText("user.quota_threshold", { level: 100 })).toContain("full: uploads are refused");
    expect(notificationText("share.expiring", { name: "a.pdf", expiresAt: "2026-12-09T10:00:00.000Z" })).toBe(
      "reminds you that your share link to “a.pdf” expires on 2026-12-09 (UTC)",
    );
    expect(notificationText("security.new_device_login", { device: "Firefox on Linux", ip: "203.0.113.9" })).toContain(
      "Firefox on Linux, IP 203.0.113.9",
    );
    expect(notificationText("security.mfa_disabled", { method: "passkeys" })).toContain("last passkey");
    expect(notificationText("admin.announcement", { title: "Maintenance", body: "Sunday" })).toBe("announced “Maintenance”: Sunday");
    expect(notificationText("job.failed", { queue: "backup" })).toContain("“backup”");
  });

  it("keep the administrators' kinds to an audience", () => {
    expect([...ADMIN_KINDS].sort()).toEqual(Object.keys(ADMIN_AUDIENCE).sort());
  });
});

describe("docs/events.md", () => {
  const doc = fs.readFileSync(path.resolve(import.meta.dirname, "../../../docs/events.md"), "utf8");
  const catalogue = doc.slice(doc.indexOf("## Catalogue"), doc.indexOf("## In-app notifications"));

  it("lists every kind of the catalogue, and no other", () => {
    const documented = new Set(
      [...catalogue.matchAll(/^\| ([^|]+) \|/gm)].flatMap((row) => [...row[1]!.matchAll(/`([a-z_]+\.[a-z_.*]+)`/g)].map((m) => m[1]!)),
    );
    for (const kind of EVENT_KINDS) {
      const covered = documented.has(kind) || [...documented].some((entry) => entry.endsWith(".*") && kind.startsWith(entry.slice(0, -1)));
      expect(covered, kind).toBe(true);
    }
    for (const entry of documented) if (!entry.endsWith(".*")) expect(EVENT_KINDS, entry).toContain(entry);
  });
});

describe("payload schemas", () => {
  /** One payload per kind, as its caller writes it (the DB tests check the real ones). */
  const SAMPLES: Record<EventKind, Record<string, unknown>> = {
    "file.created": { name: "a.txt", size: 3 },
    "file.updated": { from: "a", to: "b", fromFolderId: "f1", toFolderId: "f1", change: "renamed" },
    "file.moved": { from: "a", to: "a", fromFolderId: "f1", toFolderId: "f2" },
    "file.copied": { name: "a", toFolderId: "f2", copyId: "c", copyName: "a (1)" },
    "file.trashed": { name: "a", folderId: "f1", folders: 0, files: 1 },
    "file.restored": { name: "a", originalName: "a", folderId: "f1", toRoot: false },
    "file.deleted": { name: "a", folders: 0, files: 1, rescued: 0, automatic: true },
    "folder.created": { name: "Reports", folderId: "f1" },
    "folder.updated": { from: "a", to: "b", fromFolderId: "f1", toFolderId: "f1", change: "renamed" },
    "folder.moved": { from: "a", to: "a", fromFolderId: "f1", toFolderId: "f2" },
    "folder.copied": { name: "a", toFolderId: "f2", copyId: "c", copyName: "a", folders: 2, files: 3 },
    "folder.trashed": { name: "a", folderId: "f1", folders: 2, files: 3 },
    "folder.restored": { name: "a (1)", originalName: "a", folderId: "root", toRoot: true },
    "folder.deleted": { name: "a", folders: 2, files: 3, rescued: 1, automatic: false },
    "trash.emptied": { items: 4 },
    "share.created": { itemKind: "folder", itemId: "f1", mode: "DROP", password: false },
    "share.updated": { password: "set", expiresAt: null, maxDownloads: 5 },
    "share.revoked": { itemKind: "file", itemId: "x" },
    "share.accessed": { download: "zip", itemId: "f1", count: 2 },
    "share.dropped": { via: "share", shareId: "s", name: "r.pdf", size: 10 },
    "share.granted": { shareId: "s", granteeId: "u", permission: "WRITE" },
    "share.ungranted": { shareId: "s", granteeId: "u" },
    "settings.updated": { changed: ["smtpPassword"] },
    "user.quota_changed": { before: null, after: 1000 },
    "webhook.test": { webhookId: "w" },
    "webhook.disabled": { webhookId: "w", host: "example.com", deliveryId: "d", attempts: 9 },
    "user.quota_threshold": { level: 95, usedBytes: 950, quotaBytes: 1000 },
    "share.expiring": { itemKind: "file", itemId: "x", name: "a.pdf", mode: "READ", expiresAt: "2026-12-09T10:00:00.000Z" },
    "security.new_device_login": { device: "Firefox on Linux", ip: "203.0.113.9" },
    "security.mfa_disabled": { method: "passkeys" },
    "admin.announcement": { title: "Maintenance", body: "Sunday", audience: "all" },
    "job.failed": { queue: "backup", jobId: "j", failedAt: "2026-12-07T02:00:00.000Z" },
    "file.infected": { name: "invoice.zip", signature: "Coffer.Test.EICAR.UNOFFICIAL" },
  };

  it("describe every kind, accept what its caller writes and refuse a payload of another shape", () => {
    expect(Object.keys(EVENT_PAYLOADS).sort()).toEqual([...EVENT_KINDS].sort());
    for (const kind of EVENT_KINDS) {
      expect(payloadSchema(kind)!.safeParse(SAMPLES[kind]).success, kind).toBe(true);
      expect(payloadSchema(kind)!.safeParse({ ...SAMPLES[kind], unknownField: 1 }).success, `${kind} stays open`).toBe(true);
      expect(payloadSchema(kind)!.safeParse({}).success, `${kind} refuses {}`).toBe(false);
    }
    expect(payloadSchema("user.quota_threshold")!.safeParse({ level: 90, usedBytes: 1, quotaBytes: 2 }).success).toBe(false);
    expect(payloadSchema("nothing.like.this")).toBeNull();
  });

  it("wrap each kind in the delivery's envelope, as webhookBody sends it", () => {
    const body = {
      type: "folder.created",
      timestamp: "2026-12-07T02:00:00.000Z",
      data: { eventId: "e", subjectType: "folder", subjectId: "f", actorId: "u", ownerId: null, name: "Reports", folderId: "p" },
    };
    expect(eventEnvelope("folder.created").safeParse(body).success).toBe(true);
    expect(eventEnvelope("file.created").safeParse(body).success).toBe(false);
    expect(eventEnvelope("folder.created").safeParse({ ...body, data: { ...body.data, eventId: undefined } }).success).toBe(false);
  });

  it("are the table of docs/events.md, field for field", () => {
    const doc = fs.readFileSync(path.resolve(import.meta.dirname, "../../../docs/events.md"), "utf8");
    const section = doc.slice(doc.indexOf("## Payload schemas"), doc.indexOf("## In-app notifications"));
    const documented = Object.fromEntries([...section.matchAll(/^\| `([a-z_.]+)` \| ([^|]*) \|/gm)].map((row) => [row[1], row[2]!.trim()]));
    const fromSchemas = Object.fromEntries(
      EVENT_KINDS.map((kind) => [
        kind,
        Object.entries(EVENT_PAYLOADS[kind].shape)
          .map(([name, field]) => `\`${name}${(field as z.ZodType).safeParse(undefined).success ? "?" : ""}\``)
          .join(", "),
      ]),
    );
    expect(documented).toEqual(fromSchemas);
  });
});
