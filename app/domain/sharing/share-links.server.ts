import { createHash, randomBytes } from "node:crypto";
import { verify } from "@node-rs/argon2";
import { z } from "zod";
import { Prisma, type File as FileRecord, type Folder, type ShareLink } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { recordActivity } from "../audit/activity.server";
import { recordShareDenial } from "./access-denials.server";
import { recordAudit, type AuditActor } from "../audit/audit.server";
import { AppError, NotFoundError, UnauthorizedError, ValidationError } from "../errors";
import { rateLimit } from "../rate-limit.server";
import type { SessionUser } from "../accounts/sessions.server";
import { fieldErrors, hashPassword } from "../accounts/users.server";
import { appCookie, cookiesAreSecure, type SignedCookie } from "~/lib/cookies.server";

type Actor = Pick<SessionUser, "id" | "role">;

/**
 * A link that exists but can no longer be used: expired, or its downloads are used up. `reason`
 * is what the visitor is told; `denial` the true one, for the audit log (a deactivated owner's
 * links read as expired).
 */
export class ShareGoneError extends AppError {
  constructor(
    readonly reason: "expired" | "exhausted",
    message: string,
    readonly linkId: string,
    readonly denial: "expired" | "exhausted" | "owner-deactivated" = reason,
  ) {
    super(410, message);
  }
}

export const SHARE_GRANT_TTL_MS = 12 * 60 * 60 * 1000;
/** Page views and downloads per visitor (IP) and link. */
export const SHARE_VIEW_LIMIT = { limit: 120, windowMs: 60 * 1000 };
/** Password attempts per visitor (IP) and link. */
export const SHARE_PASSWORD_LIMIT = { limit: 10, windowMs: 15 * 60 * 1000 };

const TOKEN = /^[A-Za-z0-9_-]{16,128}$/;

export type ItemRef = { kind: "file" | "folder"; id: string };

/** "file:<id>" / "folder:<id>" → a reference, or null when malformed. */
export function parseItemRef(raw: unknown): ItemRef | null {
  if (typeof raw !== "string") return null;
  const match = /^(file|folder):([A-Za-z0-9_-]{1,64})$/.exec(raw.trim());
  return match ? { kind: match[1] as ItemRef["kind"], id: match[2] } : null;
}

export function newShareToken(): string {
  return randomBytes(32).toString("base64url");
}

// ---------------------------------------------------------------------------------------------
// Input

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value && value.trim() !== "" ? value : undefined));

/** Accepts an ISO date-time, "YYYY-MM-DDTHH:mm" (datetime-local, read as UTC) or "YYYY-MM-DD" (end of that day, UTC). */
export function parseExpiry(raw: string): Date | null {
  const value = raw.trim();
  let date: Date;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) date = new Date(`${value}T23:59:59Z`);
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) date = new Date(`${value}Z`);
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) date = new Date(value);
  else return null;
  return Number.isNaN(date.getTime()) ? null : date;
}

const expirySchema = optionalText.transform((value, ctx) => {
  if (value === undefined) return null;
  const date = parseExpiry(value);
  if (!date) {
    ctx.addIssue({ code: "custom", message: "Enter the expiry as a date and time, e.g. 2027-01-31T18:00." });
    return z.NEVER;
  }
  if (date.getTime() <= Date.now()) {
    ctx.addIssue({ code: "custom", message: "The expiry must be in the future." });
    return z.NEVER;
  }
  return date;
});

const limitSchema = optionalText.transform((value, ctx) => {
  if (value === undefined) return null;
  const n = Number(value.trim());
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1 || n > 1_000_000) {
    ctx.addIssue({ code: "custom", message: "The download limit must be a whole number from 1 to 1,000,000." });
    return z.NEVER;
  }
  return n;
});

const passwordSchema = optionalText.pipe(
  z.string().min(4, "Use at least 4 characters for the link password.").max(1024, "The password is too long.").optional(),
);

export const createLinkSchema = z.object({
  mode: z.enum(["READ", "DROP"], { message: "Choose what visitors can do." }).default("READ"),
  password: passwordSchema,
  expiresAt: expirySchema,
  maxDownloads: limitSchema,
});

export const updateLinkSchema = z.object({
  password: passwordSchema,
  clearPassword: z.enum(["on", "1", "true"]).optional(),
  expiresAt: expirySchema,
  maxDownloads: limitSchema,
});

