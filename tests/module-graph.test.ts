import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, inject, it } from "vitest";
import { freePort } from "./setup/free-port";
import { TestClient } from "./support/client";
import { createTestDatabase } from "./support/database";

/**
 * build/start.js (server.ts compiled) in a child process, as `npm start` runs it, with a loader hook
 * that records every module the process resolves: the resting memory depends on loading the app
 * once and on not loading the packages of drivers that are not configured.
 */
const REPO = path.resolve(import.meta.dirname, "..");
const RECORDER = path.join(REPO, "tests/support/module-recorder.mjs");
const APP_SOURCES = `${pathToFileURL(path.join(REPO, "app")).href}/`;

/** Packages only the S3, Redis, Meilisearch, SMTP and OIDC drivers need. */
const DRIVER_PACKAGES = [
  "minio",
  "@tus/s3-store",
  "@aws-sdk/client-s3",
  "ioredis",
  "@socket.io/redis-adapter",
  "meilisearch",
  "nodemailer",
  "openid-client",
];

interface ServerProcess {
  url: string;
  resolvedModules(): Promise<string[]>;
}

const children: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map(stop));
});

async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  if (!fs.existsSync(path.join(REPO, "build/start.js")))
    throw new Error("No production build: run `npm run build` before the HTTP tests (npm test does).");
  const { url: databaseUrl } = await createTestDatabase();
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-modules-"));
  const child = spawn(process.execPath, ["--import", RECORDER, "build/start.js"], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: String(port),
      DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      SESSION_SECRET: "module-graph-test-secret-0123456789abcdef",
      LOG_LEVEL: "warn",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  children.push(child);
  child.once("exit", () => fs.rmSync(dataDir, { recursive: true, force: true }));
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`build/start.js exited (code ${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`build/start.js did not answer within 90 s:\n${output}`);
    const ok = await fetch(`${url}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    resolvedModules: () =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the server did not send its module list")), 10_000);
        child.on("message", (message: { resolvedModules?: string[] }) => {
          if (!message.resolvedModules) return;
          clearTimeout(timer);
          resolve(message.resolvedModules);
        });
        child.send("resolved-modules");
      }),
  };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Package names in resolved URLs (…/node_modules/<name>/… or …/node_modules/@scope/<name>/…). */
function packagesIn(urls: string[]): Set<string> {
  const names = new Set<string>();
  for (const url of urls) {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*\/node_modules\/)/.exec(url);
    if (match) names.add(match[1]!);
  }
  return names;
}

/**
 * Package names of a production-only install (`npm ci --omit=dev`), as the Docker image's prod-deps
 * stage makes it. No Docker engine runs here, so the image is not built in the tests; what breaks
 * there and not in the repository is a dev dependency that the server or `npx coffer` imports.
 */
let productionPackages: Set<string> | undefined;
function devOnly(packages: Set<string>): string[] {
  productionPackages ??= new Set(
    execFileSync("npm", ["ls", "--omit=dev", "--all", "--parseable"], { cwd: REPO, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
      .split("\n")
      .map((line) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(line.trim())?.[1])
      .filter((name): name is string => Boolean(name)),
  );
  return [...packages].filter((name) => !productionPackages!.has(name)).sort();
}

/** What a first visit loads: the pages, registration, a listing. */
async function useTheApp(server: ServerProcess) {
  const client = new TestClient(server.url);
  await client.register("Module Graph", "modules@example.com");
  const files = await client.get("/files");
  expect(files.status).toBe(200);
}

describe("the server process's modules (build/start.js)", () => {
  it("local disk, memory cache, Postgres search: the app is loaded once, from the build, and no driver package of an unconfigured service", async () => {
    const server = await startServer({});
    await useTheApp(server);
    const urls = await server.resolvedModules();

    expect(urls.some((url) => url.includes("/build/server/"))).toBe(true);
    // Compiled JavaScript only: no TypeScript source, and no tsx.
    expect(urls.filter((url) => url.startsWith(APP_SOURCES))).toEqual([]);
    expect(urls.some((url) => url.endsWith("/build/start.js"))).toBe(true);

    const packages = packagesIn(urls);
    // The recorder sees packages the app does load.
    expect(packages).toContain("express");
    expect(packages).toContain("@tus/file-store");
    expect(packages).not.toContain("tsx");
    for (const name of DRIVER_PACKAGES) expect(packages, `${name} was loaded`).not.toContain(name);
    // Loaded on the first passkey ceremony only (its certificate parsers are about 4 MiB of heap).
    for (const name of ["@simplewebauthn/server", "@peculiar/x509", "@peculiar/asn1-x509"])
      expect(packages, `${name} was loaded`).not.toContain(name);
    // As in the Docker image, which installs production dependencies only.
    expect(devOnly(packages)).toEqual([]);
  });

  it("S3 and Redis configured: their packages are loaded (and still not Meilisearch, SMTP or OIDC)", async () => {
    const { s3, redisUrl } = inject("services");
    const server = await startServer({
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY: s3.accessKey,
      S3_SECRET_KEY: s3.secretKey,
      S3_REGION: s3.region,
      S3_BUCKET: `coffer-modules-${Date.now().toString(36)}`,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: `coffer-modules-${Date.now().toString(36)}:`,
    });
    await useTheApp(server);
    const packages = packagesIn(await server.resolvedModules());

    for (const name of ["minio", "@tus/s3-store", "ioredis", "@socket.io/redis-adapter"])
      expect(packages, `${name} was not loaded`).toContain(name);
    for (const name of ["meilisearch", "nodemailer", "openid-client"]) expect(packages, `${name} was loaded`).not.toContain(name);
    expect(devOnly(packages)).toEqual([]);
  });
});

describe("npx coffer's modules (bin/coffer.mjs), as the Docker image runs it", () => {
  it("backs up, verifies and checks storage with production dependencies only", async () => {
    const { url: databaseUrl } = await createTestDatabase();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-cli-modules-"));
    try {
      fs.mkdirSync(path.join(work, "data"));
      fs.mkdirSync(path.join(work, "backups"));
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        DATABASE_URL: databaseUrl,
        DATA_DIR: path.join(work, "data"),
        BACKUP_DIR: path.join(work, "backups"),
        BACKUP_KEY: randomBytes(32).toString("base64"),
        SESSION_SECRET: "module-graph-test-secret-0123456789abcdef",
        LOG_LEVEL: "warn",
      };
      const packages = new Set<string>();
      for (const args of [["backup"], ["verify", "--backup", "latest"], ["fsck"]]) {
        const log = path.join(work, `modules-${args[0]}.txt`);
        const run = spawn(process.execPath, ["--import", RECORDER, "bin/coffer.mjs", ...args], {
          cwd: REPO,
          env: { ...env, COFFER_MODULE_LOG: log } as unknown as NodeJS.ProcessEnv,
          stdio: ["ignore", "pipe", "pipe"],
        });
        let output = "";
        run.stdout!.on("data", (chunk) => (output += chunk));
        run.stderr!.on("data", (chunk) => (output += chunk));
        const code = await new Promise((resolve) => run.once("exit", resolve));
        expect(code, `coffer ${args.join(" ")}:\n${output}`).toBe(0);
        for (const name of packagesIn(fs.readFileSync(log, "utf8").split("\n"))) packages.add(name);
      }
      // The recorder saw what the commands load (tsx runs the sources; pg reaches the database).
      expect(packages).toContain("tsx");
      expect(packages).toContain("zod");
      expect(devOnly(packages)).toEqual([]);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }, 240_000);
});
