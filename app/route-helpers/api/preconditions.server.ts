import { isAppError } from "~/domain/errors";
import { changeIfCurrent } from "~/domain/files/item-preconditions.server";
import { StaleShareError } from "~/domain/sharing/share-preconditions.server";
import type { Item, ItemKind } from "~/domain/files/operations.server";
import type { Services } from "~/services/index.server";
import { ApiProblem } from "./problem.server";
import { representItem } from "./representations.server";

/** The entity tags of an If-Match header; null when there is none. */
export function ifMatchTags(header: string | null | undefined): string[] | null {
  if (header === null || header === undefined) return null;
  return header.split(",").map((tag) => tag.trim());
}

export function matchesAny(tags: string[], item: Item): boolean {
  return tags.includes("*") || tags.includes(representItem(item).etag);
}

export function staleProblem(current: Item): ApiProblem {
  return new ApiProblem(412, "The item has changed since you read it. Read it again and retry.", [], {
    ETag: representItem(current).etag,
  });
}

/**
 * Runs a change of an item the caller is already authorised to change, but only when If-Match
 * names its current ETag; of two requests with the same ETag exactly one runs, the other gets 412.
 * Without If-Match the change goes ahead, as on the pages.
 */
export async function changeIfMatches<T>(
  services: Services,
  request: Request,
  kind: ItemKind,
  id: string,
  change: () => Promise<T>,
): Promise<T> {
  const tags = ifMatchTags(request.headers.get("if-match"));
  if (tags === null) return change();
  try {
    return await changeIfCurrent(services, kind, id, (item) => matchesAny(tags, item), change);
  } catch (error) {
    if (isAppError(error) && error.status === 412 && "current" in error) throw staleProblem(error.current as Item);
    throw error;
  }
}

/** For a request that reads an item to act on it (a copy's source): If-Match must name it. */
export function assertMatches(request: Request, current: Item): void {
  const tags = ifMatchTags(request.headers.get("if-match"));
  if (tags !== null && !matchesAny(tags, current)) throw staleProblem(current);
}

/**
 * For a representation that is not a file or folder (the settings): If-Match must name its ETag.
 * A compare, not a claim: the caller makes it atomic with the change (the settings save holds a
 * lock around both).
 */
export function assertEtagMatches(request: Request, current: { etag: string }): void {
  const tags = ifMatchTags(request.headers.get("if-match"));
  if (tags === null || tags.includes("*") || tags.includes(current.etag)) return;
  throw new ApiProblem(412, "The resource has changed since you read it. Read it again and retry.", [], { ETag: current.etag });
}

/**
 * Runs a change of a share link or share only when If-Match names the ETag of its current
 * representation (`represent`), as a claim with the change (`claim`, the domain's
 * compare-and-swap): of two requests with the same ETag exactly one runs, the other gets 412.
 * Without If-Match the change goes ahead, as on the pages.
 */
export async function changeIfEtagMatches<View, T>(
  request: Request,
  represent: (view: View) => { etag: string },
  claim: (isCurrent: (view: View) => boolean, change: () => Promise<T>) => Promise<T>,
  change: () => Promise<T>,
): Promise<T> {
  const tags = ifMatchTags(request.headers.get("if-match"));
  if (tags === null) return change();
  try {
    return await claim((view) => tags.includes("*") || tags.includes(represent(view).etag), change);
  } catch (error) {
    if (!(error instanceof StaleShareError)) throw error;
    const etag = represent(error.current as View).etag;
    throw new ApiProblem(412, "The resource has changed since you read it. Read it again and retry.", [], { ETag: etag });
  }
}
