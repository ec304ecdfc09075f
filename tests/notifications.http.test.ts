// /notifications over HTTP on the production build: the list is one's own, grouped by day and
// paged, with links to the items; "Mark read" works only on one's own notifications, "Mark all
// read" only on one's own; hostile ids and cursors get a 4xx and change nothing. The delivery
// itself (outbox, dispatcher) is tests/events.test.ts's.
import { beforeAll, describe, expect, it } from "vitest";
import { dispatchEvents } from "~/domain/events/dispatcher.server";
import { NOTIFICATIONS_PAGE_SIZE, unreadNotifications } from "~/domain/events/notifications.server";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

let app: TestApp;
let olivia: TestClient;
let rhea: TestClient;
let ids: { olivia: string; rhea: string; folder: string };

/** The page's HTML without React's text separators (`<!-- -->`). */
async function html(response: Response): Promise<string> {
  return (await response.text()).replaceAll("<!-- -->", "");
}

async function unread(userId: string) {
  return unreadNotifications(app.services, userId);
}

beforeAll(async () => {
  app = await startTestApp({ storage: "local", cache: "memory" });
  olivia = new TestClient(app.url);
  rhea = new TestClient(app.url);
  await olivia.register("Olivia Owner", "olivia@example.com");
  await rhea.register("Rhea Recipient", "rhea@example.com");
  const { prisma } = app.services;
  const owner = await prisma.user.findUniqueOrThrow({ where: { email: "olivia@example.com" } });
  const recipient = await prisma.user.findUniqueOrThrow({ where: { email: "rhea@example.com" } });
  const created = await olivia.postForm("/files", { intent: "create-folder", name: "Plans", open: "1" });
  expect(created.status).toBe(302);
  const folder = created.headers.get("location")!.split("/").pop()!;
  ids = { olivia: owner.id, rhea: recipient.id, folder };
  // Shared through the page, as a person would: the share's event becomes Rhea's notification.
  const shared = await olivia.postForm("/shares", { intent: "share-user", item: `folder:${folder}`, email: "rhea@example.com" });
  expect(shared.status).toBe(200);
  await dispatchEvents(app.services);
});

