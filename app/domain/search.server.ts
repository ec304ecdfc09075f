import type { Services } from "~/services/index.server";
import type { SessionUser } from "./sessions.server";

const RESULT_LIMIT = 50;

/** The user's own files and folders matching `query`, through the configured search driver. */
export async function searchFiles(services: Services, user: Pick<SessionUser, "id">, query: string) {
  const result = await services.search.search(user.id, query, { limit: RESULT_LIMIT });
  return {
    total: result.total,
    hits: result.hits.map((hit) => ({
      id: hit.id,
      kind: hit.kind,
      name: hit.name,
      folderId: hit.folderId,
      size: hit.size,
    })),
  };
}
