import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ADMIN_AUDIENCE, ADMIN_KINDS, EVENT_KINDS, eventFor, notificationText } from "./catalogue";

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
