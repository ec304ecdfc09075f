-- Deduplication: files and versions with the same contents may name one object, so a storage key
-- is no longer unique. An object's reference count is the number of rows that name it (files,
-- versions, thumbnails); it is counted when an object is about to be deleted, so it cannot drift.
-- The previous release only ever writes fresh keys, so it works with plain indexes unchanged.
DROP INDEX "files_storage_key_key";
CREATE INDEX "files_storage_key_idx" ON "files"("storage_key");

DROP INDEX "file_versions_storage_key_key";
CREATE INDEX "file_versions_storage_key_idx" ON "file_versions"("storage_key");

-- A thumbnail is shared by the files sharing its source object: its references are counted too.
CREATE INDEX "files_thumbnail_key_idx" ON "files"("thumbnail_key");

-- Finding an earlier copy of contents whose SHA-256 just became known.
CREATE INDEX "files_sha256_idx" ON "files"("sha256");
CREATE INDEX "file_versions_sha256_idx" ON "file_versions"("sha256");
