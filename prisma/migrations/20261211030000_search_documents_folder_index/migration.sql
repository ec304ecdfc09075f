-- "In this folder" on the search page narrows a search to the folders of a subtree
-- (folder_id = ANY(...)). With this index PostgreSQL ANDs its bitmap with the name indexes'
-- instead of reading every name that matches the words and dropping those elsewhere.
-- Additive: the previous release neither needs nor minds it. A plain CREATE INDEX, as the
-- migrations run in a transaction (CONCURRENTLY is not allowed there); it takes a few seconds
-- per million documents.
CREATE INDEX "search_documents_folder_id_idx" ON "search_documents" ("folder_id");
