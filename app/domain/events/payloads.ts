import { z } from "zod";
import type { EventKind } from "./catalogue";

/**
 * The payload of each event kind (docs/events.md#payload-schemas): the one description of what an
 * event carries, from which the OpenAPI document describes the webhooks' bodies and against which
 * the tests check every event the app writes. Objects are loose: a payload may gain fields, and
 * consumers must ignore the ones they do not know. Ids and metadata only: never contents or secrets.
 * A kind added to EVENT_KINDS needs its schema here (the Record does not type-check without it).
 */

const Id = z.string().min(1);
const Name = z.string().meta({ description: "The item's name." });
const Count = z.number().int().nonnegative();
const Bytes = z.number().int().nonnegative().meta({ description: "Bytes." });
const Timestamp = z.string().meta({ description: "An RFC 3339 timestamp (UTC)." });
const ItemKind = z.enum(["file", "folder"]);
const ShareMode = z.enum(["READ", "DROP"]).meta({ description: "`READ`: view and download; `DROP`: upload only." });

function payload<T extends z.ZodRawShape>(shape: T, description: string) {
  return z.looseObject(shape).meta({ description });
}

const moved = (what: string) =>
  payload(
    {
      from: Name,
      to: Name,
      fromFolderId: Id,
      toFolderId: Id,
      replacedFileId: Id.optional().meta({ description: "A file of that name it replaced (kept as a version)." }),
    },
    `A ${what} moved (and perhaps renamed): the names before and after, and the folders.`,
  );

const trashed = (what: string) =>
  payload(
    {
      name: Name,
      folderId: Id.nullable().meta({ description: "The folder it was in." }),
      folders: Count.meta({ description: "Folders that went with it (itself included)." }),
      files: Count.meta({ description: "Files that went with it." }),
    },
    `A ${what} moved to the trash.`,
  );

const restored = (what: string) =>
  payload(
    {
      name: Name,
      originalName: Name.meta({ description: "Its name in the trash (the name may change to avoid a clash)." }),
      folderId: Id.meta({ description: "Where it is now." }),
      toRoot: z.boolean().meta({ description: "Its folder was gone: it went to the owner's top folder." }),
    },
    `A ${what} restored from the trash.`,
  );

const deleted = (what: string) =>
  payload(
    {
      name: Name,
      folders: Count,
      files: Count,
      rescued: Count.meta({ description: "Items others had added, handed back to them rather than deleted." }),
      automatic: z.boolean().meta({ description: "Deleted by the trash's retention, not by a person." }),
    },
    `A ${what} deleted for good.`,
  );

