-- The delivery log keeps what was sent (docs/webhooks.md, decision 0037): the JSON body of the
-- last attempt, bounded in size; it holds ids and metadata, never a secret. Expand only: a
-- nullable column the previous release neither reads nor writes.
ALTER TABLE "webhook_deliveries" ADD COLUMN "request_body" TEXT;
