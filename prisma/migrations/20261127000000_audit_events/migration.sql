-- CreateTable
CREATE TABLE "audit_events" (
    "id" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "action" TEXT NOT NULL,
    "outcome" TEXT NOT NULL DEFAULT 'success',
    "actor_id" TEXT,
    "actor_label" TEXT NOT NULL,
    "ip" TEXT,
    "user_agent" TEXT,
    "target_type" TEXT,
    "target_id" TEXT,
    "details" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "audit_events_created_at_idx" ON "audit_events"("created_at");
CREATE INDEX "audit_events_actor_id_created_at_idx" ON "audit_events"("actor_id", "created_at");
CREATE INDEX "audit_events_action_created_at_idx" ON "audit_events"("action", "created_at");

-- The log is append-only: rows are never deleted, and the only change allowed is pseudonymising
-- the actor (label, IP, user agent, details) when an account is deleted.
CREATE FUNCTION "audit_events_append_only"() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
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

CREATE TRIGGER "audit_events_append_only"
  BEFORE UPDATE OR DELETE ON "audit_events"
  FOR EACH ROW EXECUTE FUNCTION "audit_events_append_only"();
