-- user.quota_threshold when the default quota changes (issue 19, docs/events.md): the trigger of
-- 20261212020100 sees an account's own quota change (UPDATE OF quota_bytes) but not a change of
-- the settings' default, which every account without a quota of its own counts against. This
-- trigger on the settings row of the default checks those accounts again in the change's
-- transaction, with the same rule: an account now past a higher level than it was told of gets one
-- event at the level reached; quota_notified_level follows the level reached, down too (a larger
-- default), so a later crossing is told again. Setting quota_notified_level alone does not fire the
-- users trigger (it is UPDATE OF storage_used, quota_bytes).
-- Expand only: a trigger that only adds outbox rows and keeps a column the previous release has.
CREATE FUNCTION "quota_default_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  quota BIGINT;
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD."key" <> 'defaultQuotaBytes' THEN RETURN NULL; END IF;
  ELSE
    IF NEW."key" <> 'defaultQuotaBytes' THEN RETURN NULL; END IF;
    IF TG_OP = 'UPDATE' AND OLD."value" IS NOT DISTINCT FROM NEW."value" THEN RETURN NULL; END IF;
    quota := CASE WHEN jsonb_typeof(NEW."value") = 'number' THEN (NEW."value" #>> '{}')::numeric::bigint END;
  END IF;
  IF quota IS NOT NULL AND quota <= 0 THEN quota := NULL; END IF;
  WITH "levels" AS (
    SELECT u."id", u."storage_used", u."quota_notified_level" AS "told",
      CASE
        WHEN quota IS NULL THEN 0
        WHEN u."storage_used" >= quota THEN 100
        WHEN u."storage_used" * 100 >= quota * 95 THEN 95
        WHEN u."storage_used" * 100 >= quota * 80 THEN 80
        ELSE 0 END AS "reached"
    FROM "users" u WHERE u."quota_bytes" IS NULL
  ), "changed" AS (
    UPDATE "users" u SET "quota_notified_level" = l."reached" FROM "levels" l
    WHERE u."id" = l."id" AND l."reached" <> l."told"
    RETURNING u."id", l."storage_used", l."reached", l."told"
  )
  INSERT INTO "events" ("id", "kind", "actor_user_id", "owner_user_id", "subject_type", "subject_id", "resource_key", "payload")
  SELECT 'q' || replace(gen_random_uuid()::text, '-', ''), 'user.quota_threshold', NULL, c."id", 'user', c."id", 'user:' || c."id",
         jsonb_build_object('level', c."reached", 'usedBytes', c."storage_used", 'quotaBytes', quota)
  FROM "changed" c WHERE c."reached" > c."told";
  RETURN NULL;
END $$;

CREATE TRIGGER "quota_default_changed" AFTER INSERT OR UPDATE OR DELETE ON "settings"
  FOR EACH ROW EXECUTE FUNCTION "quota_default_changed"();
