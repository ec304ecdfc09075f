-- The file manager: trash, versions, share links, shares between users, activity trail,
-- per-user quota and instance settings.

-- CreateEnum
CREATE TYPE "ShareMode" AS ENUM ('READ', 'DROP');
CREATE TYPE "SharePermission" AS ENUM ('READ', 'WRITE');

-- AlterTable
ALTER TABLE "users" ADD COLUMN "quota_bytes" BIGINT;

ALTER TABLE "folders" ADD COLUMN "trashed_at" TIMESTAMP(3),
                      ADD COLUMN "trash_root_id" TEXT;

ALTER TABLE "files" ADD COLUMN "thumbnail_key" TEXT,
                    ADD COLUMN "trashed_at" TIMESTAMP(3),
                    ADD COLUMN "trash_root_id" TEXT;

-- Names are unique among siblings that are not in the trash: the trash may hold any number of
-- "report.pdf" from the same folder. Prisma cannot express partial unique indexes, so the
-- schema declares plain indexes on the same columns.
DROP INDEX "folders_parent_id_name_key_key";
DROP INDEX "files_folder_id_name_key_key";
CREATE INDEX "folders_parent_id_name_key_idx" ON "folders"("parent_id", "name_key");
CREATE INDEX "files_folder_id_name_key_idx" ON "files"("folder_id", "name_key");
CREATE UNIQUE INDEX "folders_live_name_unique" ON "folders"("parent_id", "name_key") WHERE "trashed_at" IS NULL;
CREATE UNIQUE INDEX "files_live_name_unique" ON "files"("folder_id", "name_key") WHERE "trashed_at" IS NULL;

CREATE INDEX "folders_owner_id_trashed_at_idx" ON "folders"("owner_id", "trashed_at");
CREATE INDEX "folders_trash_root_id_idx" ON "folders"("trash_root_id");
CREATE INDEX "files_folder_id_size_idx" ON "files"("folder_id", "size");
CREATE INDEX "files_folder_id_updated_at_idx" ON "files"("folder_id", "updated_at");
CREATE INDEX "files_folder_id_mime_type_idx" ON "files"("folder_id", "mime_type");
CREATE INDEX "files_owner_id_trashed_at_idx" ON "files"("owner_id", "trashed_at");
CREATE INDEX "files_trash_root_id_idx" ON "files"("trash_root_id");

-- CreateTable
CREATE TABLE "file_versions" (
    "id" TEXT NOT NULL,
    "file_id" TEXT NOT NULL,
    "storage_key" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "mime_type" TEXT NOT NULL,
    "sha256" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL,
    "replaced_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "file_versions_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "share_links" (
    "id" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "owner_id" TEXT NOT NULL,
    "file_id" TEXT,
    "folder_id" TEXT,
    "mode" "ShareMode" NOT NULL DEFAULT 'READ',
    "password_hash" TEXT,
    "expires_at" TIMESTAMP(3),
    "max_downloads" INTEGER,
    "download_count" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "share_links_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "share_links_one_target" CHECK (("file_id" IS NULL) <> ("folder_id" IS NULL)),
    CONSTRAINT "share_links_drop_is_for_folders" CHECK ("mode" <> 'DROP' OR "folder_id" IS NOT NULL)
);

CREATE TABLE "user_shares" (
    "id" TEXT NOT NULL,
    "owner_id" TEXT NOT NULL,
    "grantee_id" TEXT NOT NULL,
    "file_id" TEXT,
    "folder_id" TEXT,
    "permission" "SharePermission" NOT NULL DEFAULT 'READ',
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "user_shares_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "user_shares_one_target" CHECK (("file_id" IS NULL) <> ("folder_id" IS NULL))
);

CREATE TABLE "activities" (
    "id" TEXT NOT NULL,
    "user_id" TEXT,
    "action" TEXT NOT NULL,
    "subject_type" TEXT NOT NULL,
    "subject_id" TEXT NOT NULL,
    "details" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "activities_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "settings" (
    "key" TEXT NOT NULL,
    "value" JSONB NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "settings_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE UNIQUE INDEX "file_versions_storage_key_key" ON "file_versions"("storage_key");
CREATE INDEX "file_versions_file_id_replaced_at_idx" ON "file_versions"("file_id", "replaced_at");
CREATE UNIQUE INDEX "share_links_token_key" ON "share_links"("token");
CREATE INDEX "share_links_owner_id_idx" ON "share_links"("owner_id");
CREATE INDEX "share_links_file_id_idx" ON "share_links"("file_id");
CREATE INDEX "share_links_folder_id_idx" ON "share_links"("folder_id");
CREATE UNIQUE INDEX "user_shares_grantee_id_file_id_key" ON "user_shares"("grantee_id", "file_id");
CREATE UNIQUE INDEX "user_shares_grantee_id_folder_id_key" ON "user_shares"("grantee_id", "folder_id");
CREATE INDEX "user_shares_owner_id_idx" ON "user_shares"("owner_id");
CREATE INDEX "activities_user_id_created_at_idx" ON "activities"("user_id", "created_at");
CREATE INDEX "activities_subject_id_idx" ON "activities"("subject_id");

-- AddForeignKey
ALTER TABLE "file_versions" ADD CONSTRAINT "file_versions_file_id_fkey" FOREIGN KEY ("file_id") REFERENCES "files"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "share_links" ADD CONSTRAINT "share_links_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "share_links" ADD CONSTRAINT "share_links_file_id_fkey" FOREIGN KEY ("file_id") REFERENCES "files"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "share_links" ADD CONSTRAINT "share_links_folder_id_fkey" FOREIGN KEY ("folder_id") REFERENCES "folders"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "user_shares" ADD CONSTRAINT "user_shares_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "user_shares" ADD CONSTRAINT "user_shares_grantee_id_fkey" FOREIGN KEY ("grantee_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "user_shares" ADD CONSTRAINT "user_shares_file_id_fkey" FOREIGN KEY ("file_id") REFERENCES "files"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "user_shares" ADD CONSTRAINT "user_shares_folder_id_fkey" FOREIGN KEY ("folder_id") REFERENCES "folders"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "activities" ADD CONSTRAINT "activities_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;
