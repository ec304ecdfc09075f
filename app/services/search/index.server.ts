import type { Config } from "~/config.server";
import type { PrismaClient } from "~/generated/prisma/client";
import type { Logger } from "../logger.server";
import { MeasuredSearchIndex } from "./measured.server";
import { PostgresSearchIndex } from "./postgres.server";
import { ResilientSearchIndex } from "./resilient.server";
import type { SearchIndex } from "./types";

/**
 * The configured search driver, its queries and index writes measured (coffer_search_operation_*);
 * call init() before use. The Meilisearch client is imported only when configured, and is made
 * resilient to its own outages (resilient.server.ts); the PostgreSQL driver fails with the database.
 */
export async function createSearchIndex(config: Config["search"], prisma: PrismaClient, log?: Logger): Promise<SearchIndex> {
  const measured = new MeasuredSearchIndex(await createDriver(config, prisma));
  return config.driver === "meilisearch" ? new ResilientSearchIndex(measured, prisma, { log }) : measured;
}

async function createDriver(config: Config["search"], prisma: PrismaClient): Promise<SearchIndex> {
  switch (config.driver) {
    case "postgres":
      return new PostgresSearchIndex(prisma);
    case "meilisearch": {
      const { MeilisearchIndex } = await import("./meilisearch.server");
      return new MeilisearchIndex({ host: config.host, apiKey: config.apiKey, index: config.index });
    }
  }
}
