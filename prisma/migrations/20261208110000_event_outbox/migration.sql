-- The event outbox (docs/decisions/0032-event-outbox.md): one row per domain change, written in the
-- change's transaction by recordActivity; the dispatcher fans each out to its sinks in seq order.
CREATE TABLE "events" (
    "id" TEXT NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "kind" TEXT NOT NULL,
    -- No foreign keys to users: an event outlives an erased account and must not block its removal.
    "actor_user_id" TEXT,
    "owner_user_id" TEXT,
    "subject_type" TEXT NOT NULL,
    "subject_id" TEXT NOT NULL,
    -- Per-resource ordering: events of one key are delivered in seq order.
    "resource_key" TEXT NOT NULL,
    "payload" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- Set when every sink has taken the event (in the transaction that records the last delivery).
    "dispatched_at" TIMESTAMP(3),
    CONSTRAINT "events_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "events_seq_key" ON "events"("seq");
-- What the dispatcher claims: the undelivered events, oldest first.
CREATE INDEX "events_undispatched_idx" ON "events"("seq") WHERE "dispatched_at" IS NULL;
CREATE INDEX "events_owner_user_id_created_at_idx" ON "events"("owner_user_id", "created_at");

-- One row per event and sink once the sink has it: the unique key makes a redelivery a no-op.
CREATE TABLE "event_deliveries" (
    "event_id" TEXT NOT NULL,
    "sink" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL DEFAULT 1,
    "status" TEXT NOT NULL,
    "delivered_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "event_deliveries_pkey" PRIMARY KEY ("event_id", "sink"),
    CONSTRAINT "event_deliveries_event_id_fkey" FOREIGN KEY ("event_id") REFERENCES "events"("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- The in-app sink: what /notifications lists.
CREATE TABLE "notifications" (
    "id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "event_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "read_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "notifications_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "notifications_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "notifications_event_id_fkey" FOREIGN KEY ("event_id") REFERENCES "events"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "notifications_user_id_event_id_key" ON "notifications"("user_id", "event_id");
CREATE INDEX "notifications_user_id_created_at_id_idx" ON "notifications"("user_id", "created_at", "id");
CREATE INDEX "notifications_event_id_idx" ON "notifications"("event_id");
-- The bell's unread count.
CREATE INDEX "notifications_unread_idx" ON "notifications"("user_id") WHERE "read_at" IS NULL;
