-- Search documents whose index write failed while the search server was down; the search-resync
-- job writes them again from the database. Expand-only: the previous release never reads it.
CREATE TABLE "search_outbox" (
    "document_id" TEXT NOT NULL,
    "queued_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "search_outbox_pkey" PRIMARY KEY ("document_id")
);

CREATE INDEX "search_outbox_queued_at_idx" ON "search_outbox" ("queued_at");
