-- share.expiring (docs/events.md, decision 0038): the expiry a link's owner was told of, by the
-- daily notify-expiring-shares job; a rerun finds it equal and tells nobody again, and a new expiry
-- set since is told again when it nears. Expand only: a nullable column the previous release
-- neither reads nor writes (the job writes it without touching updated_at, so ETags stay).
ALTER TABLE "share_links" ADD COLUMN "expiry_notified_for" TIMESTAMP(3);

CREATE INDEX "share_links_expires_at_idx" ON "share_links"("expires_at") WHERE "expires_at" IS NOT NULL;