function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new ValidationError("Please correct the highlighted fields.", fieldErrors(parsed.error));
  return parsed.data;
}

// ---------------------------------------------------------------------------------------------
// Owner side

/** The actor's own item (not in the trash), for sharing; NotFound otherwise. */
export async function getOwnItem(
  services: Services,
  actor: Actor,
  item: ItemRef,
): Promise<{ kind: "file"; file: FileRecord } | { kind: "folder"; folder: Folder }> {
  if (item.kind === "file") {
    const file = await services.prisma.file.findUnique({ where: { id: item.id } });
    if (!file || file.trashedAt || file.ownerId !== actor.id) throw new NotFoundError("That file");
    return { kind: "file", file };
  }
  const folder = await services.prisma.folder.findUnique({ where: { id: item.id } });
  if (!folder || folder.trashedAt || folder.ownerId !== actor.id) throw new NotFoundError("That folder");
  if (folder.parentId === null) throw new ValidationError("Share a folder inside My files rather than all of My files.");
  return { kind: "folder", folder };
}

export async function createShareLink(
  services: Services,
  actor: Actor,
  item: ItemRef,
  input: unknown,
  audit: AuditActor,
): Promise<ShareLink> {
  const target = await getOwnItem(services, actor, item);
  const data = parse(createLinkSchema, input);
  if (data.mode === "DROP" && target.kind !== "folder") {
    throw new ValidationError("A file drop needs a folder to receive the files.", { mode: "Only folders can be file drops." });
  }
  if (data.mode === "DROP" && data.maxDownloads !== null) {
    throw new ValidationError("A file drop has no downloads to limit.", { maxDownloads: "Leave empty for a file drop." });
  }
  const link = await services.prisma.shareLink.create({
    data: {
      token: newShareToken(),
      ownerId: actor.id,
      fileId: target.kind === "file" ? target.file.id : null,
      folderId: target.kind === "folder" ? target.folder.id : null,
      mode: data.mode,
      passwordHash: data.password ? await hashPassword(data.password) : null,
      expiresAt: data.expiresAt,
      maxDownloads: data.maxDownloads,
    },
  });
  await recordActivity(services.prisma, {
    userId: actor.id,
    action: "share.created",
    subjectType: "share",
    subjectId: link.id,
    details: { itemKind: item.kind, itemId: item.id, mode: link.mode, password: link.passwordHash !== null },
  });
  await recordAudit(services.prisma, audit, {
    action: "share.created",
    targetType: "share",
    targetId: link.id,
    details: {
      itemKind: item.kind,
      itemId: item.id,
      mode: link.mode,
      password: link.passwordHash !== null,
      expiresAt: link.expiresAt?.toISOString() ?? null,
      maxDownloads: link.maxDownloads,
    },
  });
  return link;
}

async function getOwnLink(services: Services, actor: Actor, linkId: string): Promise<ShareLink> {
  const link =
    typeof linkId === "string" && linkId.length <= 64 ? await services.prisma.shareLink.findUnique({ where: { id: linkId } }) : null;
  if (!link || link.ownerId !== actor.id) throw new NotFoundError("That link");
  return link;
}

export async function updateShareLink(
  services: Services,
  actor: Actor,
  linkId: string,
  input: unknown,
  audit: AuditActor,
): Promise<ShareLink> {
  const link = await getOwnLink(services, actor, linkId);
  const data = parse(updateLinkSchema, input);
  if (link.mode === "DROP" && data.maxDownloads !== null) {
    throw new ValidationError("A file drop has no downloads to limit.", { maxDownloads: "Leave empty for a file drop." });
  }
  let passwordHash = link.passwordHash;
  if (data.clearPassword) passwordHash = null;
  else if (data.password) passwordHash = await hashPassword(data.password);
  const updated = await services.prisma.shareLink.update({
    where: { id: link.id },
    data: { passwordHash, expiresAt: data.expiresAt, maxDownloads: data.maxDownloads },
  });
  const details = {
    password: data.clearPassword ? "cleared" : data.password ? "set" : "unchanged",
    expiresAt: updated.expiresAt?.toISOString() ?? null,
    maxDownloads: updated.maxDownloads,
  };
  await recordActivity(services.prisma, { userId: actor.id, action: "share.updated", subjectType: "share", subjectId: link.id, details });
  await recordAudit(services.prisma, audit, { action: "share.updated", targetType: "share", targetId: link.id, details });
  return updated;
}

