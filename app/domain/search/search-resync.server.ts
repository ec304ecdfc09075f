// Rewrites the search documents whose index write failed while the search server was down.
import { connect } from "~/services/backup/postgres-copy.server";
import type { Services } from "~/services/index.server";
import { fileSearchDocument, folderSearchDocument } from "./search-documents.server";

const BATCH = 500;

export interface ResyncResult {
  upserted: number;
  removed: number;
  /** Still queued: the server is down, or more arrived meanwhile. */
  pending: number;
}

/**
 * Drains `search_outbox`: each queued id gets its document as the database holds it now (a live
 * file or folder), or is removed from the index (deleted or in the trash). A row is deleted only
 * when it was not queued again meanwhile (its queued_at unchanged), so a write that fails during
 * the drain is never lost. Nothing is done while the server is still unreachable.
 */
export async function resyncSearchIndex(services: Services): Promise<ResyncResult> {
  const result: ResyncResult = { upserted: 0, removed: 0, pending: 0 };
  const waiting = await services.prisma.searchOutbox.count();
  if (waiting === 0) return result;
  try {
    await services.search.health();
  } catch {
    return { ...result, pending: waiting };
  }
  for (;;) {
    const queued = await services.prisma.searchOutbox.findMany({ orderBy: { queuedAt: "asc" }, take: BATCH });
    if (queued.length === 0) break;
    const ids = queued.map((row) => row.documentId);
    const [files, folders] = await Promise.all([
      services.prisma.file.findMany({ where: { id: { in: ids }, trashedAt: null } }),
      services.prisma.folder.findMany({ where: { id: { in: ids }, trashedAt: null, parentId: { not: null } } }),
    ]);
    const documents = [...files.map(fileSearchDocument), ...folders.map(folderSearchDocument)];
    const live = new Set(documents.map((d) => d.id));
    const gone = ids.filter((id) => !live.has(id));
    await services.search.upsert(documents);
    await services.search.remove(gone);
    const cleared = await services.prisma.$executeRaw`
      DELETE FROM search_outbox o
      USING unnest(${ids}::text[], ${queued.map((row) => row.queuedAt)}::timestamp(3)[]) AS q(id, queued_at)
      WHERE o.document_id = q.id AND o.queued_at = q.queued_at`;
    result.upserted += documents.length;
    result.removed += gone.length;
    // Everything queued again: the server went away during the drain; the next run goes on.
    if (cleared === 0) break;
  }
  result.pending = await services.prisma.searchOutbox.count();
  return result;
}

/**
 * After a restore, a search server apart from the database (Meilisearch) holds nothing of the
 * restored data: every live file and folder is queued for the search-resync job, and every file
 * for the content-index job (its text is not in the database). Returns the documents queued.
 */
export async function queueSearchRebuild(databaseUrl: string): Promise<number> {
  const client = await connect(databaseUrl);
  try {
    const queued = await client.query(`
      INSERT INTO search_outbox (document_id)
      SELECT id FROM files WHERE trashed_at IS NULL
      UNION ALL SELECT id FROM folders WHERE trashed_at IS NULL AND parent_id IS NOT NULL
      ON CONFLICT (document_id) DO UPDATE SET queued_at = CURRENT_TIMESTAMP`);
    await client.query("UPDATE files SET content_indexed_key = NULL WHERE content_indexed_key IS NOT NULL");
    return queued.rowCount ?? 0;
  } finally {
    await client.end().catch(() => {});
  }
}
