import { Meilisearch, MeilisearchApiError, type EnqueuedTaskPromise, type Index, type Task } from "meilisearch";
import { SearchError, SearchUnavailableError, searchPage, type SearchDocument, type SearchHit, type SearchIndex, type SearchOptions, type SearchResult, type SearchScope } from "./types";

/** Documents per add request; keeps each payload far below Meilisearch's 100 MB limit. */
const ADD_BATCH = 1_000;

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
        searchableAttributes: ["name"],
        filterableAttributes: ["ownerId", "kind", "folderId", "id"],
        sortableAttributes: ["updatedAt"],
      }),
    );
  }

  async upsert(documents: SearchDocument[]): Promise<void> {
    for (let start = 0; start < documents.length; start += ADD_BATCH) {
      const batch = documents.slice(start, start + ADD_BATCH).map(toMeiliDocument);
      await this.write("add documents", () => this.index.addDocuments(batch, { primaryKey: "id" }));
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
    const response = await this.request("search", () =>
      this.index.search(query, {
        filter: `ownerId = ${filterString(ownerId)}${within ? ` AND (${scopeFilter(within)})` : ""}`,
        limit,
        offset,
        showRankingScore: true,
      }),
    );
    return {
      hits: response.hits.map((hit) => toHit(hit, hit._rankingScore ?? 0)),
      total: response.estimatedTotalHits ?? response.hits.length,
    };
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
    throw new SearchError(`Meilisearch could not ${action} in index "${this.uid}" (task ${task.uid} ${task.status}): ${task.error?.message ?? "no reason given"}`);
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
    size: doc.size,
    updatedAt: doc.updatedAt.getTime(),
  };
}

function toHit(doc: MeiliDocument, score: number): SearchHit {
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
  };
}