export async function revokeShareLink(services: Services, actor: Actor, linkId: string, audit: AuditActor): Promise<void> {
  const link = await getOwnLink(services, actor, linkId);
  const details = { itemKind: link.fileId ? "file" : "folder", itemId: link.fileId ?? link.folderId ?? "" };
  // Recorded first, in the transaction that deletes the link: the row is all that is left of it.
  await services.prisma.$transaction(async (tx) => {
    await recordAudit(tx, audit, { action: "share.revoked", targetType: "share", targetId: link.id, details });
    await recordActivity(tx, { userId: actor.id, action: "share.revoked", subjectType: "share", subjectId: link.id, details });
    await tx.shareLink.deleteMany({ where: { id: link.id } });
  });
}

export interface MyLink {
  id: string;
  token: string;
  mode: "READ" | "DROP";
  item: { kind: "file" | "folder"; id: string; name: string; inTrash: boolean };
  hasPassword: boolean;
  createdAt: Date;
  expiresAt: Date | null;
  expired: boolean;
  maxDownloads: number | null;
  downloadCount: number;
}

export async function listMyLinks(services: Services, actor: Actor, item?: ItemRef | null): Promise<MyLink[]> {
  const links = await services.prisma.shareLink.findMany({
    where: {
      ownerId: actor.id,
      ...(item ? (item.kind === "file" ? { fileId: item.id } : { folderId: item.id }) : {}),
    },
    orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    include: { file: { select: { id: true, name: true, trashedAt: true } }, folder: { select: { id: true, name: true, trashedAt: true } } },
  });
  const now = Date.now();
  return links.map((link) => {
    const target = link.file ?? link.folder;
    return {
      id: link.id,
      token: link.token,
      mode: link.mode,
      item: { kind: link.file ? "file" : "folder", id: target?.id ?? "", name: target?.name ?? "", inTrash: Boolean(target?.trashedAt) },
      hasPassword: link.passwordHash !== null,
      createdAt: link.createdAt,
      expiresAt: link.expiresAt,
      expired: link.expiresAt !== null && link.expiresAt.getTime() <= now,
      maxDownloads: link.maxDownloads,
      downloadCount: link.downloadCount,
    };
  });
}

/**
 * The SQL condition (over share_links) for a link that still works: not expired and, when it has
 * a download limit, not used up. The same rule `resolveShare` applies to a single link.
 */
export const ACTIVE_SHARE_LINK_SQL = Prisma.sql`(expires_at IS NULL OR expires_at > now())
  AND (max_downloads IS NULL OR download_count < max_downloads)`;

/** How many public links to the item still work. */
export async function countActiveShareLinks(services: Services, item: ItemRef): Promise<number> {
  const column = item.kind === "file" ? Prisma.sql`file_id` : Prisma.sql`folder_id`;
  const [row] = await services.prisma.$queryRaw<Array<{ count: number }>>`
    SELECT count(*)::int AS count FROM share_links WHERE ${column} = ${item.id} AND ${ACTIVE_SHARE_LINK_SQL}`;
  return row?.count ?? 0;
}

/** The absolute URL of a link: APP_URL when configured, else the origin the request came to. */
export function shareUrl(services: Services, request: Request, token: string): string {
  const base = services.config.appUrl ?? new URL(request.url).origin;
  return `${base.replace(/\/+$/, "")}/s/${token}`;
}

// ---------------------------------------------------------------------------------------------
// Visitor side

export type PublicShare = ShareLink & { file: FileRecord | null; folder: Folder | null };

/**
 * The usable link for a token. Unknown tokens and links to items in the trash are not found;
 * expired links and links whose downloads are used up are gone (410), each with its own message.
 */
