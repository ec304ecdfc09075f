-- Which failures for good of the job queue administrators were told of (job.failed, decision
-- 0038): one row per (job, failure), so a rerun of the minute job tells nobody twice, and a job
-- retried from /admin/jobs that fails again is told again. Expand only: a new table the previous
-- release does not know.
CREATE TABLE "job_failure_notices" (
    "job_id" TEXT NOT NULL,
    "failed_at" TIMESTAMP(3) NOT NULL,
    "queue" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "job_failure_notices_pkey" PRIMARY KEY ("job_id", "failed_at")
);

CREATE INDEX "job_failure_notices_created_at_idx" ON "job_failure_notices"("created_at");
