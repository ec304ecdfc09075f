// The event outbox (decision 0032, docs/events.md) against a real database: an event commits with
// its change and never without it, the callers that used to record their activity after the change
// now commit it (and their event) with it, and the dispatcher delivers in seq order, once per
// (event, sink), when two run at once and when a process is killed between commit and delivery.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "~/config.server";
import { recordActivity } from "~/domain/audit/activity.server";
import { SYSTEM_ACTOR } from "~/domain/audit/audit.server";
import { dispatchEvents, type EventSink, inAppSink, pendingEvents, recipientsOf } from "~/domain/events/dispatcher.server";
import { createFolder, getRootFolder } from "~/domain/files/folders.server";
import { countShareDownload, resolveShare } from "~/domain/sharing/share-access.server";
import { createShareLink, revokeShareLink, updateShareLink } from "~/domain/sharing/share-links.server";
import { removeUserShare, shareWithUser } from "~/domain/sharing/user-shares.server";
import { landFormUpload } from "~/domain/uploads/upload-landing.server";
import { resolveUploadFolder } from "~/domain/uploads/upload-paths.server";
import { uploadActivity } from "~/domain/uploads/uploads.server";
import { closeServices, createServices, type Services } from "~/services/index.server";
import { createLogger } from "~/services/logger.server";
import { createTestDatabase } from "./support/database";
import { expectPayloadsMatchSchemas } from "./support/event-payloads";

const REPO = path.resolve(import.meta.dirname, "..");
type Actor = { id: string; role: "USER" | "ADMIN" };

let services: Services;
let url: string;
let alice: Actor;
let bob: Actor;
let aliceRoot: string;

async function createUser(email: string): Promise<Actor> {
  const user = await services.prisma.user.create({ data: { email, name: email.split("@")[0], passwordHash: "x" } });
  await getRootFolder(services, user.id);
  return { id: user.id, role: "USER" };
}

async function storedFile(name: string) {
  const storageKey = randomBytes(16).toString("hex");
  await services.storage.put(storageKey, (await import("node:stream")).Readable.from([Buffer.from("hello")]), { size: 5 });
  return { name, size: 5, sha256: null, storageKey, mimeType: "text/plain" };
}

/** Makes every event insert fail, as a failure inside the change's transaction would. */
async function refuseEvents<T>(run: () => Promise<T>): Promise<void> {
  await services.prisma.$executeRawUnsafe(`ALTER TABLE events ADD CONSTRAINT refuse_all CHECK (false) NOT VALID`);
  try {
    await expect(run()).rejects.toThrow();
  } finally {
    await services.prisma.$executeRawUnsafe(`ALTER TABLE events DROP CONSTRAINT refuse_all`);
  }
}

const eventsOf = (subjectId: string) => services.prisma.event.findMany({ where: { subjectId }, orderBy: { seq: "asc" } });

