// The rollback of docs/rollback.md, done for real: HEAD's production build migrates a database and
// serves a user for a while, then the previous release (deploy/releases.json), built from its
// commit, runs on that migrated database and data directory. It passes scripts/deploy-smoke.sh,
// signs in, lists, downloads what HEAD stored and uploads and downloads a file of its own. With a
// planted destructive migration the same journey fails. Needs `npm run build`. Costs the previous
// release's build: about 1 minute with this checkout's node_modules hard-linked (same lock file),
// 2 to 3 with `npm ci`; the journeys take seconds.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS_DIR, runMigrations } from "~/services/migrate.server";
import { buildPreviousRelease, type PreviousBuild } from "../../scripts/migration-gate/build-previous-release";
import { readPreviousRelease } from "../../scripts/migration-gate/release-marker";
import { freePort } from "../setup/free-port";
import { TestClient } from "../support/client";
import { createTestDatabase } from "../support/database";

const REPO = path.resolve(import.meta.dirname, "../..");
const METRICS_TOKEN = "rollback-test-metrics-token-0123456789";
const PASSWORD = "correct horse battery staple";
const release = readPreviousRelease(REPO);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-rollback-"));

let previous: PreviousBuild;
beforeAll(async () => {
  if (!fs.existsSync(path.join(REPO, "build/start.js"))) throw new Error("No production build: run `npm run build` first.");
  previous = await buildPreviousRelease(REPO, release, path.join(scratch, "previous"));
  console.log(
    `previous release ${release.version} (${release.commit.slice(0, 12)}) built in ${previous.seconds} s, dependencies ${previous.dependencies}`,
  );
}, 600_000);
afterAll(() => fs.promises.rm(scratch, { recursive: true, force: true }));

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

/** Starts the production build in `root` on the database and data directory; resolves once it answers /readyz. */
async function startBuild(root: string, databaseUrl: string, dataDir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  let output = "";
  const child: ChildProcess = spawn(process.execPath, ["build/start.js"], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: String(port),
      DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      SESSION_SECRET: "rollback-test-secret-0123456789abcdef012345",
      METRICS_TOKEN,
      LOG_LEVEL: "warn",
      // Nothing is in flight when the test stops it.
      SHUTDOWN_GRACE_SECONDS: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk) => void (output += chunk));
  child.stderr?.on("data", (chunk) => void (output += chunk));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  };
  stops.push(stop);
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 90_000; ; ) {
    if (child.exitCode !== null) throw new Error(`${root}/build/start.js exited ${child.exitCode}:\n${output}`);
    const ready = await fetch(`${url}/readyz`).then(
      (response) => response.status,
      () => 0,
    );
    if (ready === 200) return { url, stop };
    if (Date.now() > deadline) throw new Error(`${root}/build/start.js not ready after 90 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function smoke(url: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      "bash",
      [path.join(REPO, "scripts/deploy-smoke.sh"), url],
      { env: { PATH: process.env.PATH ?? "", NODE_ENV: "production", METRICS_TOKEN, SMOKE_WAIT_SECONDS: "30", SMOKE_WATCH_SECONDS: "2" } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, output: stdout + stderr }),
    );
  });
}

/** Uploads `bytes` to the root folder with tus, as the signed-in `client`. */
async function upload(client: TestClient, name: string, bytes: Buffer): Promise<void> {
  const headers = { cookie: client.cookieHeader, "Tus-Resumable": "1.0.0" };
  const created = await fetch(`${client.baseUrl}/api/uploads`, {
    method: "POST",
    headers: { ...headers, "Upload-Length": String(bytes.length), "Upload-Metadata": `filename ${Buffer.from(name).toString("base64")}` },
  });
  expect(created.status, await created.clone().text()).toBe(201);
  const patched = await fetch(new URL(created.headers.get("location")!, client.baseUrl), {
    method: "PATCH",
    headers: { ...headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream" },
    body: new Uint8Array(bytes),
  });
  expect(patched.status, await patched.clone().text()).toBe(204);
}

/** The SHA-256 of every file My files lists, downloaded. */
async function listAndDownload(client: TestClient): Promise<string[]> {
  const page = await client.get("/files");
  const html = await page.text();
  expect(page.status, html.slice(0, 500)).toBe(200);
  const ids = [...new Set([...html.matchAll(/href="\/download\/([^"/]+)"/g)].map((match) => match[1]))];
  const digests: string[] = [];
  for (const id of ids) {
    const response = await client.get(`/download/${id}`);
    expect(response.status).toBe(200);
    digests.push(sha256(Buffer.from(await response.arrayBuffer())));
  }
  return digests.sort();
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** HEAD's build migrates the database (with `extra` migrations applied after) and stores a file for a new user. */
async function headServesAUser(extra: Record<string, string> = {}) {
  const { url: databaseUrl } = await createTestDatabase();
  const dataDir = fs.mkdtempSync(path.join(scratch, "data-"));
  const head = await startBuild(REPO, databaseUrl, dataDir);
  const email = `rollback-${randomBytes(4).toString("hex")}@example.com`;
  const client = new TestClient(head.url);
  await client.register("Before Rollback", email, PASSWORD);
  const stored = randomBytes(200_000);
  await upload(client, "written-by-head.bin", stored);
  await head.stop();
  if (Object.keys(extra).length > 0) {
    const dir = fs.mkdtempSync(path.join(scratch, "migrations-"));
    fs.cpSync(MIGRATIONS_DIR, dir, { recursive: true });
    for (const [name, sql] of Object.entries(extra)) {
      fs.mkdirSync(path.join(dir, name));
      fs.writeFileSync(path.join(dir, name, "migration.sql"), sql);
    }
    await runMigrations(databaseUrl, dir);
  }
  return { databaseUrl, dataDir, email, stored };
}

describe("rolling back one release on the migrated database", () => {
  it("runs the previous release: smoke check, sign in, list, download, upload", async () => {
    const { databaseUrl, dataDir, email, stored } = await headServesAUser();
    const app = await startBuild(previous.dir, databaseUrl, dataDir);

    const checked = await smoke(app.url);
    expect(checked.output).toContain("deploy-smoke: healthy");
    expect(checked.code, checked.output).toBe(0);

    const client = new TestClient(app.url);
    const login = await client.login(email, PASSWORD);
    expect(login.status, await login.text()).toBe(302);
    expect(await listAndDownload(client)).toEqual([sha256(stored)]);
    const own = randomBytes(100_000);
    await upload(client, "written-by-previous.bin", own);
    expect(await listAndDownload(client)).toEqual([sha256(stored), sha256(own)].sort());
  });

  it("fails when a planted migration dropped a column the previous release reads", async () => {
    const { databaseUrl, dataDir, email } = await headServesAUser({
      "20991231000000_planted_drop": `ALTER TABLE "users" DROP COLUMN "name";`,
    });
    const app = await startBuild(previous.dir, databaseUrl, dataDir);
    const login = await new TestClient(app.url).login(email, PASSWORD);
    expect(login.status).toBeGreaterThanOrEqual(500);
  });
});
