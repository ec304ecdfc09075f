-- Retention rules (issue 20 §2, docs/retention-and-holds.md, decision 0045): an administrator's rule
-- on a folder (its subtree, including what is moved in later), either "keep at least N days"
-- (deleting, trashing or moving out a file younger than that is refused) or "delete after N days"
-- (a periodic job deletes files older than that for good). A file's age is counted from its
-- created_at (when it was first stored; new content does not reset it).
-- The keep rules use the legal holds' machinery: the domain refuses first (files/holds.server.ts),
-- the triggers below are the net under it. Expand only: a new table, functions and triggers. The
-- previous release never adds a rule, so the triggers' fast path lets everything through as before.
CREATE TABLE "retention_rules" (
    "id" TEXT NOT NULL,
    -- 'folder' for now; text, not an enum, so a label target needs no type change.
    "target_type" TEXT NOT NULL,
    "target_id" TEXT NOT NULL,
    -- The target's owner: listings, and the account check.
    "owner_id" TEXT NOT NULL,
    -- 'keep_at_least' or 'delete_after'.
    "kind" TEXT NOT NULL,
    "days" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by_id" TEXT,
    "created_by_label" TEXT NOT NULL,
    "removed_at" TIMESTAMP(3),
    "removed_by_id" TEXT,
    "removed_by_label" TEXT,
    "remove_reason" TEXT,

    CONSTRAINT "retention_rules_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "retention_rules_target_type_check" CHECK ("target_type" IN ('folder')),
    CONSTRAINT "retention_rules_kind_check" CHECK ("kind" IN ('keep_at_least', 'delete_after')),
    CONSTRAINT "retention_rules_days_check" CHECK ("days" > 0 AND "days" <= 36600),
    CONSTRAINT "retention_rules_remove_check" CHECK (("removed_at" IS NULL) = ("remove_reason" IS NULL))
);

-- No foreign keys, as legal_holds: the record outlives what it covered.
CREATE INDEX "retention_rules_active_target_idx" ON "retention_rules" ("target_id") WHERE "removed_at" IS NULL;
CREATE INDEX "retention_rules_active_owner_idx" ON "retention_rules" ("owner_id") WHERE "removed_at" IS NULL;
CREATE INDEX "retention_rules_created_at_idx" ON "retention_rules" ("created_at");

-- Until when active keep rules keep a file in p_folder created at p_created (NULL: none covers it).
-- Timestamps are UTC without a zone, as Prisma writes them.
CREATE FUNCTION retention_kept_until(p_folder TEXT, p_created TIMESTAMP(3)) RETURNS TIMESTAMP(3) LANGUAGE sql STABLE AS $$
  SELECT max(p_created + make_interval(days => r.days)) FROM retention_rules r
  WHERE r.removed_at IS NULL AND r.kind = 'keep_at_least' AND r.target_type = 'folder'
    AND r.target_id IN (SELECT id FROM legal_hold_folder_chain(p_folder))
$$;

-- Whether a keep rule still keeps that file now.
CREATE FUNCTION retention_keeps(p_folder TEXT, p_created TIMESTAMP(3)) RETURNS BOOLEAN LANGUAGE sql STABLE AS $$
  SELECT COALESCE(retention_kept_until(p_folder, p_created) > (now() AT TIME ZONE 'UTC'), FALSE)
$$;

-- Until when a keep rule keeps anything in a folder's subtree (deleting the folder would delete it);
-- NULL when nothing there is kept any more.
CREATE FUNCTION retention_kept_within(p_folder TEXT) RETURNS TIMESTAMP(3) LANGUAGE plpgsql STABLE AS $$
DECLARE
  until TIMESTAMP(3);
BEGIN
  -- Without keep rules (most installations) this returns at once: purges call it per folder.
  IF NOT EXISTS (SELECT 1 FROM retention_rules WHERE removed_at IS NULL AND kind = 'keep_at_least') THEN
    RETURN NULL;
  END IF;
  WITH RECURSIVE down AS (
    SELECT f.id, 1 AS depth FROM folders f WHERE f.id = p_folder
    UNION ALL
    SELECT f.id, down.depth + 1 FROM folders f JOIN down ON f.parent_id = down.id WHERE down.depth < 10000
  )
  SELECT max(u.until) INTO until FROM (
    SELECT retention_kept_until(fi.folder_id, fi.created_at) AS until FROM files fi JOIN down ON fi.folder_id = down.id
  ) u WHERE u.until > (now() AT TIME ZONE 'UTC');
  RETURN until;
END
$$;

CREATE FUNCTION retention_refuse_files() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
  old_until TIMESTAMP(3);
  new_until TIMESTAMP(3);
