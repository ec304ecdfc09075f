import { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { formatBytes } from "~/lib/format";
import { PayloadTooLargeError, ValidationError } from "./errors";
import { getSettings } from "./settings.server";

/**
 * Uploads in progress with the account whose storage they reserve: the owner of the folder the
 * file will land in, as the finished upload does it (completeUpload in uploads.server.ts): the
 * target folder's owner, or the uploader when that folder is gone or in the trash.
 */
export const PENDING_UPLOAD_CHARGES = Prisma.sql`
  SELECT CASE WHEN f.id IS NOT NULL AND f.trashed_at IS NULL THEN f.owner_id ELSE u.owner_id END AS charged_to, u.size
  FROM uploads u LEFT JOIN folders f ON f.id = u.folder_id`;

export interface StorageUsage {
  /** Bytes of files, their versions and uploads in progress (which reserve their full size). */
  usedBytes: number;
  quotaBytes: number | null;
}

export async function storageUsage(services: Services, ownerId: string): Promise<StorageUsage> {
  const [user, settings, rows] = await Promise.all([
    services.prisma.user.findUnique({ where: { id: ownerId }, select: { quotaBytes: true } }),
    getSettings(services),
    services.prisma.$queryRaw<Array<{ used: bigint | null }>>`
      SELECT
        COALESCE((SELECT SUM(size) FROM files WHERE owner_id = ${ownerId}), 0)
      + COALESCE((SELECT SUM(v.size) FROM file_versions v JOIN files f ON f.id = v.file_id WHERE f.owner_id = ${ownerId}), 0)
      + COALESCE((SELECT SUM(p.size) FROM (${PENDING_UPLOAD_CHARGES}) AS p WHERE p.charged_to = ${ownerId}), 0) AS used`,
  ]);
  const quota = user?.quotaBytes ?? (settings.defaultQuotaBytes === null ? null : BigInt(settings.defaultQuotaBytes));
  return { usedBytes: Number(rows[0]?.used ?? 0n), quotaBytes: quota === null ? null : Number(quota) };
}

export interface UploadAllowance {
  /** The most bytes one file may have right now: the size limit or the room left, whichever is less. */
  maxBytes: number;
  reason: "size-limit" | "quota";
  maxFileSize: number;
  roomLeft: number | null;
  /**
   * Set when the storage is someone else's (a folder shared with the uploader, or a drop link):
   * refusals then name the owner but never their usage. `name` is null for anonymous uploaders.
   */
  owner: { name: string | null } | null;
}

/**
 * What `uploaderId` may upload into storage of `ownerId` (the owner of the target folder, whose
 * quota the file counts against). `uploaderId` null: an anonymous visitor of a drop link.
 */
export async function uploadAllowance(services: Services, ownerId: string, uploaderId: string | null): Promise<UploadAllowance> {
  const [settings, usage, owner] = await Promise.all([getSettings(services), storageUsage(services, ownerId), ownerFor(services, ownerId, uploaderId)]);
  const roomLeft = usage.quotaBytes === null ? null : Math.max(0, usage.quotaBytes - usage.usedBytes);
  if (roomLeft !== null && roomLeft < settings.maxFileSize) {
    return { maxBytes: roomLeft, reason: "quota", maxFileSize: settings.maxFileSize, roomLeft, owner };
  }
  return { maxBytes: settings.maxFileSize, reason: "size-limit", maxFileSize: settings.maxFileSize, roomLeft, owner };
}

async function ownerFor(services: Services, ownerId: string, uploaderId: string | null): Promise<UploadAllowance["owner"]> {
  if (uploaderId === ownerId) return null;
  if (uploaderId === null) return { name: null };
  const owner = await services.prisma.user.findUnique({ where: { id: ownerId }, select: { name: true } });
  return { name: owner?.name ?? null };
}

/** The largest file size to show the uploader: the room left in someone else's storage stays private. */
export function shownMaxUploadSize(allowance: UploadAllowance): number {
  return allowance.owner ? allowance.maxFileSize : allowance.maxBytes;
}

export function tooLargeError(allowance: UploadAllowance): PayloadTooLargeError {
  if (allowance.reason === "quota" && allowance.owner) return ownerStorageFullError(allowance.owner.name, "file");
  if (allowance.reason === "quota") {
    return new PayloadTooLargeError(
      allowance.roomLeft === 0
        ? "Your storage is full. Delete files (and empty the trash) to make room."
        : `Not enough room: only ${formatBytes(allowance.roomLeft ?? 0)} of your storage is left. Nothing was saved.`,
    );
  }
  return new PayloadTooLargeError(`This file is larger than the ${formatBytes(allowance.maxFileSize)} limit. Nothing was saved.`);
}

/**
 * Files in a shared folder count against the folder owner's storage (as in Nextcloud). The
 * refusal says whose storage is full, never how full it is.
 */
export function ownerStorageFullError(ownerName: string | null, what: "file" | "copy"): PayloadTooLargeError {
  const owner = ownerName ? `the folder’s owner, ${ownerName},` : "the folder’s owner";
  const outcome = what === "copy" ? "Nothing was copied." : "Nothing was saved.";
  const sentences = [`Not enough room: the storage of ${owner} is too full for this ${what}.`, "Files in a shared folder count against its owner’s storage."];
  if (ownerName) sentences.push("Ask them to make room.");
  sentences.push(outcome);
  return new PayloadTooLargeError(sentences.join(" "));
}

/** Refuses names whose extension an admin blocked. */
export async function assertTypeAllowed(services: Services, name: string, use: "upload" | "rename" = "upload"): Promise<void> {
  const { blockedExtensions } = await getSettings(services);
  const dot = name.lastIndexOf(".");
  const extension = dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
  if (extension && blockedExtensions.includes(extension)) {
    if (use === "rename") {
      throw new ValidationError(`Files of type .${extension} are blocked here, so the file cannot be renamed to “${name}”. Choose another name.`, { name: `.${extension} files are blocked.` });
    }
    throw new ValidationError(`Files of type .${extension} cannot be uploaded here.`, { file: `.${extension} files are blocked.` });
  }
}
