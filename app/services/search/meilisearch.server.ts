import { Meilisearch, MeilisearchApiError, type EnqueuedTaskPromise, type Index, type Task } from "meilisearch";
import {
  FILE_TYPE_MEDIA,
  MATCH_END,
  MATCH_START,
  SearchError,
  SearchUnavailableError,
  explicitSort,
  mimeFamily,
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

/** Documents per add request; keeps each payload far below Meilisearch's 100 MB limit. */
const ADD_BATCH = 1_000;
/** Documents carrying content per request: up to about 1 MiB of text each. */
const CONTENT_BATCH = 20;
/** Words around the match in a content snippet. */
const CROP_LENGTH = 24;
/** Every attribute but the (long) content; the snippet comes from _formatted instead. */
const RETRIEVED: Array<keyof MeiliDocument> = ["id", "ownerId", "kind", "name", "folderId", "mimeType", "size", "updatedAt"];

export const RANKING_RULES = ["sort", "words", "typo", "proximity", "attribute", "exactness"];

/** A SearchDocument as stored in Meilisearch: dates as epoch ms so they sort and filter. */
interface MeiliDocument {
  id: string;
  ownerId: string;
  kind: SearchDocument["kind"];
  name: string;
  folderId: string | null;
  mimeType: string | null;
  size: number | null;
  updatedAt: number;
  /** "image/" for "image/png": Meilisearch filters match whole values, not prefixes. */
  mimeFamily: string | null;
  content?: string | null;
}

export interface MeilisearchIndexOptions {
  host: string;
  apiKey?: string;
  index: string;
  /** Per HTTP request. */
  requestTimeoutMs?: number;
  /** How long a write may wait for Meilisearch to process its task. */
  taskTimeoutMs?: number;
}

export class MeilisearchIndex implements SearchIndex {
  readonly driver = "meilisearch" as const;
  private readonly client: Meilisearch;
  private readonly index: Index<MeiliDocument>;
  private readonly uid: string;

  constructor(options: MeilisearchIndexOptions) {
    this.uid = options.index;
    this.client = new Meilisearch({
      host: options.host,
      apiKey: options.apiKey,
      timeout: options.requestTimeoutMs ?? 10_000,
      defaultWaitOptions: { timeout: options.taskTimeoutMs ?? 30_000, interval: 50 },
    });
    this.index = this.client.index<MeiliDocument>(this.uid);
  }

  async init(): Promise<void> {
    await this.write("create the index", () => this.client.createIndex(this.uid, { primaryKey: "id" }), "index_already_exists");
    await this.write("configure the index", () =>
      this.index.updateSettings({
        // Content after name, so a name match also ranks higher within Meilisearch's own order.
        searchableAttributes: ["name", "content"],
        filterableAttributes: ["ownerId", "kind", "folderId", "id", "mimeType", "mimeFamily", "size", "updatedAt"],
        sortableAttributes: ["name", "size", "updatedAt"],
        // "sort" first: a search given a sort is in that order (it does nothing without one);
        // after it, Meilisearch's default rules.
        rankingRules: RANKING_RULES,
      }),
    );
  }

  /** Partial updates: a document written without `content` keeps the content it has. */
  async upsert(documents: SearchDocument[]): Promise<void> {
    const batchSize = documents.some((doc) => typeof doc.content === "string") ? CONTENT_BATCH : ADD_BATCH;
    for (let start = 0; start < documents.length; start += batchSize) {
      const batch = documents.slice(start, start + batchSize).map(toMeiliDocument);
      await this.write("add documents", () => this.index.updateDocuments(batch, { primaryKey: "id" }));
    }
  }

  async remove(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.write("delete documents", () => this.index.deleteDocuments(ids));
  }

  async search(ownerId: string, query: string, options?: SearchOptions): Promise<SearchResult> {
    const { limit, offset } = searchPage(options);
    // An empty q would list everything (placeholder search); the PostgreSQL driver finds nothing.
    if (query.trim() === "") return { hits: [], total: 0 };
    const within = options?.within;
    if (within && within.folderIds.length === 0 && within.ids.length === 0) return { hits: [], total: 0 };
    // Meilisearch ranks by its own rules; name matches must come first across pages, so the
    // hits up to the page's end are fetched (its maxTotalHits bounds them anyway) and reordered.
    // A sorted search is in Meilisearch's order: "sort" is its first ranking rule.
    const sort = explicitSort(options?.sort);
    const response = await this.request("search", () =>
      this.index.search(query, {
        filter: [
          `ownerId = ${filterString(ownerId)}`,
          ...(within ? [`(${scopeFilter(within)})`] : []),
          ...documentFilters(options?.filters),
        ].join(" AND "),
        ...(sort ? { sort: sortParameter(sort) } : {}),
        limit: sort ? limit : offset + limit,
        offset: sort ? offset : 0,
        showRankingScore: true,
        showMatchesPosition: true,
        attributesToRetrieve: RETRIEVED,
        attributesToCrop: ["content"],
        cropLength: CROP_LENGTH,
        attributesToHighlight: ["content"],
        highlightPreTag: MATCH_START,
        highlightPostTag: MATCH_END,
      }),
    );
    const hits = response.hits.map((hit) => {
      const byName = Boolean(hit._matchesPosition?.name?.length);
      const formatted = (hit._formatted as { content?: unknown } | undefined)?.content;
      const snippet = !byName && typeof formatted === "string" ? snippetParts(formatted) : null;
      return toHit(hit, hit._rankingScore ?? 0, byName ? "name" : "content", snippet);
    });
    const ordered = sort
      ? hits
      : [...hits.filter((hit) => hit.matchedBy === "name"), ...hits.filter((hit) => hit.matchedBy === "content")].slice(
          offset,
          offset + limit,
        );
    return {
      hits: ordered,
      total: response.estimatedTotalHits ?? response.hits.length,
    };
  }

  async serverVersion(): Promise<string> {
    return (await this.request("version", () => this.client.getVersion())).pkgVersion;
  }

  async health(): Promise<void> {
    await this.request("health check", () => this.client.health());
  }

  /** Enqueues a write and waits until Meilisearch has applied it, so a following search sees it. */
  private async write(action: string, enqueue: () => EnqueuedTaskPromise, tolerated?: string): Promise<void> {
    const task: Task = await this.request(action, () => enqueue().waitTask());
    if (task.status === "succeeded") return;
    if (tolerated && task.error?.code === tolerated) return;
    // waitTask() resolves with failed and canceled tasks too; it throws only on timeout.
    throw new SearchError(
      `Meilisearch could not ${action} in index "${this.uid}" (task ${task.uid} ${task.status}): ${task.error?.message ?? "no reason given"}`,
    );
  }

  private async request<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof SearchError) throw error;
      if (error instanceof MeilisearchApiError) {
        throw new SearchError(`Meilisearch rejected ${action} on index "${this.uid}": ${error.message}`, { cause: error });
      }
      throw new SearchUnavailableError(`Meilisearch is unavailable (${action}): ${(error as Error).message}`, { cause: error });
    }
  }
}

