export interface SearchDocument {
  id: string;
  ownerId: string;
  kind: "file" | "folder";
  name: string;
  folderId: string | null;
  mimeType: string | null;
  size: number | null;
  updatedAt: Date;
}

export interface SearchHit extends SearchDocument {
  /** Higher is better; comparable only within one result list. */
  score: number;
}

export interface SearchResult {
  hits: SearchHit[];
  /** Estimated total number of matches. */
  total: number;
}

/**
 * Full-text search over file and folder names. Writes are visible to `search` as soon as the
 * returned promise resolves.
 */
export interface SearchIndex {
  readonly driver: "postgres" | "meilisearch";
  init(): Promise<void>;
  upsert(documents: SearchDocument[]): Promise<void>;
  remove(ids: string[]): Promise<void>;
  /** Only documents of `ownerId`; matches words, prefixes, and misspelt or partial names. */
  search(ownerId: string, query: string, options?: { limit?: number; offset?: number }): Promise<SearchResult>;
  health(): Promise<void>;
}
