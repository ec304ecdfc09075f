import { z } from "zod";
import { AUDIT_OUTCOMES } from "~/domain/audit/audit-filter";
import { Id } from "./schemas";

/**
 * Schemas of your own account (`/me`) and of administration (`/admin`). Request objects are
 * strict; the rules of each value (a quota's size, a setting's range) stay with the domain
 * functions the pages call, so the API cannot accept what a page refuses.
 */

const Timestamp = z.iso.datetime().meta({ description: "An RFC 3339 timestamp (UTC)." });
const Bytes = z.number().int().nonnegative();
const Cursor = z.string().max(512).optional().meta({ description: "An opaque cursor from `nextCursor`." });
const NextCursor = z.string().nullable().meta({ description: "Pass as `cursor` for the next page; null on the last page." });
const Role = z.enum(["ADMIN", "USER"]);

// ---- me ----------------------------------------------------------------------------------------

export const Me = z
  .object({
    id: Id,
    name: z.string(),
    email: z.string(),
    role: Role,
    mfaEnabled: z.boolean().meta({ description: "Sign-in takes a second step (an authenticator app or a passkey)." }),
    createdAt: Timestamp,
  })
  .meta({ id: "Me", description: "Your account." });

export const Usage = z
  .object({
    usedBytes: Bytes.meta({ description: "Files, their versions (trash included) and uploads in progress." }),
    quotaBytes: Bytes.nullable().meta({ description: "Your quota; null when unlimited." }),
  })
  .meta({ id: "Usage", description: "Your storage, as the usage bar in My files shows it." });

export const ActivityEntry = z
  .object({
    id: Id,
    at: Timestamp,
    who: z.string().meta({ description: "“You”, or who else it was." }),
    action: z.string().meta({ description: "A stable name such as `file.renamed`." }),
    subjectType: z.string(),
    subjectId: z.string(),
    name: z.string().nullable().meta({ description: "The item's name as recorded (it may have changed since)." }),
    what: z.string().meta({ description: "What happened, in words." }),
  })
  .meta({ id: "ActivityEntry" });

export const ActivityPage = z.object({ items: z.array(ActivityEntry), nextCursor: NextCursor }).meta({ id: "ActivityPage" });

export const ActivityQuery = z.strictObject({ cursor: Cursor });

// ---- users -------------------------------------------------------------------------------------

export const AdminUser = z
  .object({
    id: Id,
    name: z.string(),
    email: z.string(),
    role: Role,
    createdAt: Timestamp,
    deactivatedAt: Timestamp.nullable(),
    deletedAt: Timestamp.nullable().meta({ description: "Set while a deleted account can still be restored." }),
    purgeAfter: Timestamp.nullable(),
    fileCount: z.number().int().nonnegative(),
    bytesUsed: Bytes.meta({ description: "Files and their versions, trash included." }),
    countedBytes: Bytes.meta({ description: "What counts against the quota: bytesUsed plus uploads in progress." }),
    quotaBytes: Bytes.nullable().meta({ description: "The account's own quota; null when the default applies." }),
    effectiveQuotaBytes: Bytes.nullable().meta({ description: "The quota in effect; null when unlimited." }),
    failedLogins: z.number().int().nonnegative().meta({ description: "Failed sign-ins counted towards a lockout." }),
    lockedUntil: Timestamp.nullable().meta({ description: "Sign-in is refused until then after too many failures; null when not locked." }),
  })
  .meta({ id: "AdminUser", description: "An account as the admin overview shows it." });

export const AdminUserPage = z.object({ items: z.array(AdminUser), nextCursor: NextCursor }).meta({ id: "AdminUserPage" });

