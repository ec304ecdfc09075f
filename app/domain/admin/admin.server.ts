import { z } from "zod";
import { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { parseByteSize } from "~/config.server";
import { formatBytes } from "~/lib/format";
import { recordActivity } from "../audit/activity.server";
import { recordAudit, type AuditActor } from "../audit/audit.server";
import { ConflictError, NotFoundError, ValidationError } from "../errors";
import { PENDING_UPLOAD_CHARGES } from "../files/quota.server";
import { forgetCachedSettings, getSettings, readSettings, type Settings, updateSettingsIn } from "./settings.server";
import { fieldErrors } from "../accounts/users.server";
import { endSessionsWhere, type SessionUser } from "../accounts/sessions.server";
import { decodeTimeCursor, encodeTimeCursor, type TimePosition } from "../time-cursor";

const DAY_MS = 24 * 60 * 60 * 1000;

/** The largest byte count kept exactly (and stored in a BigInt column without surprises). */
const MAX_BYTES = Number.MAX_SAFE_INTEGER;

function parseSize(value: string): number | null {
  const bytes = parseByteSize(value);
  return bytes === null || bytes <= 0 || bytes > MAX_BYTES ? null : bytes;
}

/** A byte count as an admin would type it back: "10GiB" when exact, else plain bytes. */
export function sizeInput(bytes: number | null): string {
  if (bytes === null) return "";
  const units: Array<[string, number]> = [
    ["TiB", 2 ** 40],
    ["GiB", 2 ** 30],
    ["MiB", 2 ** 20],
    ["KiB", 2 ** 10],
  ];
  for (const [unit, factor] of units) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}

/** Extensions as an admin types them: "exe, .BAT  sh" → ["exe", "bat", "sh"]. */
export function splitExtensions(value: string): string[] {
  return value
    .split(/[\s,]+/)
    .map((part) => part.trim().replace(/^\.+/, "").toLowerCase())
    .filter((part) => part.length > 0);
}

const text = z.preprocess((value) => (typeof value === "string" ? value : ""), z.string());

function wholeNumberIn(value: string, label: string, min: number, max: number, ctx: z.RefinementCtx): number {
  const trimmed = value.trim();
  const number = /^\d+$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    ctx.addIssue({ code: "custom", message: `${label}: enter a whole number from ${min} to ${max}.` });
    return z.NEVER;
  }
  return number;
}

function wholeNumber(label: string, min: number, max: number) {
  return text.transform((value, ctx) => wholeNumberIn(value, label, min, max, ctx));
}

/** A whole number, or null for an empty field. */
function wholeNumberOrEmpty(label: string, min: number, max: number) {
  return text.transform((value, ctx) => (value.trim() === "" ? null : wholeNumberIn(value, label, min, max, ctx)));
}

