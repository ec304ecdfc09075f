import { ConflictError } from "~/domain/errors";
import type { Services } from "~/services/index.server";

/** How long a key's answer is kept for replay. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface StoredAnswer {
  status: number;
  body: string;
  headers: Record<string, string>;
}

export type Claim = { kind: "new" } | { kind: "replay"; answer: StoredAnswer } | { kind: "mismatch" };

/**
 * Claims `key` for this user and request. The first request with a key claims it and runs; the
 * same request again gets the stored answer; another request with that key is a mismatch; a
 * second request while the first still runs is a conflict (409), never a second create.
 */
export async function claimIdempotencyKey(
  services: Services,
  userId: string,
  key: string,
  requestHash: string,
  now = new Date(),
): Promise<Claim> {
  const { prisma } = services;
  // Expired keys of this user go first, so a key can be reused a day later and rows do not pile up.
  await prisma.apiIdempotencyKey.deleteMany({ where: { userId, expiresAt: { lt: now } } });
  const inserted = await prisma.apiIdempotencyKey.createMany({
    data: [{ userId, key, requestHash, expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS) }],
    skipDuplicates: true,
  });
  if (inserted.count === 1) return { kind: "new" };
  const row = await prisma.apiIdempotencyKey.findUnique({ where: { userId_key: { userId, key } } });
  if (!row) return claimIdempotencyKey(services, userId, key, requestHash, now);
  if (row.requestHash !== requestHash) return { kind: "mismatch" };
  if (row.status === null || row.body === null) {
    throw new ConflictError("A request with this Idempotency-Key is still running. Retry it in a moment.");
  }
  return { kind: "replay", answer: { status: row.status, body: row.body, headers: (row.headers ?? {}) as Record<string, string> } };
}

export async function storeIdempotentAnswer(services: Services, userId: string, key: string, answer: StoredAnswer): Promise<void> {
  await services.prisma.apiIdempotencyKey.update({
    where: { userId_key: { userId, key } },
    data: { status: answer.status, body: answer.body, headers: answer.headers },
  });
}

/** A claim whose request failed unexpectedly is released, so the client can retry with the key. */
export async function releaseIdempotencyKey(services: Services, userId: string, key: string): Promise<void> {
  await services.prisma.apiIdempotencyKey.deleteMany({ where: { userId, key, status: null } });
}
