-- Audit retention: the hourly purge may delete events older than 30 days (the shortest retention
-- an administrator can set), and only in a transaction that declares itself the purge. Nothing
-- else can delete a row, and nothing can delete a recent one. The previous release never deletes,
-- so it works on this function unchanged.
CREATE OR REPLACE FUNCTION "audit_events_append_only"() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF current_setting('coffer.audit_retention_purge', true) = 'on' AND OLD."created_at" < now() - interval '30 days' THEN
      RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: rows cannot be deleted';
  END IF;
  IF NEW."id" <> OLD."id" OR NEW."created_at" <> OLD."created_at" OR NEW."action" <> OLD."action"
     OR NEW."outcome" <> OLD."outcome" OR NEW."actor_id" IS DISTINCT FROM OLD."actor_id"
     OR NEW."target_type" IS DISTINCT FROM OLD."target_type" OR NEW."target_id" IS DISTINCT FROM OLD."target_id" THEN
    RAISE EXCEPTION 'audit_events is append-only: only the actor''s personal data can be pseudonymised';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
