-- The PostgreSQL search driver always ranks names equal to the query, however many other names
-- match. A hash index answers that equality in one probe (the trigram index would read every
-- name holding the query's trigrams), and unlike a B-tree it has no size limit on the key:
-- a folded name can be longer than the 255 bytes of the name.
CREATE INDEX "search_documents_name_folded_hash_idx" ON "search_documents" USING HASH ("name_folded");
