import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../../app/services/embedded-postgres.server";
import { runMigrations } from "../../app/services/migrate.server";
import { freePort } from "./free-port";
import { startRedis } from "./redis";
import { startS3 } from "./s3";

declare module "vitest" {
  export interface ProvidedContext {
    services: TestServices;
  }
}

export interface TestServices {
  /** A migrated database used as the template for each test file's own database. */
  postgresAdminUrl: string;
  templateDatabase: string;
  redisUrl: string;
  s3: { endpoint: string; accessKey: string; secretKey: string; region: string; dataDir: string };
  meiliHost: string | null;
  meiliApiKey: string | null;
}

/**
 * Starts every real service the tests use (embedded PostgreSQL, redis-server, an
 * S3-compatible Swift server) on free ports, once per run, and stops them afterwards.
 */
export default async function setup(project: TestProject) {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-test-"));
  fs.chmodSync(workDir, 0o755);
  const stops: Array<() => Promise<void>> = [];
  try {
    const [postgres, redis, s3] = await Promise.all([
      startEmbeddedPostgres({ dataDir: path.join(workDir, "pg", "data"), port: await freePort(), database: "coffer_template" }),
      startRedis(path.join(workDir, "redis")),
      startS3(path.join(workDir, "s3")),
    ]);
    stops.push(
      () => postgres.stop(),
      () => redis.stop(),
      () => s3.stop(),
    );
    await runMigrations(postgres.url);
    const adminUrl = new URL(postgres.url);
    adminUrl.pathname = "/postgres";
    // Nobody may stay connected to a template while databases are copied from it.
    const admin = new pg.Client({ connectionString: adminUrl.toString() });
    await admin.connect();
    await admin.query(`ALTER DATABASE coffer_template WITH IS_TEMPLATE true`);
    await admin.end();

    const meiliHost = process.env.MEILI_HOST || null;
    if (!meiliHost) {
      console.log(
        "\n[coffer tests] MEILI_HOST is not set: the Meilisearch contract suite will NOT run against a real server (its request-level unit tests still run).\n",
      );
    }
    project.provide("services", {
      postgresAdminUrl: adminUrl.toString(),
      templateDatabase: "coffer_template",
      redisUrl: redis.url,
      s3: { endpoint: s3.endpoint, accessKey: s3.accessKey, secretKey: s3.secretKey, region: s3.region, dataDir: s3.dataDir },
      meiliHost,
      meiliApiKey: process.env.MEILI_API_KEY || null,
    });
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    throw error;
  }

  return async () => {
    for (const stop of stops.reverse()) await stop().catch((error) => console.error(error));
    fs.rmSync(workDir, { recursive: true, force: true });
  };
}
