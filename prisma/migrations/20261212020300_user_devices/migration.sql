-- security.new_device_login (docs/events.md, decision 0038): the devices each account signed in
-- from, as the browser and system its user agent names ("Firefox on Linux"), keyed by a hash of
-- that label. A sign-in from a label not seen before for the account is told to it. Expand only:
-- a new table the previous release does not know.
CREATE TABLE "user_devices" (
    "user_id" TEXT NOT NULL,
    "device_key" TEXT NOT NULL,
    "label" TEXT NOT NULL,
    "first_seen_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "user_devices_pkey" PRIMARY KEY ("user_id", "device_key")
);

ALTER TABLE "user_devices" ADD CONSTRAINT "user_devices_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
