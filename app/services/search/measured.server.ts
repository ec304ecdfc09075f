import { measured, metrics, zeroOperations } from "../metrics.server";
import type { SearchDocument, SearchIndex, SearchOptions, SearchResult } from "./types";

/** The operations of coffer_search_operation_*: queries and index writes. */
export const SEARCH_OPERATIONS = ["search", "upsert", "remove"] as const;

/** A search driver with each query and index write timed and its failures counted, by driver and operation. */
export class MeasuredSearchIndex implements SearchIndex {
  /** The engine's version, for /admin/system: present only when the driver has one. */
  readonly serverVersion?: () => Promise<string>;

  constructor(readonly inner: SearchIndex) {
    const { searchDuration, searchErrors } = metrics();
    zeroOperations(searchDuration, searchErrors, inner.driver, SEARCH_OPERATIONS);
    if (inner.serverVersion) this.serverVersion = () => inner.serverVersion!();
  }

  get driver() {
    return this.inner.driver;
  }

  private run<T>(operation: (typeof SEARCH_OPERATIONS)[number], call: () => Promise<T>): Promise<T> {
    const { searchDuration, searchErrors } = metrics();
    return measured(searchDuration, searchErrors, { driver: this.inner.driver, operation }, call);
  }

  init(): Promise<void> {
    return this.inner.init();
  }

  upsert(documents: SearchDocument[]): Promise<void> {
    return this.run("upsert", () => this.inner.upsert(documents));
  }

  remove(ids: string[]): Promise<void> {
    return this.run("remove", () => this.inner.remove(ids));
  }

  search(ownerId: string, query: string, options?: SearchOptions): Promise<SearchResult> {
    return this.run("search", () => this.inner.search(ownerId, query, options));
  }

  health(): Promise<void> {
    return this.inner.health();
  }
}
