-- Remembers which content could not be thumbnailed, so the periodic backfill skips it.
ALTER TABLE "files" ADD COLUMN "thumbnail_failed_key" TEXT;
