import { Prisma, type PrismaClient } from "~/generated/prisma/client";
import {
  MATCH_END,
  MATCH_START,
  FILE_TYPE_MEDIA,
  SearchError,
  explicitSort,
  searchPage,
  snippetParts,
  type SearchDocument,
  type SearchFilters,
  type SearchHit,
  type SearchIndex,
  type SearchOptions,
  type SearchResult,
  type SearchScope,
  type SearchSort,
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
/** Matches counted at most; beyond it the total is a lower bound. */
const COUNT_LIMIT = 1000;
/** Matches of each kind (name, content) ranked at most, before paging. */
const RANK_LIMIT = 100;
/** Query words matched by similarity at most; a longer query is matched on its first words. */
const MAX_FUZZY_WORDS = 8;
/** PostgreSQL's program_limit_exceeded: the text's tsvector would be over 1 MB. */
const TOO_LONG = "54000";

/**
 * The words of `text` (coffer_search_words, as names and contents are split) as a tsquery that
 * needs every word, the last one as a prefix, as someone types. All as prefixes
 * (coffer_search_query) made PostgreSQL collect every name starting with each word ("2022"
 * then matches every "20220315" of camera names), 0.3 s at a million names.
 */
function typedWords(text: string): Prisma.Sql {
  return Prisma.sql`(SELECT CASE WHEN words = '' THEN NULL
                                 ELSE to_tsquery('simple', regexp_replace(words, '\\s+', ' & ', 'g') || ':*') END
                     FROM (SELECT btrim(coffer_search_words(${text})) AS words) AS typed)`;
}

/** The query as the SQL functions of the search_words migration see it. */
interface SearchTerms {
  /** Every word, the last as a prefix (typedWords); null when the query has no words. */
  words: string | null;
  folded: string;
  /** The words that cannot be misspelt (similarityWords), as typedWords; null when none. */
  exact_words: string | null;
}

interface CountRow {
  by_name_count: number;
  content_count: number;
}

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
 * in it (full text), when every query word is similar enough to one of its words (trigrams:
 * misspellings), or when it contains the query (LIKE). The generated columns name_words and name_folded, their indexes and
 * the SQL functions coffer_search_fold/_query come from the 20261126100000_search_words migration.
 */
/**
 * A search waits for a pooled connection like any other statement does: under load the pool is
 * busy for seconds, and Prisma's default (2 s to start a transaction) turned that into a 500.
 */
const SEARCH_TX = { maxWait: 10_000, timeout: 15_000 } as const;

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
    return this.prisma.$transaction(async (tx) => {
      // set_config(..., true) keeps these to this transaction, not to a pooled connection. With
      // sequential scans, plain index scans, hash and merge joins off, the planner reads the
      // GIN indexes' bitmaps and joins row by row, so each LIMIT stops the work early (it would
      // otherwise walk the whole table, or the owner's index testing every name, when its
      // estimates promise enough matches early). The query's words and folded form are made
      // once here: as parameters they cost the planner nothing.
      const { similar, exact } = similarityWords(text);
      const [terms] = await tx.$queryRaw<Array<SearchTerms>>`
        SELECT set_config('pg_trgm.word_similarity_threshold', ${String(WORD_SIMILARITY_THRESHOLD)}, true) AS threshold,
               set_config('enable_seqscan', 'off', true) AS seqscan,
               set_config('enable_hashjoin', 'off', true) AS hashjoin,
               set_config('enable_mergejoin', 'off', true) AS mergejoin,
               set_config('enable_indexscan', 'off', true) AS indexscan,
               ${typedWords(text)}::text AS words, coffer_search_fold(${text}) AS folded,
               ${typedWords(exact)}::text AS exact_words`;
      const counted = Math.max(COUNT_LIMIT, offset + limit);
      // Sorted by name, date or size, every counted match takes part (a true order, no scores);
      // by relevance only the best-ranked of each kind do.
      const sort = explicitSort(options?.sort);
      const bounds = { limit, offset, counted, ranked: sort ? counted + 1 : Math.max(RANK_LIMIT, offset + limit) };
      const rows = await tx.$queryRaw<Array<CountRow & Partial<HitRow>>>(
        searchStatement(ownerId, terms!, similar, within, options?.filters, sort, bounds),
      );
      const counts = rows[0] ?? { by_name_count: 0, content_count: 0 };
      const capped = counts.by_name_count > bounds.counted || counts.content_count > bounds.counted;
      return {
        hits: rows.filter((row): row is CountRow & HitRow => row.id != null).map(toHit),
        total: capped ? bounds.counted : counts.by_name_count + counts.content_count,
        ...(capped ? { totalIsLowerBound: true } : {}),
      };
    }, SEARCH_TX);
  }

  async health(): Promise<void> {
    await this.prisma.$queryRaw`SELECT 1 FROM search_documents LIMIT 1`;
  }
}

/**
 * One statement: name matches and content-only matches, each collected up to a bound (counted
 * up to COUNT_LIMIT, ranked among the first RANK_LIMIT), so a query matching most of a big
 * account costs about as much as one matching a thousand documents; names equal to the query
 * always join the ranking. The snippet is made only for the page's rows, after sorting and paging.
 */
