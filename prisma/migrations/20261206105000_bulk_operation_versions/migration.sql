-- Erasing an account counts the earlier versions it deletes batch by batch (for its audit event),
-- instead of counting them all up front in one long transaction. Expand-only: a new column with
-- a default, which the previous release neither reads nor writes.
ALTER TABLE "bulk_operations" ADD COLUMN "versions" INTEGER NOT NULL DEFAULT 0;
