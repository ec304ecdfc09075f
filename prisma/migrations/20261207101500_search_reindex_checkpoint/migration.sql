-- Where `coffer search-reindex` stopped, so an interrupted run goes on from there instead of
-- starting over. Expand-only: a new table, which the previous release does not know.
CREATE TABLE "search_reindex_checkpoints" (
    "name" TEXT NOT NULL,
    "phase" TEXT NOT NULL,
    "last_id" TEXT,
    "files" INTEGER NOT NULL DEFAULT 0,
    "folders" INTEGER NOT NULL DEFAULT 0,
    "started_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "search_reindex_checkpoints_pkey" PRIMARY KEY ("name")
);