describe("/notifications", () => {
  it("lists my notifications by day with a link to the item, and nobody else's", async () => {
    const page = await rhea.get("/notifications");
    expect(page.status).toBe(200);
    const text = await html(page);
    expect(text).toContain("Olivia Owner</span> shared an item with you");
    expect(text).toContain(`href="/details/folder/${ids.folder}"`);
    expect(text).toContain("1 unread.");
    expect(text).toMatch(/<h3[^>]*>\w+day \d{1,2} \w+ \d{4}<\/h3>/);

    const own = await html(await olivia.get("/notifications"));
    expect(own).toContain("No notifications yet.");
    expect(own).not.toContain("shared an item with you");
  });

  it("shows the unread count on the header's bell, counted up to 99+", async () => {
    const name = (text: string) =>
      /data-testid="notification-bell"[^>]*aria-label="([^"]*)"|aria-label="([^"]*)"[^>]*data-testid="notification-bell"/.exec(text);
    const bell = name(await html(await rhea.get("/files")));
    expect(bell?.[1] ?? bell?.[2]).toBe("Notifications, 1 unread");
    const quiet = name(await html(await olivia.get("/files")));
    expect(quiet?.[1] ?? quiet?.[2]).toBe("Notifications");
    // Counting stops at the cap: a figure past it tells nobody anything more.
    const { prisma } = app.services;
    const event = await prisma.event.findFirstOrThrow({ orderBy: { seq: "desc" } });
    const extra = await prisma.user.create({ data: { email: "many@example.com", name: "Many", passwordHash: "x" } });
    const others = await prisma.event.createManyAndReturn({
      data: Array.from({ length: 3 }, (_, i) => ({
        kind: event.kind,
        subjectType: event.subjectType,
        subjectId: `s${i}`,
        resourceKey: `r${i}`,
      })),
    });
    await prisma.notification.createMany({ data: others.map((other) => ({ userId: extra.id, eventId: other.id, kind: other.kind })) });
    expect(await unreadNotifications(app.services, extra.id, 2)).toBe(2);
    expect(await unreadNotifications(app.services, extra.id)).toBe(3);
  });

  it("marks one of mine read, and refuses anyone else's or a hostile id without a change", async () => {
    const [notification] = await app.services.prisma.notification.findMany({ where: { userId: ids.rhea } });
    for (const id of [notification.id, "", "x".repeat(400), "../../etc", "\u0000", "c0000000000000000000000000"]) {
      const response = await olivia.postForm("/notifications", { intent: "read", id });
      expect(response.status, JSON.stringify(id)).toBe(id.length > 300 ? 400 : 404);
    }
    expect(await unread(ids.rhea)).toBe(1);
    expect((await rhea.postForm("/notifications", { intent: "nonsense", id: notification.id })).status).toBe(400);
    expect(await unread(ids.rhea)).toBe(1);

    const marked = await rhea.postForm("/notifications", { intent: "read", id: notification.id });
    expect(marked.status).toBe(200);
    expect(await html(marked)).toContain("Marked as read.");
    expect(await unread(ids.rhea)).toBe(0);
    // Again: nothing to do, still fine.
    expect((await rhea.postForm("/notifications", { intent: "read", id: notification.id })).status).toBe(200);
    expect(await html(await rhea.get("/notifications"))).toContain("Nothing unread.");
  });

  it("marks all of mine read, and only mine", async () => {
    const { prisma } = app.services;
    const event = await prisma.event.create({
      data: { kind: "share.dropped", ownerUserId: ids.olivia, subjectType: "file", subjectId: "f1", resourceKey: "file:f1", payload: {} },
    });
    await prisma.notification.createMany({
      data: [
        { userId: ids.olivia, eventId: event.id, kind: event.kind },
        { userId: ids.rhea, eventId: event.id, kind: event.kind },
      ],
    });
    const response = await rhea.postForm("/notifications", { intent: "read-all", id: "" });
    expect(response.status).toBe(200);
    expect(await html(response)).toContain("Marked 1 notification as read.");
    expect(await unread(ids.rhea)).toBe(0);
    expect(await unread(ids.olivia)).toBe(1);
    const again = await rhea.postForm("/notifications", { intent: "read-all", id: "" });
    expect(await html(again)).toContain("Nothing was unread.");
    const ownPage = await html(await olivia.get("/notifications"));
    expect(ownPage).toContain("Someone with a share link</span> sent an item through your file-drop link");
  });

  it("pages with a cursor, refuses a forged one, and sends strangers to log in", async () => {
    const { prisma } = app.services;
    const events = await Promise.all(
      Array.from({ length: NOTIFICATIONS_PAGE_SIZE + 1 }, (_, n) =>
        prisma.event.create({
          data: { kind: "share.granted", actorUserId: ids.olivia, subjectType: "file", subjectId: `p${n}`, resourceKey: `file:p${n}` },
        }),
      ),
    );
    await prisma.notification.createMany({
      data: events.map((event, n) => ({
        userId: ids.olivia,
        eventId: event.id,
        kind: event.kind,
        createdAt: new Date(Date.UTC(2026, 0, 1 + n)),
      })),
    });
    const first = await html(await olivia.get("/notifications"));
    const next = /href="\/notifications\?after=([^"]+)"/.exec(first)?.[1];
    expect(next).toBeTruthy();
    const second = await olivia.get(`/notifications?after=${next}`);
    expect(second.status).toBe(200);
    const older = await html(second);
    expect(older).toContain("Thursday 1 January 2026");
    expect(older).toContain('href="/notifications"');
    expect((await olivia.get("/notifications?after=forged")).status).toBe(400);
    const anonymous = await new TestClient(app.url).get("/notifications");
    expect([302, 303]).toContain(anonymous.status);
    expect(anonymous.headers.get("location")).toMatch(/^\/login/);
  });
});
