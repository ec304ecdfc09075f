import { z } from "zod";
import { isId } from "~/domain/ids";
import type { SearchRequest } from "~/domain/search/search.server";
import { FILE_TYPES, SEARCH_SORT_KEYS, type SearchFilters } from "~/services/search/types";
import { parseQuery } from "./forms.server";

/**
 * The search page's query parameters. An "any" choice is sent as an empty value by the GET
 * form and reads as absent; anything else that is not one of the choices is a 400 naming the
 * parameter, never a 500 or a silently different search. Other parameters (Remix's own) pass.
 */

export const SEARCH_TYPES = ["folder", ...FILE_TYPES] as const;
export const SEARCH_MODIFIED = ["today", "week", "month", "year", "custom"] as const;
export const SEARCH_SIZES = ["small", "medium", "large"] as const;

const MIB = 1024 * 1024;
/** Size choices in bytes, inclusive: < 1 MiB, 1–100 MiB, > 100 MiB. */
export const SIZE_RANGES: Record<(typeof SEARCH_SIZES)[number], { minSize?: number; maxSize?: number }> = {
  small: { maxSize: MIB - 1 },
  medium: { minSize: MIB, maxSize: 100 * MIB },
  large: { minSize: 100 * MIB + 1 },
};

/** One value, "" (the form's "any") read as absent; a repeated parameter is refused by `inner`. */
const optional = <Inner extends z.ZodType>(inner: Inner) =>
  z.preprocess((value) => (value === "" || value === undefined ? undefined : value), inner.optional());

const choice = <const Values extends readonly [string, ...string[]]>(name: string, values: Values) =>
  optional(z.enum(values, { error: () => `${name} must be one of: ${values.join(", ")}.` }));
const date = (name: string) => optional(z.iso.date({ error: () => `${name} must be a date (YYYY-MM-DD).` }));

export const searchPageQuery = z
  .object({
    // A longer query is cut rather than refused, as the search box allows.
    q: z.preprocess(
      (value) => (typeof value === "string" ? value : ""),
      z.string().transform((q) => q.trim().slice(0, 200)),
    ),
    type: choice("type", SEARCH_TYPES),
    modified: choice("modified", SEARCH_MODIFIED),
    from: date("from"),
    to: date("to"),
    size: choice("size", SEARCH_SIZES),
    folder: optional(z.string({ error: () => "folder must be a folder id." }).refine(isId, "folder must be a folder id.")),
    sort: choice("sort", SEARCH_SORT_KEYS),
    order: optional(z.enum(["asc", "desc"], { error: () => "order must be asc or desc." })),
  })
  .refine((query) => query.from === undefined || query.to === undefined || query.from <= query.to, {
    message: "from is after to.",
    path: ["from"],
  });

export type SearchPageQuery = z.output<typeof searchPageQuery>;

/** The page's parameters, or a 400 naming the first bad one. */
export function parseSearchPageQuery(request: Request): SearchPageQuery {
  return parseQuery(request, searchPageQuery);
}

/** The direction a sort takes when none is given: A to Z, newest first, largest first. */
export function defaultOrder(sort: SearchPageQuery["sort"]): "asc" | "desc" {
  return sort === "name" ? "asc" : "desc";
}

const DAY = 24 * 60 * 60 * 1000;

/** The page's choices as the domain's search request; dates are whole UTC days. */
export function searchRequest(query: SearchPageQuery, now = new Date()): SearchRequest {
  const filters: SearchFilters = {};
  if (query.type === "folder") filters.kind = "folder";
  else if (query.type !== undefined) filters.fileType = query.type;
  if (query.size !== undefined) Object.assign(filters, SIZE_RANGES[query.size]);
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  switch (query.modified) {
    case "today":
      filters.updatedFrom = new Date(today);
      break;
    case "week":
      filters.updatedFrom = new Date(today - 6 * DAY);
      break;
    case "month":
      filters.updatedFrom = new Date(today - 29 * DAY);
      break;
    case "year":
      filters.updatedFrom = new Date(today - 364 * DAY);
      break;
    case "custom":
      if (query.from) filters.updatedFrom = new Date(`${query.from}T00:00:00Z`);
      // "to" is the last day included.
      if (query.to) filters.updatedBefore = new Date(Date.parse(`${query.to}T00:00:00Z`) + DAY);
      break;
  }
  return {
    filters,
    folderId: query.folder,
    sort: query.sort ? { by: query.sort, direction: query.order ?? defaultOrder(query.sort) } : undefined,
  };
}
