export interface SearchDocument {
  id: string;
  ownerId: string;
  kind: "file" | "folder";
  name: string;
  folderId: string | null;
  mimeType: string | null;
  size: number | null;
  updatedAt: Date;
  /**
   * Text extracted from the file for content search: a string sets it, null removes it, and
   * leaving it out keeps what the index holds (a rename or move does not touch the content).
   */
  content?: string | null;
}

export interface SearchHit extends Omit<SearchDocument, "content"> {
  /** Higher is better; comparable only within one result list. */
  score: number;
  /** Name matches come before content-only matches. */
  matchedBy: "name" | "content";
  /** For a content-only match: a short excerpt of the content around the matched words. */
  snippet: SnippetPart[] | null;
}

/** A piece of a snippet; `match` marks the query's words. Plain text, never HTML. */
export interface SnippetPart {
  text: string;
  match: boolean;
}

/**
 * Drivers ask their engine to wrap matches in these private-use characters (which extraction
 * strips from stored text), then split on them: stored text never becomes markup.
 */
export const MATCH_START = "\uE000";
export const MATCH_END = "\uE001";

export function snippetParts(marked: string): SnippetPart[] {
  const parts: SnippetPart[] = [];
  for (const [index, piece] of marked.split(/[\uE000\uE001]/).entries()) {
    if (piece === "") continue;
    // split() alternates: outside, inside, outside, … as long as the markers pair up.
    parts.push({ text: piece, match: index % 2 === 1 });
  }
  return parts;
}

export interface SearchOptions {
  limit?: number;
  offset?: number;
  within?: SearchScope;
  filters?: SearchFilters;
}

/** Narrows a search by what the documents are; every given filter must hold. */
export interface SearchFilters {
  kind?: "file" | "folder";
  /** An exact media type ("application/pdf") or a family ending in a slash ("image/"). */
  mimeType?: string;
  /** Bytes, inclusive; a folder has no size, so a size filter finds files only. */
  minSize?: number;
  maxSize?: number;
  /** Last changed at or after / before this moment. */
  updatedFrom?: Date;
  updatedBefore?: Date;
}

/** The family part of a media type ("image/png" → "image/"), as filters name families. */
export function mimeFamily(mimeType: string | null): string | null {
  if (mimeType === null) return null;
  const slash = mimeType.indexOf("/");
  return slash > 0 ? mimeType.slice(0, slash + 1).toLowerCase() : null;
}

export interface SearchScope {
  folderIds: string[];
  ids: string[];
}

export interface SearchResult {
  hits: SearchHit[];
  /** Estimated total number of matches. */
  total: number;
  /** The driver stopped counting: there are more than `total` matches. */
  totalIsLowerBound?: boolean;
}

/**
 * Full-text search over file and folder names and, for files, their extracted text. Writes are visible to `search` as soon as the
 * returned promise resolves.
 */
export interface SearchIndex {
  readonly driver: "postgres" | "meilisearch";
  init(): Promise<void>;
  upsert(documents: SearchDocument[]): Promise<void>;
  /** Removes documents with their content. */
  remove(ids: string[]): Promise<void>;
  /**
   * Only documents of `ownerId`; matches words, prefixes, and misspelt or partial names, then
   * (after every name match) documents whose content holds all the query's words.
   * `within` narrows further to documents directly inside one of `folderIds` or whose id is one
   * of `ids` (what someone shared with the searcher); both empty matches nothing.
   */
  search(ownerId: string, query: string, options?: SearchOptions): Promise<SearchResult>;
  health(): Promise<void>;
  /** The search server's version, for engines apart from the database. */
  serverVersion?(): Promise<string>;
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
