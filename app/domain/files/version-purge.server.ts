// The version rules of the settings, applied to every file by the hourly job: at most
// `versionsKept` earlier versions per file, none older than `versionRetentionDays`.
import type { Services } from "~/services/index.server";
import { getSettings, versionLimit } from "../admin/settings.server";
import { recordAudit, SYSTEM_ACTOR } from "../audit/audit.server";
import { deleteObjectsQuietly } from "./versions.server";
import { fileNotHeld } from "./holds.server";

const DAY_MS = 24 * 60 * 60 * 1000;
/** Files looked at per round: short statements and transactions, however many versions there are. */
const FILES_PER_ROUND = 200;

export type VersionPurgeResult = {
  versions: number;
  files: number;
  bytes: number;
};

/**
 * Deletes the versions beyond the rules. One pass over the files with versions, a round of files
 * at a time in id order (so each round reads only its own versions through the file_id index):
 * per owner, the rows in one statement (the storage counter's triggers lower their usage there),
 * then their objects. Only the rows this run removed have their objects deleted, so a version
 * restored or pruned by someone else meanwhile is never touched. One audit event tells what the
 * run removed.
 */
export async function purgeExpiredVersions(
  services: Services,
  now = new Date(),
  filesPerRound = FILES_PER_ROUND,
): Promise<VersionPurgeResult> {
  const settings = await getSettings(services);
  const limit = versionLimit(settings);
  const days = settings.versionRetentionDays;
  const result: VersionPurgeResult = { versions: 0, files: 0, bytes: 0 };
  if (limit === null && days === null) return result;
  const cutoff = days === null ? null : new Date(now.getTime() - days * DAY_MS);
  const files = new Set<string>();
  let after = "";
  for (;;) {
    const round = await services.prisma.$queryRaw<Array<{ file_id: string }>>`
      SELECT DISTINCT file_id FROM file_versions WHERE file_id > ${after} ORDER BY file_id LIMIT ${filesPerRound}`;
    if (round.length === 0) break;
    after = round[round.length - 1].file_id;
    // Newest first, as the versions list and pruning on replace order them.
    const doomed = await services.prisma.$queryRaw<Array<{ id: string; owner_id: string }>>`
      SELECT v.id, f.owner_id FROM (
        SELECT id, file_id, replaced_at,
          row_number() OVER (PARTITION BY file_id ORDER BY replaced_at DESC, created_at DESC, id DESC) AS rank
        FROM file_versions WHERE file_id = ANY(${round.map((row) => row.file_id)}::text[])) v
      JOIN files f ON f.id = v.file_id
      WHERE ${fileNotHeld("f")} AND ((${limit}::int IS NOT NULL AND v.rank > ${limit}::int)
         OR (${cutoff}::timestamp IS NOT NULL AND v.replaced_at < ${cutoff}::timestamp))`;
    const byOwner = new Map<string, string[]>();
    for (const row of doomed) byOwner.set(row.owner_id, [...(byOwner.get(row.owner_id) ?? []), row.id]);
    for (const ids of byOwner.values()) {
      const removed = await services.prisma.$queryRaw<Array<{ file_id: string; storage_key: string; size: bigint }>>`
        DELETE FROM file_versions WHERE id = ANY(${ids}::text[]) RETURNING file_id, storage_key, size`;
      for (let i = 0; i < removed.length; i += 1000) {
        await deleteObjectsQuietly(
          services,
          removed.slice(i, i + 1000).map((row) => row.storage_key),
        );
      }
      for (const row of removed) {
        files.add(row.file_id);
        result.bytes += Number(row.size);
      }
      result.versions += removed.length;
    }
  }
  result.files = files.size;
  if (result.versions > 0) {
    await recordAudit(services.prisma, SYSTEM_ACTOR, {
      action: "data.versions_purged",
      targetType: "file",
      details: {
        versions: result.versions,
        files: result.files,
        bytes: result.bytes,
        versionsKept: limit,
        retentionDays: days,
        ...(cutoff ? { replacedBefore: cutoff.toISOString() } : {}),
      },
    });
  }
  return result;
}
