-- Webhooks (docs/webhooks.md, docs/decisions/0035-webhooks.md): endpoints people register, and
-- one delivery row per (endpoint, event) that the dispatcher's webhook sink writes in its
-- transaction and the delivery job sends after the commit, with retries. Expand only: new tables.
CREATE TABLE "webhooks" (
    "id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    -- 'user': events about what the owner did, owns or was given; 'instance' (administrators): all.
    "scope" TEXT NOT NULL DEFAULT 'user',
    "url" TEXT NOT NULL,
    "event_types" TEXT[] NOT NULL,
    -- whsec_ secret, AES-256-GCM under a key derived from the session secret: shown once.
    "secret_encrypted" TEXT NOT NULL,
    "secret_hint" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    -- Why it was disabled: 'owner' or 'failures' (after a delivery used up its attempts).
    "disabled_reason" TEXT,
    -- Since when deliveries fail (the first failure after a success); null while they succeed.
    "failing_since" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "webhooks_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "webhooks_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "webhooks_user_id_idx" ON "webhooks"("user_id");
-- What the sink looks up for every batch: the enabled endpoints.
CREATE INDEX "webhooks_enabled_idx" ON "webhooks"("scope") WHERE "enabled";

CREATE TABLE "webhook_deliveries" (
    -- Also the webhook-id header: the same for every attempt, so a receiver can drop duplicates.
    "id" TEXT NOT NULL,
    "webhook_id" TEXT NOT NULL,
    "event_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    -- The event's seq and resource_key, copied: the delivery job keeps a resource's order per endpoint by them.
    "event_seq" BIGINT NOT NULL,
    "resource_key" TEXT NOT NULL,
    -- 'pending' (due at next_attempt_at), 'sending' (claimed until locked_until), 'delivered', 'failed'.
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "locked_until" TIMESTAMP(3),
    -- The last attempt: HTTP status (null: no answer), its duration, an error or a capped response excerpt.
    "response_status" INTEGER,
    "duration_ms" INTEGER,
    "error" TEXT,
    "response_excerpt" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_attempt_at" TIMESTAMP(3),
    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "webhook_deliveries_webhook_id_fkey" FOREIGN KEY ("webhook_id") REFERENCES "webhooks"("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "webhook_deliveries_event_id_fkey" FOREIGN KEY ("event_id") REFERENCES "events"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
-- One delivery per endpoint and event: a redelivered dispatcher batch adds nothing.
CREATE UNIQUE INDEX "webhook_deliveries_webhook_id_event_id_key" ON "webhook_deliveries"("webhook_id", "event_id");
-- The settings page's recent deliveries.
CREATE INDEX "webhook_deliveries_webhook_id_created_at_idx" ON "webhook_deliveries"("webhook_id", "created_at");
CREATE INDEX "webhook_deliveries_event_id_idx" ON "webhook_deliveries"("event_id");
-- What the delivery job claims: the unfinished ones, in event order; and whether an earlier
-- event of the same resource is still unfinished for the endpoint (then a delivery waits).
CREATE INDEX "webhook_deliveries_open_idx" ON "webhook_deliveries"("event_seq") WHERE "status" IN ('pending', 'sending');
CREATE INDEX "webhook_deliveries_open_resource_idx" ON "webhook_deliveries"("webhook_id", "resource_key", "event_seq") WHERE "status" IN ('pending', 'sending');
