import type { Services } from "~/services/index.server";
import { inSpan } from "~/services/tracing/spans.server";
import {
  explicitSort,
  type SearchFilters,
  type SearchHit,
  type SearchScope,
  type SearchSort,
  type SnippetPart,
} from "~/services/search/types";
import { canRead, LIVE_USER_SHARE } from "../sharing/access.server";
import type { SessionUser } from "../accounts/sessions.server";
import { getReadableFolder } from "../files/folders.server";
import { breadcrumbsOf } from "../files/folder-tree.server";
import type { Crumb } from "../files/folder-listing";
import { visibleCrumbs } from "../sharing/user-shares.server";

const RESULT_LIMIT = 50;
/** Most owners whose shared items one search looks through. */
const MAX_SHARING_OWNERS = 20;
/** Most folders of shared subtrees one search looks inside (per owner). */
const MAX_SHARED_FOLDERS = 5000;

export interface FoundItem {
  id: string;
  kind: "file" | "folder";
  name: string;
  /** The folder it is in, when the searcher may open that folder. */
  folderId: string | null;
  size: number | null;
  mimeType: string | null;
  updatedAt: Date;
  /** Found by its name, or only by words inside the file. */
  matchedBy: "name" | "content";
  /** For a content match: the words around the match, as plain text parts. */
  snippet: SnippetPart[] | null;
}

export interface SharedFoundItem extends FoundItem {
  ownerName: string;
}

/** What else narrows a search: the drivers' filters, a folder to search below, and paging of your own results. */
export interface SearchRequest {
  filters?: SearchFilters;
  /** Relevance unless given; applies to your own results and, among themselves, to shared ones. */
  sort?: SearchSort;
  /** Only items below this folder (at any depth); it must be one the searcher may read. */
  folderId?: string;
  /** Your own results from this position (shared results are the first RESULT_LIMIT). */
  offset?: number;
  limit?: number;
}

/**
 * My own files and folders matching `query` by name or (after those) by content, and, separately, matching items that other people
 * shared with me (inside a folder shared with me, or a file shared with me), through the
 * configured search driver.
 */
export function searchFiles(services: Services, user: Pick<SessionUser, "id" | "role">, query: string, request: SearchRequest = {}) {
  // The query's length, never its words.
  return inSpan("search.query", { "search.driver": services.search.driver, "search.query_length": query.length }, () =>
    searchOwnAndShared(services, user, query, request),
  );
}

/** The folder a search is limited to: its owner and the live folders of its subtree. */
interface FolderScope {
  ownerId: string;
  folderId: string;
  folderIds: string[];
}

async function folderScope(services: Services, user: Pick<SessionUser, "id" | "role">, folderId: string): Promise<FolderScope> {
  const folder = await getReadableFolder(services, user, folderId);
  const subtree = await services.prisma.$queryRaw<Array<{ id: string }>>`
    WITH RECURSIVE sub AS (
      SELECT id, 0 AS depth FROM folders WHERE id = ${folder.id} AND trashed_at IS NULL
      UNION
      SELECT f.id, sub.depth + 1 FROM folders f JOIN sub ON f.parent_id = sub.id WHERE f.trashed_at IS NULL AND sub.depth < 1000
    )
    SELECT DISTINCT id FROM sub LIMIT ${MAX_SHARED_FOLDERS}`;
  return { ownerId: folder.ownerId, folderId: folder.id, folderIds: subtree.map((row) => row.id) };
}

async function searchOwnAndShared(services: Services, user: Pick<SessionUser, "id" | "role">, query: string, request: SearchRequest) {
  const below = request.folderId === undefined ? null : await folderScope(services, user, request.folderId);
  const ownSearch =
    below && below.ownerId !== user.id
      ? Promise.resolve({ hits: [] as SearchHit[], total: 0, totalIsLowerBound: false })
      : services.search.search(user.id, query, {
          limit: request.limit ?? RESULT_LIMIT,
          offset: request.offset,
          filters: request.filters,
          sort: request.sort,
          ...(below ? { within: { folderIds: below.folderIds, ids: [] } } : {}),
        });
  const [own, shared] = await Promise.all([ownSearch, searchSharedWithMe(services, user, query, request, below)]);
  return {
    total: own.total,
    /** More than `total` matched: the driver stopped counting. */
    totalIsLowerBound: own.totalIsLowerBound === true,
    hits: own.hits.map((hit) => found(hit, hit.folderId)),
    sharedTotal: shared.total,
    sharedTotalIsLowerBound: shared.totalIsLowerBound,
    sharedHits: shared.hits,
  };
}

function found(hit: SearchHit, folderId: string | null): FoundItem {
  return {
    id: hit.id,
    kind: hit.kind,
    name: hit.name,
    folderId,
    size: hit.size,
    mimeType: hit.mimeType,
    updatedAt: hit.updatedAt,
    matchedBy: hit.matchedBy,
    snippet: hit.snippet,
  };
}

