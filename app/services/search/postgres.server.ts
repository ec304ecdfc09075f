import { Prisma, type PrismaClient } from "~/generated/prisma/client";
import {
  MATCH_END,
  MATCH_START,
  SearchError,
  searchPage,
  snippetParts,
  type SearchDocument,
  type SearchHit,
  type SearchIndex,
  type SearchOptions,
  type SearchResult,
} from "./types";

/** Rows per INSERT when upserting many documents. */
const UPSERT_BATCH = 500;
/**
 * pg_trgm's default (0.6) misses one-letter slips such as "quartrly" for "quarterly" (0.58) or
 * "invoce" for "invoice" (0.57).
 */
const WORD_SIMILARITY_THRESHOLD = 0.5;
/** ts_headline options: one short fragment around the matched words, marked for snippetParts. */
const HEADLINE_OPTIONS = `StartSel=${MATCH_START}, StopSel=${MATCH_END}, MaxWords=24, MinWords=8, MaxFragments=1, FragmentDelimiter=" … "`;
/** PostgreSQL's program_limit_exceeded: the text's tsvector would be over 1 MB. */
const TOO_LONG = "54000";

interface HitRow {
  id: string;
  owner_id: string;
  kind: string;
  name: string;
  folder_id: string | null;
  mime_type: string | null;
  size: bigint | number | null;
  updated_at: Date;
  score: number;
  by_name: boolean;
  snippet: string | null;
}

/**
 * Search over the search_documents table. A name matches when every query word is a word prefix
 * in it (full text), when it is similar enough to the query (trigrams: misspellings), or when it
 * contains the query (LIKE). The generated columns name_words and name_folded, their indexes and
 * the SQL functions coffer_search_fold/_query come from the 20261126100000_search_words migration.
 */
export class PostgresSearchIndex implements SearchIndex {
  readonly driver = "postgres" as const;

  constructor(private readonly prisma: PrismaClient) {}

  async init(): Promise<void> {
    try {
      await this.prisma.$queryRaw`SELECT coffer_search_query('check')::text AS query`;
    } catch (error) {
      throw new SearchError("PostgreSQL search is not set up: apply the database migrations", { cause: error });
    }
  }

  async upsert(documents: SearchDocument[]): Promise<void> {
    // Within one INSERT ... ON CONFLICT a row may change only once, so the last version wins.
    const unique = [...new Map(documents.map((doc) => [doc.id, doc])).values()];
    for (let start = 0; start < unique.length; start += UPSERT_BATCH) {
      const rows = unique.slice(start, start + UPSERT_BATCH).map((doc) => ({
        id: doc.id,
        ownerId: doc.ownerId,
        kind: doc.kind,
        name: doc.name,
        folderId: doc.folderId,
        mimeType: doc.mimeType,
        size: doc.size,
        updatedAt: doc.updatedAt.toISOString(),
      }));
      await this.prisma.$executeRaw`
        INSERT INTO search_documents (id, owner_id, kind, name, folder_id, mime_type, size, updated_at)
        SELECT d.id, d."ownerId", d.kind, d.name, d."folderId", d."mimeType", d.size,
               d."updatedAt"::timestamptz AT TIME ZONE 'UTC'
        FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS d(
          id text, "ownerId" text, kind text, name text, "folderId" text, "mimeType" text, size bigint, "updatedAt" text)
        ON CONFLICT (id) DO UPDATE SET
          owner_id = EXCLUDED.owner_id, kind = EXCLUDED.kind, name = EXCLUDED.name, folder_id = EXCLUDED.folder_id,
          mime_type = EXCLUDED.mime_type, size = EXCLUDED.size, updated_at = EXCLUDED.updated_at`;
    }
    for (const doc of unique) {
      if (doc.content === null) await this.prisma.$executeRaw`DELETE FROM file_contents WHERE file_id = ${doc.id}`;
      else if (doc.content !== undefined) await this.storeContent(doc.id, doc.content.replaceAll("\0", ""));
    }
  }

  /** Text with very many distinct words can exceed a tsvector's 1 MB: such text is kept in part. */
  private async storeContent(id: string, content: string): Promise<void> {
    for (let text = content; ; text = text.slice(0, Math.floor(text.length / 2))) {
      try {
        await this.prisma.$executeRaw`
          INSERT INTO file_contents (file_id, content) VALUES (${id}, ${text})
          ON CONFLICT (file_id) DO UPDATE SET content = EXCLUDED.content`;
        return;
      } catch (error) {
        if (!isTooLong(error) || text.length < 1024) throw error;
      }
    }
  }

  async remove(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.prisma.$executeRaw`DELETE FROM search_documents WHERE id = ANY(${ids}::text[])`;
  }

