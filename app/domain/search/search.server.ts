import type { Services } from "~/services/index.server";
import { inSpan } from "~/services/tracing/spans.server";
import type { SearchHit, SearchScope, SnippetPart } from "~/services/search/types";
import { canRead, LIVE_USER_SHARE } from "../sharing/access.server";
import type { SessionUser } from "../accounts/sessions.server";

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
  /** Found by its name, or only by words inside the file. */
  matchedBy: "name" | "content";
  /** For a content match: the words around the match, as plain text parts. */
  snippet: SnippetPart[] | null;
}

export interface SharedFoundItem extends FoundItem {
  ownerName: string;
}

/**
 * My own files and folders matching `query` by name or (after those) by content, and, separately, matching items that other people
 * shared with me (inside a folder shared with me, or a file shared with me), through the
 * configured search driver.
 */
export function searchFiles(services: Services, user: Pick<SessionUser, "id" | "role">, query: string) {
  // The query's length, never its words.
  return inSpan("search.query", { "search.driver": services.search.driver, "search.query_length": query.length }, () =>
    searchOwnAndShared(services, user, query),
  );
}

async function searchOwnAndShared(services: Services, user: Pick<SessionUser, "id" | "role">, query: string) {
  const [own, shared] = await Promise.all([
    services.search.search(user.id, query, { limit: RESULT_LIMIT }),
    searchSharedWithMe(services, user, query),
  ]);
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
  return { id: hit.id, kind: hit.kind, name: hit.name, folderId, size: hit.size, matchedBy: hit.matchedBy, snippet: hit.snippet };
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

async function searchSharedWithMe(services: Services, user: Pick<SessionUser, "id" | "role">, query: string) {
  const scopes = await sharedScopes(services, user.id);
  const results = await Promise.all(
    scopes.map(async ({ ownerId, ownerName, scope }) => {
      const result = await services.search.search(ownerId, query, { limit: RESULT_LIMIT, within: scope });
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
    // Name matches first, as in each owner's list.
    hits: results
      .flatMap((r) => r.hits)
      .sort((a, b) => Number(a.matchedBy === "content") - Number(b.matchedBy === "content"))
      .slice(0, RESULT_LIMIT),
    total: results.reduce((sum, r) => sum + r.total, 0),
    totalIsLowerBound: results.some((r) => r.totalIsLowerBound),
  };
}
