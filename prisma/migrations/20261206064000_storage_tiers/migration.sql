-- Cold tier (docs/storage-tiers.md). Expand only: nullable columns the previous release never
-- reads or writes, so it keeps working on this schema.
--
-- last_read_at: when the content was last downloaded or previewed, written at most once a day per
-- content; null means not read since this release, and the content's own date counts instead.
-- cold_at: when the content's object was moved to the cold tier; cleared when a read brings it back.
ALTER TABLE "files" ADD COLUMN "last_read_at" TIMESTAMP(3), ADD COLUMN "cold_at" TIMESTAMP(3);
ALTER TABLE "file_versions" ADD COLUMN "last_read_at" TIMESTAMP(3), ADD COLUMN "cold_at" TIMESTAMP(3);
