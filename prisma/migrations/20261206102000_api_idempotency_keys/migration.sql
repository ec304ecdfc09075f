-- Idempotency-Key on API creates: the stored answer of each key, per user, for a day.
-- Expand-only: a new table the previous release never reads.
CREATE TABLE "api_idempotency_keys" (
    "user_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "status" INTEGER,
    "body" TEXT,
    "headers" JSONB,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "api_idempotency_keys_pkey" PRIMARY KEY ("user_id", "key"),
    CONSTRAINT "api_idempotency_keys_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE INDEX "api_idempotency_keys_expires_at_idx" ON "api_idempotency_keys" ("expires_at");
