import type { Upload } from "@tus/utils";
import type { Services, UploadTerminator } from "~/services/index.server";
import { auditRefusal, readRefusal, writeRefusal, writeRefusalMessage } from "../sharing/access.server";
import type { File as FileRecord, Prisma } from "~/generated/prisma/client";
import { AppError, ConflictError, NotFoundError, PayloadTooLargeError, ValidationError } from "../errors";
import { addFile, detectMimeType, type NewFile } from "../files/files.server";
import { assertNameFree, getRootFolder, getWritableFolder } from "../files/folders.server";
import { recordActivity } from "../audit/activity.server";
import { addFileWithPolicy, uploadPolicyFrom, type UploadPolicy } from "../files/versions.server";
import { cleanName, nameKey, numberedName } from "../files/names";
import { isId } from "../ids";
import { parseUploadMetadata } from "./upload-metadata";
import { parseUploadPath, resolveUploadFolder } from "./upload-paths.server";
import { hashStoredFile } from "./upload-hash.server";
import {
  assertTypeAllowed,
  claimUploadRoom,
  lockStorage,
  STORAGE_LOCK_TX,
  storageUsage,
  tooLargeError,
  uploadAllowance,
} from "../files/quota.server";
import { getSettings, type Settings } from "../admin/settings.server";
import type { SessionUser } from "../accounts/sessions.server";
import { formatBytes } from "~/lib/format";

export const UPLOAD_GONE =
  "This upload no longer exists: it was cancelled or expired, or the folder it was going into was deleted. Nothing more was saved.";

/** The tus upload as the domain sees it (its id, declared size and metadata). */
type TusUpload = Pick<Upload, "id" | "size" | "metadata">;

/**
 * The pending upload a tus request continues, inspects or cancels: only its creator may.
 * A PATCH also checks that bytes may still go into its folder.
 */
export async function pendingUploadFor(
  services: Services,
  user: SessionUser,
  uploadId: string,
  method: string,
): Promise<PendingWithFolder> {
  if (!isId(uploadId)) throw new AppError(404, UPLOAD_GONE);
  const pending = await findPending(services, uploadId);
  if (!pending || pending.ownerId !== user.id) throw new AppError(404, UPLOAD_GONE);
  if (method === "PATCH") await assertMayStillUploadInto(services, user, pending.folder);
  return pending;
}

/**
 * A new tus upload: checks its name, path, folder, type and size, creates the missing folders of
 * its path, and reserves its declared size from the folder owner's storage. Returns the metadata
 * tus keeps for it.
 */
export async function createPendingUpload(
  services: Services,
  user: SessionUser,
  upload: TusUpload,
): Promise<Record<string, string | null>> {
  if (upload.size === undefined) throw new ValidationError("The upload must declare its size (Upload-Length).");
  const sent = parseUploadMetadata(upload.metadata);
  const name = cleanName(sent.filename ?? "", "File name");
  // A file from a dropped folder carries its directory ("Photos/2024/") relative to the
  // folder it was dropped into; checked before anything is created.
  const segments = parseUploadPath(sent.relativePath);
  const target = await getWritableFolder(services, user, sent.folderId || null);
  await assertTypeAllowed(services, name);
  // The declared size is reserved at creation from the folder owner's storage (pending
  // uploads count as used; see PENDING_UPLOAD_CHARGES), so the bytes that arrive later can
  // never take the owner over quota. A path's missing folders are created before the
  // reservation: checked first then, so a refused file leaves no folders behind.
  const settings = await getSettings(services);
  if (segments.length > 0) {
    const allowance = await uploadAllowance(services, target.ownerId, user.id, services.prisma, settings);
    if (upload.size > allowance.maxBytes) throw tooLargeError(allowance);
  }
  // Missing folders of the path are created now (find-or-create, race-safe), so the
  // pending upload points at the deepest one.
  const folder = await resolveUploadFolder(services, target, segments, user.id);
  // "Cancel" refuses a taken name before any bytes are sent.
  if (uploadPolicyFrom(sent.onConflict) === "cancel") await assertNameFree(services, folder.id, name);
  const size = upload.size;
  await services.prisma.$transaction(async (tx) => {
    // Checked again and reserved under the owner's storage lock, so uploads (or a form
    // upload, or a copy) started at the same moment never share the same room.
    await claimUploadRoom(tx, { ownerId: target.ownerId, uploaderId: user.id, into: folder.id, bytes: size }, settings);
    await tx.upload.create({ data: { id: upload.id, ownerId: user.id, folderId: folder.id, name, size: BigInt(size) } });
  }, STORAGE_LOCK_TX);
  // The path is resolved into folderId now; it is not kept so nothing resolves it twice.
  const metadata: Record<string, string | null> = { ...upload.metadata, filename: name, folderId: folder.id };
  delete metadata.relativePath;
  return metadata;
}