export async function resolveShare(services: Services, token: string): Promise<PublicShare> {
  if (!TOKEN.test(token)) throw new NotFoundError("That link");
  const found = await services.prisma.shareLink.findUnique({
    where: { token },
    include: { file: true, folder: true, owner: { select: { deactivatedAt: true } } },
  });
  if (!found) throw new NotFoundError("That link");
  const { owner, ...link } = found;
  const target = link.file ?? link.folder;
  if (!target || target.trashedAt) throw new NotFoundError("That link");
  // A deactivated owner's links answer exactly as expired ones, and work again on reactivation.
  const expired = link.expiresAt !== null && link.expiresAt.getTime() <= Date.now();
  if (expired || owner.deactivatedAt) {
    throw new ShareGoneError(
      "expired",
      "This link has expired. Ask the person who shared it for a new one.",
      link.id,
      expired ? "expired" : "owner-deactivated",
    );
  }
  if (link.mode === "READ" && link.maxDownloads !== null && link.downloadCount >= link.maxDownloads) {
    throw new ShareGoneError("exhausted", "This link has reached its download limit. Ask the person who shared it for a new one.", link.id);
  }
  return link;
}

/** Per visitor and link: generous for viewing and downloading. */
export function limitShareViews(services: Services, token: string, ip: string | null) {
  return rateLimit(services, `share-view:${ip ?? "unknown"}:${token}`, {
    ...SHARE_VIEW_LIMIT,
    message: (seconds) => `Too many requests for this link. Please try again in ${seconds} seconds.`,
  });
}

const grantCookies = new WeakMap<Services, Map<string, SignedCookie>>();

/** The signed cookie that remembers a correct password, only for this link's pages. */
function grantCookie(services: Services, token: string): SignedCookie {
  let byToken = grantCookies.get(services);
  if (!byToken) grantCookies.set(services, (byToken = new Map()));
  let cookie = byToken.get(token);
  if (!cookie) {
    // __Secure-, not __Host-: the cookie is scoped to this link's path, which __Host- forbids.
    cookie = appCookie(services.config.isProduction && services.config.servedOverHttps ? "__Secure-coffer_share" : "coffer_share", {
      httpOnly: true,
      sameSite: "lax",
      secure: cookiesAreSecure(services.config),
      path: `/s/${token}`,
      secrets: [services.sessionSecret],
      maxAge: Math.floor(SHARE_GRANT_TTL_MS / 1000),
    });
    if (byToken.size > 1000) byToken.clear();
    byToken.set(token, cookie);
  }
  return cookie;
}

/** Changing or removing the password invalidates earlier grants. */
function passwordFingerprint(link: Pick<ShareLink, "id" | "passwordHash">): string {
  return createHash("sha256")
    .update(`${link.id}\n${link.passwordHash ?? ""}`)
    .digest("base64url")
    .slice(0, 22);
}

/** True when the link has no password or the request carries a valid grant for it. */
export async function hasShareAccess(services: Services, link: PublicShare, request: Request): Promise<boolean> {
  if (!link.passwordHash) return true;
  const value = await grantCookie(services, link.token)
    .parse(request.headers.get("cookie"))
    .catch(() => null);
  if (!value || typeof value !== "object") return false;
  const grant = value as { l?: unknown; p?: unknown; e?: unknown };
  return grant.l === link.id && grant.p === passwordFingerprint(link) && typeof grant.e === "number" && grant.e > Date.now();
}

/** Checks the password (rate-limited per visitor and link); returns the Set-Cookie granting access. */
export async function unlockShare(services: Services, link: PublicShare, password: unknown, audit: AuditActor): Promise<string> {
  await rateLimit(services, `share-password:${audit.ip ?? "unknown"}:${link.token}`, {
    ...SHARE_PASSWORD_LIMIT,
    message: (seconds) =>
      `Too many wrong passwords for this link. Please wait ${Math.ceil(seconds / 60)} minute${seconds > 60 ? "s" : ""} before trying again.`,
  });
  if (typeof password !== "string" || password.length === 0) {
    throw new ValidationError("Enter the password for this link.", { password: "Enter the password for this link." });
  }
  const ok = link.passwordHash ? await verify(link.passwordHash, password.slice(0, 1024)).catch(() => false) : true;
  if (!ok) {
    // One entry per attempt (capped by the password rate limit), so guessing shows in the log;
    // no share.access_denied beside it, which would record the same refusal twice.
    await recordAudit(services.prisma, audit, {
      action: "share.password_failed",
      outcome: "failure",
      targetType: "share",
      targetId: link.id,
    });
    throw new UnauthorizedError("That password is not right. Check it with the person who shared the link.");
  }
  return grantCookie(services, link.token).serialize({ l: link.id, p: passwordFingerprint(link), e: Date.now() + SHARE_GRANT_TTL_MS });
}

