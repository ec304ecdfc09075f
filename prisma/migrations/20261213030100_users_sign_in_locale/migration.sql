-- The language of the browser an account last signed in with (issue 19, docs/events.md#preferences):
-- the first language of its Accept-Language that the server knows, for the dates of notification
-- emails when the account chose no language in /settings/notifications.
-- Expand only: a nullable column the previous release does not read or write.
ALTER TABLE "users" ADD COLUMN "sign_in_locale" TEXT;
