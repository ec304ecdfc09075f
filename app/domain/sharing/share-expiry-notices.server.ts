import type { Services } from "~/services/index.server";
import { appendEvent } from "../events/outbox.server";

/** The daily job that tells owners of their share links about to expire (share.expiring, decision 0038). */
export const EXPIRING_SHARES_QUEUE = "notify-expiring-shares";
/** How far ahead a link's expiry is told. */
export const EXPIRY_NOTICE_MS = 3 * 24 * 3600_000;
const BATCH = 500;

type Expiring = {
  id: string;
  owner_id: string;
  file_id: string | null;
  folder_id: string | null;
  mode: string;
  expires_at: Date;
  name: string | null;
};

/**
 * Tells each owner once of every link of theirs expiring within 3 days: marks the link with the
 * expiry told (without touching updated_at, so its ETag stays) and appends `share.expiring` in
 * the same transaction, a batch at a time. A rerun, or another instance, finds the mark and tells
 * nobody again; a link given a new expiry since is told again when that one nears. Links already
 * expired are not told. The payload names the item, never the link's token.
 */
export async function noticeExpiringShares(services: Pick<Services, "prisma">, now = new Date()): Promise<{ links: number }> {
  const until = new Date(now.getTime() + EXPIRY_NOTICE_MS);
  let links = 0;
  for (;;) {
    const told = await services.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<Expiring[]>`
        WITH due AS (
          SELECT id FROM share_links
          WHERE expires_at > ${now} AND expires_at <= ${until} AND expiry_notified_for IS DISTINCT FROM expires_at
          ORDER BY expires_at, id
          LIMIT ${BATCH}
          FOR UPDATE SKIP LOCKED
        )
        UPDATE share_links l SET expiry_notified_for = l.expires_at
        FROM due WHERE l.id = due.id
        RETURNING l.id, l.owner_id, l.file_id, l.folder_id, l.mode::text AS mode, l.expires_at,
          COALESCE((SELECT f.name FROM files f WHERE f.id = l.file_id), (SELECT d.name FROM folders d WHERE d.id = l.folder_id)) AS name`;
      for (const row of rows) {
        await appendEvent(tx, {
          actorId: null,
          ownerId: row.owner_id,
          action: "share.expiring",
          subjectType: "share",
          subjectId: row.id,
          details: {
            itemKind: row.file_id ? "file" : "folder",
            itemId: row.file_id ?? row.folder_id,
            name: row.name,
            mode: row.mode,
            expiresAt: row.expires_at.toISOString(),
          },
        });
      }
      return rows.length;
    });
    links += told;
    if (told < BATCH) return { links };
  }
}
