// Rewrites every document of the active search index from the database, in batches, resumably.
import type { Services } from "~/services/index.server";
import type { SearchDocument } from "~/services/search/types";
import { fileSearchDocument, folderSearchDocument } from "./search-documents.server";

export const DEFAULT_REINDEX_BATCH = 500;
export const MAX_REINDEX_BATCH = 5000;

type Phase = "files" | "folders";

export interface ReindexProgress {
  phase: Phase;
  /** Documents of this phase written so far (this run and the runs it resumes). */
  done: number;
  /** Live items of this phase, as counted when the phase began. */
  total: number;
}

export interface ReindexResult {
  files: number;
  folders: number;
  /** This run went on from where an interrupted one stopped. */
  resumed: boolean;
  /** Stopped by `signal` before the end: the next run goes on from here. */
  stopped: boolean;
}

export interface ReindexOptions {
  batchSize?: number;
  /** Start over even when an interrupted run left a checkpoint. */
  restart?: boolean;
  onProgress?: (progress: ReindexProgress) => void;
  /** Stops after the batch under way (its position saved). */
  signal?: AbortSignal;
}

const FILE_COLUMNS = { id: true, ownerId: true, name: true, folderId: true, mimeType: true, size: true, updatedAt: true } as const;
const FOLDER_COLUMNS = { id: true, ownerId: true, name: true, parentId: true, updatedAt: true } as const;

/** One page of live items after `lastId` (ids in order), as search documents. */
async function page(services: Services, phase: Phase, lastId: string | null, take: number): Promise<SearchDocument[]> {
  const after = lastId === null ? {} : { id: { gt: lastId } };
  if (phase === "files") {
    const files = await services.prisma.file.findMany({
      where: { trashedAt: null, ...after },
      orderBy: { id: "asc" },
      take,
      select: FILE_COLUMNS,
    });
    return files.map(fileSearchDocument);
  }
  const folders = await services.prisma.folder.findMany({
    where: { trashedAt: null, parentId: { not: null }, ...after },
    orderBy: { id: "asc" },
    take,
    select: FOLDER_COLUMNS,
  });
  return folders.map(folderSearchDocument);
}

/** The documents of `ids` as the database holds them now (missing: gone or in the trash). */
async function current(services: Services, phase: Phase, ids: string[]): Promise<Map<string, SearchDocument>> {
  const documents =
    phase === "files"
      ? (await services.prisma.file.findMany({ where: { id: { in: ids }, trashedAt: null }, select: FILE_COLUMNS })).map(fileSearchDocument)
      : (
          await services.prisma.folder.findMany({
            where: { id: { in: ids }, trashedAt: null, parentId: { not: null } },
            select: FOLDER_COLUMNS,
          })
        ).map(folderSearchDocument);
  return new Map(documents.map((document) => [document.id, document]));
}

/**
 * The app writes the index as items change, so a batch read before such a change and written
 * after it would put the old version back: each batch is read again once written, and what
 * changed meanwhile is written again (or removed, when it was deleted or trashed).
 */
async function writeBatch(services: Services, phase: Phase, documents: SearchDocument[]): Promise<void> {
  await services.search.upsert(documents);
  const now = await current(
    services,
    phase,
    documents.map((document) => document.id),
  );
  const changed = documents.flatMap((document) => {
    const fresh = now.get(document.id);
    return fresh && fresh.updatedAt.getTime() !== document.updatedAt.getTime() ? [fresh] : [];
  });
  const gone = documents.filter((document) => !now.has(document.id)).map((document) => document.id);
  if (changed.length > 0) await services.search.upsert(changed);
  if (gone.length > 0) await services.search.remove(gone);
}

/**
 * Writes the document of every live file, then every folder, to the active search index (e.g.
 * to add a field documents written by an older release lack), a batch at a time so memory stays
 * bounded whatever the number of items. Content is left as indexed. After each batch the
 * position is saved: a run that stops (a crash, Ctrl-C, the search server down) goes on from
 * there next time, unless `restart`. Safe while the app runs.
 */
export async function reindexSearch(services: Services, options: ReindexOptions = {}): Promise<ReindexResult> {
  const batchSize = Math.min(Math.max(Math.floor(options.batchSize ?? DEFAULT_REINDEX_BATCH), 1), MAX_REINDEX_BATCH);
  const name = services.search.driver;
  const checkpoints = services.prisma.searchReindexCheckpoint;
  if (options.restart) await checkpoints.deleteMany({ where: { name } });
  const saved = await checkpoints.findUnique({ where: { name } });
  const state = saved ?? (await checkpoints.create({ data: { name, phase: "files" } }));
  const result: ReindexResult = { files: state.files, folders: state.folders, resumed: saved !== null, stopped: false };
  const phases: Phase[] = state.phase === "folders" ? ["folders"] : ["files", "folders"];
  for (const phase of phases) {
    let lastId = phase === state.phase ? state.lastId : null;
    const total =
      phase === "files"
        ? await services.prisma.file.count({ where: { trashedAt: null } })
        : await services.prisma.folder.count({ where: { trashedAt: null, parentId: { not: null } } });
    options.onProgress?.({ phase, done: result[phase], total });
    for (;;) {
      if (options.signal?.aborted) return { ...result, stopped: true };
      const documents = await page(services, phase, lastId, batchSize);
      if (documents.length === 0) break;
      await writeBatch(services, phase, documents);
      lastId = documents[documents.length - 1]!.id;
      result[phase] += documents.length;
      await checkpoints.update({ where: { name }, data: { phase, lastId, files: result.files, folders: result.folders } });
      options.onProgress?.({ phase, done: result[phase], total });
    }
    if (phase === "files") await checkpoints.update({ where: { name }, data: { phase: "folders", lastId: null } });
  }
  await checkpoints.delete({ where: { name } });
  return result;
}