/** Documents directly in one of the folders, or one of the ids (each list left out when empty). */
/**
 * The filters as Meilisearch conditions. Documents written before mimeFamily was stored lack it
 * until they are written again (a search resync rewrites them all).
 */
export function documentFilters(filters: SearchFilters | undefined): string[] {
  if (!filters) return [];
  const conditions: string[] = [];
  if (filters.kind) conditions.push(`kind = ${filterString(filters.kind)}`);
  if (filters.mimeType !== undefined) {
    const family = filters.mimeType.endsWith("/");
    conditions.push(`${family ? "mimeFamily" : "mimeType"} = ${filterString(family ? filters.mimeType.toLowerCase() : filters.mimeType)}`);
  }
  if (filters.fileType !== undefined) conditions.push(...fileTypeFilter(filters.fileType));
  if (filters.minSize !== undefined) conditions.push(`size >= ${filters.minSize}`);
  if (filters.maxSize !== undefined) conditions.push(`size <= ${filters.maxSize}`);
  if (filters.updatedFrom) conditions.push(`updatedAt >= ${filters.updatedFrom.getTime()}`);
  if (filters.updatedBefore) conditions.push(`updatedAt < ${filters.updatedBefore.getTime()}`);
  return conditions;
}

/**
 * Files of a FILE_TYPE_MEDIA type, or ("other") of none of them. Documents without a media type
 * match no IN list, so NOT counts them as "other", as the PostgreSQL driver does.
 */
export function fileTypeFilter(fileType: NonNullable<SearchFilters["fileType"]>): string[] {
  const media = fileType === "other" ? Object.values(FILE_TYPE_MEDIA) : [FILE_TYPE_MEDIA[fileType]];
  const list = (values: string[]) => `[${values.map(filterString).join(", ")}]`;
  const families = media.flatMap((m) => m.families);
  const types = media.flatMap((m) => m.types);
  const known = [
    ...(families.length ? [`mimeFamily IN ${list(families)}`] : []),
    ...(types.length ? [`mimeType IN ${list(types)}`] : []),
  ].join(" OR ");
  return [`kind = "file"`, fileType === "other" ? `NOT (${known})` : `(${known})`];
}

/** A sort as Meilisearch's sort parameter; ties go by relevance (the rules after "sort"). */
export function sortParameter(sort: SearchSort): string[] {
  const attribute = sort.by === "name" ? "name" : sort.by === "size" ? "size" : "updatedAt";
  return [`${attribute}:${sort.direction}`];
}

export function scopeFilter(within: SearchScope): string {
  const list = (values: string[]) => `[${values.map(filterString).join(", ")}]`;
  const parts: string[] = [];
  if (within.folderIds.length > 0) parts.push(`folderId IN ${list(within.folderIds)}`);
  if (within.ids.length > 0) parts.push(`id IN ${list(within.ids)}`);
  return parts.join(" OR ");
}

/**
 * A double-quoted filter string. Meilisearch (1.4+) unescapes \" and \\ inside it; anything else
 * is literal, so quotes and backslashes are all that need escaping.
 */
export function filterString(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function toMeiliDocument(doc: SearchDocument): MeiliDocument {
  return {
    id: doc.id,
    ownerId: doc.ownerId,
    kind: doc.kind,
    name: doc.name,
    folderId: doc.folderId,
    mimeType: doc.mimeType,
    mimeFamily: mimeFamily(doc.mimeType),
    size: doc.size,
    updatedAt: doc.updatedAt.getTime(),
    ...(doc.content !== undefined ? { content: doc.content } : {}),
  };
}

function toHit(doc: MeiliDocument, score: number, matchedBy: SearchHit["matchedBy"], snippet: SearchHit["snippet"]): SearchHit {
  return {
    id: doc.id,
    ownerId: doc.ownerId,
    kind: doc.kind,
    name: doc.name,
    folderId: doc.folderId ?? null,
    mimeType: doc.mimeType ?? null,
    size: doc.size ?? null,
    updatedAt: new Date(doc.updatedAt),
    score,
    matchedBy,
    snippet,
  };
}
