import { z } from "zod";
import { idSchema } from "~/domain/ids";
import { SORT_KEYS } from "~/domain/files/folder-listing";

/**
 * The API's schemas: they validate requests, shape responses and, through `.meta({ id })`,
 * become the components of the OpenAPI document. Request objects are strict: an unknown field
 * is an error, never silently ignored.
 */

export const Id = idSchema.meta({ id: "Id", description: "An opaque identifier." });
const Timestamp = z.iso.datetime().meta({ description: "An RFC 3339 timestamp (UTC)." });
const ETagValue = z.string().meta({ description: "The entity tag of this representation; send it back in If-Match to change it." });

export const Folder = z
  .object({
    kind: z.literal("folder"),
    id: Id,
    name: z.string(),
    parentId: Id.nullable().meta({ description: "The folder it is in; null for the top folder." }),
    isRoot: z.boolean(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    etag: ETagValue,
  })
  .meta({ id: "Folder", description: "A folder." });

export const File = z
  .object({
    kind: z.literal("file"),
    id: Id,
    name: z.string(),
    parentId: Id,
    size: z.number().int().nonnegative(),
    mimeType: z.string(),
    sha256: z.string().nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    etag: ETagValue,
  })
  .meta({ id: "File", description: "A file's metadata." });

export const Item = z.discriminatedUnion("kind", [Folder, File]).meta({ id: "Item" });

export const ListEntry = z
  .object({
    kind: z.enum(["folder", "file"]),
    id: Id,
    name: z.string(),
    size: z.number().int().nonnegative().nullable(),
    mimeType: z.string().nullable(),
    updatedAt: Timestamp,
  })
  .meta({ id: "ListEntry", description: "One entry of a folder listing: subfolders first, then files." });

export const FolderListing = z
  .object({
    folder: Folder,
    items: z.array(ListEntry),
    nextCursor: z.string().nullable().meta({ description: "Pass as `cursor` for the next page; null on the last page." }),
  })
  .meta({ id: "FolderListing" });

export const ListQuery = z
  .strictObject({
    cursor: z.string().max(4096).optional().meta({ description: "An opaque cursor from `nextCursor`, for the same sort and dir." }),
    sort: z.enum(SORT_KEYS).default("name"),
    dir: z.enum(["asc", "desc"]).default("asc"),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .meta({ id: "ListQuery" });

export const ConflictPolicy = z
  .enum(["keep-both", "replace", "cancel"])
  .meta({ id: "ConflictPolicy", description: "What to do when the name is taken at the destination." });

const Name = z.string().min(1).max(255);

export const CreateFolder = z
  .strictObject({ parentId: Id.nullable().meta({ description: "null: the top folder." }), name: Name })
  .meta({ id: "CreateFolder" });

export const UpdateItem = z
  .strictObject({
    name: Name.optional(),
    parentId: Id.optional().meta({ description: "Move into this folder." }),
    onConflict: ConflictPolicy.default("cancel"),
  })
  .refine((value) => value.name !== undefined || value.parentId !== undefined, { message: "Give a name, a parentId or both." })
  .meta({ id: "UpdateItem" });

export const CopyItem = z.strictObject({ destinationId: Id, onConflict: ConflictPolicy.default("cancel") }).meta({ id: "CopyItem" });

export const Version = z
  .object({
    id: Id,
    size: z.number().int().nonnegative(),
    mimeType: z.string(),
    sha256: z.string().nullable(),
    createdAt: Timestamp,
    replacedAt: Timestamp,
  })
  .meta({ id: "Version", description: "Earlier content of a file." });

export const VersionList = z.object({ items: z.array(Version) }).meta({ id: "VersionList" });

export const Deleted = z
  .object({ kind: z.enum(["folder", "file"]), id: Id, deleted: z.literal(true) })
  .meta({ id: "Deleted", description: "The item and everything in it were deleted for good." });

export const Problem = z
  .object({
    type: z.string().meta({ description: "A stable URI naming the kind of error." }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(z.object({ pointer: z.string(), detail: z.string() })).optional(),
    dependency: z.string().optional().meta({ description: "On a 503: the service that is down (database, storage, cache, search)." }),
    retryAfterSeconds: z.number().int().optional().meta({ description: "On a 503: the Retry-After header's value." }),
  })
  .meta({ id: "Problem", description: "An RFC 9457 problem." });

export const IdParams = z.strictObject({ id: Id });
export const VersionParams = z.strictObject({ id: Id, versionId: Id });

export const IfMatchHeader = z.object({
  "if-match": z.string().optional().meta({ description: "The ETag you last saw; 412 when the item has changed since." }),
});

export const IdempotencyHeader = z.object({
  "idempotency-key": z.string().max(255).optional().meta({
    description:
      "Makes the create safe to retry: the same request with the same key within a day gets the first answer again (Idempotent-Replayed: true) instead of creating twice.",
  }),
});