/** A client cancelled its upload (tus termination): the room it reserved is released at once. */
export async function releaseCancelledUpload(services: Services, uploadId: string): Promise<void> {
  await services.prisma.upload.deleteMany({ where: { id: uploadId } });
}

/**
 * Whether bytes may still go into the folder an upload was created for: access is checked
 * again at every PATCH, so a share revoked, made read-only, or its owner deactivated since the
 * upload began stops it. What arrived is kept, and the upload resumes if access comes back. A
 * folder trashed or gone meanwhile is no reason to refuse: completeUpload decides where the file
 * lands. As on the other write paths, someone who may still see the folder (a read-only grantee,
 * an administrator) is told the true reason (403); anyone else learns only that it is gone (404).
 */
async function assertMayStillUploadInto(services: Services, user: SessionUser, folder: PendingFolder | null): Promise<void> {
  if (!folder || folder.ownerId === user.id) return;
  const target = { kind: "folder", id: folder.id, ownerId: folder.ownerId } as const;
  const refusal = await writeRefusal(services, user, target);
  if (refusal === null) return;
  await auditRefusal(services, user, target, refusal, "write");
  if ((await readRefusal(services, user, target)) === null)
    throw new AppError(403, `${writeRefusalMessage(refusal, "folder")} Nothing more was saved.`);
  throw new AppError(404, "The folder this upload goes into was not found, or it is no longer shared with you. Nothing more was saved.");
}

/**
 * Where a finished upload lands. A tus upload's folder owner was charged for it when it was
 * created (PENDING_UPLOAD_CHARGES); a form upload claims its room where it lands. Either way:
 * - folder live: into it, as the owner's file;
 * - folder in the trash: into it all the same, in the trash with it and still the owner's, so
 *   restoring the folder brings the file back and emptying the trash removes it, as for the
 *   files that were in it. Nothing in the trash is replaced: a taken name is numbered;
 * - folder deleted for good: the bytes would be lost, so the file goes to the uploader's "My
 *   files" (a tus reservation moved to them with the folder gone), if their own storage has room;
 *   otherwise (or with no uploader: a drop-link visitor) it is refused, saying it was not saved.
 * The room is claimed (a tus upload's pending row removed) in the transaction that records the
 * file, under the charged storage's lock and a lock on the folder's row, so trashing, restoring
 * or deleting the folder cannot slip in between.
 */
