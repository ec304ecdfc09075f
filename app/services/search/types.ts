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
  /** Relevance (name matches first, then content matches) unless given. */
  sort?: SearchSort;
}

export const SEARCH_SORT_KEYS = ["relevance", "name", "modified", "size"] as const;
export type SearchSortKey = (typeof SEARCH_SORT_KEYS)[number];

/**
 * The order of the hits. By name, modified date or size, name and content matches mix in one
 * order (folders, which have no size, come last by size either way); ties go by id.
 */
export interface SearchSort {
  by: SearchSortKey;
  direction: "asc" | "desc";
}

/** A sort that is not plain relevance, or undefined: what drivers branch on. */
export function explicitSort(sort: SearchSort | undefined): (SearchSort & { by: Exclude<SearchSortKey, "relevance"> }) | undefined {
  return sort && sort.by !== "relevance" ? (sort as SearchSort & { by: Exclude<SearchSortKey, "relevance"> }) : undefined;
}

/** What kind of file, for people: each but "other" is a set of media types and families. */
export const FILE_TYPES = ["image", "video", "audio", "document", "archive", "text", "other"] as const;
export type FileType = (typeof FILE_TYPES)[number];

/**
 * The media types of each file type: families ("image/") and exact types, all lower case. A
 * file is "other" when its type is none of these (or unknown).
 */
export const FILE_TYPE_MEDIA: Record<Exclude<FileType, "other">, { families: string[]; types: string[] }> = {
  image: { families: ["image/"], types: [] },
  video: { families: ["video/"], types: [] },
  audio: { families: ["audio/"], types: [] },
  document: {
    families: [],
    types: [
      "application/pdf",
      "application/msword",
      "application/rtf",
      "application/epub+zip",
      "application/vnd.ms-excel",
      "application/vnd.ms-powerpoint",
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
      "application/vnd.openxmlformats-officedocument.presentationml.presentation",
      "application/vnd.oasis.opendocument.text",
      "application/vnd.oasis.opendocument.spreadsheet",
      "application/vnd.oasis.opendocument.presentation",
    ],
  },
  archive: {
    families: [],
    types: [
      "application/zip",
      "application/x-zip-compressed",
      "application/gzip",
      "application/x-gzip",
      "application/x-tar",
      "application/x-7z-compressed",
      "application/x-rar-compressed",
      "application/vnd.rar",
      "application/x-bzip2",
      "application/x-xz",
      "application/zstd",
    ],
  },
  text: {
    families: ["text/"],
    types: [
      "application/json",
      "application/xml",
      "application/javascript",
      "application/typescript",
      "application/x-sh",
      "application/x-python",
      "application/yaml",
      "application/x-yaml",
      "application/toml",
      "application/sql",
      "application/x-httpd-php",
    ],
  },
};

/** The file type of a media type, as the filters group them. */
export function fileTypeOf(mimeType: string | null): FileType {
  const type = mimeType?.toLowerCase() ?? null;
  const family = mimeFamily(type);
  for (const [name, media] of Object.entries(FILE_TYPE_MEDIA)) {
    if (type !== null && (media.types.includes(type) || (family !== null && media.families.includes(family)))) return name as FileType;
  }
  return "other";
}

/** Narrows a search by what the documents are; every given filter must hold. */
export interface SearchFilters {
  kind?: "file" | "folder";
  /** An exact media type ("application/pdf") or a family ending in a slash ("image/"). */
  mimeType?: string;
  /** Bytes, inclusive; a folder has no size, so a size filter finds files only. */
  minSize?: number;
  maxSize?: number;
  /** Files of this type (FILE_TYPE_MEDIA); "other" is every file of none of the others. */
  fileType?: FileType;
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
