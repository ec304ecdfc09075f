-- Backup runs: one row per backup, verification or prune, whichever instance or command ran it,
-- so /admin and the metrics read the same history. Expand only: a new table, which the previous
-- release never reads, so it keeps working on this schema.
--
-- A run is inserted as 'running' and updated once to 'succeeded' or 'failed'. heartbeat_at is
-- refreshed while it runs: a 'running' row whose heartbeat stopped belongs to a process that died
-- (kill -9), which the next run records as failed.
CREATE TABLE "backup_runs" (
  "id" TEXT NOT NULL,
  "kind" TEXT NOT NULL,
  "status" TEXT NOT NULL DEFAULT 'running',
  "started_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "finished_at" TIMESTAMP(3),
  "heartbeat_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "bytes" BIGINT,
  "objects_copied" INTEGER,
  "backups_retained" INTEGER,
  "backup_id" TEXT,
  "error" TEXT,
  CONSTRAINT "backup_runs_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "backup_runs_kind_check" CHECK ("kind" IN ('backup', 'verify', 'prune')),
  CONSTRAINT "backup_runs_status_check" CHECK ("status" IN ('running', 'succeeded', 'failed'))
);

CREATE INDEX "backup_runs_kind_started_at_idx" ON "backup_runs" ("kind", "started_at");
