import type { Services } from "~/services/index.server";
import { formatBytes } from "~/lib/format";
import { PayloadTooLargeError, ValidationError } from "./errors";
import { getSettings } from "./settings.server";

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
      + COALESCE((SELECT SUM(size) FROM uploads WHERE owner_id = ${ownerId}), 0) AS used`,
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
}

export async function uploadAllowance(services: Services, ownerId: string): Promise<UploadAllowance> {
  const [settings, usage] = await Promise.all([getSettings(services), storageUsage(services, ownerId)]);
  const roomLeft = usage.quotaBytes === null ? null : Math.max(0, usage.quotaBytes - usage.usedBytes);
  if (roomLeft !== null && roomLeft < settings.maxFileSize) {
    return { maxBytes: roomLeft, reason: "quota", maxFileSize: settings.maxFileSize, roomLeft };
  }
  return { maxBytes: settings.maxFileSize, reason: "size-limit", maxFileSize: settings.maxFileSize, roomLeft };
}

export function tooLargeError(allowance: UploadAllowance): PayloadTooLargeError {
  if (allowance.reason === "quota") {
    return new PayloadTooLargeError(
      allowance.roomLeft === 0
        ? "Your storage is full. Delete files (and empty the trash) to make room."
        : `Not enough room: only ${formatBytes(allowance.roomLeft ?? 0)} of your storage is left. Nothing was saved.`,
    );
  }
  return new PayloadTooLargeError(`This file is larger than the ${formatBytes(allowance.maxFileSize)} limit. Nothing was saved.`);
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
