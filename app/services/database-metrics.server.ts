import type { PrismaClient } from "~/generated/prisma/client";
import { measured, metrics } from "./metrics.server";

/** Prisma's codes the app expects and answers itself: a unique-constraint conflict, a missing record. */
const ANSWER_CODES = new Set(["P2002", "P2025"]);

const isAnswer = (error: unknown) => ANSWER_CODES.has((error as { code?: unknown } | null)?.code as string);

/** `$queryRawUnsafe` → `queryRaw`: raw statements by kind, whichever way they were written. */
function operationName(operation: string): string {
  return operation.replace(/^\$/, "").replace(/Unsafe$/, "");
}

/**
 * `prisma` with every query (model queries, raw statements, each statement of a transaction)
 * timed in coffer_db_query_duration_seconds and its failures counted, labelled by the model
 * (`raw` for SQL) and the operation: names from the schema and Prisma's API, never values.
 */
export function measurePrisma(prisma: PrismaClient): PrismaClient {
  const { dbQueryDuration, dbQueryErrors } = metrics();
  return prisma.$extends({
    query: {
      $allOperations({ model, operation, args, query }) {
        const labels = { model: model ?? "raw", operation: operationName(operation) };
        return measured(dbQueryDuration, dbQueryErrors, labels, () => query(args), isAnswer);
      },
    },
  }) as unknown as PrismaClient;
}
