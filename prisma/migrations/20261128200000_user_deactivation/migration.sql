-- Administrators can deactivate an account: no login, no sessions, share links gone, files kept.
ALTER TABLE "users" ADD COLUMN "deactivated_at" TIMESTAMP(3);
