-- Daily rollups behind /admin/analytics. Expand only: new tables, which the previous release
-- never reads, so it keeps working on this schema.
--
-- usage_daily: instance-wide figures per UTC day. Counters (uploads, downloads and their bytes)
-- are added to by each instance every minute; snapshots (stored bytes by file type) are replaced
-- by the hourly job, so a day's last snapshot is that day's value.
CREATE TABLE "usage_daily" (
  "day" DATE NOT NULL,
  "metric" TEXT NOT NULL,
  "dimension" TEXT NOT NULL DEFAULT '',
  "value" BIGINT NOT NULL DEFAULT 0,
  CONSTRAINT "usage_daily_pkey" PRIMARY KEY ("day", "metric", "dimension")
);

-- Per account and UTC day: whether it was active, and the bytes it stored (the hourly snapshot).
-- Personal data, so it goes with the account.
CREATE TABLE "user_usage_daily" (
  "day" DATE NOT NULL,
  "user_id" TEXT NOT NULL,
  "active" BOOLEAN NOT NULL DEFAULT false,
  "stored_bytes" BIGINT NOT NULL DEFAULT 0,
  CONSTRAINT "user_usage_daily_pkey" PRIMARY KEY ("day", "user_id"),
  CONSTRAINT "user_usage_daily_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE INDEX "user_usage_daily_user_id_idx" ON "user_usage_daily" ("user_id");
