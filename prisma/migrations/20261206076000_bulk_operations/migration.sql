-- Long deletions (emptying a large trash, deleting a large folder for good, erasing an account)
-- run in batches; this row is their progress and what a retry resumes from after a crash.
-- Expand-only: the previous release never reads it.
CREATE TABLE "bulk_operations" (
    "id" TEXT NOT NULL,
    "owner_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "target_kind" TEXT,
    "target_id" TEXT,
    "target_name" TEXT,
    "cutoff" TIMESTAMP(3) NOT NULL,
    "total" INTEGER NOT NULL,
    "done" INTEGER NOT NULL DEFAULT 0,
    "files" INTEGER NOT NULL DEFAULT 0,
    "folders" INTEGER NOT NULL DEFAULT 0,
    "rescued" INTEGER NOT NULL DEFAULT 0,
    "objects" INTEGER NOT NULL DEFAULT 0,
    "roots" INTEGER NOT NULL DEFAULT 0,
    "audit_actor" JSONB NOT NULL,
    "audit_details" JSONB,
    "actor_id" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMP(3),
    CONSTRAINT "bulk_operations_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "bulk_operations_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE INDEX "bulk_operations_owner_id_finished_at_idx" ON "bulk_operations" ("owner_id", "finished_at");
