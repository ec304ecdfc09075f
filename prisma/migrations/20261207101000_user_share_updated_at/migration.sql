-- A share with another account gets the version stamp share links already have, so an API change
-- sent with If-Match can claim the version it read (compare-and-swap, as for files and folders).
-- Expand-only: a new column with a default, which the previous release neither reads nor writes.
ALTER TABLE "user_shares" ADD COLUMN "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;
