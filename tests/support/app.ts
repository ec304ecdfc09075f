import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { AddressInfo } from "node:net";
import type { ServerBuild } from "@remix-run/node";
import { afterAll, inject } from "vitest";
import { loadConfig } from "~/config.server";
import { createAppServer, type AppServer } from "~/server/app.server";
import { closeServices, createServices, type Services } from "~/services/index.server";
import { createLogger } from "~/services/logger.server";
import { createTestDatabase } from "./database";

export type DriverSet = { storage: "local" | "s3"; cache: "memory" | "redis" };

export interface TestApp {
  url: string;
  services: Services;
  dataDir: string;
  server: AppServer;
  /** The environment this instance was configured with (to start a twin on the same services). */
  env: Record<string, string>;
  close(): Promise<void>;
}

const BUILD = path.resolve(import.meta.dirname, "../../build");

/**
 * The whole app (production build, real HTTP server on a free port) on its own database and
 * data directory, with the chosen drivers against the real services started by global setup.
 */
export async function startTestApp(drivers: DriverSet, env: Record<string, string> = {}): Promise<TestApp> {
  const serverBuild = path.join(BUILD, "server/index.js");
  if (!fs.existsSync(serverBuild)) throw new Error("No production build: run `npm run build` before the HTTP tests (npm test does).");
  const services = inject("services");
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-app-"));
  const bucket = `coffer-test-${Math.random().toString(36).slice(2, 10)}`;
  const appEnv: Record<string, string> = {
    NODE_ENV: "production",
    DATA_DIR: dataDir,
    DATABASE_URL: env.DATABASE_URL ?? (await createTestDatabase()).url,
    LOG_LEVEL: "error",
    SESSION_SECRET: "test-secret-that-is-at-least-32-characters-long",
    // Suites share 127.0.0.1 (and, with Redis, the counters): limits are lifted unless a test sets them.
    RATE_LIMIT_AUTH: "100000/1m",
    RATE_LIMIT_SHARE: "100000/1m",
    RATE_LIMIT_API: "100000/1m",
    RATE_LIMIT_GENERAL: "100000/1m",
    ...(drivers.storage === "s3"
      ? {
          S3_ENDPOINT: services.s3.endpoint,
          S3_ACCESS_KEY: services.s3.accessKey,
          S3_SECRET_KEY: services.s3.secretKey,
          S3_REGION: services.s3.region,
          S3_BUCKET: bucket,
          S3_PART_SIZE: "5MiB",
        }
      : {}),
    // Apps share one redis-server: each gets its own keys (rate limits, job locks) unless a test shares them.
    ...(drivers.cache === "redis" ? { REDIS_URL: services.redisUrl, REDIS_PREFIX: `coffer-test-${randomUUID()}:` } : {}),
    ...env,
  };
  const config = loadConfig(appEnv);
  // Tests run over plain HTTP; production cookies are Secure, which fetch would still send
  // to localhost, but keep the config honest about what it tests.
  const appServices = await createServices(config, createLogger(config.logLevel));
  const build = (await import(pathToFileURL(serverBuild).href)) as ServerBuild;
  const server = await createAppServer({
    services: appServices,
    mode: { kind: "production", build, clientDir: path.join(BUILD, "client") },
  });
  await new Promise<void>((resolve) => server.httpServer.listen(0, "127.0.0.1", resolve));
  const { port } = server.httpServer.address() as AddressInfo;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await server.close();
    await closeServices(appServices);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  afterAll(close);
  const scheme = config.tls ? "https" : "http";
  return { url: `${scheme}://127.0.0.1:${port}`, services: appServices, server, dataDir, env: appEnv, close };
}
