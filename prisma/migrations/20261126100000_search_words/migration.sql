-- Search over names as people type them. The default text-search parser reads
-- "Quarterly-Report_2024.pdf" as one host-name token, and under the C locale lower() leaves
-- "RÉSUMÉ" alone. So names are folded (NFKC, lowercase; with ICU when this server has it) and
-- split into words at punctuation, spaces, lower→upper case changes and letter/digit changes,
-- into generated columns that carry the indexes. (pg_trgm ignores non-ASCII letters under the
-- C locale; the driver's contains-match on the folded name covers those.)

DO $migration$
DECLARE
  -- Unicode-aware lowercase when ICU is available; plain lower() otherwise.
  icu text := CASE WHEN EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu') THEN ' COLLATE "und-x-icu"' ELSE '' END;
BEGIN
  EXECUTE format($sql$
    CREATE FUNCTION coffer_search_fold(value text) RETURNS text
      LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
      AS $body$ SELECT lower(normalize(value, NFKC)%1$s) $body$
  $sql$, icu);

  EXECUTE format($sql$
    CREATE FUNCTION coffer_search_words(value text) RETURNS text
      LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
      AS $body$
        SELECT lower(
          regexp_replace(
            regexp_replace(
              regexp_replace(
                regexp_replace(normalize(value, NFKC), '([[:lower:]])([[:upper:]])', '\1 \2', 'g'),
                '([[:alpha:]])([[:digit:]])', '\1 \2', 'g'),
              '([[:digit:]])([[:alpha:]])', '\1 \2', 'g'),
            '[[:punct:][:space:]]+', ' ', 'g')%1$s)
      $body$
  $sql$, icu);
END
$migration$;

-- Every word of the query as a prefix, all required. The words contain no ASCII punctuation,
-- so nothing a user types can become a tsquery operator. NULL when the query has no words.
CREATE FUNCTION coffer_search_query(value text) RETURNS tsquery
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $body$
    SELECT CASE WHEN words = '' THEN NULL
                ELSE to_tsquery('simple', regexp_replace(words, '\s+', ':* & ', 'g') || ':*') END
    FROM (SELECT btrim(coffer_search_words(value)) AS words) AS query
  $body$;

-- Stored, so matching and ranking read the words instead of recomputing them for every row.
ALTER TABLE "search_documents"
  ADD COLUMN "name_words" tsvector GENERATED ALWAYS AS (to_tsvector('simple', coffer_search_words("name"))) STORED,
  ADD COLUMN "name_folded" text GENERATED ALWAYS AS (coffer_search_fold("name")) STORED;

DROP INDEX IF EXISTS "search_documents_name_fts";
DROP INDEX IF EXISTS "search_documents_name_trgm";
CREATE INDEX "search_documents_name_words_idx" ON "search_documents" USING GIN ("name_words");
CREATE INDEX "search_documents_name_folded_trgm_idx" ON "search_documents" USING GIN ("name_folded" gin_trgm_ops);
