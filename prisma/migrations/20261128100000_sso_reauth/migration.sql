-- Accounts without a password of their own, and the time a session last confirmed it is its owner.
ALTER TABLE "users" ADD COLUMN "password_usable" BOOLEAN NOT NULL DEFAULT true;
ALTER TABLE "sessions" ADD COLUMN "reauthenticated_at" TIMESTAMP(3);

-- Accounts that single sign-on created got a random password nobody knows, unless their owner
-- has since chosen one with a mailed reset link.
UPDATE "users" AS u SET "password_usable" = false
WHERE EXISTS (
    SELECT 1 FROM "audit_events" AS a
    WHERE a."action" = 'user.registered' AND a."target_id" = u."id" AND a."details"->>'method' = 'oidc'
  )
  AND NOT EXISTS (
    SELECT 1 FROM "audit_events" AS a
    WHERE a."action" = 'auth.password_reset' AND a."outcome" = 'success' AND a."target_id" = u."id"
  );
