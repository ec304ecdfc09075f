-- Legal holds (issue 20 §2, docs/retention-and-holds.md, decision 0041): an administrator's hold
-- on a user (everything they own), a folder (its subtree, including what is moved in later) or a
-- file. Nothing a hold covers may be trashed, deleted, purged or moved out of a held folder while
-- any hold on it is active. The domain refuses first with a clear message (holds.server.ts); the
-- triggers below are the net under it, so no path (a job, a cascade, a new code path) can delete a
-- held row. Expand only: a new table, functions and triggers. The previous release never places a
-- hold, so its triggers' fast path (no active hold) lets everything through as before.
CREATE TABLE "legal_holds" (
    "id" TEXT NOT NULL,
    -- 'user', 'folder' or 'file'; text, not an enum, so later targets (a label) need no type change.
    "target_type" TEXT NOT NULL,
    "target_id" TEXT NOT NULL,
    -- The owner of the target (the user for a user hold): listings and the account check.
    "owner_id" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "placed_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "placed_by_id" TEXT,
    "placed_by_label" TEXT NOT NULL,
    "released_at" TIMESTAMP(3),
    "released_by_id" TEXT,
    "released_by_label" TEXT,
    "release_reason" TEXT,

    CONSTRAINT "legal_holds_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "legal_holds_target_type_check" CHECK ("target_type" IN ('user', 'folder', 'file')),
    CONSTRAINT "legal_holds_release_check" CHECK (("released_at" IS NULL) = ("release_reason" IS NULL))
);

-- No foreign keys: a hold (and its record once released) outlives nothing it covers, and the
-- triggers keep what it covers from going while it is active.
CREATE INDEX "legal_holds_active_target_idx" ON "legal_holds" ("target_id") WHERE "released_at" IS NULL;
CREATE INDEX "legal_holds_active_owner_idx" ON "legal_holds" ("owner_id") WHERE "released_at" IS NULL;
CREATE INDEX "legal_holds_placed_at_idx" ON "legal_holds" ("placed_at");

-- The folder and its ancestors (a folder hold covers everything below it).
CREATE FUNCTION legal_hold_folder_chain(p_folder TEXT) RETURNS TABLE (id TEXT) LANGUAGE sql STABLE AS $$
  WITH RECURSIVE up AS (
    SELECT f.id, f.parent_id, 1 AS depth FROM folders f WHERE f.id = p_folder
    UNION ALL
    SELECT f.id, f.parent_id, up.depth + 1 FROM folders f JOIN up ON f.id = up.parent_id WHERE up.depth < 10000
  )
  SELECT up.id FROM up
$$;

-- Whether an active hold covers an item: on its owner, on the file itself, or on its folder or
-- any folder above (p_folder is the file's folder, or the folder itself).
CREATE FUNCTION legal_hold_covers(p_owner TEXT, p_folder TEXT, p_file TEXT) RETURNS BOOLEAN LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM legal_holds h
    WHERE h.released_at IS NULL AND (
      (h.target_type = 'user' AND h.target_id = p_owner)
      OR (h.target_type = 'file' AND h.target_id = p_file)
      OR (h.target_type = 'folder' AND h.target_id IN (SELECT id FROM legal_hold_folder_chain(p_folder)))
    )
  )
$$;

-- Whether an active hold covers anything inside a folder's subtree (deleting the folder would
-- delete it): a held folder or file below, or the folder's owner held.
CREATE FUNCTION legal_hold_within(p_folder TEXT) RETURNS BOOLEAN LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM legal_holds h
    WHERE h.released_at IS NULL AND (
      (h.target_type = 'user' AND h.target_id = (SELECT owner_id FROM folders WHERE id = p_folder))
      OR (h.target_type = 'folder' AND p_folder IN (SELECT id FROM legal_hold_folder_chain(h.target_id)))
      OR (h.target_type = 'file' AND p_folder IN (
        SELECT id FROM legal_hold_folder_chain((SELECT folder_id FROM files WHERE id = h.target_id))))
    )
  )
$$;