  async search(ownerId: string, query: string, options?: SearchOptions): Promise<SearchResult> {
    const { limit, offset } = searchPage(options);
    // PostgreSQL text cannot hold NUL, and no stored name contains one.
    const text = query.replaceAll("\0", "");
    if (text.trim() === "") return { hits: [], total: 0 };
    const within = options?.within;
    if (within && within.folderIds.length === 0 && within.ids.length === 0) return { hits: [], total: 0 };
    const scope = within ? Prisma.sql`AND (folder_id = ANY(${within.folderIds}::text[]) OR id = ANY(${within.ids}::text[]))` : Prisma.empty;

    const words = Prisma.sql`coffer_search_query(${text})`;
    const folded = Prisma.sql`coffer_search_fold(${text})`;
    // "!" escapes LIKE wildcards typed by the user; a backslash would need more quoting layers.
    const contains = Prisma.sql`'%' || replace(replace(replace(${folded}, '!', '!!'), '%', '!%'), '_', '!_') || '%'`;
    // Each alternative is one that the GIN indexes answer; the planner ORs their bitmaps.
    const where = Prisma.sql`
      owner_id = ${ownerId} AND (
        name_words @@ ${words}
        OR ${folded} <% name_folded
        OR name_folded LIKE ${contains} ESCAPE '!'
      ) ${scope}`;

    // Content matches need every query word (as a prefix) and exclude what matched by name.
    const contentWhere = Prisma.sql`
      d.owner_id = ${ownerId} AND c.content_words @@ ${words} ${within ? Prisma.sql`AND (d.folder_id = ANY(${within.folderIds}::text[]) OR d.id = ANY(${within.ids}::text[]))` : Prisma.empty}
      AND NOT (${where})`;
    const nameScore = Prisma.sql`(coalesce(ts_rank(name_words, ${words}), 0)
                + word_similarity(${folded}, name_folded)
                + CASE WHEN name_folded LIKE ${contains} ESCAPE '!' THEN 0.5 ELSE 0 END)::float8`;

    // set_config(..., true) keeps the threshold to this transaction, not to a pooled connection.
    // The snippet is made only for the page's rows, after sorting and paging.
    const [, rows, counted] = await this.prisma.$transaction([
      this.prisma.$executeRaw`SELECT set_config('pg_trgm.word_similarity_threshold', ${String(WORD_SIMILARITY_THRESHOLD)}, true)`,
      this.prisma.$queryRaw<HitRow[]>`
        WITH page AS (
          SELECT * FROM (
            SELECT id, true AS by_name, ${nameScore} AS score, name FROM search_documents WHERE ${where}
            UNION ALL
            SELECT d.id, false AS by_name, ts_rank(c.content_words, ${words})::float8 AS score, d.name
            FROM file_contents c JOIN search_documents d ON d.id = c.file_id
            WHERE ${contentWhere}
          ) AS hits
          ORDER BY by_name DESC, score DESC, name, id
          LIMIT ${limit} OFFSET ${offset}
        )
        SELECT d.id, d.owner_id, d.kind, d.name, d.folder_id, d.mime_type, d.size, d.updated_at, page.score, page.by_name,
               CASE WHEN page.by_name THEN NULL
                    ELSE ts_headline('simple', c.content, ${words}, ${HEADLINE_OPTIONS}) END AS snippet
        FROM page JOIN search_documents d ON d.id = page.id LEFT JOIN file_contents c ON c.file_id = page.id AND NOT page.by_name
        ORDER BY page.by_name DESC, page.score DESC, d.name, d.id`,
      this.prisma.$queryRaw<Array<{ total: number }>>`
        SELECT ((SELECT count(*) FROM search_documents WHERE ${where})
              + (SELECT count(*) FROM file_contents c JOIN search_documents d ON d.id = c.file_id WHERE ${contentWhere}))::int AS total`,
    ]);
    return { hits: rows.map(toHit), total: counted[0]?.total ?? 0 };
  }

  async health(): Promise<void> {
    await this.prisma.$queryRaw`SELECT 1 FROM search_documents LIMIT 1`;
  }
}

function toHit(row: HitRow): SearchHit {
  return {
    id: row.id,
    ownerId: row.owner_id,
    kind: row.kind as SearchHit["kind"],
    name: row.name,
    folderId: row.folder_id,
    mimeType: row.mime_type,
    size: row.size === null ? null : Number(row.size),
    updatedAt: row.updated_at,
    score: Number(row.score),
    matchedBy: row.by_name ? "name" : "content",
    snippet: row.snippet === null ? null : snippetParts(row.snippet),
  };
}

function isTooLong(error: unknown): boolean {
  const text = String((error as { message?: unknown })?.message ?? "");
  return text.includes(TOO_LONG) || /too long for tsvector/i.test(text);
}
