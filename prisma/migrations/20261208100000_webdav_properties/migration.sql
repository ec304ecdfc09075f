-- WebDAV dead properties (PROPPATCH): XML a client stores on a file or folder, keyed by the
-- item's id, so a MOVE or rename keeps them. Expand-only: a new table nothing else reads.
-- They go with the account (owner cascade); rows of an item deleted for good are only ever read
-- through a live item's id, so they are never shown.
CREATE TABLE "webdav_properties" (
    "item_id" TEXT NOT NULL,
    "owner_id" TEXT NOT NULL,
    "namespace" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webdav_properties_pkey" PRIMARY KEY ("item_id","namespace","name")
);

CREATE INDEX "webdav_properties_owner_id_idx" ON "webdav_properties"("owner_id");

ALTER TABLE "webdav_properties" ADD CONSTRAINT "webdav_properties_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
