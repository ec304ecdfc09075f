// The delete-after retention rules (decision 0045, docs/retention-and-holds.md), carried out by the
// hourly `retention-delete` job: live files below a rule's folder older than its days (counted from
// each file's created_at) are deleted for good, a batch at a time, by the same purge as the trash
// expiry (objects, versions, quota usage, events). Files a legal hold or a keep-at-least rule
// covers are skipped (and counted); folders stay, empty or not. One audit event per rule that had
// anything to do, with the counts, besides the usual "deleted forever" event per file.
import type { Services } from "~/services/index.server";
import { recordAudit, SYSTEM_ACTOR } from "../audit/audit.server";
import { NotFoundError } from "../errors";
import { fileNotHeld, HeldError } from "./holds.server";
import { purgeLiveFile } from "./trash-purge.server";

/** Files looked up at once per rule. */
const PAGE = 200;
/** Files deleted per run at most, over all rules (the next run, an hour later, goes on). */
export const RETENTION_RUN_LIMIT = 5000;

export interface RetentionRunCounts {
  rules: number;
  deleted: number;
  skippedHeld: number;
  failed: number;
  bytes: number;
}

/** Runs every active delete-after rule once. */
export async function runDeleteAfterRules(
  services: Services,
  now = new Date(),
  options: { limit?: number } = {},
): Promise<RetentionRunCounts> {
  const limit = options.limit ?? RETENTION_RUN_LIMIT;
  const rules = await services.prisma.retentionRule.findMany({
    where: { removedAt: null, kind: "delete_after", targetType: "folder" },
    orderBy: { createdAt: "asc" },
  });
  const total: RetentionRunCounts = { rules: rules.length, deleted: 0, skippedHeld: 0, failed: 0, bytes: 0 };
  for (const rule of rules) {
    if (total.deleted >= limit) break;
    const cutoff = new Date(now.getTime() - rule.days * 24 * 60 * 60 * 1000);
    let deleted = 0;
    let failed = 0;
    let bytes = 0n;
    // Failed files stay behind (logged); the cursor steps past them.
    let after = "";
    while (total.deleted + deleted < limit) {
      const page = await services.prisma.$queryRaw<Array<{ id: string }>>`
        WITH RECURSIVE down AS (
          SELECT d.id, 1 AS depth FROM folders d WHERE d.id = ${rule.targetId} AND d.trashed_at IS NULL
          UNION ALL
          SELECT d.id, down.depth + 1 FROM folders d JOIN down ON d.parent_id = down.id WHERE d.trashed_at IS NULL AND down.depth < 10000
        )
        SELECT f.id FROM files f JOIN down ON f.folder_id = down.id
        WHERE f.trashed_at IS NULL AND f.created_at < ${cutoff} AND f.id > ${after} AND ${fileNotHeld("f")}
        ORDER BY f.id LIMIT ${Math.min(PAGE, limit - total.deleted - deleted)}`;
      if (page.length === 0) break;
      after = page.at(-1)!.id;
      for (const { id } of page) {
        try {
          const result = await purgeLiveFile(services, id, SYSTEM_ACTOR, now);
          deleted++;
          bytes += result.size;
        } catch (error) {
          if (error instanceof NotFoundError || error instanceof HeldError) continue;
          failed++;
          services.log.error("a retention rule could not delete a file", { ruleId: rule.id, fileId: id, error });
        }
      }
    }
    const [skipped] = await services.prisma.$queryRaw<Array<{ n: bigint }>>`
      WITH RECURSIVE down AS (
        SELECT d.id, 1 AS depth FROM folders d WHERE d.id = ${rule.targetId} AND d.trashed_at IS NULL
        UNION ALL
        SELECT d.id, down.depth + 1 FROM folders d JOIN down ON d.parent_id = down.id WHERE d.trashed_at IS NULL AND down.depth < 10000
      )
      SELECT count(*) AS n FROM files f JOIN down ON f.folder_id = down.id
      WHERE f.trashed_at IS NULL AND f.created_at < ${cutoff} AND NOT ${fileNotHeld("f")}`;
    const skippedHeld = Number(skipped?.n ?? 0);
    total.deleted += deleted;
    total.failed += failed;
    total.skippedHeld += skippedHeld;
    total.bytes += Number(bytes);
    if (deleted + failed + skippedHeld > 0) {
      await recordAudit(services.prisma, SYSTEM_ACTOR, {
        action: "data.retention_deleted",
        targetType: "folder",
        targetId: rule.targetId,
        details: { ruleId: rule.id, days: rule.days, deleted, bytes: Number(bytes), skippedHeld, failed },
      });
    }
  }
  return total;
}
