import { describe, expect, it } from "vitest";
import { EVENT_KINDS, eventFor, notificationText } from "./catalogue";

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
