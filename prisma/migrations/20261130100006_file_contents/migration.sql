-- Text extracted from files' contents, searched beside their names (PostgreSQL search driver).
-- A row belongs to the file's search document: removing the document (trash, delete) removes
-- the text with it. Words are split like names (coffer_search_words) so that the same query
-- function matches both.
CREATE TABLE "file_contents" (
  "file_id" TEXT NOT NULL,
  "content" TEXT NOT NULL,
  "content_words" tsvector GENERATED ALWAYS AS (to_tsvector('simple', coffer_search_words("content"))) STORED,
  CONSTRAINT "file_contents_pkey" PRIMARY KEY ("file_id"),
  CONSTRAINT "file_contents_file_id_fkey" FOREIGN KEY ("file_id") REFERENCES "search_documents"("id") ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE INDEX "file_contents_content_words_idx" ON "file_contents" USING GIN ("content_words");

-- The storageKey whose content was last extracted for search (or found to have no text), so the
-- backfill skips it; a new version has a new storageKey and is extracted again.
ALTER TABLE "files" ADD COLUMN "content_indexed_key" TEXT;