function searchStatement(
  ownerId: string,
  terms: SearchTerms,
  similar: string[],
  within: SearchScope | undefined,
  filters: SearchFilters | undefined,
  sort: SearchSort | undefined,
  { limit, offset, counted, ranked: rank }: { limit: number; offset: number; counted: number; ranked: number },
): Prisma.Sql {
  const words = Prisma.sql`${terms.words}::tsquery`;
  // "!" escapes LIKE wildcards typed by the user; a backslash would need more quoting layers.
  const contains = `%${terms.folded.replace(/[!%_]/g, (c) => `!${c}`)}%`;
  const inScope = Prisma.sql`${
    within ? Prisma.sql`AND (d.folder_id = ANY(${within.folderIds}::text[]) OR d.id = ANY(${within.ids}::text[]))` : Prisma.empty
  } ${filterConditions(filters)}`;
  // A misspelt name: every longer word of the query similar to a word of it, the rest prefixes.
  const requiredPrefixes = terms.exact_words === null ? Prisma.empty : Prisma.sql`AND d.name_words @@ ${terms.exact_words}::tsquery`;
  // Or, for several words, the words together: a slip that leaves a word below the threshold
  // ("retrun": 0.43 against "return") still leaves the phrase close ("tax retrun": 0.64).
  const misspelt = similar.length
    ? Prisma.sql`(((${Prisma.join(
        similar.map((word) => Prisma.sql`${word} <% d.name_folded`),
        " AND ",
      )}) ${similar.length > 1 ? Prisma.sql`OR ${similar.join(" ")} <% d.name_folded` : Prisma.empty}) ${requiredPrefixes})`
    : Prisma.sql`false`;
  // Each alternative is one that the GIN indexes answer; the planner ORs their bitmaps.
  // Containing the query matters for one word or part of one ("port_20", "日本", "100%"); for
  // several words the other alternatives cover it, and the trigrams of a long query (many in
  // most names) would make the index read most of its entries.
  const containsQuery = /\s/.test(terms.folded.trim()) ? Prisma.empty : Prisma.sql`OR d.name_folded LIKE ${contains} ESCAPE '!'`;
  const nameMatches = Prisma.sql`(d.name_words @@ ${words} OR ${misspelt} ${containsQuery})`;
  const nameScore = Prisma.sql`(coalesce(ts_rank(d.name_words, ${words}), 0)
              + word_similarity(${terms.folded}, d.name_folded)
              + CASE WHEN d.name_folded LIKE ${contains} ESCAPE '!' THEN 0.5 ELSE 0 END)::float8`;
  // A sorted search needs no scores (word_similarity costs ~25 µs a name).
  const score = explicitSort(sort)
    ? Prisma.sql`0::float8`
    : Prisma.sql`CASE WHEN k.by_name THEN ${nameScore} ELSE ts_rank(c.content_words, ${words})::float8 END`;
  const collect = counted + 1;
  // Content matches exclude what matched by name. Beyond COUNT_LIMIT name matches, a file
  // matching both ways may count as a content match too: the total is a lower bound then anyway.
  return Prisma.sql`
    WITH name_hits AS MATERIALIZED (
      SELECT d.id FROM search_documents d WHERE d.owner_id = ${ownerId} AND ${nameMatches} ${inScope}
      LIMIT ${collect}
    ),
    same_name AS MATERIALIZED (
      SELECT d.id FROM search_documents d WHERE d.name_folded = ${terms.folded} AND d.owner_id = ${ownerId} ${inScope}
      LIMIT ${rank}
    ),
    content_hits AS MATERIALIZED (
      SELECT d.id FROM file_contents c JOIN search_documents d ON d.id = c.file_id
      WHERE c.content_words @@ ${words} AND d.owner_id = ${ownerId} ${inScope}
        AND d.id NOT IN (SELECT id FROM name_hits)
        -- Past the counted name matches the total is a bound and the page is all names anyway.
        AND (SELECT count(*) FROM name_hits) < ${collect}
      LIMIT ${collect}
    ),
    candidates AS (
      SELECT id, true AS by_name FROM ((SELECT id FROM name_hits LIMIT ${rank}) UNION SELECT id FROM same_name) AS named
      UNION ALL
      SELECT id, false AS by_name FROM (SELECT id FROM content_hits LIMIT ${rank}) AS inside
    ),
    page AS (
      SELECT * FROM (
        SELECT k.id, k.by_name, d.name, d.name_folded, d.size, d.updated_at, ${score} AS score
        FROM candidates k JOIN search_documents d ON d.id = k.id
        LEFT JOIN file_contents c ON c.file_id = k.id AND NOT k.by_name
      ) AS scored
      ORDER BY ${hitOrder("scored", sort)}
      LIMIT ${limit} OFFSET ${offset}
    )
    SELECT counts.by_name_count, counts.content_count,
           d.id, d.owner_id, d.kind, d.name, d.folder_id, d.mime_type, d.size, d.updated_at, page.score, page.by_name,
           CASE WHEN page.by_name THEN NULL
                ELSE ts_headline('simple', c.content, ${words}, ${HEADLINE_OPTIONS}) END AS snippet
    FROM (SELECT (SELECT count(*) FROM name_hits)::int AS by_name_count,
                 (SELECT count(*) FROM content_hits)::int AS content_count) AS counts
    LEFT JOIN page ON true
    LEFT JOIN search_documents d ON d.id = page.id
    LEFT JOIN file_contents c ON c.file_id = page.id AND NOT page.by_name
    ORDER BY ${hitOrder("page", sort)}`;
}