CREATE FUNCTION legal_hold_refuse_files() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM legal_holds WHERE released_at IS NULL) THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  IF TG_OP = 'DELETE' OR (OLD.trashed_at IS NULL AND NEW.trashed_at IS NOT NULL) THEN
    IF legal_hold_covers(OLD.owner_id, OLD.folder_id, OLD.id) THEN
      RAISE EXCEPTION 'coffer_legal_hold: file % is on legal hold', OLD.id USING ERRCODE = 'LH001';
    END IF;
  END IF;
  IF TG_OP = 'UPDATE' AND (NEW.folder_id IS DISTINCT FROM OLD.folder_id OR NEW.owner_id IS DISTINCT FROM OLD.owner_id) THEN
    -- Moving out of a held folder (or to another owner) would end the hold without a release.
    IF EXISTS (
      SELECT 1 FROM legal_holds h
      WHERE h.released_at IS NULL AND (
        (h.target_type = 'folder' AND h.target_id IN (SELECT id FROM legal_hold_folder_chain(OLD.folder_id))
          AND h.target_id NOT IN (SELECT id FROM legal_hold_folder_chain(NEW.folder_id)))
        OR (h.target_type = 'user' AND h.target_id = OLD.owner_id AND NEW.owner_id IS DISTINCT FROM OLD.owner_id)
      )
    ) THEN
      RAISE EXCEPTION 'coffer_legal_hold: file % is on legal hold', OLD.id USING ERRCODE = 'LH001';
    END IF;
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE FUNCTION legal_hold_refuse_folders() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM legal_holds WHERE released_at IS NULL) THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  IF TG_OP = 'DELETE' OR (OLD.trashed_at IS NULL AND NEW.trashed_at IS NOT NULL) THEN
    IF legal_hold_covers(OLD.owner_id, OLD.id, NULL) THEN
      RAISE EXCEPTION 'coffer_legal_hold: folder % is on legal hold', OLD.id USING ERRCODE = 'LH001';
    END IF;
  END IF;
  IF TG_OP = 'UPDATE' AND (NEW.parent_id IS DISTINCT FROM OLD.parent_id OR NEW.owner_id IS DISTINCT FROM OLD.owner_id) THEN
    IF EXISTS (
      SELECT 1 FROM legal_holds h
      WHERE h.released_at IS NULL AND (
        (h.target_type = 'folder' AND h.target_id IN (SELECT id FROM legal_hold_folder_chain(OLD.parent_id))
          AND h.target_id NOT IN (SELECT id FROM legal_hold_folder_chain(NEW.parent_id)))
        OR (h.target_type = 'user' AND h.target_id = OLD.owner_id AND NEW.owner_id IS DISTINCT FROM OLD.owner_id)
      )
    ) THEN
      RAISE EXCEPTION 'coffer_legal_hold: folder % is on legal hold', OLD.id USING ERRCODE = 'LH001';
    END IF;
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

-- Versions are kept while their file is held (a new version may be added: replacing content is allowed).
CREATE FUNCTION legal_hold_refuse_versions() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
  held BOOLEAN;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM legal_holds WHERE released_at IS NULL) THEN
    RETURN OLD;
  END IF;
  SELECT legal_hold_covers(f.owner_id, f.folder_id, f.id) INTO held FROM files f WHERE f.id = OLD.file_id;
  IF held THEN
    RAISE EXCEPTION 'coffer_legal_hold: a version of file % is on legal hold', OLD.file_id USING ERRCODE = 'LH001';
  END IF;
  RETURN OLD;
END
$$;

CREATE FUNCTION legal_hold_refuse_users() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM legal_holds WHERE released_at IS NULL AND owner_id = OLD.id) THEN
    RAISE EXCEPTION 'coffer_legal_hold: user % is on legal hold', OLD.id USING ERRCODE = 'LH001';
  END IF;
  RETURN OLD;
END
$$;

CREATE TRIGGER legal_hold_files_delete BEFORE DELETE ON files FOR EACH ROW EXECUTE FUNCTION legal_hold_refuse_files();
CREATE TRIGGER legal_hold_files_update BEFORE UPDATE OF trashed_at, folder_id, owner_id ON files FOR EACH ROW EXECUTE FUNCTION legal_hold_refuse_files();
CREATE TRIGGER legal_hold_folders_delete BEFORE DELETE ON folders FOR EACH ROW EXECUTE FUNCTION legal_hold_refuse_folders();
CREATE TRIGGER legal_hold_folders_update BEFORE UPDATE OF trashed_at, parent_id, owner_id ON folders FOR EACH ROW EXECUTE FUNCTION legal_hold_refuse_folders();
CREATE TRIGGER legal_hold_versions_delete BEFORE DELETE ON file_versions FOR EACH ROW EXECUTE FUNCTION legal_hold_refuse_versions();
CREATE TRIGGER legal_hold_users_delete BEFORE DELETE ON users FOR EACH ROW EXECUTE FUNCTION legal_hold_refuse_users();