export async function completeUpload(
  services: Services,
  upload: TusUpload,
  sha256: string | null,
  discard: () => Promise<void>,
  known?: PendingWithFolder,
) {
  const pending = known ?? (await findPending(services, upload.id));
  if (!pending) throw new AppError(404, UPLOAD_GONE);
  // With encryption at rest an upload is encrypted as it arrives; only one begun before that
  // (stored in plaintext) is encrypted into a new object here.
  const storageKey = (await services.storage.adoptUpload?.(upload.id, Number(pending.size), upload.metadata)) ?? upload.id;
  const content = {
    name: pending.name,
    size: Number(pending.size),
    mimeType: detectMimeType(pending.name, upload.metadata?.filetype),
    storageKey,
    sha256,
  };
  // A name taken meanwhile under "cancel" keeps both rather than losing the bytes just received.
  const policy = uploadPolicyFrom(upload.metadata?.onConflict) === "replace" ? "replace" : "keep-both";
  let landed: LandedUpload;
  try {
    const arrival = { name: pending.name, folderId: pending.folderId, uploaderId: pending.ownerId, pendingId: pending.id };
    landed = await landUpload(services, arrival, content, policy, pending.folder);
  } catch (error) {
    if (storageKey !== upload.id) await services.storage.delete(storageKey).catch(() => {});
    if (error instanceof NoRoomForOrphanError) {
      await services.prisma.upload.deleteMany({ where: { id: upload.id } });
      await discard();
    }
    throw error;
  }
  const { file, place } = landed;
  if (storageKey !== upload.id) await services.storage.delete(upload.id);
  await recordActivity(services.prisma, {
    userId: pending.ownerId,
    action: "file.uploaded",
    subjectType: "file",
    subjectId: file.id,
    details: { name: file.name, size: content.size, ...(place === "folder" ? {} : { landedIn: place }) },
  });
  if (!sha256) {
    void hashStoredFile(services, file.id).catch((error) =>
      services.log.warn("could not hash a finished upload", { fileId: file.id, error }),
    );
  }
  return file;
}

/**
 * A finished upload on its way into a folder: who sent it (null: a drop-link visitor) and, for a
 * tus upload, its pending row, which holds the room reserved at creation.
 */
type Arrival = { name: string; folderId: string; uploaderId: string | null; pendingId: string | null };
type PendingFolder = { id: string; ownerId: string; trashedAt: Date | null };
/** A pending upload with its folder as it was when looked up (null: deleted for good). */
export type PendingWithFolder = { id: string; ownerId: string; folderId: string; name: string; size: bigint; folder: PendingFolder | null };

/** The pending upload and its folder, in one statement (every PATCH asks). */
async function findPending(services: Services, uploadId: string): Promise<PendingWithFolder | null> {
  const [row] = await services.prisma.$queryRaw<
    Array<Omit<PendingWithFolder, "folder"> & { folderOwnerId: string | null; folderTrashedAt: Date | null }>
  >`
    SELECT u.id, u.owner_id AS "ownerId", u.folder_id AS "folderId", u.name, u.size, f.owner_id AS "folderOwnerId", f.trashed_at AS "folderTrashedAt"
    FROM uploads u LEFT JOIN folders f ON f.id = u.folder_id WHERE u.id = ${uploadId}`;
  if (!row) return null;
  const { folderOwnerId, folderTrashedAt, ...pending } = row;
  return { ...pending, folder: folderOwnerId === null ? null : { id: row.folderId, ownerId: folderOwnerId, trashedAt: folderTrashedAt } };
}
type UploadContent = Omit<NewFile, "ownerId" | "folderId">;
export type LandedUpload = { file: FileRecord; place: "folder" | "trash" | "root" };

/** The upload's folder was trashed, restored or deleted between looking at it and locking it. */
class TargetChangedError extends Error {}

/** The upload's folder is gone and the uploader's own storage cannot take the file. */
class NoRoomForOrphanError extends PayloadTooLargeError {}

/**
 * Records a file a no-JavaScript form (or a drop link) streamed into storage, landing it as a
 * finished tus upload lands (see completeUpload): the folder may have gone to the trash, or
 * away, while its bytes arrived.
 */
export async function landFormUpload(
  services: Services,
  into: { folderId: string; ownerId: string; uploaderId: string | null },
  content: UploadContent,
  policy: UploadPolicy,
): Promise<LandedUpload> {
  // The folder was live when the form began; checked again under the lock.
  const known = { id: into.folderId, ownerId: into.ownerId, trashedAt: null };
  return landUpload(
    services,
    { name: content.name, folderId: into.folderId, uploaderId: into.uploaderId, pendingId: null },
    content,
    policy,
    known,
  );
}

