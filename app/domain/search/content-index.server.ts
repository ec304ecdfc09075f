import { spawn } from "node:child_process";
import type { File as FileRecord } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { ObjectNotFoundError } from "~/services/storage/types";
import { recordAudit, SYSTEM_ACTOR } from "../audit/audit.server";
import { ExtractionFailedError, extractionKind, extractText, type ExtractionLimits } from "./content-extraction.server";
import { createFileQueue } from "../files/file-queue.server";
import { fileSearchDocument } from "./search-documents.server";

const BACKFILL_BATCH = 50;
/** Files this fresh are left to the queue that their upload started. */
const BACKFILL_GRACE_MS = 5 * 60 * 1000;
const PURGE_BATCH = 500;
const PDFTOTEXT_TIMEOUT_MS = 30_000;

export type ContentOutcome = "indexed" | "none" | "skipped";

interface ContentState {
  /** pdftotext was found missing (logged once per process). */
  pdftotextMissing: boolean;
  /** Whether pdftotext runs here, probed once per process for /admin. */
  pdftotextProbe?: Promise<boolean>;
}

// Process-wide (copies of this module can coexist: Vite in development, the tests' sources).
const STATE_KEY = Symbol.for("coffer.contentIndexState");
const state: ContentState =
  ((globalThis as Record<symbol, unknown>)[STATE_KEY] as ContentState | undefined) ??
  ((globalThis as Record<symbol, unknown>)[STATE_KEY] = { pdftotextMissing: false } as ContentState);

export function extractionLimits(services: Services): ExtractionLimits {
  const { maxBytes, maxTextBytes } = services.config.contentSearch;
  return {
    maxBytes,
    maxTextBytes,
    pdftotext: { command: "pdftotext", timeoutMs: PDFTOTEXT_TIMEOUT_MS },
  };
}

/** For /admin: whether content search is on and whether PDFs can be read. */
export async function contentSearchStatus(services: Services): Promise<{ enabled: boolean; pdfText: boolean }> {
  state.pdftotextProbe ??= new Promise<boolean>((resolve) => {
    const child = spawn(extractionLimits(services).pdftotext.command, ["-v"], { stdio: "ignore" });
    child.once("error", () => resolve(false));
    child.once("close", (code) => resolve(code === 0));
  });
  const pdfText = !state.pdftotextMissing && (await state.pdftotextProbe);
  return { enabled: services.config.contentSearch.enabled, pdfText };
}

/**
 * Extracts the text of a file's current content and stores it in the search index beside the
 * name. Files without text (or whose extraction failed) are marked so the backfill skips them;
 * storage trouble leaves the file for the backfill. Never indexes a trashed file.
 */
export async function indexFileContent(services: Services, fileId: string, limits = extractionLimits(services)): Promise<ContentOutcome> {
  if (!services.config.contentSearch.enabled) return "skipped";
  const file = await services.prisma.file.findUnique({ where: { id: fileId } });
  if (!file || file.trashedAt) return "skipped";
  const kind = extractionKind(file.name, file.mimeType);
  let text: string | null = null;
  if (kind) {
    try {
      const extraction = await extractText(
        {
          size: Number(file.size),
          read: (range) => services.storage.get(file.storageKey, range),
        },
        kind,
        limits,
      );
      if (extraction.outcome === "text") text = extraction.text;
      if (extraction.outcome === "unavailable" && !state.pdftotextMissing) {
        state.pdftotextMissing = true;
        services.log.warn("pdftotext (Debian package poppler-utils) is not installed: PDFs are searchable by name only");
      }
    } catch (error) {
      // Storage trouble is not the file's fault: leave it for the backfill. A missing object never comes back.
      if (!(error instanceof ExtractionFailedError) && !(error instanceof ObjectNotFoundError)) {
        services.log.warn("could not index a file's content: storage failed", { fileId, error: messageOf(error) });
        return "skipped";
      }
      services.log.warn("could not extract a file's text; it is searchable by name only", { fileId, error: error.message });
    }
  }
  // A file that never had text needs no index write (most uploads: images, archives, …).
  const hadContent = file.contentIndexedKey !== null;
  if (text !== null || hadContent) {
    const current = await services.prisma.file.findUnique({
      where: { id: fileId },
    });
    if (!current || current.trashedAt || current.storageKey !== file.storageKey) return "skipped";
    await services.search.upsert([{ ...fileSearchDocument(current), content: text }]);
    // Trashed while we wrote: take it out again, as the trash did.
    const after = await services.prisma.file.findUnique({
      where: { id: fileId },
      select: { trashedAt: true },
    });
    if (!after || after.trashedAt) {
      await services.search.remove([fileId]);
      return "skipped";
    }
  }
  // Bookkeeping, not a change to the file: raw SQL, so its modified time (@updatedAt) stays.
  await services.prisma
    .$executeRaw`UPDATE files SET content_indexed_key = ${file.storageKey} WHERE id = ${file.id} AND storage_key = ${file.storageKey}`;
  return text === null ? "none" : "indexed";
}