/** The settings form (strings, as a browser posts them) to settings. */
export function settingsFormSchema(maxUploadSize: number) {
  return z
    .object({
      defaultQuota: text.transform((value, ctx): number | null => {
        if (value.trim() === "") return null;
        const bytes = parseSize(value);
        if (bytes === null) {
          ctx.addIssue({
            code: "custom",
            message: `“${value.trim()}” is not a size. Use e.g. 10GiB or 500MB, or leave empty for unlimited.`,
          });
          return z.NEVER;
        }
        return bytes;
      }),
      maxFileSize: text.transform((value, ctx) => {
        if (value.trim() === "") {
          ctx.addIssue({ code: "custom", message: "Enter the largest file size, e.g. 2GiB." });
          return z.NEVER;
        }
        const bytes = parseSize(value);
        if (bytes === null) {
          ctx.addIssue({ code: "custom", message: `“${value.trim()}” is not a size. Use e.g. 2GiB or 500MB.` });
          return z.NEVER;
        }
        if (bytes > maxUploadSize) {
          ctx.addIssue({
            code: "custom",
            message: `At most ${formatBytes(maxUploadSize)}, the MAX_UPLOAD_SIZE set in the server configuration.`,
          });
          return z.NEVER;
        }
        return bytes;
      }),
      blockedExtensions: text.transform((value, ctx) => {
        const extensions = [...new Set(splitExtensions(value))];
        const bad = extensions.filter((extension) => !/^[a-z0-9]{1,20}$/.test(extension));
        if (bad.length > 0) {
          ctx.addIssue({
            code: "custom",
            message: `Not an extension: ${bad.map((b) => `“${b}”`).join(", ")}. Use letters and digits only (up to 20), e.g. exe, bat.`,
          });
          return z.NEVER;
        }
        if (extensions.length > 200) {
          ctx.addIssue({ code: "custom", message: "Block at most 200 extensions." });
          return z.NEVER;
        }
        return extensions;
      }),
      trashRetentionDays: wholeNumber("Days", 1, 3650),
      // Empty keeps the audit log forever.
      auditRetentionDays: wholeNumberOrEmpty("Days", 30, 36500),
      // Empty keeps every version (the age limit may still apply).
      versionsKept: wholeNumberOrEmpty("Versions", 0, 1000),
      // Empty keeps versions however old.
      versionRetentionDays: wholeNumberOrEmpty("Days", 1, 36500),
      // 0 purges a deleted account at once.
      deletedAccountRetentionDays: wholeNumber("Days", 0, 3650),
      // Empty never moves anything to the cold tier.
      coldTierAfterDays: wholeNumberOrEmpty("Days", 1, 36500),
      // A checkbox: present ("on") when ticked, absent otherwise.
      requireMfaForAdmins: z.preprocess((value) => value === "on" || value === "true", z.boolean()),
      requireMfaAfterSso: z.preprocess((value) => value === "on" || value === "true", z.boolean()),
      sessionIdleDays: wholeNumber("Days", 1, 3650),
      sessionAbsoluteDays: wholeNumber("Days", 1, 3650),
      tokensMustExpire: z.preprocess((value) => value === "on" || value === "true", z.boolean()),
      tokenMaxDays: wholeNumber("Days", 1, 3650),
    })
    .superRefine((value, ctx) => {
      if (value.sessionIdleDays > value.sessionAbsoluteDays) {
        ctx.addIssue({
          code: "custom",
          path: ["sessionIdleDays"],
          message: "The idle timeout cannot be longer than the absolute timeout; lower it or raise the absolute timeout.",
        });
      }
    });
}

/** The settings as the settings form shows them (and posts them back unchanged). */
export function settingsFormValues(settings: Settings) {
  return {
    defaultQuota: sizeInput(settings.defaultQuotaBytes),
    maxFileSize: sizeInput(settings.maxFileSize),
    blockedExtensions: settings.blockedExtensions.join(", "),
    trashRetentionDays: String(settings.trashRetentionDays),
    auditRetentionDays: settings.auditRetentionDays === null ? "" : String(settings.auditRetentionDays),
    versionsKept: settings.keepAllVersions ? "" : String(settings.versionsKept),
    versionRetentionDays: settings.versionRetentionDays === null ? "" : String(settings.versionRetentionDays),
    deletedAccountRetentionDays: String(settings.deletedAccountRetentionDays),
    coldTierAfterDays: settings.coldTierAfterDays === null ? "" : String(settings.coldTierAfterDays),
    requireMfaForAdmins: settings.requireMfaForAdmins ? "on" : "",
    requireMfaAfterSso: settings.requireMfaAfterSso ? "on" : "",
    sessionIdleDays: String(settings.sessionIdleDays),
    sessionAbsoluteDays: String(settings.sessionAbsoluteDays),
    tokensMustExpire: settings.tokensMustExpire ? "on" : "",
    tokenMaxDays: String(settings.tokenMaxDays),
  };
}

function changedKeys(before: Settings, after: Settings): Array<keyof Settings> {
  return (Object.keys(after) as Array<keyof Settings>).filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]));
}

type SettingsForm = Record<string, unknown>;

/**
 * The form to save from a page post, given the settings stored now: a field the admin left as the
 * page showed it (`loaded`) takes its stored value, so a change made meanwhile elsewhere (another
 * page, the API) is kept; a field the admin changed takes what was posted.
 */