beforeAll(async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-events-"));
  url = (await createTestDatabase()).url;
  const env = {
    NODE_ENV: "production",
    DATA_DIR: dataDir,
    DATABASE_URL: url,
    LOG_LEVEL: "error",
    SESSION_SECRET: "test-secret-that-is-at-least-32-characters-long",
  };
  services = await createServices(loadConfig(env), createLogger("error"));
  afterAll(async () => {
    await closeServices(services);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  alice = await createUser("alice@example.com");
  bob = await createUser("bob@example.com");
  aliceRoot = (await getRootFolder(services, alice.id)).id;
});

describe("the outbox", () => {
  it("commits an event with its change, and none after a rollback", async () => {
    await expect(
      services.prisma.$transaction(async (tx) => {
        await tx.folder.create({ data: { ownerId: alice.id, parentId: aliceRoot, name: "Gone", nameKey: "gone" } });
        await recordActivity(tx, { userId: alice.id, action: "folder.created", subjectType: "folder", subjectId: "rolled-back" });
        throw new Error("the change failed after its activity");
      }),
    ).rejects.toThrow("the change failed");
    expect(await eventsOf("rolled-back")).toEqual([]);
    expect(await services.prisma.folder.count({ where: { name: "Gone" } })).toBe(0);

    const folder = await createFolder(services, alice, aliceRoot, "Kept");
    const [event] = await eventsOf(folder.id);
    expect(event).toMatchObject({
      kind: "folder.created",
      actorUserId: alice.id,
      ownerUserId: alice.id,
      subjectType: "folder",
      resourceKey: `folder:${folder.id}`,
      payload: { name: "Kept", folderId: aliceRoot },
      dispatchedAt: null,
    });
  });

  it("leaves an action outside the catalogue in the activity trail only", async () => {
    await recordActivity(services, {
      userId: alice.id,
      action: "trash.emptied" as never,
      subjectType: "trash",
      subjectId: "no-such",
      details: { items: 0 },
    });
    await recordActivity(services, { userId: alice.id, action: "made.up" as never, subjectType: "trash", subjectId: "made-up" });
    expect(await eventsOf("no-such")).toHaveLength(1);
    expect(await eventsOf("made-up")).toEqual([]);
    expect(await services.prisma.activity.count({ where: { subjectId: "made-up" } })).toBe(1);
  });
});

describe("callers that recorded after the change now commit the event with it", () => {
  it("creating a folder", async () => {
    await refuseEvents(() => createFolder(services, alice, aliceRoot, "Refused"));
    expect(await services.prisma.folder.count({ where: { name: "Refused" } })).toBe(0);
  });

  it("creating the folders of an upload path", async () => {
    const root = await services.prisma.folder.findUniqueOrThrow({ where: { id: aliceRoot } });
    await refuseEvents(() => resolveUploadFolder(services, root, ["PathRefused"], alice.id));
    expect(await services.prisma.folder.count({ where: { name: "PathRefused" } })).toBe(0);
    const made = await resolveUploadFolder(services, root, ["PathKept"], alice.id);
    expect((await eventsOf(made.id)).map((e) => e.kind)).toEqual(["folder.created"]);
  });

  it("creating, changing, using and revoking a share link", async () => {
    const folder = await createFolder(services, alice, aliceRoot, "Linked");
    const item = { kind: "folder", id: folder.id } as const;
    await refuseEvents(() => createShareLink(services, alice, item, { mode: "READ" }, SYSTEM_ACTOR));
    expect(await services.prisma.shareLink.count({ where: { folderId: folder.id } })).toBe(0);

    const link = await createShareLink(services, alice, item, { mode: "READ" }, SYSTEM_ACTOR);
    await refuseEvents(() => updateShareLink(services, alice, link.id, { maxDownloads: "5" }, SYSTEM_ACTOR));
    expect((await services.prisma.shareLink.findUniqueOrThrow({ where: { id: link.id } })).maxDownloads).toBeNull();
    await updateShareLink(services, alice, link.id, { maxDownloads: "5" }, SYSTEM_ACTOR);

    const share = await resolveShare(services, link.token);
    const download = { kind: "zip", itemId: folder.id } as const;
    await refuseEvents(() => countShareDownload(services, share, download, SYSTEM_ACTOR));
    expect((await services.prisma.shareLink.findUniqueOrThrow({ where: { id: link.id } })).downloadCount).toBe(0);
    await countShareDownload(services, share, download, SYSTEM_ACTOR);
    await revokeShareLink(services, alice, link.id, SYSTEM_ACTOR);

    const events = await eventsOf(link.id);
    expect(events.map((e) => e.kind)).toEqual(["share.created", "share.updated", "share.accessed", "share.revoked"]);
    expect(events.every((e) => e.ownerUserId === alice.id)).toBe(true);
    expect(events[2]).toMatchObject({ actorUserId: null, payload: { download: "zip", itemId: folder.id, count: 1 } });
    // Ids and metadata only: never the link's token or password hash.
    expect(JSON.stringify(events.map((e) => e.payload))).not.toContain(link.token);
  });

  it("sharing with a user and taking it back", async () => {
    const folder = await createFolder(services, alice, aliceRoot, "Granted");
    const item = { kind: "folder", id: folder.id } as const;
    await refuseEvents(() => shareWithUser(services, alice, item, { email: "bob@example.com" }, SYSTEM_ACTOR));
    expect(await services.prisma.userShare.count({ where: { folderId: folder.id } })).toBe(0);
    const { share } = await shareWithUser(services, alice, item, { email: "bob@example.com", permission: "WRITE" }, SYSTEM_ACTOR);
    await refuseEvents(() => removeUserShare(services, alice, share.id, SYSTEM_ACTOR));
    expect(await services.prisma.userShare.count({ where: { id: share.id } })).toBe(1);
    await removeUserShare(services, alice, share.id, SYSTEM_ACTOR);
    const events = await eventsOf(folder.id);
    expect(events.map((e) => e.kind)).toEqual(["folder.created", "share.granted", "share.ungranted"]);
    expect(events[1].payload).toEqual({ shareId: share.id, granteeId: bob.id, permission: "WRITE" });
  });

  it("an upload landing in its folder, and one dropped through a link", async () => {
    const folder = await createFolder(services, alice, aliceRoot, "Inbox");
    const into = { folderId: folder.id, ownerId: alice.id, uploaderId: bob.id };
    await refuseEvents(async () => landFormUpload(services, into, await storedFile("refused.txt"), "keep-both", uploadActivity(bob.id, 5)));
    expect(await services.prisma.file.count({ where: { name: "refused.txt" } })).toBe(0);

    const landed = await landFormUpload(services, into, await storedFile("kept.txt"), "keep-both", uploadActivity(bob.id, 5));
    const dropped = await landFormUpload(services, { ...into, uploaderId: null }, await storedFile("dropped.txt"), "keep-both", (file) => ({
      userId: null,
      ownerId: file.ownerId,
      action: "file.uploaded",
      subjectType: "file",
      subjectId: file.id,
      details: { via: "share", shareId: "s1", name: file.name, size: 5 },
    }));
    const replaced = await landFormUpload(services, into, await storedFile("kept.txt"), "replace", uploadActivity(bob.id, 5));
    expect(replaced.file.id).toBe(landed.file.id);
    expect((await eventsOf(landed.file.id)).map((e) => [e.kind, e.actorUserId, e.ownerUserId])).toEqual([
      ["file.created", bob.id, alice.id],
      ["file.updated", bob.id, null],
      ["file.created", bob.id, alice.id],
    ]);
    expect((await eventsOf(dropped.file.id)).map((e) => [e.kind, e.ownerUserId])).toEqual([["share.dropped", alice.id]]);
  });
});

describe("payload schemas", () => {
  it("hold every event the callers above wrote (docs/events.md#payload-schemas)", async () => {
    const kinds = await expectPayloadsMatchSchemas(services.prisma);
    expect(kinds).toEqual(expect.arrayContaining(["folder.created", "share.created", "share.granted", "share.dropped", "file.created"]));
  });
});

describe("the dispatcher", () => {
  async function granted(count: number, subjectId: string) {
    for (let n = 0; n < count; n++) {
      await recordActivity(services, {
        userId: alice.id,
        ownerId: alice.id,
        action: "share.granted",
        subjectType: "folder",
        subjectId,
        details: { shareId: `s${n}`, granteeId: bob.id, permission: "READ" },
      });
    }
  }

  it("delivers in seq order, once per (event, sink), when two run at once", async () => {
    await dispatchEvents(services);
    await granted(30, "ordered");
    const seen: bigint[] = [];
    const recording: EventSink = {
      name: "recording",
      async deliver(_tx, events) {
        seen.push(...events.map((event) => event.seq));
        return undefined;
      },
    };
    const told: string[] = [];
    const live = { prisma: services.prisma, notifier: { toUser: (userId: string) => told.push(userId) } } as unknown as Services;
    const runs = await Promise.all([dispatchEvents(live, [inAppSink, recording]), dispatchEvents(live, [inAppSink, recording])]);
    await dispatchEvents(live, [inAppSink, recording]);
    // Bob's open tabs hear of it once per batch, after the commit.
    expect(told).toEqual([bob.id]);
    expect(runs.reduce((sum, run) => sum + run.delivered, 0)).toBe(30);
    expect(seen).toHaveLength(30);
    expect(seen).toEqual([...seen].sort((a, b) => (a < b ? -1 : 1)));
    const events = await eventsOf("ordered");
    expect(events.every((event) => event.dispatchedAt !== null)).toBe(true);
    expect(await services.prisma.eventDelivery.count({ where: { eventId: { in: events.map((e) => e.id) } } })).toBe(60);
    expect(await services.prisma.notification.count({ where: { eventId: { in: events.map((e) => e.id) }, userId: bob.id } })).toBe(30);
    expect(await pendingEvents(services)).toBe(0);
  });

  it("delivers a batch again whose transaction failed, and never to a sink that has it", async () => {
    await granted(2, "retried");
    const failing: EventSink = {
      name: "failing",
      async deliver() {
        throw new Error("the sink is down");
      },
    };
    await expect(dispatchEvents(services, [inAppSink, failing])).rejects.toThrow("the sink is down");
    const events = await eventsOf("retried");
    expect(await services.prisma.notification.count({ where: { eventId: { in: events.map((e) => e.id) } } })).toBe(0);
    // A sink that already has the first event (its delivery row) is not given it again.
    await services.prisma.eventDelivery.create({ data: { eventId: events[0].id, sink: "in-app", status: "delivered" } });
    expect(await dispatchEvents(services)).toEqual({ delivered: 2, busy: 0 });
    const notified = await services.prisma.notification.findMany({ where: { eventId: { in: events.map((e) => e.id) } } });
    expect(notified.map((n) => n.eventId)).toEqual([events[1].id]);
  });

  it("notifies the grantee, a drop link's owner and an owner of others' changes, not the actor or the deleted", async () => {
    const base = { id: "e", seq: 1n, subjectType: "folder", subjectId: "f", payload: {}, createdAt: new Date() };
    expect(recipientsOf({ ...base, kind: "share.granted", actorUserId: "a", ownerUserId: "a", payload: { granteeId: "b" } })).toEqual([
      "b",
    ]);
    expect(recipientsOf({ ...base, kind: "share.granted", actorUserId: "a", ownerUserId: "a", payload: { granteeId: "a" } })).toEqual([]);
    expect(recipientsOf({ ...base, kind: "share.granted", actorUserId: "a", ownerUserId: "a", payload: [] })).toEqual([]);
    expect(recipientsOf({ ...base, kind: "share.dropped", actorUserId: null, ownerUserId: "o" })).toEqual(["o"]);
    expect(recipientsOf({ ...base, kind: "share.dropped", actorUserId: null, ownerUserId: null })).toEqual([]);
    expect(recipientsOf({ ...base, kind: "file.created", actorUserId: "b", ownerUserId: "o" })).toEqual(["o"]);
    expect(recipientsOf({ ...base, kind: "folder.moved", actorUserId: "o", ownerUserId: "o" })).toEqual([]);
    expect(recipientsOf({ ...base, kind: "file.deleted", actorUserId: null, ownerUserId: "o" })).toEqual([]);
    expect(recipientsOf({ ...base, kind: "share.accessed", actorUserId: null, ownerUserId: "o" })).toEqual([]);

    const gone = await createUser("gone@example.com");
    await services.prisma.user.update({ where: { id: gone.id }, data: { deletedAt: new Date() } });
    await recordActivity(services, {
      userId: alice.id,
      action: "share.granted",
      subjectType: "folder",
      subjectId: "to-the-deleted",
      details: { granteeId: gone.id },
    });
    expect((await dispatchEvents(services)).delivered).toBe(1);
    expect(await services.prisma.notification.count({ where: { userId: gone.id } })).toBe(0);
  });
});

describe("a process killed between commit and delivery", () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });

  /** Starts the child (one process: tsx's CLI would run it in a child SIGKILL does not reach) and waits for `text`. */
  async function child(args: string[], text: string): Promise<{ process: ChildProcess; output: string }> {
    const started = spawn(process.execPath, ["--import", "tsx", "tests/support/event-child.ts", url, ...args], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(started);
    let output = "";
    await new Promise<void>((resolve, reject) => {
      started.stdout!.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes(text)) resolve();
      });
      started.once("exit", (code) => reject(new Error(`the child exited (${code}) before “${text}”: ${output}`)));
    });
    return { process: started, output };
  }

  async function kill(child: ChildProcess) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  it("delivers the event after the restart, once", { timeout: 60_000 }, async () => {
    await dispatchEvents(services);
    // Killed after its commit, before any dispatcher ran.
    const writer = await child(["commit", alice.id, bob.id], "committed");
    const eventId = writer.output.match(/committed (\S+)/)![1];
    await kill(writer.process);
    expect(await pendingEvents(services)).toBe(1);
    // Killed again in the middle of delivering it: the in-app rows were written, not committed.
    const deliverer = await child(["deliver"], "delivering");
    await kill(deliverer.process);
    expect(await services.prisma.notification.count({ where: { eventId } })).toBe(0);
    // The restart: the dispatcher runs (the lock of the dead one went with its connection).
    expect(await dispatchEvents(services)).toEqual({ delivered: 1, busy: 0 });
    expect(await dispatchEvents(services)).toEqual({ delivered: 0, busy: 0 });
    expect(await services.prisma.notification.findMany({ where: { eventId }, select: { userId: true } })).toEqual([{ userId: bob.id }]);
    // One row per sink (webhooks too, with no endpoint registered), each once.
    expect(await services.prisma.eventDelivery.findMany({ where: { eventId }, select: { sink: true }, orderBy: { sink: "asc" } })).toEqual([
      { sink: "in-app" },
      { sink: "webhooks" },
    ]);
  });
});
