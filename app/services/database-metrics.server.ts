import { measured, metrics } from "./metrics.server";

/** Prisma's codes the app expects and answers itself: a unique-constraint conflict, a missing record. */
const ANSWER_CODES = new Set(["P2002", "P2025"]);

const isAnswer = (error: unknown) => ANSWER_CODES.has((error as { code?: unknown } | null)?.code as string);

/** `$queryRawUnsafe` → `queryRaw`: raw statements by kind, whichever way they were written. */
function operationName(operation: string): string {
  return operation.replace(/^\$/, "").replace(/Unsafe$/, "");
}

/**
 * Times one query (model queries, raw statements, each statement of a transaction) in
 * coffer_db_query_duration_seconds and counts its failure, labelled by the model (`raw` for SQL)
 * and the operation: names from the schema and Prisma's API, never values. Run by the database
 * guard (guardPrisma) inside its breaker, so queries the open breaker refuses are not measured,
 * and in the same query extension, so measuring adds no extension layer of its own.
 */
export function measureQuery(model: string | undefined, operation: string, run: () => Promise<unknown>): Promise<unknown> {
  const { dbQueryDuration, dbQueryErrors } = metrics();
  return measured(dbQueryDuration, dbQueryErrors, { model: model ?? "raw", operation: operationName(operation) }, run, isAnswer);
}
