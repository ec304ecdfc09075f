-- user.quota_threshold (docs/events.md, decision 0038): an event when an account's stored bytes
-- cross 80, 95 or 100 % of its quota upwards, once per crossing. storage_used is kept by the
-- triggers of the storage_usage migration in the transaction of every change that adds bytes
-- (uploads by tus, form and WebDAV, copies, versions, restores, handed-over files), so a trigger
-- on it sees every path and commits the event with the change. quota_notified_level is the
-- highest level told and still reached: it falls with the usage, so a later crossing is told
-- again. The quota is the account's, or the default of the settings.
-- Expand only: a column with a default the previous release does not read, and a trigger that
-- only adds outbox rows (which that release's dispatcher delivers to nobody).
ALTER TABLE "users" ADD COLUMN "quota_notified_level" INTEGER NOT NULL DEFAULT 0;

CREATE FUNCTION "quota_threshold_crossed"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  quota BIGINT;
  reached INTEGER;
BEGIN
  quota := COALESCE(NEW."quota_bytes", (
    SELECT CASE WHEN jsonb_typeof(s."value") = 'number' THEN (s."value" #>> '{}')::numeric::bigint END
    FROM "settings" s WHERE s."key" = 'defaultQuotaBytes'));
  IF quota IS NULL OR quota <= 0 THEN
    NEW."quota_notified_level" := 0;
    RETURN NEW;
  END IF;
  reached := CASE
    WHEN NEW."storage_used" >= quota THEN 100
    WHEN NEW."storage_used" * 100 >= quota * 95 THEN 95
    WHEN NEW."storage_used" * 100 >= quota * 80 THEN 80
    ELSE 0 END;
  IF reached > OLD."quota_notified_level" THEN
    INSERT INTO "events" ("id", "kind", "actor_user_id", "owner_user_id", "subject_type", "subject_id", "resource_key", "payload")
    VALUES ('q' || replace(gen_random_uuid()::text, '-', ''), 'user.quota_threshold', NULL, NEW."id", 'user', NEW."id",
            'user:' || NEW."id",
            jsonb_build_object('level', reached, 'usedBytes', NEW."storage_used", 'quotaBytes', quota));
  END IF;
  NEW."quota_notified_level" := reached;
  RETURN NEW;
END $$;

CREATE TRIGGER "quota_threshold_crossed" BEFORE UPDATE OF "storage_used", "quota_bytes" ON "users"
  FOR EACH ROW
  WHEN (OLD."storage_used" IS DISTINCT FROM NEW."storage_used" OR OLD."quota_bytes" IS DISTINCT FROM NEW."quota_bytes")
  EXECUTE FUNCTION "quota_threshold_crossed"();
