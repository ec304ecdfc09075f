import type { PrismaClient } from "~/generated/prisma/client";
import { type Breaker, createBreaker, DependencyUnavailableError } from "../dependency.server";
import type { Logger } from "../logger.server";
import type { SearchDocument, SearchIndex, SearchOptions, SearchResult } from "./types";

/** A query that takes Meilisearch this long counts as an outage (it answers in milliseconds). */
const QUERY_TIMEOUT_MS = 3_000;

export interface ResilientSearchOptions {
  log?: Logger;
  resetMs?: number;
  queryTimeoutMs?: number;
}

/**
 * A search server apart from the database (Meilisearch) can be down while everything else works.
 * Then queries fail fast with DependencyUnavailableError (503, Retry-After) behind a circuit
 * breaker, and index writes never fail the operation that made them (its change is already
 * committed): the documents' ids go to the `search_outbox` table, and the search-resync job
 * rewrites them from the database once the server is back. Writes that carry extracted content
 * still fail after queueing, so the content-index job keeps the file for its next run: the
 * outbox rewrites names and places, not text.
 */
export class ResilientSearchIndex implements SearchIndex {
  readonly serverVersion?: () => Promise<string>;
  private readonly breaker: Breaker;

  constructor(
    private readonly inner: SearchIndex,
    private readonly prisma: Pick<PrismaClient, "$executeRaw">,
    private readonly options: ResilientSearchOptions = {},
  ) {
    this.breaker = createBreaker("search", {
      isOutage: isSearchOutage,
      timeoutMs: options.queryTimeoutMs ?? QUERY_TIMEOUT_MS,
      resetMs: options.resetMs,
      onStateChange: (state) => {
        if (state === "open")
          options.log?.warn("search server unreachable: answering searches with 503 for a while", { dependency: "search" });
        else if (state === "closed") options.log?.info("search server reachable again", { dependency: "search" });
      },
    });
    if (inner.serverVersion) this.serverVersion = () => inner.serverVersion!();
  }

  get driver() {
    return this.inner.driver;
  }

  init(): Promise<void> {
    return this.inner.init();
  }

  health(): Promise<void> {
    return this.inner.health();
  }

  search(ownerId: string, query: string, options?: SearchOptions): Promise<SearchResult> {
    return this.breaker.run(() => this.inner.search(ownerId, query, options));
  }

  async upsert(documents: SearchDocument[]): Promise<void> {
    if (documents.length === 0) return;
    const written = await this.write(
      () => this.inner.upsert(documents),
      documents.map((d) => d.id),
    );
    if (!written && documents.some((d) => d.content !== undefined)) throw new DependencyUnavailableError("search");
  }

  async remove(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.write(() => this.inner.remove(ids), ids);
  }

  /** False when the server was down and the ids were queued for the resync instead. */
  private async write(call: () => Promise<void>, ids: string[]): Promise<boolean> {
    try {
      if (this.breaker.isOpen) throw new DependencyUnavailableError("search");
      await call();
      return true;
    } catch (error) {
      if (!(error instanceof DependencyUnavailableError) && !isSearchOutage(error)) throw error;
      await queueForResync(this.prisma, ids);
      this.options.log?.warn("search index write queued: the search server is unreachable", { documents: ids.length });
      return false;
    }
  }
}

/** The search server is unreachable or timed out (not: it rejected the request). */
export function isSearchOutage(error: unknown): boolean {
  return error instanceof Error && error.name === "SearchUnavailableError";
}

export async function queueForResync(prisma: Pick<PrismaClient, "$executeRaw">, ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 1000) {
    const batch = [...new Set(ids.slice(i, i + 1000))];
    await prisma.$executeRaw`
      INSERT INTO search_outbox (document_id)
      SELECT unnest(${batch}::text[])
      ON CONFLICT (document_id) DO UPDATE SET queued_at = CURRENT_TIMESTAMP`;
  }
}
