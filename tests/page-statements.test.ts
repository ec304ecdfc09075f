import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessionCacheOf } from "~/domain/accounts/session-cache.server";
import { getRootFolder } from "~/domain/files/folders.server";
import { startTestApp, type TestApp } from "./support/app";
import { createFolderIn, registerPerson, type Person } from "./support/people";

/**
 * Every SQL statement the app's database pool sends while `work` runs (the app runs in this
 * process, so its pg clients are the ones patched here). The settings (kept for 10 s) and the job
 * queue's polling are left out: whether a request meets them is a matter of timing.
 */
async function statementsDuring(app: TestApp, work: () => Promise<void>): Promise<string[]> {
  const database = new URL(app.env.DATABASE_URL).pathname.slice(1);
  const seen: string[] = [];
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const config = args[0] as string | { text: string };
    const text = (typeof config === "string" ? config : config.text).replace(/\s+/g, " ").trim();
    const background = text.includes('FROM "public"."settings"') || text.includes("pgboss.");
    if (this.database === database && !background) seen.push(text);
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  try {
    await work();
  } finally {
    pg.Client.prototype.query = query;
  }
  return seen;
}

const sessionLookups = (statements: string[]) => statements.filter((sql) => /FROM sessions s JOIN users u/.test(sql));

/**
 * A page runs the root loader and its own: both need the signed-in user. Within one GET request the
 * session is looked up once; a POST (an action may change the user or the session before the
 * loaders run again) looks it up each time. Across requests the session cache
 * (session-cache.server.ts) keeps the row for a few seconds: the tests that count one request's
 * lookups empty it first.
 */
describe("SQL statements of a folder page", () => {
  let app: TestApp;
  let person: Person;
  let folderId: string;

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    await registerPerson(app, "Ada Admin", "ada@example.com"); // the first account is the administrator
    person = await registerPerson(app, "Pat Pages", "pat@example.com");
    const root = await getRootFolder(app.services, person.id);
    folderId = await createFolderIn(person.client, root.id, "Letters");
    expect((await person.client.request(`/files/${folderId}`)).status).toBe(200); // warm-up
  });
  afterAll(() => app?.close());

  it("looks the session up once for the HTML page", async () => {
    sessionCacheOf(app.services).clear();
    const statements = await statementsDuring(app, async () => {
      const response = await person.client.request(`/files/${folderId}`);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain("Letters");
    });
    expect(sessionLookups(statements)).toHaveLength(1);
  });

  it("looks the session up once for the .data a JavaScript navigation fetches", async () => {
    sessionCacheOf(app.services).clear();
    const statements = await statementsDuring(app, async () => {
      const response = await person.client.request(`/files/${folderId}.data`);
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    });
    expect(sessionLookups(statements)).toHaveLength(1);
  });

  it("does not look the session up again for the browser's next requests, until it signs out", async () => {
    sessionCacheOf(app.services).clear();
    const next = await statementsDuring(app, async () => {
      expect((await person.client.request(`/files/${folderId}`)).status).toBe(200);
      expect((await person.client.request(`/files/${folderId}.data`)).status).toBe(200);
      expect((await person.client.request("/search?q=letters")).status).toBe(200);
    });
    expect(sessionLookups(next)).toHaveLength(1);

    const stolen = person.client.cookieHeader;
    expect((await person.client.postForm("/logout", {})).status).toBe(302);
    const replay = await fetch(`${app.url}/files/${folderId}`, { headers: { cookie: stolen }, redirect: "manual" });
    expect(replay.status).toBe(302);
    await person.client.login("pat@example.com");
  });

  it("sees a session or user changed in the database by this process at once", async () => {
    expect((await person.client.request(`/files/${folderId}`)).status).toBe(200);
    await app.services.prisma.user.update({ where: { id: person.id }, data: { name: "Pat Renamed" } });
    expect(await (await person.client.request(`/files/${folderId}`)).text()).toContain("Pat Renamed");
    await app.services.prisma.session.updateMany({ where: { userId: person.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const expired = await person.client.request(`/files/${folderId}`, { redirect: "manual" });
    expect(expired.status).toBe(302);
    await person.client.login("pat@example.com");
  });

  it("names no owners on a search when nothing is shared with the user", async () => {
    const statements = await statementsDuring(app, async () => {
      const response = await person.client.request("/search?q=letters");
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    });
    expect(statements.some((sql) => /FROM "public"\."user_shares"/.test(sql))).toBe(true);
    expect(statements.filter((sql) => /FROM "public"\."users"/.test(sql))).toEqual([]);
  });

  it("still looks a signed-out visitor's cookie up and answers with the login page", async () => {
    const response = await fetch(`${app.url}/files/${folderId}`, { headers: { cookie: "coffer_session=forged" }, redirect: "manual" });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toMatch(/^\/login\?redirectTo=/);
  });
});
