import { randomBytes } from "node:crypto";
import pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { getRootFolder } from "~/domain/files/folders.server";
import { startTestApp, type TestApp } from "./support/app";
import { DRIVER_SETS, registerPerson, uploadForm, type Person } from "./support/people";
import { createUpload, patchUpload, tusHeaders } from "./support/tus";

/**
 * Every SQL statement the app's database pool sends while `work` runs, and after it until the
 * database has been quiet for a moment (work a request leaves running counts too). The app runs
 * in this process, so its pg clients are the ones patched here; only its own database is counted.
 */
async function statementsDuring(app: TestApp, work: () => Promise<void>): Promise<string[]> {
  const database = new URL(app.env.DATABASE_URL).pathname.slice(1);
  const seen: Array<{ client: pg.Client; text: string }> = [];
  // The outbox's dispatcher, woken after the upload's event, delivers in a transaction of its own
  // (docs/events.md): background work like the job queue's, not the upload's cost.
  const dispatching = new Set<pg.Client>();
  let last = Date.now();
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const config = args[0] as string | { text: string };
    const text = (typeof config === "string" ? config : config.text).replace(/\s+/g, " ").trim();
    // Settings are kept per process for 10 s: whether a request reads them is a matter of timing.
    // So is the job queue's polling (a fetch per queue every few seconds): not the upload's cost.
    const jobFetch = text.startsWith("WITH next AS") && text.includes("FROM pgboss.job_common");
    if (text.startsWith("SELECT pg_try_advisory_xact_lock")) {
      dispatching.add(this);
      const begin = seen.findLastIndex((entry) => entry.client === this);
      if (begin >= 0 && seen[begin].text === "BEGIN") seen.splice(begin, 1);
    }
    // The wake-up job it sends (pg-boss checks its listener first) is the job queue's too.
    const background = dispatching.has(this) || text.includes("pgboss.") || text.includes("pg_listening_channels()");
    if (dispatching.has(this) && (text === "COMMIT" || text === "ROLLBACK")) dispatching.delete(this);
    if (this.database === database && !text.includes('FROM "public"."settings"') && !jobFetch && !background) {
      seen.push({ client: this, text });
      last = Date.now();
    }
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  try {
    await work();
    while (Date.now() - last < 300) await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    pg.Client.prototype.query = query;
  }
  return seen.map((entry) => entry.text);
}

/**
 * Regression guards, not targets: what a small upload costs in SQL statements (BEGIN and COMMIT
 * included; what the storage counter's triggers run inside a statement is not a statement sent).
 * Before the storage counter and these savings: 24 for tus and 22 for the form. Since the event
 * outbox (decision 0032) the activity entry and its event are written in the landing's transaction,
 * before its COMMIT: one statement more in each count below.
 * - tus creation (POST): the session with its user, the root folder, then BEGIN, storage lock,
 *   usage with the folder check, the pending row, COMMIT (7);
 * - tus PATCH that finishes: the session with its user, the pending upload with its folder, then
 *   BEGIN, storage lock, folder row lock, pending row removed, name check, the file, COMMIT, and
 *   after it the search document, the look for an earlier copy of the contents (deduplication)
 *   and the activity entry (12);
 * - form upload: the session with its user, the folder, usage (to stop the stream in time), then
 *   BEGIN, storage lock, folder row lock (it lands as a tus upload does, even if the folder was
 *   trashed while it streamed), usage, name check, the file, COMMIT, search document, the look
 *   for an earlier copy, activity (15), and the folder page it answers with (6).
 */
const TUS_POST_AND_PATCH = 20;
/**
 * - tus creation with the whole file in its body (one POST, as the browser sends small files): the
 *   session with its user, the folder, the reservation (BEGIN, storage lock, usage, the pending
 *   row, COMMIT), then its landing as for a PATCH (BEGIN, storage lock, folder row lock, pending
 *   row removed, name check, the file, COMMIT), the search document and the activity entry (16).
 *   The pending upload is not looked up again: the completion uses what the creation recorded.
 */
const TUS_CREATION_WITH_UPLOAD = 17;
const FORM_UPLOAD_WITH_PAGE = 22;

describe.each(DRIVER_SETS)("SQL statements per small upload ($label)", ({ drivers }) => {
  let app: TestApp;
  let person: Person;
  let rootId: string;

  beforeAll(async () => {
    // The content-search indexer reads and marks each new file in the background, in statements
    // of its own that would land in the count at random: off here, it is not the upload's cost.
    app = await startTestApp(drivers, { SEARCH_CONTENT: "false" });
    person = await registerPerson(app, "Sam Small", "sam@example.com");
    rootId = (await getRootFolder(app.services, person.id)).id;
    // Warm up: the first upload of the process sets up what later ones reuse.
    await uploadForm(person.client, rootId, "warm-up.txt", randomBytes(10));
  });

  it("tus POST + PATCH", async () => {
    const statements = await statementsDuring(app, async () => {
      const url = await createUpload(app, person.client, { name: "tus.txt", size: 100 });
      expect((await patchUpload(person.client, url, 0, new Uint8Array(randomBytes(100)))).status).toBe(204);
    });
    console.log(`tus POST + PATCH: ${statements.length} statements\n${statements.join("\n")}`);
    expect(statements.length).toBeLessThanOrEqual(TUS_POST_AND_PATCH);
    expect(statements.filter((sql) => sql.includes("SUM(size)") && sql.includes("files"))).toEqual([]);
  });

  it("tus creation with upload (one POST)", async () => {
    const statements = await statementsDuring(app, async () => {
      const response = await fetch(`${app.url}/api/uploads`, {
        method: "POST",
        headers: tusHeaders(person.client, {
          "Upload-Length": "100",
          "Upload-Metadata": `filename ${Buffer.from("tus-one.txt").toString("base64")}`,
          "Content-Type": "application/offset+octet-stream",
        }),
        body: new Uint8Array(randomBytes(100)),
      });
      expect(response.status, await response.clone().text()).toBe(201);
      expect(response.headers.get("upload-offset")).toBe("100");
    });
    console.log(`tus creation with upload: ${statements.length} statements\n${statements.join("\n")}`);
    expect(statements.length).toBeLessThanOrEqual(TUS_CREATION_WITH_UPLOAD);
  });

  it("form upload", async () => {
    const statements = await statementsDuring(app, async () => {
      const response = await uploadForm(person.client, rootId, "form.txt", randomBytes(100));
      expect(response.status).toBeLessThan(400);
    });
    console.log(`form upload: ${statements.length} statements\n${statements.join("\n")}`);
    expect(statements.length).toBeLessThanOrEqual(FORM_UPLOAD_WITH_PAGE);
    expect(statements.filter((sql) => sql.includes("SUM(size)") && sql.includes("files"))).toEqual([]);
  });
});