/**
 * The order of the page's rows (`alias` has by_name, score, name, name_folded, size, updated_at,
 * id): relevance puts name matches first, best score first; the others order every match.
 */
function hitOrder(alias: "scored" | "page", sort: SearchSort | undefined): Prisma.Sql {
  const a = Prisma.raw(alias);
  const direction = Prisma.raw(sort?.direction === "asc" ? "ASC" : "DESC");
  switch (sort?.by) {
    case "name":
      return Prisma.sql`${a}.name_folded ${direction}, ${a}.name ${direction}, ${a}.id`;
    case "modified":
      return Prisma.sql`${a}.updated_at ${direction}, ${a}.id`;
    case "size":
      // Folders have no size: last either way.
      return Prisma.sql`${a}.size ${direction} NULLS LAST, ${a}.id`;
    default:
      return Prisma.sql`${a}.by_name DESC, ${a}.score DESC, ${a}.name, ${a}.id`;
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

/**
 * The query's words for the similarity match: split at spaces and punctuation as pg_trgm splits
 * words. Words of three characters or more with an ASCII letter may be misspelt (`similar`);
 * the others must still be word prefixes of the name (`exact`, for coffer_search_query). pg_trgm
 * ignores other letters under the C locale (a word without trigrams would match nothing); two
 * letters have too few trigrams to tell a typo from another word; a number with a typo is
 * another number, and the trigrams of digits (" 20", "000") are in most names, so the index
 * would read most of its entries.
 */
export function similarityWords(query: string): { similar: string[]; exact: string } {
  const words = [
    ...new Set(
      query
        .normalize("NFKC")
        .toLowerCase()
        .split(/[\s\p{P}\p{S}]+/u)
        .filter(Boolean),
    ),
  ];
  const misspellable = (word: string) => word.length >= 3 && /[a-z]/.test(word);
  return {
    similar: words.filter(misspellable).slice(0, MAX_FUZZY_WORDS),
    exact: words.filter((word) => !misspellable(word)).join(" "),
  };
}

function isTooLong(error: unknown): boolean {
  const text = String((error as { message?: unknown })?.message ?? "");
  return text.includes(TOO_LONG) || /too long for tsvector/i.test(text);
}

/** The filters as conditions on search_documents `d`, each starting with AND. */
function filterConditions(filters: SearchFilters | undefined): Prisma.Sql {
  if (!filters) return Prisma.empty;
  const conditions: Prisma.Sql[] = [];
  if (filters.kind) conditions.push(Prisma.sql`AND d.kind = ${filters.kind}`);
  if (filters.mimeType !== undefined) {
    conditions.push(
      filters.mimeType.endsWith("/")
        ? Prisma.sql`AND lower(d.mime_type) LIKE ${`${filters.mimeType.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`} ESCAPE '!'`
        : Prisma.sql`AND lower(d.mime_type) = ${filters.mimeType.toLowerCase()}`,
    );
  }
  if (filters.fileType !== undefined) conditions.push(fileTypeCondition(filters.fileType));
  if (filters.minSize !== undefined) conditions.push(Prisma.sql`AND d.size >= ${filters.minSize}`);
  if (filters.maxSize !== undefined) conditions.push(Prisma.sql`AND d.size <= ${filters.maxSize}`);
  // updated_at is a UTC timestamp without zone.
  const utc = (date: Date) => Prisma.sql`(${date.toISOString()}::timestamptz AT TIME ZONE 'UTC')`;
  if (filters.updatedFrom) conditions.push(Prisma.sql`AND d.updated_at >= ${utc(filters.updatedFrom)}`);
  if (filters.updatedBefore) conditions.push(Prisma.sql`AND d.updated_at < ${utc(filters.updatedBefore)}`);
  return conditions.length ? Prisma.join(conditions, " ") : Prisma.empty;
}

/** Files of a FILE_TYPE_MEDIA type, or ("other") of none of them, as a condition on `d`. */
function fileTypeCondition(fileType: NonNullable<SearchFilters["fileType"]>): Prisma.Sql {
  const media = fileType === "other" ? Object.values(FILE_TYPE_MEDIA) : [FILE_TYPE_MEDIA[fileType]];
  const families = media.flatMap((m) => m.families.map((family) => `${family}%`));
  const types = media.flatMap((m) => m.types);
  const known = Prisma.sql`(lower(d.mime_type) LIKE ANY(${families}::text[]) OR lower(d.mime_type) = ANY(${types}::text[]))`;
  return fileType === "other"
    ? Prisma.sql`AND d.kind = 'file' AND NOT coalesce(${known}, false)`
    : Prisma.sql`AND d.kind = 'file' AND ${known}`;
}
