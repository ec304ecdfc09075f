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

export interface SearchOptions {
  limit?: number;
  offset?: number;
  within?: SearchScope;
}

export interface SearchScope {
  folderIds: string[];
  ids: string[];
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
  /**
   * Only documents of `ownerId`; matches words, prefixes, and misspelt or partial names.
   * `within` narrows further to documents directly inside one of `folderIds` or whose id is one
   * of `ids` (what someone shared with the searcher); both empty matches nothing.
   */
  search(ownerId: string, query: string, options?: SearchOptions): Promise<SearchResult>;
  health(): Promise<void>;
}

export class SearchError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SearchError";
  }
}

/** The search server could not be reached or answered with an error. */
export class SearchUnavailableError extends SearchError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SearchUnavailableError";
  }
}

export const DEFAULT_SEARCH_LIMIT = 20;
export const MAX_SEARCH_LIMIT = 1000;

/** Clamps caller-supplied paging to whole numbers both drivers accept. */
export function searchPage(options: { limit?: number; offset?: number } = {}): { limit: number; offset: number } {
  const whole = (value: number | undefined, fallback: number) => (Number.isFinite(value) ? Math.floor(value!) : fallback);
  return {
    limit: Math.min(Math.max(whole(options.limit, DEFAULT_SEARCH_LIMIT), 0), MAX_SEARCH_LIMIT),
    offset: Math.max(whole(options.offset, 0), 0),
  };
}
