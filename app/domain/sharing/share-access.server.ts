// Public share links, the visitor's side: resolving a token, the password grant, counting
// downloads and views, and what inside a shared folder a visitor may reach.
import { createHash } from "node:crypto";
import { verify } from "@node-rs/argon2";
import type { File as FileRecord, Folder, ShareLink } from "~/generated/prisma/client";
import { appCookie, cookiesAreSecure, type SignedCookie } from "~/lib/cookies.server";
import type { Services } from "~/services/index.server";
import { recordActivity } from "../audit/activity.server";
import { type AuditActor, recordAudit } from "../audit/audit.server";
import { AppError, NotFoundError, UnauthorizedError, ValidationError } from "../errors";
import { rateLimit } from "../rate-limit.server";
import { recordShareDenial } from "./access-denials.server";

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
  // The count and its activity (and event) commit together.
  const rows = await services.prisma.$transaction(async (tx) => {
    const counted = await tx.$queryRaw<Array<{ download_count: number; owner_id: string }>>`
      UPDATE share_links SET download_count = download_count + 1
      WHERE id = ${link.id} AND (max_downloads IS NULL OR download_count < max_downloads)
      RETURNING download_count, owner_id`;
    if (counted.length > 0) {
      await recordActivity(tx, {
        userId: null,
        ownerId: counted[0].owner_id,
        action: "share.used",
        subjectType: "share",
        subjectId: link.id,
        details: { download: details.kind, itemId: details.itemId, count: counted[0].download_count },
      });
    }
    return counted;
  });
  if (rows.length === 0) {
    await recordShareDenial(services, audit, { targetType: "share", targetId: link.id, reason: "exhausted" });
    throw new ShareGoneError("exhausted", "This link has reached its download limit. Ask the person who shared it for a new one.", link.id);
  }
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
    // moment only one records the view. The audit trail must never break the page itself; with
    // Redis down each instance throttles on its own (orLocal), at worst one entry per instance.
    if (!(await services.cache.orLocal.tryLock(key, SHARE_VIEW_AUDIT_TTL_MS))) return;
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
