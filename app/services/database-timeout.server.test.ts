import net from "node:net";
import { afterAll, expect, it } from "vitest";
import { createDatabaseBreaker, guardPrisma } from "./database-outage.server";
import { createPrismaClient } from "./db.server";
import { DependencyUnavailableError } from "./dependency.server";

// A "server" that accepts connections and never answers: a host that went silent.
const sockets: net.Socket[] = [];
const silent = net.createServer((socket) => void sockets.push(socket));
afterAll(() => {
  for (const socket of sockets) socket.destroy();
  silent.close();
});

it("a database that accepts connections but never answers costs a 503 within 3 s, not a hang", async () => {
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const { port } = silent.address() as net.AddressInfo;
  const raw = createPrismaClient(`postgresql://coffer:secret@127.0.0.1:${port}/coffer`);
  const breaker = createDatabaseBreaker();
  const prisma = guardPrisma(raw, breaker);
  try {
    for (const call of [
      () => prisma.user.count(),
      () => prisma.$queryRaw`SELECT 1`,
      () => prisma.$transaction(async (tx) => tx.user.count()),
    ]) {
      const started = Date.now();
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DependencyUnavailableError);
      expect((error as DependencyUnavailableError).retryAfterSeconds).toBe(2);
      // The connect timeout is 1.5 s; the margin absorbs a loaded CI machine, a hang takes far longer.
      expect(Date.now() - started).toBeLessThan(3_000);
    }
  } finally {
    breaker.shutdown();
    await raw.$disconnect();
  }
  // Three connect timeouts of 1.5 s each: more than vitest's default 5 s on a busy machine.
}, 15_000);