/** What each owner shared with the user, as search scopes: live folders of shared subtrees, shared ids. */
export async function sharedScopes(
  services: Services,
  userId: string,
): Promise<Array<{ ownerId: string; ownerName: string; scope: SearchScope }>> {
  const shares = await services.prisma.userShare.findMany({
    where: { granteeId: userId, ownerId: { not: userId }, ...LIVE_USER_SHARE },
    select: { ownerId: true, fileId: true, folderId: true },
    orderBy: { createdAt: "desc" },
  });
  // Most people have nothing shared with them: no owners to name (a relation select would still
  // cost a statement on every search).
  if (shares.length === 0) return [];
  const byOwner = new Map<string, { fileIds: string[]; folderIds: string[] }>();
  for (const share of shares) {
    let entry = byOwner.get(share.ownerId);
    if (!entry) {
      if (byOwner.size >= MAX_SHARING_OWNERS) continue;
      entry = { fileIds: [], folderIds: [] };
      byOwner.set(share.ownerId, entry);
    }
    if (share.fileId) entry.fileIds.push(share.fileId);
    if (share.folderId) entry.folderIds.push(share.folderId);
  }
  const owners = await services.prisma.user.findMany({ where: { id: { in: [...byOwner.keys()] } }, select: { id: true, name: true } });
  const ownerNames = new Map(owners.map((owner) => [owner.id, owner.name]));
  const scopes = [];
  for (const [ownerId, entry] of byOwner) {
    // Trashed folders (and what is below them) are out of the index and out of reach.
    const subtree = entry.folderIds.length
      ? await services.prisma.$queryRaw<Array<{ id: string }>>`
          WITH RECURSIVE sub AS (
            SELECT id, 0 AS depth FROM folders WHERE id = ANY(${entry.folderIds}::text[]) AND owner_id = ${ownerId} AND trashed_at IS NULL
            UNION
            SELECT f.id, sub.depth + 1 FROM folders f JOIN sub ON f.parent_id = sub.id WHERE f.trashed_at IS NULL AND sub.depth < 1000
          )
          SELECT DISTINCT id FROM sub LIMIT ${MAX_SHARED_FOLDERS}`
      : [];
    const folderIds = subtree.map((row) => row.id);
    scopes.push({
      ownerId,
      ownerName: ownerNames.get(ownerId) ?? "",
      scope: { folderIds, ids: [...entry.fileIds, ...entry.folderIds.filter((id) => folderIds.includes(id))] },
    });
  }
  return scopes;
}

/** The shared scopes narrowed to a folder's subtree: only its owner's, and only inside it. */
function scopesBelow(scopes: Awaited<ReturnType<typeof sharedScopes>>, below: FolderScope | null) {
  if (!below) return scopes;
  const inside = new Set(below.folderIds);
  return scopes
    .filter(({ ownerId }) => ownerId === below.ownerId)
    .map(({ ownerId, ownerName, scope }) => ({
      ownerId,
      ownerName,
      scope: {
        folderIds: scope.folderIds.filter((id) => inside.has(id)),
        ids: scope.ids.filter((id) => inside.has(id) && id !== below.folderId),
      },
    }));
}

async function searchSharedWithMe(
  services: Services,
  user: Pick<SessionUser, "id" | "role">,
  query: string,
  { filters, sort }: Pick<SearchRequest, "filters" | "sort">,
  below: FolderScope | null,
) {
  const scopes = scopesBelow(await sharedScopes(services, user.id), below);
  const results = await Promise.all(
    scopes.map(async ({ ownerId, ownerName, scope }) => {
      const result = await services.search.search(ownerId, query, { limit: RESULT_LIMIT, within: scope, filters, sort });
      const inside = new Set(scope.folderIds);
      // The index may lag behind a just-revoked share: every hit is checked against the grants.
      const readable = await Promise.all(
        result.hits.map((hit) =>
          canRead(
            services,
            user,
            hit.kind === "folder"
              ? { kind: "folder", id: hit.id, ownerId }
              : { kind: "file", id: hit.id, ownerId, folderId: hit.folderId ?? "" },
          ),
        ),
      );
      const hits = result.hits
        .filter((_, index) => readable[index])
        .map((hit): SharedFoundItem => ({ ...found(hit, hit.folderId && inside.has(hit.folderId) ? hit.folderId : null), ownerName }));
      return { hits, total: result.total, totalIsLowerBound: result.totalIsLowerBound === true };
    }),
  );
  return {
    // Name matches first, as in each owner's list; or the asked order across owners.
    hits: results
      .flatMap((r) => r.hits)
      .sort(sharedOrder(sort))
      .slice(0, RESULT_LIMIT),
    total: results.reduce((sum, r) => sum + r.total, 0),
    totalIsLowerBound: results.some((r) => r.totalIsLowerBound),
  };
}

/** How shared hits from several owners merge: as each driver orders one owner's hits. */
function sharedOrder(sort: SearchSort | undefined): (a: FoundItem, b: FoundItem) => number {
  const byMatch = (a: FoundItem, b: FoundItem) => Number(a.matchedBy === "content") - Number(b.matchedBy === "content");
  const explicit = explicitSort(sort);
  if (!explicit) return byMatch;
  const sign = explicit.direction === "asc" ? 1 : -1;
  const names = new Intl.Collator(undefined, { sensitivity: "base" });
  return (a, b) => {
    if (explicit.by === "name") return sign * names.compare(a.name, b.name);
    if (explicit.by === "modified") return sign * (a.updatedAt.getTime() - b.updatedAt.getTime());
    // No size (a folder): last either way.
    if (a.size === null || b.size === null) return Number(a.size === null) - Number(b.size === null);
    return sign * (a.size - b.size);
  };
}

/**
 * Where each found item is: the folders from the top down to the one holding it, as far as the
 * searcher may see them (a grantee sees from the highest folder shared with them down). Empty
 * when the searcher may not open the folder it is in.
 */
export async function folderPaths(
  services: Services,
  user: Pick<SessionUser, "id" | "role">,
  items: Array<{ folderId: string | null }>,
): Promise<Map<string, Crumb[]>> {
  const chains = await breadcrumbsOf(
    services,
    items.flatMap((item) => (item.folderId ? [item.folderId] : [])),
  );
  const paths = new Map<string, Crumb[]>();
  for (const [folderId, { ownerId, crumbs }] of chains) {
    paths.set(folderId, await visibleCrumbs(services, user, ownerId, crumbs));
  }
  return paths;
}