/**
 * `known`: the folder as the request already found it (a tus PATCH), tried first; under the lock,
 * claimInFolder finds out whether it changed since, and the next attempt looks again.
 */
async function landUpload(
  services: Services,
  arrival: Arrival,
  content: UploadContent,
  policy: UploadPolicy,
  known?: PendingFolder | null,
): Promise<LandedUpload> {
  // Read before any lock is taken: nothing may wait for another connection while holding one.
  const settings = await getSettings(services);
  for (let attempt = 0; attempt < 3; attempt++) {
    const folder =
      attempt === 0 && known !== undefined
        ? known
        : await services.prisma.folder.findUnique({
            where: { id: arrival.folderId },
            select: { id: true, ownerId: true, trashedAt: true },
          });
    try {
      if (folder && !folder.trashedAt) {
        const file = await addFileWithPolicy(
          services,
          { ...content, ownerId: folder.ownerId, folderId: folder.id },
          policy,
          arrival.uploaderId,
          {
            beforeWrite: (tx) => claimInFolder(services, tx, arrival, folder, "live", content.size, settings).then(() => {}),
          },
        );
        return { file, place: "folder" };
      }
      if (folder) return { file: await addToTrashedFolder(services, arrival, folder, content, settings), place: "trash" };
      return { file: await addToUploaderRoot(services, arrival, content, settings), place: "root" };
    } catch (error) {
      if (!(error instanceof TargetChangedError)) throw error;
    }
  }
  throw new ConflictError("The folder this upload goes into is being changed right now. Try the upload again in a moment.");
}

/**
 * In the transaction that records the upload: takes the folder owner's storage lock and a lock
 * on the folder's row (exclusive for the trash, where no unique index keeps names apart), checks
 * the folder is still as `expected`, and claims the room: a tus upload's pending row is removed
 * (its room was reserved), a form upload's size is checked against the owner's storage.
 */
async function claimInFolder(
  services: Services,
  tx: Prisma.TransactionClient,
  arrival: Arrival,
  folder: { id: string; ownerId: string },
  expected: "live" | "trashed",
  bytes: number,
  settings: Settings,
) {
  await lockStorage(tx, folder.ownerId);
  const rows =
    expected === "live"
      ? await tx.$queryRaw<LockedFolder[]>`SELECT owner_id, trashed_at, trash_root_id FROM folders WHERE id = ${folder.id} FOR SHARE`
      : await tx.$queryRaw<
          LockedFolder[]
        >`SELECT owner_id, trashed_at, trash_root_id FROM folders WHERE id = ${folder.id} FOR NO KEY UPDATE`;
  const locked = rows[0];
  if (!locked || locked.owner_id !== folder.ownerId || (locked.trashed_at ? "trashed" : "live") !== expected)
    throw new TargetChangedError();
  if (arrival.pendingId) {
    await takePending(tx, arrival.pendingId);
  } else {
    const allowance = await uploadAllowance(services, folder.ownerId, arrival.uploaderId, tx, settings);
    if (bytes > allowance.maxBytes) throw tooLargeError(allowance);
  }
  return locked;
}

type LockedFolder = { owner_id: string; trashed_at: Date | null; trash_root_id: string | null };

async function takePending(tx: Prisma.TransactionClient, uploadId: string) {
  const { count } = await tx.upload.deleteMany({ where: { id: uploadId } });
  // Cancelled, expired, or ended with the folder owner's account while the last bytes arrived.
  if (count === 0) throw new AppError(404, UPLOAD_GONE);
}

