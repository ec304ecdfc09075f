import { z } from "zod";
import { Id } from "./schemas";

/** Search: the query and its filters (strict: an unknown parameter is an error), and the results. */

const MAX_OFFSET = 1000;
const Size = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Moment = z.iso.datetime({ offset: true });

export const SearchQuery = z
  .strictObject({
    q: z.string().trim().min(1).max(200).meta({ description: "Words of a name, or words inside files when content search is on." }),
    kind: z.enum(["file", "folder"]).optional().meta({ description: "Only files, or only folders." }),
    mimeType: z
      .string()
      .max(255)
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/([A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*)?$/,
        "Give a media type (image/png) or a family (image/).",
      )
      .optional()
      .meta({ description: "Files of this media type (`application/pdf`), or of a family (`image/`)." }),
    minSize: Size.optional().meta({ description: "Files of at least this many bytes." }),
    maxSize: Size.optional().meta({ description: "Files of at most this many bytes." }),
    updatedFrom: Moment.optional().meta({ description: "Changed at or after this moment (RFC 3339)." }),
    updatedBefore: Moment.optional().meta({ description: "Changed before this moment (RFC 3339)." }),
    folderId: Id.optional().meta({ description: "Only items below this folder, at any depth." }),
    offset: z.coerce
      .number()
      .int()
      .min(0)
      .max(MAX_OFFSET)
      .default(0)
      .meta({ description: "Skip this many of your own results: pass `nextOffset`." }),
    limit: z.coerce.number().int().min(1).max(100).default(50).meta({ description: "Most of your own results in one answer." }),
  })
  .refine((query) => query.minSize === undefined || query.maxSize === undefined || query.minSize <= query.maxSize, {
    message: "minSize is larger than maxSize.",
    path: ["minSize"],
  })
  .refine(
    (query) =>
      query.updatedFrom === undefined ||
      query.updatedBefore === undefined ||
      Date.parse(query.updatedFrom) < Date.parse(query.updatedBefore),
    { message: "updatedFrom is not before updatedBefore.", path: ["updatedFrom"] },
  )
  .meta({ id: "SearchQuery" });

const PathEntry = z.object({ id: Id, name: z.string() });

const FoundItem = z
  .object({
    kind: z.enum(["file", "folder"]),
    id: Id,
    name: z.string(),
    size: z.number().int().nonnegative().nullable(),
    matchedBy: z.enum(["name", "content"]),
    snippet: z
      .array(z.object({ text: z.string(), match: z.boolean() }))
      .nullable()
      .meta({ description: "For a content match: the words around it, `match` marking the query's words. Plain text." }),
    folderId: Id.nullable().meta({ description: "The folder it is in; null when you may not open that folder." }),
    path: z.array(PathEntry).meta({ description: "The folders from the top you may see down to `folderId`." }),
  })
  .meta({ id: "FoundItem" });

const SharedFoundItem = FoundItem.extend({ owner: z.object({ name: z.string() }) }).meta({ id: "SharedFoundItem" });

export const SearchResults = z
  .object({
    items: z.array(FoundItem).meta({ description: "Your own items: name matches first, then content matches." }),
    total: z.number().int().nonnegative(),
    totalIsLowerBound: z.boolean().meta({ description: "More than `total` matched: the search stopped counting." }),
    nextOffset: z.number().int().nullable().meta({ description: "Pass as `offset` for more of your own results; null at the end." }),
    shared: z
      .object({
        items: z.array(SharedFoundItem),
        total: z.number().int().nonnegative(),
        totalIsLowerBound: z.boolean(),
      })
      .meta({ description: "Matching items others shared with you: the first 50, not paged." }),
  })
  .meta({ id: "SearchResults" });
