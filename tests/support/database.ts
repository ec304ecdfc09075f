import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, inject } from "vitest";
import { createPrismaClient, type Database } from "~/services/db.server";

export interface TestDatabase {
  url: string;
  prisma: Database;
}

/**
 * A fresh, migrated database of this test file's own, copied from the template; dropped when
 * the file's tests end.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const services = inject("services");
  const name = `coffer_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: services.postgresAdminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${services.templateDatabase}`);
  await admin.end();
  const url = new URL(services.postgresAdminUrl);
  url.pathname = `/${name}`;
  const prisma = createPrismaClient(url.toString());
  afterAll(async () => {
    await prisma.$disconnect();
    const client = new pg.Client({ connectionString: services.postgresAdminUrl });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.end();
  });
  return { url: url.toString(), prisma };
}
