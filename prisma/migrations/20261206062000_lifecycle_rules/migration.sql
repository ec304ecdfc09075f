-- Lifecycle rules (issue 13 §5). Expand only: a nullable column and a new table, neither of which
-- the previous release reads. It sees a deleted account as deactivated (deletion sets
-- deactivated_at too), so it keeps such an account locked out without knowing why.
--
-- users.deleted_at: when the account was deleted; it can be restored until the grace period in
-- the settings has passed, then the hourly job purges it with everything it owns.
ALTER TABLE "users" ADD COLUMN "deleted_at" TIMESTAMP(3);
CREATE INDEX "users_deleted_at_idx" ON "users" ("deleted_at") WHERE "deleted_at" IS NOT NULL;

-- What the last run of each purge (trash, versions, audit, accounts) removed, for /admin/lifecycle.
CREATE TABLE "lifecycle_runs" (
  "rule" TEXT NOT NULL,
  "finished_at" TIMESTAMP(3) NOT NULL,
  "removed" JSONB NOT NULL,
  CONSTRAINT "lifecycle_runs_pkey" PRIMARY KEY ("rule")
);