BEGIN
  IF NOT EXISTS (SELECT 1 FROM retention_rules WHERE removed_at IS NULL AND kind = 'keep_at_least') THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  old_until := retention_kept_until(OLD.folder_id, OLD.created_at);
  IF old_until IS NULL OR old_until <= (now() AT TIME ZONE 'UTC') THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  IF TG_OP = 'DELETE' OR (OLD.trashed_at IS NULL AND NEW.trashed_at IS NOT NULL) THEN
    RAISE EXCEPTION 'coffer_retention: file % is kept until %', OLD.id, to_char(old_until, 'YYYY-MM-DD') USING ERRCODE = 'RT001';
  END IF;
  IF NEW.folder_id IS DISTINCT FROM OLD.folder_id THEN
    -- Moving it where no rule keeps it as long would end the rule's hold on it.
    new_until := retention_kept_until(NEW.folder_id, OLD.created_at);
    IF new_until IS NULL OR new_until < old_until THEN
      RAISE EXCEPTION 'coffer_retention: file % is kept until %', OLD.id, to_char(old_until, 'YYYY-MM-DD') USING ERRCODE = 'RT001';
    END IF;
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

-- A folder is never kept itself (a rule counts files' age), but deleting one deletes the kept files
-- in it, and moving one out of a rule's folder takes them along. Its delete is checked on the
-- folder row: in a cascade the files' own triggers may no longer see the folders above them.
-- Trashing reaches the files, whose trigger refuses.
CREATE FUNCTION retention_refuse_folders() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
  until TIMESTAMP(3);
BEGIN
  IF NOT EXISTS (SELECT 1 FROM retention_rules WHERE removed_at IS NULL AND kind = 'keep_at_least') THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  IF TG_OP = 'DELETE' THEN
    until := retention_kept_within(OLD.id);
    IF until IS NOT NULL THEN
      RAISE EXCEPTION 'coffer_retention: folder % holds files kept until %', OLD.id, to_char(until, 'YYYY-MM-DD') USING ERRCODE = 'RT001';
    END IF;
    RETURN OLD;
  END IF;
  IF NEW.parent_id IS DISTINCT FROM OLD.parent_id AND EXISTS (
    SELECT 1 FROM retention_rules r
    WHERE r.removed_at IS NULL AND r.kind = 'keep_at_least' AND r.target_type = 'folder'
      AND r.target_id IN (SELECT id FROM legal_hold_folder_chain(OLD.parent_id))
      AND r.target_id NOT IN (SELECT id FROM legal_hold_folder_chain(NEW.parent_id))
  ) THEN
    until := retention_kept_within(OLD.id);
    IF until IS NOT NULL THEN
      RAISE EXCEPTION 'coffer_retention: folder % holds files kept until %', OLD.id, to_char(until, 'YYYY-MM-DD') USING ERRCODE = 'RT001';
    END IF;
  END IF;
  RETURN NEW;
END
$$;

-- A kept file's versions are kept with it (as a held file's are).
CREATE FUNCTION retention_refuse_versions() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
  until TIMESTAMP(3);
BEGIN
  IF NOT EXISTS (SELECT 1 FROM retention_rules WHERE removed_at IS NULL AND kind = 'keep_at_least') THEN
    RETURN OLD;
  END IF;
  SELECT retention_kept_until(f.folder_id, f.created_at) INTO until FROM files f WHERE f.id = OLD.file_id;
  IF until IS NOT NULL AND until > (now() AT TIME ZONE 'UTC') THEN
    RAISE EXCEPTION 'coffer_retention: a version of file % is kept until %', OLD.file_id, to_char(until, 'YYYY-MM-DD') USING ERRCODE = 'RT001';
  END IF;
  RETURN OLD;
END
$$;

CREATE TRIGGER retention_files_delete BEFORE DELETE ON files FOR EACH ROW EXECUTE FUNCTION retention_refuse_files();
CREATE TRIGGER retention_files_update BEFORE UPDATE OF trashed_at, folder_id ON files FOR EACH ROW EXECUTE FUNCTION retention_refuse_files();
CREATE TRIGGER retention_folders_delete BEFORE DELETE ON folders FOR EACH ROW EXECUTE FUNCTION retention_refuse_folders();
CREATE TRIGGER retention_folders_update BEFORE UPDATE OF parent_id ON folders FOR EACH ROW EXECUTE FUNCTION retention_refuse_folders();
CREATE TRIGGER retention_versions_delete BEFORE DELETE ON file_versions FOR EACH ROW EXECUTE FUNCTION retention_refuse_versions();
