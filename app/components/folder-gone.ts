import { isRouteErrorResponse } from "@remix-run/react";

/**
 * The folder page on screen, kept so that a refresh finding its folder gone (trashed or deleted
 * in another tab, or by its owner) can keep the page, with its upload panel and the uploads in
 * it, instead of replacing everything with "Not found". On globalThis (decision 0005).
 */
const LAST_PAGE = Symbol.for("coffer.folderPage.last");
type Store = { [LAST_PAGE]?: { path: string; data: object } };

export function rememberFolderPage(path: string, data: object): void {
  (globalThis as Store)[LAST_PAGE] = { path, data };
}

/**
 * Runs the server loader of /files/<id>. A refresh (not a navigation: the address is still this
 * folder's) answered 404 keeps the last page, marked gone; anything else is thrown as it was.
 */
export async function loadFolderPage<T extends object>(request: Request, serverLoader: () => Promise<T>): Promise<T & { gone?: true }> {
  const path = new URL(request.url).pathname;
  try {
    return await serverLoader();
  } catch (error) {
    const last = (globalThis as Store)[LAST_PAGE];
    const notFound = isRouteErrorResponse(error) ? error.status === 404 : error instanceof Response && error.status === 404;
    if (notFound && last?.path === path && window.location.pathname === path) return { ...(last.data as T), gone: true };
    throw error;
  }
}
