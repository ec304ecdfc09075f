import { PrismaPg } from "@prisma/adapter-pg";
import type { Config } from "~/config.server";
import { PrismaClient } from "~/generated/prisma/client";
import { runMigrations } from "./migrate.server";

export type Database = PrismaClient;

export interface DatabaseHandle {
  prisma: PrismaClient;
  url: string;
  embedded: boolean;
  health(): Promise<void>;
  close(): Promise<void>;
}

export function createPrismaClient(url: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
}

/** Connects to DATABASE_URL or starts the embedded server, then applies pending migrations. */
export async function openDatabase(config: Config, log: (line: string) => void = () => {}): Promise<DatabaseHandle> {
  const embedded = config.database.embedded
    ? await (await import("./embedded-postgres.server")).startEmbeddedPostgres({
        dataDir: config.database.dataDir,
        port: config.database.port,
      })
    : null;
  const url = embedded ? embedded.url : (config.database as { url: string }).url;
  try {
    const applied = await runMigrations(url);
    for (const name of applied) log(`applied migration ${name}`);
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  const prisma = createPrismaClient(url);
  return {
    prisma,
    url,
    embedded: Boolean(embedded),
    async health() {
      await prisma.$queryRaw`SELECT 1`;
    },
    async close() {
      await prisma.$disconnect();
      await embedded?.stop();
    },
  };
}
