import net from "node:net";
import { expect, it } from "vitest";
import { measureQuery } from "./database-metrics.server";
import { createDatabaseBreaker, guardPrisma } from "./database-outage.server";
import { createPrismaClient } from "./db.server";
import { metrics } from "./metrics.server";

async function userCounts(): Promise<{ queries: number; errors: number }> {
  const isUserCount = (v: { labels: Record<string, unknown> }) => v.labels.model === "User" && v.labels.operation === "count";
  const durations = (await metrics().dbQueryDuration.get()).values;
  return {
    queries: durations.find((v) => isUserCount(v) && v.metricName?.endsWith("_count"))?.value ?? 0,
    errors: (await metrics().dbQueryErrors.get()).values.find(isUserCount)?.value ?? 0,
  };
}

it("measures the queries that reach the database, failed ones included, and not those the open breaker refuses", async () => {
  // A port nothing listens on: every connection is refused at once.
  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const { port } = closed.address() as net.AddressInfo;
  await new Promise((resolve) => closed.close(resolve));
  const raw = createPrismaClient(`postgresql://coffer:secret@127.0.0.1:${port}/coffer`);
  const breaker = createDatabaseBreaker();
  const prisma = guardPrisma(raw, breaker, measureQuery);
  try {
    const before = await userCounts();
    let reached = 0;
    while (!breaker.isOpen && reached < 10) {
      await prisma.user.count().catch(() => {});
      reached++;
    }
    expect(breaker.isOpen).toBe(true);
    const whenOpened = await userCounts();
    expect(whenOpened.queries - before.queries).toBe(reached);
    expect(whenOpened.errors - before.errors).toBe(reached);
    for (let i = 0; i < 3; i++) await expect(prisma.user.count()).rejects.toThrow();
    expect(await userCounts()).toEqual(whenOpened);
  } finally {
    breaker.shutdown();
    await raw.$disconnect();
  }
});
