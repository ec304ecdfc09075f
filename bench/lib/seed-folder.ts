import type { PrismaClient } from "../../app/generated/prisma/client";

const MIME_TYPES = ["image/jpeg", "image/png", "application/pdf", "text/plain", "video/mp4", "application/zip", "audio/mpeg", "text/csv"];

/** The few statements seedFolder needs: Prisma's tagged raw statement, or one of a `pg` client wrapped the same way. */
export type RawExecutor = Pick<PrismaClient, "$executeRaw">;

/**
 * Fills `folderId` straight in the database with `count` files (INSERT … SELECT generate_series:
 * sizes, dates and types with many ties), `count / 100` trashed files and 50 subfolders: what
 * uploading them would give, in seconds instead of hours. Sizes: 1,000 distinct values; dates:
 * one per 10 files over about a year; 8 types.
 */
export async function seedFolder(db: RawExecutor, ownerId: string, folderId: string, count: number): Promise<void> {
  await db.$executeRaw`
    INSERT INTO files (id, owner_id, folder_id, name, name_key, size, mime_type, storage_key, created_at, updated_at)
    SELECT ${folderId} || '-' || i, ${ownerId}, ${folderId},
           'Photo ' || lpad(((i::bigint * 7919) % ${count})::text, 7, '0') || '.jpg',
           'photo ' || lpad(((i::bigint * 7919) % ${count})::text, 7, '0') || '.jpg',
           ((i::bigint * 104729) % 1000) * 4096,
           (${MIME_TYPES}::text[])[1 + (i * 31) % ${MIME_TYPES.length}],
           ${folderId} || '-key-' || i,
           now(),
           timestamp '2026-01-01' + ((i / 10) * interval '5 minutes')
    FROM generate_series(1, ${count}) AS i`;
  await db.$executeRaw`
    INSERT INTO files (id, owner_id, folder_id, name, name_key, size, mime_type, storage_key, created_at, updated_at, trashed_at, trash_root_id)
    SELECT ${folderId} || '-trashed-' || i, ${ownerId}, ${folderId}, 'old ' || i, 'old ' || i, 1, 'text/plain',
           ${folderId} || '-trashed-key-' || i, now(), now(), now(), ${folderId} || '-trashed-' || i
    FROM generate_series(1, ${Math.ceil(count / 100)}) AS i`;
  await db.$executeRaw`
    INSERT INTO folders (id, owner_id, parent_id, name, name_key, created_at, updated_at)
    SELECT ${folderId} || '-sub-' || i, ${ownerId}, ${folderId}, 'Album ' || lpad(i::text, 3, '0'), 'album ' || lpad(i::text, 3, '0'),
           now(), timestamp '2026-01-01' + i * interval '1 day'
    FROM generate_series(1, 50) AS i`;
}