async function addToTrashedFolder(
  services: Services,
  arrival: Arrival,
  folder: { id: string; ownerId: string },
  content: UploadContent,
  settings: Settings,
): Promise<FileRecord> {
  return services.prisma.$transaction(async (tx) => {
    const locked = await claimInFolder(services, tx, arrival, folder, "trashed", content.size, settings);
    const name = await freeNameInTrash(tx, folder.id, locked.trash_root_id, content.name);
    return tx.file.create({
      data: {
        ...content,
        size: BigInt(content.size),
        ownerId: folder.ownerId,
        folderId: folder.id,
        name,
        nameKey: nameKey(name),
        trashedAt: locked.trashed_at,
        trashRootId: locked.trash_root_id,
      },
    });
  }, STORAGE_LOCK_TX);
}

/** A name no item in the folder has that is live or comes back with it from the trash. */
async function freeNameInTrash(tx: Prisma.TransactionClient, folderId: string, trashRootId: string | null, name: string): Promise<string> {
  const together = { OR: [{ trashedAt: null }, { trashRootId }] };
  for (let n = 0; n < 1000; n++) {
    const candidate = n === 0 ? name : numberedName(name, n);
    const key = nameKey(candidate);
    const [files, folders] = await Promise.all([
      tx.file.count({ where: { folderId, nameKey: key, ...together } }),
      tx.folder.count({ where: { parentId: folderId, nameKey: key, ...together } }),
    ]);
    if (files + folders === 0) return candidate;
  }
  throw new ConflictError(`Too many items named like “${name}” in this folder. Upload it under another name.`);
}

async function addToUploaderRoot(services: Services, arrival: Arrival, content: UploadContent, settings: Settings): Promise<FileRecord> {
  const uploaderId = arrival.uploaderId;
  // A drop-link visitor has no storage of their own to keep it in.
  if (uploaderId === null) throw new NotFoundError("The folder this upload was going into");
  const root = await getRootFolder(services, uploaderId);
  return addFile(
    services,
    { ...content, ownerId: uploaderId, folderId: root.id },
    {
      beforeWrite: async (tx) => {
        await lockStorage(tx, uploaderId);
        if (arrival.pendingId) await takePending(tx, arrival.pendingId);
        const usage = await storageUsage(services, uploaderId, tx, settings);
        if (usage.quotaBytes !== null && usage.usedBytes + content.size > usage.quotaBytes) {
          const left = Math.max(0, usage.quotaBytes - usage.usedBytes);
          throw new NoRoomForOrphanError(
            `“${arrival.name}” was not saved: the folder it was uploading into was deleted meanwhile, and your storage has no room for it in My files (it needs ${formatBytes(content.size)}, ${formatBytes(left)} is left). Make room, then upload it again.`,
          );
        }
      },
    },
  );
}

/**
 * Removes uploads abandoned for longer than UPLOAD_EXPIRY_HOURS: their partial data (local
 * partial files, S3 multipart uploads and .info objects) and their pending rows, which also
 * releases the quota they reserved. Then lets the store sweep anything expired it still knows,
 * including what an earlier termination could not remove.
 */
export async function cleanupAbandonedUploads(services: Services, uploads: UploadTerminator, now = new Date()) {
  const cutoff = new Date(now.getTime() - services.config.uploads.expiryMs);
  let removed = 0;
  // Kept (still reserving quota) when the store failed, and tried again at the next run.
  const failed: string[] = [];
  for (;;) {
    const stale = await services.prisma.upload.findMany({
      where: { createdAt: { lt: cutoff }, id: { notIn: failed } },
      select: { id: true },
      take: 200,
    });
    if (stale.length === 0) break;
    for (const { id } of stale) {
      if ((await uploads.terminate([id])).failed > 0) {
        failed.push(id);
        continue;
      }
      await services.prisma.upload.deleteMany({ where: { id } });
      removed++;
    }
  }
  const swept = await uploads.deleteExpired().catch((error) => {
    services.log.warn("tus expiry sweep failed", { error });
    return 0;
  });
  return { removed, swept };
}
