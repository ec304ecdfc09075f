import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, inject } from "vitest";
import { freePort } from "../setup/free-port";
import { createTestDatabase } from "../support/database";

const REPO = path.resolve(import.meta.dirname, "../..");
const RECORDER = path.join(REPO, "tests/support/module-recorder.mjs");

export interface BuiltApp {
  url: string;
  /** Every module URL the process resolved (tests/support/module-recorder.mjs). */
  resolvedModules(): Promise<string[]>;
  output(): string;
  /** SIGTERM, as a supervisor stops it; resolves when it has exited. */
  stop(): Promise<void>;
}

/**
 * build/start.js in a child process, as `npm start` runs it (instrumentations only work when
 * tracing starts before the app's modules load, so this cannot run inside vitest's process).
 */
export async function startBuiltApp(
  env: Record<string, string>,
  options: { storage: "local" | "s3"; cache?: "memory" | "redis" } = { storage: "local" },
): Promise<BuiltApp> {
  // The free port can be taken by another test's server between the probe and the listen: try
  // another one rather than fail the test.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startBuiltAppOnce(env, options);
    } catch (error) {
      if (attempt >= 3 || !String(error).includes("EADDRINUSE")) throw error;
    }
  }
}

async function startBuiltAppOnce(
  env: Record<string, string>,
  options: { storage: "local" | "s3"; cache?: "memory" | "redis" },
): Promise<BuiltApp> {
  if (!fs.existsSync(path.join(REPO, "build/start.js")))
    throw new Error("No production build: run `npm run build` before the HTTP tests (npm test does).");
  const services = inject("services");
  const { url: databaseUrl } = await createTestDatabase();
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-tracing-"));
  const child: ChildProcess = spawn(process.execPath, ["--import", RECORDER, "build/start.js"], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: String(port),
      DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      SESSION_SECRET: "tracing-test-secret-0123456789abcdef-0123",
      LOG_LEVEL: "warn",
      RATE_LIMIT_AUTH: "100000/1m",
      RATE_LIMIT_GENERAL: "100000/1m",
      RATE_LIMIT_API: "100000/1m",
      ...(options.storage === "s3"
        ? {
            S3_ENDPOINT: services.s3.endpoint,
            S3_ACCESS_KEY: services.s3.accessKey,
            S3_SECRET_KEY: services.s3.secretKey,
            S3_REGION: services.s3.region,
            S3_BUCKET: `coffer-tracing-${Math.random().toString(36).slice(2, 10)}`,
          }
        : {}),
      ...(options.cache === "redis" ? { REDIS_URL: services.redisUrl, REDIS_PREFIX: `coffer-tracing-${port}:` } : {}),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
  };
  afterAll(async () => {
    await stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
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
    output: () => output,
    stop,
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
