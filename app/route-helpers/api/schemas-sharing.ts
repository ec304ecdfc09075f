import { z } from "zod";
import { Id } from "./schemas";

/**
 * Share links and shares with other accounts. Request objects are strict, as everywhere in the
 * API; the domain checks the rest (an expiry in the past, an unknown email, sharing with yourself).
 */

const Timestamp = z.iso.datetime().meta({ description: "An RFC 3339 timestamp (UTC)." });
const ETagValue = z.string().meta({ description: "The entity tag of this representation; send it back in If-Match to change it." });

export const SharedItemRef = z
  .strictObject({ kind: z.enum(["file", "folder"]), id: Id })
  .meta({ id: "SharedItemRef", description: "One of your files or folders (not your top folder)." });

const LinkMode = z.enum(["read", "upload"]).meta({
  id: "ShareLinkMode",
  description: "`read`: visitors open and download. `upload`: a file drop (folders only), visitors can only upload into it.",
});

const LinkPassword = z.string().min(4).max(1024).meta({ description: "Visitors must enter it; at least 4 characters. Never returned." });
const LinkExpiry = z.iso.datetime({ offset: true }).meta({ description: "When the link stops working; must be in the future." });
const DownloadLimit = z.number().int().min(1).max(1_000_000).meta({ description: "Downloads allowed before the link stops working." });

export const CreateShareLink = z
  .strictObject({
    item: SharedItemRef,
    mode: LinkMode.default("read"),
    password: LinkPassword.optional(),
    expiresAt: LinkExpiry.optional(),
    maxDownloads: DownloadLimit.optional().meta({ description: "Not for an upload link." }),
  })
  .meta({ id: "CreateShareLink" });

export const UpdateShareLink = z
  .strictObject({
    password: LinkPassword.nullable().optional().meta({ description: "A new password, or null to remove it." }),
    expiresAt: LinkExpiry.nullable().optional().meta({ description: "A new expiry, or null for none." }),
    maxDownloads: DownloadLimit.nullable().optional().meta({ description: "A new limit, or null for none." }),
  })
  .meta({ id: "UpdateShareLink", description: "Fields left out keep their value." });

export const ShareLink = z
  .object({
    id: Id,
    url: z.string().meta({ description: "The address to hand out: anyone with it can open the link." }),
    mode: LinkMode,
    item: z.object({
      kind: z.enum(["file", "folder"]),
      id: Id,
      name: z.string(),
      inTrash: z.boolean().meta({ description: "The link does not open while its item is in the trash." }),
    }),
    hasPassword: z.boolean(),
    createdAt: Timestamp,
    expiresAt: Timestamp.nullable(),
    expired: z.boolean(),
    maxDownloads: z.number().int().nullable(),
    downloadCount: z.number().int().nonnegative(),
    etag: ETagValue,
  })
  .meta({ id: "ShareLink", description: "A public link to one of your files or folders." });

export const ShareLinkList = z.object({ items: z.array(ShareLink) }).meta({ id: "ShareLinkList" });

const Permission = z.enum(["read", "write"]).meta({
  id: "SharePermission",
  description: "`read`: view and download. `write`: also add files (to a shared folder).",
});

export const CreateUserShare = z
  .strictObject({
    item: SharedItemRef,
    email: z.email().max(254).meta({ description: "The email address of the account to share with." }),
    permission: Permission.default("read"),
  })
  .meta({ id: "CreateUserShare" });

export const UpdateUserShare = z.strictObject({ permission: Permission }).meta({ id: "UpdateUserShare" });

export const UserShare = z
  .object({
    id: Id,
    item: z.object({ kind: z.enum(["file", "folder"]), id: Id, name: z.string() }),
    grantee: z.object({ id: Id, name: z.string(), email: z.string() }),
    permission: Permission,
    createdAt: Timestamp,
    etag: ETagValue,
  })
  .meta({ id: "UserShare", description: "One of your items shared with another account." });

export const UserShareList = z.object({ items: z.array(UserShare) }).meta({ id: "UserShareList" });

export const SharedWithMe = z
  .object({
    id: Id.meta({ description: "The share's id." }),
    item: z.object({
      kind: z.enum(["file", "folder"]),
      id: Id.meta({ description: "Open it through the files API (GET /files/{id} or /folders/{id})." }),
      name: z.string(),
      size: z.number().int().nonnegative().nullable(),
      mimeType: z.string().nullable(),
    }),
    permission: Permission,
    owner: z.object({ name: z.string() }),
    sharedAt: Timestamp,
  })
  .meta({ id: "SharedWithMe", description: "An item another account shared with you." });

export const SharedWithMeList = z.object({ items: z.array(SharedWithMe) }).meta({ id: "SharedWithMeList" });

export const NoQuery = z.strictObject({});

export const ItemQuery = z
  .strictObject({
    itemKind: z.enum(["file", "folder"]).optional().meta({ description: "With itemId: only those of this item." }),
    itemId: Id.optional().meta({ description: "With itemKind: only those of this item (one of yours)." }),
  })
  .refine((query) => (query.itemKind === undefined) === (query.itemId === undefined), {
    message: "Give itemKind and itemId together.",
    path: ["itemId"],
  })
  .meta({ id: "ItemQuery" });
