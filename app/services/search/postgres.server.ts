import { Prisma, type PrismaClient } from "~/generated/prisma/client";
import { SearchError, searchPage, type SearchDocument, type SearchHit, type SearchIndex, type SearchOptions, type SearchResult } from "./types";

/** Rows per INSERT when upserting many documents. */
const UPSERT_BATCH = 500;
/**
 * pg_trgm's default (0.6) misses one-letter slips such as "quartrly" for "quarterly" (0.58) or
 * "invoce" for "invoice" (0.57).
 */
const WORD_SIMILARITY_THRESHOLD = 0.5;

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
    const scope = within
      ? Prisma.sql`AND (folder_id = ANY(${within.folderIds}::text[]) OR id = ANY(${within.ids}::text[]))`
      : Prisma.empty;

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

    // set_config(..., true) keeps the threshold to this transaction, not to a pooled connection.
    const [, rows, counted] = await this.prisma.$transaction([
      this.prisma.$executeRaw`SELECT set_config('pg_trgm.word_similarity_threshold', ${String(WORD_SIMILARITY_THRESHOLD)}, true)`,
      this.prisma.$queryRaw<HitRow[]>`
        SELECT id, owner_id, kind, name, folder_id, mime_type, size, updated_at,
               (coalesce(ts_rank(name_words, ${words}), 0)
                + word_similarity(${folded}, name_folded)
                + CASE WHEN name_folded LIKE ${contains} ESCAPE '!' THEN 0.5 ELSE 0 END)::float8 AS score
        FROM search_documents
        WHERE ${where}
        ORDER BY score DESC, name, id
        LIMIT ${limit} OFFSET ${offset}`,
      this.prisma.$queryRaw<Array<{ total: number }>>`SELECT count(*)::int AS total FROM search_documents WHERE ${where}`,
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
  };
}
