import type { Config } from "~/config.server";
import type { PrismaClient } from "~/generated/prisma/client";
import { MeilisearchIndex } from "./meilisearch.server";
import { PostgresSearchIndex } from "./postgres.server";
import type { SearchIndex } from "./types";

/** The configured search driver; call init() before use. */
export function createSearchIndex(config: Config["search"], prisma: PrismaClient): SearchIndex {
  switch (config.driver) {
    case "postgres":
      return new PostgresSearchIndex(prisma);
    case "meilisearch":
      return new MeilisearchIndex({ host: config.host, apiKey: config.apiKey, index: config.index });
  }
}
