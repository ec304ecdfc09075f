-- Notification preferences and email (docs/events.md, docs/decisions/0036-notification-email.md).
-- Expand only: new tables; the previous release never reads them.

-- One row per (user, kind) the user changed; a kind without a row has its default
-- (app/domain/events/catalogue.ts, NOTIFIABLE_KINDS).
CREATE TABLE "notification_preferences" (
    "user_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    -- 'in-app'; 'email' (in-app and an email at once); 'digest' (in-app and the daily digest); 'off'.
    "channel" TEXT NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "notification_preferences_pkey" PRIMARY KEY ("user_id", "kind"),
    CONSTRAINT "notification_preferences_channel_check" CHECK ("channel" IN ('in-app', 'email', 'digest', 'off')),
    CONSTRAINT "notification_preferences_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- How emails show dates: the user's language (BCP 47) and time zone (IANA); null: English, UTC.
CREATE TABLE "notification_settings" (
    "user_id" TEXT NOT NULL,
    "locale" TEXT,
    "time_zone" TEXT,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "notification_settings_pkey" PRIMARY KEY ("user_id"),
    CONSTRAINT "notification_settings_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- One digest per user and (UTC) day: the row is the claim that makes a second run, or a second
-- instance, send nothing. 'sending' until the mail went out; a claim whose instance died is
-- taken again after locked_until.
CREATE TABLE "notification_digests" (
    "id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "day" DATE NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'sending',
    "attempts" INTEGER NOT NULL DEFAULT 1,
    "locked_until" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sent_at" TIMESTAMP(3),
    CONSTRAINT "notification_digests_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "notification_digests_status_check" CHECK ("status" IN ('sending', 'sent')),
    CONSTRAINT "notification_digests_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "notification_digests_user_id_day_key" ON "notification_digests"("user_id", "day");

-- One row per (user, event) the email sink took, written in the dispatcher's transaction:
-- mode 'now' is sent by the send-notification-emails job (with retries), mode 'digest' waits
-- for the user's next daily digest.
CREATE TABLE "notification_emails" (
    "id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "event_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "mode" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "locked_until" TIMESTAMP(3),
    "digest_id" TEXT,
    "error" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sent_at" TIMESTAMP(3),
    CONSTRAINT "notification_emails_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "notification_emails_mode_check" CHECK ("mode" IN ('now', 'digest')),
    CONSTRAINT "notification_emails_status_check" CHECK ("status" IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    CONSTRAINT "notification_emails_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "notification_emails_event_id_fkey" FOREIGN KEY ("event_id") REFERENCES "events"("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "notification_emails_digest_id_fkey" FOREIGN KEY ("digest_id") REFERENCES "notification_digests"("id") ON DELETE SET NULL ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "notification_emails_user_id_event_id_key" ON "notification_emails"("user_id", "event_id");
CREATE INDEX "notification_emails_event_id_idx" ON "notification_emails"("event_id");
CREATE INDEX "notification_emails_digest_id_idx" ON "notification_emails"("digest_id");
-- What the sender claims: immediate emails due.
CREATE INDEX "notification_emails_due_idx" ON "notification_emails"("next_attempt_at") WHERE "mode" = 'now' AND "status" IN ('pending', 'sending');
-- What the digest collects: a user's waiting digest entries.
CREATE INDEX "notification_emails_digest_waiting_idx" ON "notification_emails"("user_id", "created_at") WHERE "mode" = 'digest' AND "status" = 'pending';
-- The retention purge of notifications scans by age.
CREATE INDEX "notifications_created_at_idx" ON "notifications"("created_at");
