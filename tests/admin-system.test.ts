import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort } from "./setup/free-port";
import { startRedis, type RunningRedis } from "./setup/redis";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { outageRelay, type OutageRelay } from "./support/outage-relay";
import { putFile, registerPerson, type Person } from "./support/people";

const REPO = path.resolve(import.meta.dirname, "..");
const packageVersion = (JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")) as { version: string }).version;

/** React puts <!-- --> between adjacent text parts; the tests read the text. */
const text = (html: string) => html.replace(/<!-- -->/g, "");

/** The cells (th and td) of the table row marked with `attribute`, as text. */
function row(html: string, attribute: string): string[] {
  const start = html.indexOf(attribute);
  if (start < 0) return [];
  const body = html.slice(start, html.indexOf("</tr>", start));
  return [...body.matchAll(/<t[hd][^>]*>(.*?)<\/t[hd]>/gs)].map((cell) =>
    text(cell[1])
      .replace(/<[^>]+>/g, " ")
      .replace(/\s+/g, " ")
      .trim(),
  );
}

/** Last hour and last 24 hours of one route class, 0 when the table has no row for it. */
function serverErrors(html: string, route: string): { lastHour: number; lastDay: number } {
  const cells = row(html, `data-route="${route}"`);
  return cells.length === 0 ? { lastHour: 0, lastDay: 0 } : { lastHour: Number(cells[1]), lastDay: Number(cells[2]) };
}

const instanceRows = (html: string) => [...html.matchAll(/data-instance="([^"]+)"/g)].map((match) => match[1]);

async function systemPage(client: TestClient): Promise<string> {
  const response = await client.get("/admin/system");
  expect(response.status).toBe(200);
  expect(response.headers.get("cache-control")).toBe("no-store");
  return response.text();
}

/** A second instance in its own process (`node build/start.js`), stopped with SIGTERM like a deploy does. */
async function spawnInstance(env: Record<string, string>): Promise<{ pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ["build/start.js"], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      NODE_ENV: "production",
      PORT: String(port),
      HOST: "127.0.0.1",
      ...env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const deadline = Date.now() + 60_000;
  while (
    !(await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (child.exitCode !== null) throw new Error(`the second instance exited (${child.exitCode}):\n${stderr}`);
    if (Date.now() > deadline) throw new Error(`the second instance did not start:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

describe("/admin/system on S3 and Redis, with the drivers taken down", () => {
  let workDir: string;
  let redis: RunningRedis;
  let relay: OutageRelay;
  let app: TestApp;
  let admin: Person;
  let bob: Person;
  let fileId: string;

  beforeAll(async () => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-system-"));
    // This suite's own Redis, and a relay in front of the shared S3 server: both are taken down
    // here without touching the services other suites use.
    redis = await startRedis(workDir);
    relay = await outageRelay(inject("services").s3.endpoint);
    app = await startTestApp({ storage: "s3", cache: "redis" }, { S3_ENDPOINT: relay.endpoint, REDIS_URL: redis.url });
    admin = await registerPerson(app, "Ada Admin", "ada@example.com");
    bob = await registerPerson(app, "Bob Builder", "bob@example.com");
    const root = await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId: bob.id, parentId: null } });
    fileId = (await putFile(app.services, bob.id, root.id, "notes.txt", Buffer.from("hello"))).id;
  });

  afterAll(async () => {
    // The app first (its afterAll from startTestApp may not have run yet): it must not outlive its Redis.
    await app?.close();
    await relay?.close();
    await redis?.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it("shows each driver up with a measured check time, the real versions, and never a secret", async () => {
    const html = await systemPage(admin.client);
    const s3Host = new URL(relay.endpoint).host;
    expect(row(html, 'data-testid="driver-database"')).toEqual([
      "Database",
      `PostgreSQL (external) ${new URL(app.env.DATABASE_URL).host}`,
      "Up",
      "Closed (requests pass)",
      expect.stringMatching(/^\d+ ms$/),
    ]);
    expect(row(html, 'data-testid="driver-storage"').slice(0, 4)).toEqual([
      "File storage",
      `S3 ${s3Host}, bucket ${app.env.S3_BUCKET}`,
      "Up",
      "Closed (requests pass)",
    ]);
    expect(row(html, 'data-testid="driver-search"').slice(0, 4)).toEqual([
      "Search",
      "PostgreSQL full-text search in the database",
      "Up",
      "None",
    ]);
    expect(row(html, 'data-testid="driver-cache"').slice(0, 4)).toEqual([
      "Cache",
      `Redis ${new URL(redis.url).host}`,
      "Up",
      "Closed (requests pass)",
    ]);
    expect(html).not.toContain('role="alert"');

    const [{ server_version: postgres }] = await app.services.prisma.$queryRaw<Array<{ server_version: string }>>`SHOW server_version`;
    const redisVersion = /v=(\S+)/.exec(spawnSync("redis-server", ["--version"], { encoding: "utf8" }).stdout)![1];
    const versions = text(
      html.slice(html.indexOf('data-testid="versions"'), html.indexOf("</dl>", html.indexOf('data-testid="versions"'))),
    );
    expect(versions).toContain(`<dt class="font-medium">Coffer</dt><dd class="break-words">${packageVersion}`);
    expect(versions).toContain(`<dt class="font-medium">Node.js</dt><dd class="break-words">${process.version.slice(1)}</dd>`);
    expect(versions).toContain(`<dt class="font-medium">PostgreSQL</dt><dd class="break-words">${postgres}</dd>`);
    expect(versions).toContain(`<dt class="font-medium">Redis</dt><dd class="break-words">${redisVersion}</dd>`);
    expect(text(html)).toMatch(/Running for<\/dt><dd>\d+ (second|minute|hour|day)s?/);

    // Host and port only: no connection string, user name, password or S3 key reaches the page.
    for (const secret of [app.env.DATABASE_URL, new URL(app.env.DATABASE_URL).password, app.env.S3_SECRET_KEY, app.env.S3_ACCESS_KEY]) {
      expect(secret.length).toBeGreaterThan(0);
      expect(html).not.toContain(secret);
    }
    expect(html).not.toMatch(/(postgres(ql)?|redis):\/\//);
  });

  it("lists every live instance from Redis, and forgets one that stops", async () => {
    const before = instanceRows(await systemPage(admin.client));
    expect(before).toHaveLength(1);
    expect(row(await systemPage(admin.client), `data-instance="${before[0]}"`)[0]).toContain("This instance");

    const twinDir = fs.mkdtempSync(path.join(workDir, "twin-"));
    const twin = await spawnInstance({
      DATABASE_URL: app.env.DATABASE_URL,
      REDIS_URL: app.env.REDIS_URL,
      REDIS_PREFIX: app.env.REDIS_PREFIX,
      DATA_DIR: twinDir,
      SESSION_SECRET: app.env.SESSION_SECRET,
      LOG_LEVEL: "error",
    });
    try {
      const html = await systemPage(admin.client);
      const ids = instanceRows(html);
      expect(ids).toHaveLength(2);
      expect(ids[0]).toBe(before[0]);
      const twinRow = row(html, `data-instance="${ids[1]}"`);
      expect(twinRow[0]).toBe(`${os.hostname()} (process ${twin.pid})`);
      expect(twinRow[1]).toMatch(new RegExp(`^${packageVersion.replace(/\./g, "\\.")}`));
      expect(twinRow[3]).toMatch(/UTC$/);
      expect(text(html)).toContain("live instances (each reports every 15 seconds)");
    } finally {
      await twin.stop();
    }
    // A graceful stop withdraws the instance at once, not after its presence expires.
    expect(instanceRows(await systemPage(admin.client))).toEqual(before);
  });

  it("adds up the 5xx counts every instance reports, and ignores a presence it cannot read", async () => {
    const earlier = await systemPage(admin.client);
    const other = {
      id: "other-instance",
      hostname: "coffer-2.internal",
      pid: 4242,
      startedAt: new Date(Date.now() - 3_600_000).toISOString(),
      lastSeen: new Date().toISOString(),
      version: packageVersion,
      commit: null,
      errors: { lastHour: { api: 2 }, lastDay: { api: 5, tus: 1 } },
    };
    await app.services.cache.set("instances:other-instance", JSON.stringify(other), 30_000);
    await app.services.cache.set("instances:garbage", '{"id": 1, "<script>": true}', 30_000);
    try {
      const html = await systemPage(admin.client);
      expect(instanceRows(html)).toHaveLength(2);
      expect(row(html, 'data-instance="other-instance"').slice(0, 2)).toEqual(["coffer-2.internal (process 4242)", packageVersion]);
      expect(serverErrors(html, "api")).toEqual({
        lastHour: serverErrors(earlier, "api").lastHour + 2,
        lastDay: serverErrors(earlier, "api").lastDay + 5,
      });
      expect(serverErrors(html, "tus")).toEqual({
        lastHour: serverErrors(earlier, "tus").lastHour,
        lastDay: serverErrors(earlier, "tus").lastDay + 1,
      });
      expect(text(html)).toContain("on the 2 live instances (each reports every 15 seconds)");
      expect(html).not.toContain("&lt;script&gt;");
    } finally {
      await app.services.cache.delete("instances:other-instance");
      await app.services.cache.delete("instances:garbage");
    }
  });

  it("shows file storage down with what to do, its circuit open, and counts the 503s as download errors", async () => {
    const earlier = serverErrors(await systemPage(admin.client), "download");
    await relay.kill();
    try {
      // The third outage in a row opens the circuit.
      for (let i = 0; i < 3; i++) expect((await bob.client.get(`/download/${fileId}`)).status).toBe(503);
      let html = "";
      await expect
        .poll(async () => serverErrors((html = await systemPage(admin.client)), "download"), { timeout: 5_000 })
        .toEqual({ lastHour: earlier.lastHour + 3, lastDay: earlier.lastDay + 3 });
      const storage = row(html, 'data-testid="driver-storage"');
      expect(storage[2]).toMatch(/^Down \S/);
      expect(storage[3]).toBe("Open (requests refused at once)");
      expect(text(html)).toMatch(/role="alert"[^>]*><p><strong>File storage is down\.<\/strong> Uploads and downloads answer 503/);
      expect(html).toContain("“Object storage (S3 or local disk)” in docs/outages.md");
      expect(row(html, 'data-testid="driver-database"')[2]).toBe("Up");
      expect(row(html, 'data-route="download"')[0]).toBe("Downloads");
    } finally {
      await relay.revive();
    }
  });

  it("shows the cache down when its Redis stops, and falls back to this instance's own counts", async () => {
    await redis.stop();
    const html = await systemPage(admin.client);
    const cache = row(html, 'data-testid="driver-cache"');
    expect(cache[2]).toMatch(/^Down \S/);
    expect(text(html)).toContain("<strong>Cache is down.</strong> Uploads pause");
    expect(text(html)).toContain('<dt class="font-medium">Redis</dt><dd class="break-words">Unknown: Redis did not answer in time</dd>');
    expect(text(html)).toContain("Redis could not be asked for the other instances");
    expect(text(html)).toContain("Answers with a 5xx status on this instance");
    expect(instanceRows(html)).toHaveLength(1);
    expect(row(html, 'data-testid="driver-database"')[2]).toBe("Up");
  });
});

describe("/admin/system on the defaults (local disk, memory cache)", () => {
  let app: TestApp;
  let admin: Person;
  let bob: Person;

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    admin = await registerPerson(app, "Ada Admin", "ada@example.com");
    bob = await registerPerson(app, "Bob Builder", "bob@example.com");
  });

  it("names the local drivers, shows only this instance, and links to the job queues", async () => {
    const html = await systemPage(admin.client);
    expect(row(html, 'data-testid="driver-storage"').slice(0, 4)).toEqual([
      "File storage",
      `Local disk ${app.services.config.storage.driver === "local" ? app.services.config.storage.directory : ""}`,
      "Up",
      "Closed (requests pass)",
    ]);
    expect(row(html, 'data-testid="driver-cache"').slice(0, 4)).toEqual(["Cache", "Memory in this process", "Up", "None"]);
    expect(html).not.toContain(">Redis</dt>");
    expect(text(html)).toContain("Only this instance: without Redis (REDIS_URL) instances do not know each other.");
    expect(instanceRows(html)).toHaveLength(1);
    expect(html).toMatch(/<h2 id="jobs-heading"[^>]*>Background jobs<\/h2>/);
    expect(html).toContain('href="/admin/jobs"');
    expect(html).toMatch(/<nav aria-label="Administration"[^>]*>.*href="\/admin\/analytics"/s);
  });

  it("is in the admin navigation, for administrators only", async () => {
    expect(await (await admin.client.get("/admin")).text()).toContain('href="/admin/system"');
    const asBob = await bob.client.get("/admin/system");
    expect(asBob.status).toBe(403);
    const refusal = await asBob.text();
    expect(refusal).toContain("Access denied");
    expect(refusal).not.toContain("Circuit breaker");
    const anonymous = await new TestClient(app.url).get("/admin/system");
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get("location")).toBe("/login?redirectTo=%2Fadmin%2Fsystem");
  });
});
