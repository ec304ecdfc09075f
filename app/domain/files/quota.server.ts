import { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { countQuotaRefusal } from "~/services/metrics.server";
import { formatBytes } from "~/lib/format";
import { NotFoundError, PayloadTooLargeError, ValidationError } from "../errors";
import { getSettings, type Settings } from "../admin/settings.server";

type Db = Prisma.TransactionClient | Services["prisma"];

/**
 * Uploads in progress with the account whose storage they reserve: the owner of the folder the
 * file will land in, as the finished upload does it (completeUpload in uploads.server.ts): the
 * target folder's owner, also while that folder is in the trash; the uploader once it is gone.
 */
export const PENDING_UPLOAD_CHARGES = Prisma.sql`
  SELECT CASE WHEN f.id IS NOT NULL THEN f.owner_id ELSE u.owner_id END AS charged_to, u.size
  FROM uploads u LEFT JOIN folders f ON f.id = u.folder_id`;

/** Options for transactions that wait for a storage lock: many may queue for one account. */
export const STORAGE_LOCK_TX = { maxWait: 10_000, timeout: 30_000 } as const;

/**
 * Takes `ownerId`'s storage lock until the transaction ends. Everything that adds bytes to an
 * account (a pending upload, a file, a copy, handed-over files) checks the room left and writes
 * its row under this lock in one transaction, so two writes at the same moment can never both
 * pass on the same free room. Deleting the account takes it too.
 */
export async function lockStorage(tx: Prisma.TransactionClient, ownerId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${STORAGE_LOCK_SPACE}::int, hashtext(${ownerId}))`;
}

/** The first key of the two-key advisory locks on storage (apart from every single-key lock). */
const STORAGE_LOCK_SPACE = 72707371;

export interface StorageUsage {
  /** Bytes of files, their versions and uploads in progress (which reserve their full size). */
  usedBytes: number;
  quotaBytes: number | null;
}

export async function storageUsage(
  services: Services,
  ownerId: string,
  db: Db = services.prisma,
  settings?: Settings,
): Promise<StorageUsage> {
  const [row, { defaultQuotaBytes }] = await Promise.all([readUsage(db, ownerId, null), settings ?? getSettings(services)]);
  return usageFrom(row, defaultQuotaBytes);
}

interface UsageRow {
  quota_bytes: bigint | null;
  used: bigint;
  name: string;
  /** Whether the folder asked about exists outside the trash. */
  into_live: boolean;
}

/**
 * The owner's counted bytes, quota and name, and whether folder `into` is live, in one statement.
 * users.storage_used is kept by triggers (see the storage_usage migration); pending uploads are
 * few, so they are summed here.
 */
async function readUsage(db: Db, ownerId: string, into: string | null): Promise<UsageRow | undefined> {
  const rows = await db.$queryRaw<UsageRow[]>`
    SELECT u.quota_bytes, u.name,
      u.storage_used + COALESCE((SELECT SUM(p.size) FROM (${PENDING_UPLOAD_CHARGES}) AS p WHERE p.charged_to = ${ownerId}), 0) AS used,
      EXISTS (SELECT 1 FROM folders WHERE id = ${into} AND trashed_at IS NULL) AS into_live
    FROM users u WHERE u.id = ${ownerId}`;
  return rows[0];
}

function usageFrom(row: UsageRow | undefined, defaultQuotaBytes: number | null): StorageUsage {
  const quota = row?.quota_bytes ?? (defaultQuotaBytes === null ? null : BigInt(defaultQuotaBytes));
  return { usedBytes: Number(row?.used ?? 0n), quotaBytes: quota === null ? null : Number(quota) };
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
  /** The owner's usage it was worked out from (private to the owner, like roomLeft). */
  usage: StorageUsage;
}

/**
 * What `uploaderId` may upload into storage of `ownerId` (the owner of the target folder, whose
 * quota the file counts against). `uploaderId` null: an anonymous visitor of a drop link.
 */
export async function uploadAllowance(
  services: Services,
  ownerId: string,
  uploaderId: string | null,
  db: Db = services.prisma,
  given?: Settings,
): Promise<UploadAllowance> {
  const settings = given ?? (await getSettings(services));
  return allowanceFrom(await readUsage(db, ownerId, null), ownerId, uploaderId, settings);
}

function allowanceFrom(row: UsageRow | undefined, ownerId: string, uploaderId: string | null, settings: Settings): UploadAllowance {
  const usage = usageFrom(row, settings.defaultQuotaBytes);
  const owner = uploaderId === ownerId ? null : { name: uploaderId === null ? null : (row?.name ?? null) };
  const roomLeft = usage.quotaBytes === null ? null : Math.max(0, usage.quotaBytes - usage.usedBytes);
  if (roomLeft !== null && roomLeft < settings.maxFileSize) {
    return { maxBytes: roomLeft, reason: "quota", maxFileSize: settings.maxFileSize, roomLeft, owner, usage };
  }
  return { maxBytes: settings.maxFileSize, reason: "size-limit", maxFileSize: settings.maxFileSize, roomLeft, owner, usage };
}

/**
 * In the transaction that records an upload of `bytes` into folder `into` of `ownerId`'s storage
 * (its pending row or its file), before that write: takes the owner's storage lock, refuses (413,
 * as at creation) when the bytes no longer fit, and (404) when the folder went to the trash or
 * away with its owner's account meanwhile. Settings are read beforehand: nothing may wait for
 * another database connection while holding the lock.
 */
export async function claimUploadRoom(
  tx: Prisma.TransactionClient,
  { ownerId, uploaderId, into, bytes }: { ownerId: string; uploaderId: string | null; into: string; bytes: number },
  settings: Settings,
): Promise<void> {
  await lockStorage(tx, ownerId);
  const row = await readUsage(tx, ownerId, into);
  const allowance = allowanceFrom(row, ownerId, uploaderId, settings);
  if (bytes > allowance.maxBytes) throw tooLargeError(allowance);
  if (!row?.into_live) throw new NotFoundError("That folder");
}

/** The largest file size to show the uploader: the room left in someone else's storage stays private. */
export function shownMaxUploadSize(allowance: UploadAllowance): number {
  return allowance.owner ? allowance.maxFileSize : allowance.maxBytes;
}

/** The refusal of an upload too large for `allowance` (counted as a quota refusal when the quota is what limits it). */
export function tooLargeError(allowance: UploadAllowance): PayloadTooLargeError {
  if (allowance.reason === "quota") countQuotaRefusal("upload");
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
  const sentences = [
    `Not enough room: the storage of ${owner} is too full for this ${what}.`,
    "Files in a shared folder count against its owner’s storage.",
  ];
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
      throw new ValidationError(
        `Files of type .${extension} are blocked here, so the file cannot be renamed to “${name}”. Choose another name.`,
        { name: `.${extension} files are blocked.` },
      );
    }
    throw new ValidationError(`Files of type .${extension} cannot be uploaded here.`, { file: `.${extension} files are blocked.` });
  }
}

/** What users.storage_used must be: the owner's files (trash included) and their versions. */
const ACTUAL_STORAGE_USED = Prisma.sql`
  SELECT u.id,
    COALESCE((SELECT SUM(f.size) FROM files f WHERE f.owner_id = u.id), 0)
  + COALESCE((SELECT SUM(v.size) FROM file_versions v JOIN files f ON f.id = v.file_id WHERE f.owner_id = u.id), 0) AS bytes
  FROM users u`;

/**
 * Hourly safety net for the storage counter: recomputes it from the files of each account whose
 * value drifted (an edit by hand in the database, a bug) and logs which ones. Each account is
 * corrected under a lock on its row, which every change of its files takes (the counter's
 * triggers), so nothing changes between the recount and the write.
 */
export async function reconcileStorageUsed(services: Services): Promise<{ corrected: number }> {
  const drifted = await services.prisma.$queryRaw<Array<{ id: string }>>`
    SELECT actual.id FROM (${ACTUAL_STORAGE_USED}) actual JOIN users u ON u.id = actual.id WHERE u.storage_used <> actual.bytes`;
  let corrected = 0;
  for (const { id } of drifted) {
    const fixed = await services.prisma.$transaction(async (tx) => {
      const locked = await tx.$queryRaw<Array<{ storage_used: bigint }>>`SELECT storage_used FROM users WHERE id = ${id} FOR UPDATE`;
      if (locked.length === 0) return null;
      const [actual] = await tx.$queryRaw<
        Array<{ bytes: bigint }>
      >`SELECT bytes FROM (${ACTUAL_STORAGE_USED}) actual WHERE actual.id = ${id}`;
      const bytes = actual?.bytes ?? 0n;
      if (locked[0].storage_used === bytes) return null;
      await tx.$executeRaw`UPDATE users SET storage_used = ${bytes} WHERE id = ${id}`;
      return { counted: Number(locked[0].storage_used), actual: Number(bytes) };
    });
    if (fixed) {
      corrected++;
      services.log.warn("storage counter had drifted and was corrected", { userId: id, ...fixed });
    }
  }
  return { corrected };
}