/**
 * Queues content indexing for files whose content just arrived or came back (upload, copy,
 * new version, restore). Off the request path; failures are logged and never reach the caller.
 */
export function scheduleContentIndexing(services: Services, files: Array<Pick<FileRecord, "id">>): void {
  if (services.config.contentSearch.enabled)
    queue.schedule(
      services,
      files.map((file) => file.id),
    );
}

/** Like `scheduleContentIndexing`, resolving once the jobs are queued (bulk work, a batch at a time). */
export async function scheduleContentIndexingBatch(services: Services, files: Array<Pick<FileRecord, "id">>): Promise<void> {
  if (services.config.contentSearch.enabled)
    await queue.scheduleBatch(
      services,
      files.map((file) => file.id),
    );
}

/** One extraction at a time. */
export const contentIndexQueue = createFileQueue("file-content-index", indexFileContent, "content indexing failed");
const queue = contentIndexQueue;

/** Resolves once the queue is empty (tests, graceful shutdown). */
export const contentIndexingSettled = () => queue.settled();

/** The periodic safety net: files whose current content was never indexed (existing files, lost jobs). */
export async function backfillContent(services: Services, now = new Date()): Promise<{ indexed: number; none: number }> {
  if (!services.config.contentSearch.enabled) return { indexed: 0, none: 0 };
  const cutoff = new Date(now.getTime() - BACKFILL_GRACE_MS);
  const files = await services.prisma.$queryRaw<Array<{ id: string }>>`
    SELECT id FROM files
    WHERE trashed_at IS NULL AND content_indexed_key IS DISTINCT FROM storage_key AND updated_at < ${cutoff}
    ORDER BY updated_at DESC
    LIMIT ${BACKFILL_BATCH}`;
  let indexed = 0;
  let none = 0;
  for (const { id } of files) {
    const outcome = await indexFileContent(services, id);
    if (outcome === "indexed") indexed++;
    if (outcome === "none") none++;
  }
  return { indexed, none };
}

/**
 * With content search turned off (SEARCH_CONTENT=false): removes every file's text from the
 * search index, in batches, and forgets that it was indexed.
 */
export async function removeStoredContent(services: Services): Promise<{ removed: number }> {
  let removed = 0;
  for (;;) {
    const files = await services.prisma.file.findMany({
      where: { contentIndexedKey: { not: null } },
      take: PURGE_BATCH,
      orderBy: { id: "asc" },
    });
    if (files.length === 0) {
      if (removed > 0) {
        await recordAudit(services.prisma, SYSTEM_ACTOR, {
          action: "data.search_content_removed",
          targetType: "settings",
          targetId: "SEARCH_CONTENT",
          details: { files: removed },
        });
      }
      return { removed };
    }
    // Trashed files are out of the index already, text included.
    const live = files.filter((file) => !file.trashedAt);
    if (live.length > 0) await services.search.upsert(live.map((file) => ({ ...fileSearchDocument(file), content: null })));
    await forgetIndexedContent(
      services,
      files.map((file) => file.id),
    );
    removed += live.length;
  }
}

/** The hourly job: backfill while content search is on, remove stored text once it is off. */
export async function maintainContentIndex(services: Services, now = new Date()): Promise<Record<string, number>> {
  return services.config.contentSearch.enabled ? backfillContent(services, now) : removeStoredContent(services);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Marks files' text as not indexed (raw SQL: bookkeeping leaves their modified time as it is). */
export async function forgetIndexedContent(services: Services, fileIds: string[]): Promise<void> {
  if (fileIds.length > 0) await services.prisma.$executeRaw`UPDATE files SET content_indexed_key = NULL WHERE id = ANY(${fileIds})`;
}