export const EVENT_PAYLOADS = {
  "file.created": payload(
    {
      name: Name,
      size: Bytes,
      landedIn: z
        .enum(["trash", "root"])
        .optional()
        .meta({ description: "Where it went when its folder was trashed (`trash`) or deleted (`root`) meanwhile." }),
    },
    "A file uploaded.",
  ),
  "file.updated": payload(
    {
      change: z.enum(["renamed", "replaced", "version_restored"]),
      name: Name.optional().meta({ description: "Its name (replaced, version_restored)." }),
      from: Name.optional().meta({ description: "The name before (renamed)." }),
      to: Name.optional().meta({ description: "The name after (renamed)." }),
      fromFolderId: Id.optional(),
      toFolderId: Id.optional(),
      versionId: Id.optional().meta({ description: "The version brought back (version_restored)." }),
      versionCreatedAt: Timestamp.optional(),
      byFileId: Id.optional().meta({ description: "The file moved or copied onto it (replaced)." }),
    },
    "A file changed in place: renamed, its content replaced, or an earlier version restored.",
  ),
  "file.moved": moved("file"),
  "file.copied": payload(
    { name: Name, toFolderId: Id, copyId: Id, copyName: Name.optional() },
    "A file copied: the original's name, where the copy went, the copy's id and name.",
  ),
  "file.trashed": trashed("file"),
  "file.restored": restored("file"),
  "file.deleted": deleted("file"),
  "folder.created": payload({ name: Name, folderId: Id.meta({ description: "The parent folder." }) }, "A folder created."),
  "folder.updated": payload({ change: z.literal("renamed"), from: Name, to: Name }, "A folder renamed."),
  "folder.moved": moved("folder"),
  "folder.copied": payload(
    { name: Name, toFolderId: Id, copyId: Id, copyName: Name, folders: Count, files: Count },
    "A folder copied with its contents.",
  ),
  "folder.trashed": trashed("folder"),
  "folder.restored": restored("folder"),
  "folder.deleted": deleted("folder"),
  "trash.emptied": payload({ items: Count }, "A trash emptied."),
  "share.created": payload(
    { itemKind: ItemKind, itemId: Id, mode: ShareMode, password: z.boolean() },
    "A share link created (never its token).",
  ),
  "share.updated": payload(
    {
      password: z.enum(["set", "cleared", "unchanged"]),
      expiresAt: Timestamp.nullable(),
      maxDownloads: z.number().int().nullable(),
    },
    "A share link changed.",
  ),
  "share.revoked": payload({ itemKind: ItemKind, itemId: Id }, "A share link revoked."),
  "share.accessed": payload(
    { download: z.enum(["file", "zip"]), itemId: Id, count: Count.meta({ description: "The link's downloads so far." }) },
    "A download through a share link.",
  ),
  "share.dropped": payload({ via: z.literal("share"), shareId: Id, name: Name, size: Bytes }, "A file arrived through a file-drop link."),
  "share.granted": payload({ shareId: Id, granteeId: Id, permission: z.enum(["READ", "WRITE"]) }, "An item shared with an account."),
  "share.ungranted": payload({ shareId: Id, granteeId: Id }, "An item no longer shared with an account."),
  "settings.updated": payload(
    { changed: z.array(z.string()).meta({ description: "The names of the settings that changed, never their values." }) },
    "The instance settings changed.",
  ),
  "user.quota_changed": payload(
    { before: Bytes.nullable(), after: Bytes.nullable().meta({ description: "Null: the default quota." }) },
    "An administrator changed an account's quota.",
  ),
  "webhook.test": payload({ webhookId: Id }, "“Send test event”: sent to that endpoint only."),
  "webhook.disabled": payload(
    { webhookId: Id, host: z.string(), deliveryId: Id, attempts: Count },
    "An endpoint turned off after its deliveries kept failing.",
  ),
  "user.quota_threshold": payload(
    { level: z.union([z.literal(80), z.literal(95), z.literal(100)]), usedBytes: Bytes, quotaBytes: Bytes },
    "The account's stored bytes reached 80, 95 or 100 % of its quota.",
  ),
  "share.expiring": payload(
    { itemKind: ItemKind, itemId: Id, name: Name, mode: ShareMode, expiresAt: Timestamp },
    "A share link expires within 3 days.",
  ),
  "security.new_device_login": payload(
    { device: z.string().meta({ description: "E.g. “Firefox on Linux”." }), ip: z.string().nullable() },
    "A sign-in from a device the account had not used.",
  ),
  "security.mfa_disabled": payload({ method: z.enum(["totp", "passkeys"]) }, "Two-step verification turned off."),
  "admin.announcement": payload({ title: z.string(), body: z.string(), audience: z.literal("all") }, "An administrator's announcement."),
  "job.failed": payload(
    { queue: z.string(), jobId: Id, failedAt: Timestamp },
    "A background job failed for good (no error message: see /admin/jobs).",
  ),
  "file.infected": payload(
    {
      name: Name,
      signature: z.string().meta({ description: "What clamd found, e.g. “Win.Test.EICAR_HDB-1”; “unknown” if it named nothing." }),
    },
    "clamd found malware in the file: it is quarantined (never served) until deleted.",
  ),
} satisfies Record<EventKind, z.ZodObject>;

/** A kind's payload schema; null for a kind outside the catalogue. */
export function payloadSchema(kind: string): z.ZodObject | null {
  return (EVENT_PAYLOADS as Record<string, z.ZodObject>)[kind] ?? null;
}

/** The fields every delivery's `data` has before the payload's (webhookBody). */
export const EVENT_DATA_FIELDS = {
  eventId: Id.meta({ description: "The event's id." }),
  subjectType: z
    .string()
    .meta({ description: "What it is about: file, folder, share, trash, settings, user, webhook, announcement, job." }),
  subjectId: z.string(),
  actorId: Id.nullable().meta({ description: "Who did it; null for Coffer itself or a share link's visitor." }),
  ownerId: Id.nullable().meta({ description: "Whose item it is, where the change records it." }),
};

/** The body of a webhook delivery of one kind: the Standard Webhooks envelope around the payload. */
export function eventEnvelope(kind: EventKind) {
  return z.object({
    type: z.literal(kind),
    timestamp: Timestamp.meta({ description: "When it happened." }),
    data: EVENT_PAYLOADS[kind].extend(EVENT_DATA_FIELDS),
  });
}
