/**
 * The PostgreSQL search driver's query as it was before issue 14 (main at 1031149), kept so
 * that `npm run bench:search` can time it beside today's driver in the same run: on a shared
 * machine only figures taken side by side compare. Same statements, same parameters; the rows
 * are returned unconverted, since only the time matters here.
 */
import { Prisma, type PrismaClient } from "../../app/generated/prisma/client";

const WORD_SIMILARITY_THRESHOLD = 0.5;
const HEADLINE_OPTIONS = `StartSel=\uE000, StopSel=\uE001, MaxWords=24, MinWords=8, MaxFragments=1, FragmentDelimiter=" … "`;

export async function searchBefore(prisma: PrismaClient, ownerId: string, query: string, limit: number, offset = 0) {
  const text = query.replaceAll("\0", "");
  // The page searches the user's own files without a scope (the `within` of shared items).
  const scope = Prisma.empty;

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
    d.owner_id = ${ownerId} AND c.content_words @@ ${words} ${scope}
    AND NOT (${where})`;
  const nameScore = Prisma.sql`(coalesce(ts_rank(name_words, ${words}), 0)
              + word_similarity(${folded}, name_folded)
              + CASE WHEN name_folded LIKE ${contains} ESCAPE '!' THEN 0.5 ELSE 0 END)::float8`;

  // set_config(..., true) keeps the threshold to this transaction, not to a pooled connection.
  // The snippet is made only for the page's rows, after sorting and paging.
  const [, rows, counted] = await prisma.$transaction([
    prisma.$executeRaw`SELECT set_config('pg_trgm.word_similarity_threshold', ${String(WORD_SIMILARITY_THRESHOLD)}, true)`,
    prisma.$queryRaw<unknown[]>`
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
    prisma.$queryRaw<Array<{ total: number }>>`
      SELECT ((SELECT count(*) FROM search_documents WHERE ${where})
            + (SELECT count(*) FROM file_contents c JOIN search_documents d ON d.id = c.file_id WHERE ${contentWhere}))::int AS total`,
  ]);
  return { hits: rows, total: counted[0]?.total ?? 0 };
}
