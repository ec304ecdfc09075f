-- A maintained storage-usage counter per account, so a quota check reads one row instead of
-- summing every file. It counts what the quota counted before: every file of the owner (trash
-- included) and every earlier version of those files; uploads in progress are added at check time.
--
-- Triggers keep it in the transaction of each change, so no code path (nor a foreign-key
-- cascade: a purged folder removes its files, a removed file its versions) can forget it.
ALTER TABLE "users" ADD COLUMN "storage_used" BIGINT NOT NULL DEFAULT 0;

-- New files (uploads, copies): one update per owner and statement.
CREATE FUNCTION "storage_used_files_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "users" u SET "storage_used" = u."storage_used" + added.bytes
  FROM (SELECT "owner_id", SUM("size") AS bytes FROM new_files GROUP BY "owner_id") added
  WHERE u."id" = added."owner_id";
  RETURN NULL;
END $$;
CREATE TRIGGER "storage_used_files_inserted" AFTER INSERT ON "files"
  REFERENCING NEW TABLE AS new_files FOR EACH STATEMENT EXECUTE FUNCTION "storage_used_files_inserted"();

-- New content (a replaced file) or a new owner (a move into someone else's folder, files given
-- away): the file's versions move with it. One statement, so the owners' rows lock in key order.
CREATE FUNCTION "storage_used_file_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  versions BIGINT := COALESCE((SELECT SUM("size") FROM "file_versions" WHERE "file_id" = NEW."id"), 0);
BEGIN
  UPDATE "users" SET "storage_used" = "storage_used"
    - CASE WHEN "id" = OLD."owner_id" THEN OLD."size" + versions ELSE 0 END
    + CASE WHEN "id" = NEW."owner_id" THEN NEW."size" + versions ELSE 0 END
  WHERE "id" IN (OLD."owner_id", NEW."owner_id");
  RETURN NULL;
END $$;
CREATE TRIGGER "storage_used_file_changed" AFTER UPDATE OF "size", "owner_id" ON "files"
  FOR EACH ROW WHEN (OLD."size" IS DISTINCT FROM NEW."size" OR OLD."owner_id" IS DISTINCT FROM NEW."owner_id")
  EXECUTE FUNCTION "storage_used_file_changed"();

-- A file deleted for good, with its versions: counted before the row goes, while its versions
-- (which the cascade removes afterwards, when their file is no longer there to name the owner)
-- still exist.
CREATE FUNCTION "storage_used_file_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "users" SET "storage_used" = "storage_used" - OLD."size"
    - COALESCE((SELECT SUM("size") FROM "file_versions" WHERE "file_id" = OLD."id"), 0)
  WHERE "id" = OLD."owner_id";
  RETURN OLD;
END $$;
CREATE TRIGGER "storage_used_file_deleted" BEFORE DELETE ON "files"
  FOR EACH ROW EXECUTE FUNCTION "storage_used_file_deleted"();

-- Versions count for their file's owner.
CREATE FUNCTION "storage_used_versions_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "users" u SET "storage_used" = u."storage_used" + added.bytes
  FROM (SELECT f."owner_id", SUM(v."size") AS bytes FROM new_versions v JOIN "files" f ON f."id" = v."file_id" GROUP BY f."owner_id") added
  WHERE u."id" = added."owner_id";
  RETURN NULL;
END $$;
CREATE TRIGGER "storage_used_versions_inserted" AFTER INSERT ON "file_versions"
  REFERENCING NEW TABLE AS new_versions FOR EACH STATEMENT EXECUTE FUNCTION "storage_used_versions_inserted"();

-- Versions pruned or deleted while their file stays. Those removed with their file are no longer
-- joined here: storage_used_file_deleted counted them.
CREATE FUNCTION "storage_used_versions_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "users" u SET "storage_used" = u."storage_used" - removed.bytes
  FROM (SELECT f."owner_id", SUM(v."size") AS bytes FROM old_versions v JOIN "files" f ON f."id" = v."file_id" GROUP BY f."owner_id") removed
  WHERE u."id" = removed."owner_id";
  RETURN NULL;
END $$;
CREATE TRIGGER "storage_used_versions_deleted" AFTER DELETE ON "file_versions"
  REFERENCING OLD TABLE AS old_versions FOR EACH STATEMENT EXECUTE FUNCTION "storage_used_versions_deleted"();

-- Versions handed from one file to another (a move that replaces a file keeps the moved file's
-- history), or resized.
CREATE FUNCTION "storage_used_version_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "users" SET "storage_used" = "storage_used" - OLD."size"
  WHERE "id" = (SELECT "owner_id" FROM "files" WHERE "id" = OLD."file_id");
  UPDATE "users" SET "storage_used" = "storage_used" + NEW."size"
  WHERE "id" = (SELECT "owner_id" FROM "files" WHERE "id" = NEW."file_id");
  RETURN NULL;
END $$;
CREATE TRIGGER "storage_used_version_changed" AFTER UPDATE OF "size", "file_id" ON "file_versions"
  FOR EACH ROW WHEN (OLD."size" IS DISTINCT FROM NEW."size" OR OLD."file_id" IS DISTINCT FROM NEW."file_id")
  EXECUTE FUNCTION "storage_used_version_changed"();

-- Existing accounts start from what the quota summed until now.
UPDATE "users" u SET "storage_used" =
    COALESCE((SELECT SUM(f."size") FROM "files" f WHERE f."owner_id" = u."id"), 0)
  + COALESCE((SELECT SUM(v."size") FROM "file_versions" v JOIN "files" f ON f."id" = v."file_id" WHERE f."owner_id" = u."id"), 0);
