import { PrismaPg } from "@prisma/adapter-pg";
import type pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { PrismaClient } from "~/generated/prisma/client";
import { PostgresSearchIndex } from "~/services/search/postgres.server";
import { createTestDatabase } from "./support/database";

const database = await createTestDatabase();
// One connection, so that another transaction holding it keeps the search waiting for the pool.
const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: database.url, max: 1 } as pg.PoolConfig) });
afterAll(() => prisma.$disconnect());

describe("PostgreSQL search on a busy pool", () => {
  it("waits for a connection longer than Prisma's 2 s default instead of failing", async () => {
    const index = new PostgresSearchIndex(prisma);
    await index.init();
    await index.upsert([
      {
        id: "doc-busy",
        ownerId: "owner-busy",
        kind: "file",
        name: "quarterly report.pdf",
        folderId: "folder-1",
        mimeType: "application/pdf",
        size: 10,
        updatedAt: new Date(),
      },
    ]);
    const holding = prisma.$transaction(
      async (tx) => {
        await tx.$executeRaw`SELECT pg_sleep(3)`;
      },
      { timeout: 10_000 },
    );
    // Let the holder take the only connection first.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const result = await index.search("owner-busy", "quarterly", { limit: 10 });
    await holding;
    expect(result.hits.map((hit) => hit.id)).toEqual(["doc-busy"]);
  }, 20_000);
});
