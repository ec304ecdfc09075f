import { folderPaths, searchFiles } from "~/domain/search/search.server";
import { defineOperation, json, type Operation } from "./operation.server";
import { SearchQuery, SearchResults } from "./schemas-search";

/** Search, through the search page's own domain function: your items and those shared with you. */
export const searchOperations: Operation[] = [
  defineOperation({
    operationId: "search",
    method: "get",
    path: "/search",
    tag: "Search",
    summary: "Search names and contents",
    description:
      "Your items matching `q` by name (misspellings included) or by words inside files, paged with `offset`, and the first matches among items shared with you. Filters narrow both.",
    scope: "files:read",
    query: SearchQuery,
    responses: { 200: { description: "The matches.", schema: SearchResults } },
    async handler({ services, principal, query }) {
      const result = await searchFiles(services, principal.user, query.q, {
        filters: {
          kind: query.kind,
          mimeType: query.mimeType,
          minSize: query.minSize,
          maxSize: query.maxSize,
          updatedFrom: query.updatedFrom === undefined ? undefined : new Date(query.updatedFrom),
          updatedBefore: query.updatedBefore === undefined ? undefined : new Date(query.updatedBefore),
        },
        folderId: query.folderId,
        offset: query.offset,
        limit: query.limit,
      });
      const paths = await folderPaths(services, principal.user, [...result.hits, ...result.sharedHits]);
      const item = (hit: (typeof result.hits)[number]) => ({
        kind: hit.kind,
        id: hit.id,
        name: hit.name,
        size: hit.size,
        matchedBy: hit.matchedBy,
        snippet: hit.snippet,
        folderId: hit.folderId,
        path: (hit.folderId ? (paths.get(hit.folderId) ?? []) : []).map((crumb) => ({ id: crumb.id, name: crumb.name })),
      });
      const end = query.offset + result.hits.length;
      const more = result.hits.length === query.limit && (end < result.total || result.totalIsLowerBound);
      return json({
        items: result.hits.map(item),
        total: result.total,
        totalIsLowerBound: result.totalIsLowerBound,
        nextOffset: more ? end : null,
        shared: {
          items: result.sharedHits.map((hit) => ({ ...item(hit), owner: { name: hit.ownerName } })),
          total: result.sharedTotal,
          totalIsLowerBound: result.sharedTotalIsLowerBound,
        },
      });
    },
  }),
];
