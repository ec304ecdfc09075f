-- Keyset pages of a folder sorted by size, modified or type break ties by name and id; with
-- those in the index a page is read in order instead of re-sorting every file of equal value.
-- Only live files are listed, so the indexes skip the trash. (Prisma cannot describe partial
-- indexes; the schema keeps its plain ones.)
CREATE INDEX "files_live_size_listing" ON "files"("folder_id", "size", "name_key", "id") WHERE "trashed_at" IS NULL;
CREATE INDEX "files_live_updated_listing" ON "files"("folder_id", "updated_at", "name_key", "id") WHERE "trashed_at" IS NULL;
CREATE INDEX "files_live_type_listing" ON "files"("folder_id", "mime_type", "name_key", "id") WHERE "trashed_at" IS NULL;