export const UserListQuery = z
  .strictObject({
    cursor: Cursor,
    email: z.string().min(1).max(254).optional().meta({ description: "Only accounts whose email contains this (any case)." }),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .meta({ id: "UserListQuery" });

export const CreateUser = z
  .strictObject({
    email: z.string().max(1000),
    name: z.string().max(1000),
    password: z.string().max(10_000).meta({ description: "Checked by the password policy, as on the registration page." }),
  })
  .meta({ id: "CreateUser" });

/** The largest quota kept exactly (the admin page's own limit). */
const MAX_QUOTA = Number.MAX_SAFE_INTEGER;

export const UpdateUser = z
  .strictObject({
    quotaBytes: z
      .number()
      .int()
      .min(1)
      .max(MAX_QUOTA)
      .nullable()
      .optional()
      .meta({ description: "The account's own quota in bytes; null for the default." }),
    role: Role.optional(),
  })
  .refine((value) => value.quotaBytes !== undefined || value.role !== undefined, { message: "Give a quotaBytes, a role or both." })
  .meta({ id: "UpdateUser" });

const Proof = z.string().max(1000).meta({
  description: "Confirms it is you, as the admin pages ask: your password, a current code from your authenticator app or a recovery code.",
});

export const SetUserStatus = z
  .strictObject({ active: z.boolean().meta({ description: "false deactivates, true reactivates." }), proof: Proof })
  .meta({ id: "SetUserStatus" });

export const ConfirmProof = z.strictObject({ proof: Proof }).meta({ id: "ConfirmProof" });

export const DeleteUser = z
  .strictObject({
    confirmEmail: z.string().max(1000).meta({ description: "The account's email, typed out, as on the deletion page." }),
    proof: Proof,
    giveFilesTo: Id.nullable()
      .optional()
      .meta({ description: "An active account to hand the files over to (in a folder “From <name>”); null or absent deletes them." }),
  })
  .meta({ id: "DeleteUser" });

export const UserDeletion = z
  .object({
    id: Id,
    status: z.enum(["deleted", "purged", "erasing"]).meta({
      description: "deleted: restorable until purgeAfter; purged: erased now; erasing: a background job erases it (poll the Location).",
    }),
    purgeAfter: Timestamp.nullable(),
    givenTo: z.string().nullable().meta({ description: "The name of who received the files, if anyone." }),
  })
  .meta({ id: "UserDeletion" });

export const Erasure = z
  .object({ done: z.number().int().nonnegative(), total: z.number().int().nonnegative() })
  .meta({ id: "Erasure", description: "Files and folders erased so far, of the total counted when it started." });

// ---- audit -------------------------------------------------------------------------------------

export const AuditEvent = z
  .object({
    id: Id,
    time: Timestamp,
    action: z.string(),
    outcome: z.enum(AUDIT_OUTCOMES),
    actor: z.string().meta({ description: "The actor's email, “anonymous” or “system”." }),
    actorId: z.string().nullable(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    targetType: z.string().nullable(),
    targetId: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
  })
  .meta({ id: "AuditEvent" });

export const AuditPage = z.object({ items: z.array(AuditEvent), nextCursor: NextCursor }).meta({ id: "AuditPage" });

const filterText = (max: number, description: string) => z.string().max(max).optional().meta({ description });

/** The audit page's filters (checked further by its own schema), by the same query names. */
const AuditFilterFields = {
  actor: filterText(254, "The actor's email or part of it."),
  action: filterText(64, "An action such as `user.role_changed`."),
  outcome: filterText(16, "success, failure or denied."),
  targetType: filterText(32, "user, file, folder, share, session, token, settings, trash or audit."),
  targetId: filterText(128, "The target's id."),
  ip: filterText(64, "An IP address or its beginning."),
  from: filterText(40, "From this UTC day (2026-11-27) or minute (2026-11-27T18:00)."),
  to: filterText(40, "Up to this UTC day (inclusive) or minute."),
};

export const AuditQuery = z.strictObject({ ...AuditFilterFields, cursor: Cursor }).meta({ id: "AuditQuery" });
export const AuditExportQuery = z.strictObject(AuditFilterFields).meta({ id: "AuditExportQuery" });

// ---- settings ----------------------------------------------------------------------------------

const Days = z.number().int();

/** The settings page's fields as JSON values; each is validated by that page's own schema. */
export const SettingsFields = {
  defaultQuotaBytes: Bytes.nullable().meta({ description: "The quota of accounts without their own; null: unlimited." }),
  maxFileSize: Bytes.meta({ description: "The largest file in bytes, at most the server's MAX_UPLOAD_SIZE." }),
  blockedExtensions: z.array(z.string().max(100)).max(1000).meta({ description: 'Extensions refused on upload, e.g. ["exe"].' }),
  trashRetentionDays: Days,
  auditRetentionDays: Days.nullable().meta({ description: "null keeps the audit log forever." }),
  versionsKept: z.number().int().nullable().meta({ description: "Earlier versions kept per file; null keeps them all." }),
  versionRetentionDays: Days.nullable().meta({ description: "null keeps versions however old." }),
  deletedAccountRetentionDays: Days.meta({ description: "0 erases a deleted account at once." }),
  coldTierAfterDays: Days.nullable().meta({ description: "null never moves content to the cold tier." }),
  requireMfaForAdmins: z.boolean(),
  requireMfaAfterSso: z.boolean(),
  sessionIdleDays: Days,
  sessionAbsoluteDays: Days,
  tokensMustExpire: z.boolean(),
  tokenMaxDays: Days,
};

export const AdminSettings = z
  .object({ ...SettingsFields, etag: z.string().meta({ description: "Send back in If-Match to change the settings." }) })
  .meta({ id: "AdminSettings", description: "The instance settings of /admin/settings." });

export const UpdateSettings = z
  .strictObject(SettingsFields)
  .partial()
  .meta({ id: "UpdateSettings", description: "The settings to change; the others keep their values." });