/**
 * Counts one download atomically; two parallel downloads of a link with one download left
 * cannot both pass. Throws 410 when the limit is already reached.
 */
export async function countShareDownload(
  services: Services,
  link: PublicShare,
  details: { kind: "file" | "zip"; itemId: string },
  audit: AuditActor,
): Promise<void> {
  const rows = await services.prisma.$queryRaw<Array<{ download_count: number }>>`
    UPDATE share_links SET download_count = download_count + 1
    WHERE id = ${link.id} AND (max_downloads IS NULL OR download_count < max_downloads)
    RETURNING download_count`;
  if (rows.length === 0) {
    await recordShareDenial(services, audit, { targetType: "share", targetId: link.id, reason: "exhausted" });
    throw new ShareGoneError("exhausted", "This link has reached its download limit. Ask the person who shared it for a new one.", link.id);
  }
  await recordActivity(services.prisma, {
    userId: null,
    action: "share.used",
    subjectType: "share",
    subjectId: link.id,
    details: { download: details.kind, itemId: details.itemId, count: rows[0].download_count },
  });
  await recordAudit(services.prisma, audit, {
    action: "share.used",
    targetType: "share",
    targetId: link.id,
    details: { download: details.kind, itemId: details.itemId, count: rows[0].download_count },
  });
}

/** How long one visitor's views of a link count as one in the audit log, so reloads do not flood it. */
export const SHARE_VIEW_AUDIT_TTL_MS = 10 * 60 * 1000;

/** Records that a visitor opened a link's page: at most once per link and visitor (IP) per SHARE_VIEW_AUDIT_TTL_MS. */
export async function recordShareView(services: Services, link: PublicShare, audit: AuditActor): Promise<void> {
  const key = `share-view-audit:${link.id}:${audit.ip ?? "unknown"}`;
  try {
    // A lock that is never released is an atomic "once per window": of two requests at the same
    // moment only one records the view. The audit trail must never break the page itself.
    if (!(await services.cache.tryLock(key, SHARE_VIEW_AUDIT_TTL_MS))) return;
    await recordAudit(services.prisma, audit, { action: "share.used", targetType: "share", targetId: link.id, details: { kind: "view" } });
  } catch (error) {
    services.log.warn("could not record a share page view", { linkId: link.id, error });
  }
}

export interface ShareCrumb {
  id: string;
  name: string;
}

/**
 * The folder chain from the shared folder down to `folderId`, when that folder is inside the
 * share and not in the trash; NotFound otherwise (the rest of the owner's tree stays invisible).
 */
export async function shareFolderChain(services: Services, link: PublicShare, folderId: string): Promise<ShareCrumb[]> {
  const rootId = link.folderId;
  if (!rootId || typeof folderId !== "string" || folderId.length > 64) throw new NotFoundError("That folder");
  const rows = await services.prisma.$queryRaw<Array<{ id: string; name: string; trashed: boolean; depth: number }>>`
    WITH RECURSIVE chain AS (
      SELECT id, name, parent_id, trashed_at IS NOT NULL AS trashed, 0 AS depth FROM folders WHERE id = ${folderId} AND owner_id = ${link.ownerId}
      UNION ALL
      SELECT f.id, f.name, f.parent_id, f.trashed_at IS NOT NULL, chain.depth + 1 FROM folders f JOIN chain ON f.id = chain.parent_id
      WHERE chain.id <> ${rootId} AND chain.depth < 1000
    )
    SELECT id, name, trashed, depth FROM chain ORDER BY depth DESC`;
  if (rows.length === 0 || rows[0].id !== rootId || rows.some((row) => row.trashed)) throw new NotFoundError("That folder");
  return rows.map((row) => ({ id: row.id, name: row.name }));
}

/** A file inside a shared folder's subtree (not in the trash); NotFound otherwise. */
export async function shareFile(services: Services, link: PublicShare, fileId: string): Promise<FileRecord> {
  if (link.file) {
    if (fileId !== link.file.id) throw new NotFoundError("That file");
    return link.file;
  }
  if (typeof fileId !== "string" || fileId.length > 64) throw new NotFoundError("That file");
  const file = await services.prisma.file.findUnique({ where: { id: fileId } });
  if (!file || file.trashedAt || file.ownerId !== link.ownerId) throw new NotFoundError("That file");
  await shareFolderChain(services, link, file.folderId);
  return file;
}