export function settingsFormOver(current: Settings, posted: Record<string, string>, loaded: Record<string, string>) {
  const stored: Record<string, string> = settingsFormValues(current);
  const kept = (name: string, value: string) => name in loaded && loaded[name] === value && name in stored;
  return Object.fromEntries(Object.entries(posted).map(([name, value]) => [name, kept(name, value) ? stored[name]! : value]));
}

/**
 * Validates the settings form and saves it; records who changed what. It runs under a lock with
 * the stored settings read afresh and saves in the same transaction, so saves (the page's and the
 * API's) happen one after the other. Given a function of the current settings instead of the form,
 * the form is built under that lock: a check in it (an If-Match) still holds when the form is
 * saved, and two changes made against the same settings cannot both pass it.
 */
export async function saveSettingsForm(
  services: Services,
  admin: SessionUser,
  input: SettingsForm | ((current: Settings) => SettingsForm),
  audit: AuditActor,
): Promise<Settings> {
  const formOf = typeof input === "function" ? input : () => input;
  const after = await services.prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(72707373)`;
    const before = await readSettings(services, tx);
    const saved = await updateSettingsIn(services, tx, settingsPatch(services, formOf(before)));
    await recordSettingsChange(tx, admin, audit, before, saved);
    return saved;
  });
  forgetCachedSettings(services);
  return after;
}

function settingsPatch(services: Services, input: SettingsForm): Partial<Settings> {
  const parsed = settingsFormSchema(services.config.uploads.maxSize).safeParse(input);
  if (!parsed.success) throw new ValidationError("Nothing was saved. Please correct the highlighted fields.", fieldErrors(parsed.error));
  const { defaultQuota, versionsKept, ...rest } = parsed.data;
  return {
    defaultQuotaBytes: defaultQuota,
    // "Keep all" is its own key; the count becomes the largest allowed, which is what a previous
    // release (which knows only the count) then keeps.
    keepAllVersions: versionsKept === null,
    versionsKept: versionsKept ?? 1000,
    ...rest,
  };
}

async function recordSettingsChange(
  db: Prisma.TransactionClient | Services["prisma"],
  admin: SessionUser,
  audit: AuditActor,
  before: Settings,
  after: Settings,
): Promise<void> {
  const changed = changedKeys(before, after);
  if (changed.length === 0) return;
  const details = {
    changed,
    before: Object.fromEntries(changed.map((key) => [key, before[key]])),
    after: Object.fromEntries(changed.map((key) => [key, after[key]])),
  };
  await recordActivity(db, { userId: admin.id, action: "settings.updated", subjectType: "settings", subjectId: "settings", details });
  await recordAudit(db, audit, { action: "admin.settings_updated", targetType: "settings", targetId: "settings", details });
}

/** Sets (or, with an empty value, clears) one user's quota override. */
export async function setUserQuota(
  services: Services,
  admin: SessionUser,
  userId: string,
  rawQuota: string,
  audit: AuditActor,
): Promise<{ name: string; quotaBytes: number | null }> {
  const user = userId
    ? await services.prisma.user.findUnique({ where: { id: userId }, select: { id: true, name: true, email: true, quotaBytes: true } })
    : null;
  if (!user) throw new NotFoundError("That user");
  let quotaBytes: number | null = null;
  if (rawQuota.trim() !== "") {
    quotaBytes = parseSize(rawQuota);
    if (quotaBytes === null) {
      throw new ValidationError(`The quota of ${user.name} was not changed.`, {
        quota: `“${rawQuota.trim()}” is not a size. Use e.g. 10GiB, or leave empty to use the default.`,
      });
    }
  }
  const before = user.quotaBytes === null ? null : Number(user.quotaBytes);
  await services.prisma.$transaction(async (tx) => {
    await tx.user.update({ where: { id: user.id }, data: { quotaBytes: quotaBytes === null ? null : BigInt(quotaBytes) } });
    await recordActivity(tx, {
      userId: admin.id,
      action: "user.quota_changed",
      subjectType: "user",
      subjectId: user.id,
      details: { before, after: quotaBytes },
    });
    await recordAudit(tx, audit, {
      action: "user.quota_changed",
      targetType: "user",
      targetId: user.id,
      details: { email: user.email, before, after: quotaBytes },
    });
  });
  return { name: user.name, quotaBytes };
}

const roleSchema = z.enum(["ADMIN", "USER"], { message: "Choose Admin or User." });

/**
 * Makes a user an administrator or a regular user. The last administrator cannot be demoted,
 * so the instance always keeps someone who can manage it; the admin rows are locked so two
 * admins demoting each other at once cannot both succeed.
 */
export async function setUserRole(
  services: Services,
  admin: SessionUser,
  userId: string,
  rawRole: unknown,
  audit: AuditActor,
): Promise<{ name: string; role: "ADMIN" | "USER"; changed: boolean }> {
  const parsed = roleSchema.safeParse(rawRole);
  if (!parsed.success) throw new ValidationError("The role was not changed.", { role: "Choose Admin or User." });
  const role = parsed.data;
  const result = await services.prisma.$transaction(async (tx) => {
    const admins = await tx.$queryRaw<
      Array<{ id: string }>
    >`SELECT id FROM users WHERE role = 'ADMIN' AND deactivated_at IS NULL ORDER BY id FOR UPDATE`;
    const user =
      typeof userId === "string" && userId.length > 0 && userId.length <= 64
        ? await tx.user.findUnique({
            where: { id: userId },
            select: { id: true, name: true, email: true, role: true, deactivatedAt: true },
          })
        : null;
    if (!user) throw new NotFoundError("That user");
    if (user.role === role) return { name: user.name, role, changed: false };
    // Only active administrators count: a deactivated one cannot manage anything.
    if (role === "USER" && !user.deactivatedAt && admins.filter((row) => row.id !== user.id).length === 0) {
      await recordAudit(services.prisma, audit, {
        action: "user.role_changed",
        outcome: "failure",
        targetType: "user",
        targetId: user.id,
        details: { email: user.email, before: user.role, after: role, reason: "last-admin" },
      });
      throw new ConflictError(
        user.id === admin.id
          ? "You are the only administrator, so you cannot make yourself a regular user. Make someone else an administrator first."
          : `${user.name} is the only administrator. Make someone else an administrator first.`,
      );
    }
    await tx.user.update({ where: { id: user.id }, data: { role } });
    await recordAudit(tx, audit, {
      action: "user.role_changed",
      targetType: "user",
      targetId: user.id,
      details: { email: user.email, before: user.role, after: role },
    });
    return { name: user.name, role, changed: true };
  });
  // A privilege change ends the person's sessions, so none carries on under the old role; an
  // admin changing their own role gets a fresh session from the route instead.
  if (result.changed && userId !== admin.id) await endSessionsWhere(services, { userId });
  return result;
}

export interface AdminUserRow {
  id: string;
  name: string;
  email: string;
  role: "ADMIN" | "USER";
  createdAt: Date;
  /** When an administrator deactivated the account; null while it is active. */
  deactivatedAt: Date | null;
  /** When the account was deleted, while it can still be restored; null otherwise. */
  deletedAt: Date | null;
  /** When the hourly job purges the deleted account (deletedAt plus the grace period). */
  purgeAfter: Date | null;
  fileCount: number;
  /** Bytes of the user's files and their versions, trash included (the "Storage used" column). */
  bytesUsed: number;
  /** Bytes counted against the quota: files, their versions and uploads in progress. */
  countedBytes: number;
  /** The user's own quota, or null when the default applies. */
  quotaOverride: number | null;
  /** The override as the quota form shows it ("" = default). */
  quotaInput: string;
  /** The quota in effect: the override, else the default; null = unlimited. */
  effectiveQuota: number | null;
}

const ADMIN_USER_SELECT = {
  id: true,
  email: true,
  name: true,
  role: true,
  createdAt: true,
  quotaBytes: true,
  deactivatedAt: true,
  deletedAt: true,
  storageUsed: true,
} as const;

type AdminUserRecord = Prisma.UserGetPayload<{ select: typeof ADMIN_USER_SELECT }>;

/** The accounts' rows with their file counts and uploads in progress (two queries for any number). */
async function adminRows(services: Services, users: AdminUserRecord[], settings: Settings, only: string[] | null): Promise<AdminUserRow[]> {
  const [files, pending] = await Promise.all([
    services.prisma.file.groupBy({ by: ["ownerId"], where: only ? { ownerId: { in: only } } : {}, _count: { _all: true } }),
    services.prisma.$queryRaw<Array<{ charged_to: string; bytes: bigint }>>`
      SELECT charged_to, SUM(size)::bigint AS bytes FROM (${PENDING_UPLOAD_CHARGES}) AS pending
      ${only ? Prisma.sql`WHERE charged_to = ANY(${only})` : Prisma.empty} GROUP BY charged_to`,
  ]);
  const filesByOwner = new Map(files.map((row) => [row.ownerId, row._count._all]));
  const pendingByOwner = new Map(pending.map((row) => [row.charged_to, Number(row.bytes)]));
  return users.map((user) => {
    const quotaOverride = user.quotaBytes === null ? null : Number(user.quotaBytes);
    return {
      id: user.id,
      name: user.name,
      email: user.email,
      role: user.role,
      createdAt: user.createdAt,
      deactivatedAt: user.deactivatedAt,
      deletedAt: user.deletedAt,
      purgeAfter: user.deletedAt && new Date(user.deletedAt.getTime() + settings.deletedAccountRetentionDays * DAY_MS),
      fileCount: filesByOwner.get(user.id) ?? 0,
      bytesUsed: Number(user.storageUsed),
      countedBytes: Number(user.storageUsed) + (pendingByOwner.get(user.id) ?? 0),
      quotaOverride,
      quotaInput: sizeInput(quotaOverride),
      effectiveQuota: quotaOverride ?? settings.defaultQuotaBytes,
    };
  });
}

/** Every account with its storage and quota, for the admin overview (three queries in all). */
export async function listUsersForAdmin(services: Services): Promise<{ users: AdminUserRow[]; settings: Settings }> {
  const [users, settings] = await Promise.all([
    services.prisma.user.findMany({ orderBy: { createdAt: "asc" }, select: ADMIN_USER_SELECT }),
    getSettings(services),
  ]);
  return { settings, users: await adminRows(services, users, settings, null) };
}

/** The position a cursor of {@link pageUsersForAdmin} (oldest first) encodes; null when it is not one. */
export function decodeUserCursor(cursor: string): TimePosition | null {
  return decodeTimeCursor(cursor);
}

/**
 * The accounts of the admin overview a page at a time, oldest first, optionally only those whose
 * email contains `email` (case-insensitive); keyset paging, so a page costs the same anywhere.
 */
export async function pageUsersForAdmin(
  services: Services,
  query: { email?: string; cursor?: string | null; limit: number },
): Promise<{ users: AdminUserRow[]; nextCursor: string | null }> {
  const after = query.cursor ? decodeUserCursor(query.cursor) : null;
  if (query.cursor && !after) throw new ValidationError("That page of accounts does not exist. Start again from the first.");
  const where: Prisma.UserWhereInput = {
    ...(query.email ? { email: { contains: query.email.replace(/[\\%_]/g, (c) => `\\${c}`), mode: "insensitive" as const } } : {}),
    ...(after ? { OR: [{ createdAt: { gt: after.createdAt } }, { createdAt: after.createdAt, id: { gt: after.id } }] } : {}),
  };
  const [rows, settings] = await Promise.all([
    services.prisma.user.findMany({
      where,
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      take: query.limit + 1,
      select: ADMIN_USER_SELECT,
    }),
    getSettings(services),
  ]);
  const page = rows.slice(0, query.limit);
  return {
    users: await adminRows(
      services,
      page,
      settings,
      page.map((user) => user.id),
    ),
    nextCursor: rows.length > query.limit ? encodeTimeCursor(page.at(-1)!) : null,
  };
}

/** One account as the admin overview shows it. */
export async function userForAdmin(services: Services, userId: string): Promise<AdminUserRow> {
  const [user, settings] = await Promise.all([
    services.prisma.user.findUnique({ where: { id: userId }, select: ADMIN_USER_SELECT }),
    getSettings(services),
  ]);
  if (!user) throw new NotFoundError("That user");
  const [row] = await adminRows(services, [user], settings, [user.id]);
  return row!;
}
