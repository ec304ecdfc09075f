-- Objects whose deletion waits for a running backup (its rows may still name them); the
-- delete-deferred-objects job deletes them once no backup runs, counting references again.
-- Expand-only: the previous release never reads it.
CREATE TABLE "deferred_object_deletions" (
    "key" TEXT NOT NULL,
    "deferred_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "deferred_object_deletions_pkey" PRIMARY KEY ("key")
);

CREATE INDEX "deferred_object_deletions_deferred_at_idx" ON "deferred_object_deletions" ("deferred_at");
