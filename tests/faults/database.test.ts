import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { startEmbeddedPostgres } from "~/services/embedded-postgres.server";
import { freePort } from "../setup/free-port";
import { startTestApp } from "../support/app";
import { TestClient } from "../support/client";

/**
 * PostgreSQL failing under traffic: the embedded server killed (it must come back by itself),
 * an external one killed and started again (the app must follow without a restart), and an
 * embedded server that cannot come back (the app must exit). Every database here is this file's
 * own: never the one the global setup started, which other suites share.
 */
const REPO = path.resolve(import.meta.dirname, "../..");
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Sample {
  at: number;
  status: number | "error";
  ms: number;
  retryAfter: string | null;
  body: string;
}

/** Requests `path` from `loops` clients at once until `stop()`; every answer is recorded. */
function traffic(client: TestClient, requestPath: string, loops = 3) {
  const samples: Sample[] = [];
  let running = true;
  const loop = async () => {
    while (running) {
      const started = Date.now();
      try {
        const response = await client.request(requestPath, { headers: { accept: "text/html" }, signal: AbortSignal.timeout(5_000) });
        samples.push({
          at: started,
          status: response.status,
          ms: Date.now() - started,
          retryAfter: response.headers.get("retry-after"),
          body: await response.text(),
        });
      } catch (error) {
        samples.push({ at: started, status: "error", ms: Date.now() - started, retryAfter: null, body: String(error) });
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const running$ = Promise.all(Array.from({ length: loops }, loop));
  return {
    samples,
    async stop() {
      running = false;
      await running$;
    },
  };
}

/** During an outage a page is the page, or a quick 503 with Retry-After and the human message: never a hang or a bare 500. */
function expectCleanOutageAnswers(samples: Sample[]) {
  for (const sample of samples) {
    expect(sample.ms, `answered within 2 s (${sample.status})`).toBeLessThan(2_000);
    expect([200, 503], sample.body.slice(0, 200)).toContain(sample.status);
    if (sample.status === 503) {
      expect(Number(sample.retryAfter)).toBeGreaterThan(0);
      expect(sample.body).toContain("Temporarily unavailable");
      expect(sample.body).toContain("cannot reach its database");
    }
  }
}

/** PIDs of the processes of the cluster in `dataDir` (PostgreSQL's processes run in it). */
function clusterProcesses(dataDir: string): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    try {
      if (fs.readlinkSync(`/proc/${name}/cwd`).replace(/ \(deleted\)$/, "") === dataDir) pids.push(Number(name));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch (error) {
      // Exited between the listing and the kill: what the cleanup wanted.
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  }
}

function postmasterPid(dataDir: string): number {
  return Number(fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
}

interface SpawnedApp {
  url: string;
  child: ChildProcess;
  dataDir: string;
  pgDataDir: string;
  databaseUrl: string;
  output(): string;
  exited: Promise<number | null>;
}

/** `node build/start.js` on the embedded PostgreSQL in a data directory of its own. */
async function spawnEmbeddedApp(): Promise<SpawnedApp> {
  if (!fs.existsSync(path.join(REPO, "build/start.js"))) throw new Error("No production build: run `npm run build` first.");
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-db-fault-"));
  fs.chmodSync(dataDir, 0o755);
  const pgDataDir = path.join(dataDir, "postgres");
  const port = await freePort();
  const pgPort = await freePort();
  const child = spawn(process.execPath, ["build/start.js"], {
    cwd: REPO,
    env: {
      NODE_ENV: "production",
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      PORT: String(port),
      HOST: "127.0.0.1",
      EMBEDDED_PG_PORT: String(pgPort),
      DATA_DIR: dataDir,
      SESSION_SECRET: "database-fault-test-secret-0123456789abcdef",
      LOG_LEVEL: "info",
      RATE_LIMIT_AUTH: "100000/1m",
      RATE_LIMIT_GENERAL: "100000/1m",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
    killAll([...clusterProcesses(pgDataDir), ...clusterProcesses(`${pgDataDir}-gone`)]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (
    !(await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (child.exitCode !== null) throw new Error(`the app exited (code ${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`the app did not get ready within 60 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const password = fs.readFileSync(path.join(dataDir, ".postgres-password"), "utf8").trim();
  const databaseUrl = `postgresql://postgres:${password}@127.0.0.1:${pgPort}/coffer`;
  return { url, child, dataDir, pgDataDir, databaseUrl, output: () => output, exited };
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

async function rootFolderOf(databaseUrl: string, email: string): Promise<string> {
  const [row] = await query<{ id: string }>(
    databaseUrl,
    `SELECT f.id FROM folders f JOIN users u ON u.id = f.owner_id WHERE u.email = $1 AND f.parent_id IS NULL`,
    [email],
  );
  return row!.id;
}

async function createFolder(client: TestClient, parentId: string, name: string): Promise<number | "error"> {
  try {
    const response = await client.request(`/files/${parentId}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "text/html" },
      body: new URLSearchParams({ intent: "create-folder", name, open: "1" }).toString(),
      signal: AbortSignal.timeout(5_000),
    });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return "error";
  }
}

/** Polls until `path` answers 200; the time it took. */
async function waitForOk(client: TestClient, requestPath: string, withinMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < withinMs) {
    const status = await client.get(requestPath).then(
      (response) => response.arrayBuffer().then(() => response.status),
      () => 0,
    );
    if (status === 200) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${requestPath} did not answer 200 within ${withinMs} ms`);
}

describe("PostgreSQL failing under traffic", () => {
  it("embedded: a killed server is restarted and pages answer 200 again within 10 s, data intact", async () => {
    const app = await spawnEmbeddedApp();
    const client = new TestClient(app.url);
    await client.register("Ada", "ada@example.com");
    const root = await rootFolderOf(app.databaseUrl, "ada@example.com");
    const before = ["alpha", "beta", "gamma"];
    for (const name of before) expect(await createFolder(client, root, name)).toBe(302);

    const load = traffic(client, "/files");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const killedAt = Date.now();
    process.kill(postmasterPid(app.pgDataDir), "SIGKILL");
    const recoveredIn = await waitForOk(client, `/files/${root}`, 10_000);
    // Keep the traffic going a little: pages stay up once it is back.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await load.stop();

    const during = load.samples.filter((s) => s.at >= killedAt);
    expectCleanOutageAnswers(during);
    expect(
      during.some((s) => s.status === 503),
      "the outage was seen",
    ).toBe(true);
    expect(during.at(-1)?.status).toBe(200);
    expect(recoveredIn).toBeLessThan(10_000);
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);

    const names = (
      await query<{ name: string }>(app.databaseUrl, "SELECT name FROM folders WHERE parent_id = $1 ORDER BY name", [root])
    ).map((r) => r.name);
    expect(names).toEqual(before);
    expect(app.child.exitCode).toBeNull();
    const log = app.output();
    expect(log).toContain('"message":"embedded PostgreSQL restarted"');
    expect(log).not.toMatch(/\n\s+at /);
  });

  it("external: a killed server costs 503s within 2 s, and the app follows it back without a restart or lost rows", async () => {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-db-fault-ext-"));
    fs.chmodSync(workDir, 0o755);
    const pgDataDir = path.join(workDir, "data");
    const database = await startEmbeddedPostgres({ dataDir: pgDataDir, port: await freePort(), database: "coffer_fault" });
    cleanups.push(async () => {
      await database.stop();
      killAll(clusterProcesses(pgDataDir));
      fs.rmSync(workDir, { recursive: true, force: true });
    });
    const app = await startTestApp({ storage: "local", cache: "memory" }, { DATABASE_URL: database.url });
    cleanups.push(() => app.close());
    const client = new TestClient(app.url);
    await client.register("Bea", "bea@example.com");
    const root = await rootFolderOf(database.url, "bea@example.com");

    const reads = traffic(client, `/files/${root}`);
    const writes: Array<{ name: string; status: number | "error"; ms: number }> = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const name = `folder-${String(i).padStart(3, "0")}`;
        const started = Date.now();
        writes.push({ name, status: await createFolder(client, root, name), ms: Date.now() - started });
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const killedAt = Date.now();
    process.kill(postmasterPid(pgDataDir), "SIGKILL");
    // The outage lasts a few seconds: the breaker must keep every answer quick meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const outage = reads.samples.filter((s) => s.at >= killedAt);
    const firstRefusal = outage.find((s) => s.status === 503);
    expect(firstRefusal, "a 503 during the outage").toBeDefined();
    expect(firstRefusal!.at + firstRefusal!.ms - killedAt).toBeLessThan(2_000);
    expect(outage.filter((s) => s.at >= killedAt + 500).every((s) => s.status === 503)).toBe(true);

    // tus too: a 503 saying why, not a 500.
    const upload = await client.request("/api/uploads", {
      method: "POST",
      headers: { "tus-resumable": "1.0.0", "upload-length": "3", "upload-metadata": `filename ${btoa("a.txt")}` },
    });
    expect(upload.status).toBe(503);
    expect(await upload.text()).toContain("cannot reach its database");

    const readiness = await fetch(`${app.url}/readyz`);
    expect(readiness.status).toBe(503);
    const report = (await readiness.json()) as { checks: { database: { ok: boolean; error: string } } };
    expect(report.checks.database.ok).toBe(false);
    // One line an operator can read, without Prisma's quoted code or connection strings.
    expect(report.checks.database.error).toMatch(/^Can't reach database server at 127\.0\.0\.1:\d+$/);

    await database.restart();
    const restartedAt = Date.now();
    const recoveredIn = await waitForOk(client, `/files/${root}`, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    writing = false;
    await writer;
    await reads.stop();

    expectCleanOutageAnswers(reads.samples.filter((s) => s.at >= killedAt));
    expect(recoveredIn).toBeLessThan(5_000);
    expect(reads.samples.at(-1)?.status).toBe(200);
    expect(Date.now() - restartedAt).toBeLessThan(10_000);
    for (const write of writes) {
      expect(write.ms).toBeLessThan(2_000);
      expect([302, 503]).toContain(write.status);
    }
    expect(writes.filter((w) => w.status === 503).length).toBeGreaterThan(0);
    expect(writes.at(-1)?.status).toBe(302);

    // Every acknowledged folder is there once; nothing appeared that was never asked for.
    const stored = (await query<{ name: string }>(database.url, "SELECT name FROM folders WHERE parent_id = $1", [root])).map(
      (r) => r.name,
    );
    expect(new Set(stored).size).toBe(stored.length);
    const acknowledged = writes.filter((w) => w.status === 302).map((w) => w.name);
    expect(stored).toEqual(expect.arrayContaining(acknowledged));
    const attempted = new Set(writes.map((w) => w.name));
    expect(stored.every((name) => attempted.has(name))).toBe(true);
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
  });

  it("embedded: a server that cannot be restarted makes the app exit non-zero, saying why", async () => {
    const app = await spawnEmbeddedApp();
    // Its data is gone: no restart can bring it back.
    fs.renameSync(app.pgDataDir, `${app.pgDataDir}-gone`);
    const killedAt = Date.now();
    process.kill(postmasterPid(`${app.pgDataDir}-gone`), "SIGKILL");
    const code = await Promise.race([app.exited, new Promise((resolve) => setTimeout(() => resolve("still running"), 20_000))]);
    expect(code).toBe(1);
    expect(Date.now() - killedAt).toBeLessThan(20_000);
    const lines = app
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { level: string; message: string; reason?: string });
    const fatal = lines.find((line) => line.message.startsWith("embedded PostgreSQL cannot be restarted"));
    expect(fatal).toMatchObject({ level: "error" });
    expect(fatal?.reason).toContain("data directory");
    expect(lines.filter((line) => line.message === "embedded PostgreSQL restart failed").length).toBeGreaterThan(1);
    expect(app.output()).not.toMatch(/\n\s+at /);
    // What the killed server left running notices its postmaster is gone and ends.
    await expect.poll(() => clusterProcesses(`${app.pgDataDir}-gone`), { timeout: 5_000 }).toEqual([]);
  });
});
