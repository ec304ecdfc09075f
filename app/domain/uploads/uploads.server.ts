// A tus upload's life in the domain: what a new upload may be and the room it reserves, who may
// continue or cancel it, and its completion. Where a finished upload lands is in
// `upload-landing.server`; the cleanup of abandoned uploads in `upload-cleanup.server`.
import type { Upload } from "@tus/utils";
import type { Services } from "~/services/index.server";
import { inSpan } from "~/services/tracing/spans.server";
import { auditRefusal, readRefusal, writeRefusal, writeRefusalMessage } from "../sharing/access.server";
import { AppError, ValidationError } from "../errors";
import { detectMimeType } from "../files/files.server";
import { assertNameFree, getWritableFolder } from "../files/folders.server";
import { uploadPolicyFrom } from "../files/versions.server";
import { cleanName } from "../files/names";
import { isId } from "../ids";
import { parseUploadMetadata } from "./upload-metadata";
import { findUploadFolder, parseUploadPath, resolveUploadFolder } from "./upload-paths.server";
import { hashQueue } from "./upload-hash.server";
import {
  type LandedUpload,
  type LandingActivity,
  landUpload,
  NoRoomForOrphanError,
  type PendingFolder,
  UPLOAD_GONE,
} from "./upload-landing.server";
import { assertTypeAllowed, claimUploadRoom, STORAGE_LOCK_TX, tooLargeError, uploadAllowance } from "../files/quota.server";
import { getSettings } from "../admin/settings.server";
import type { SessionUser } from "../accounts/sessions.server";
import { deleteUnreferencedObjects } from "../files/shared-objects.server";

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
): Promise<{ metadata: Record<string, string | null>; pending: PendingWithFolder }> {
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
  // The files of a dropped folder after its first find their folders there already: nothing
  // to create, so nothing to check first.
  const existing = segments.length > 0 ? await findUploadFolder(services, target, segments) : target;
  if (!existing) {
    const allowance = await uploadAllowance(services, target.ownerId, user.id, services.prisma, settings);
    if (upload.size > allowance.maxBytes) throw tooLargeError(allowance);
  }
  // Missing folders of the path are created now (find-or-create, race-safe), so the
  // pending upload points at the deepest one.
  const folder = existing ?? (await resolveUploadFolder(services, target, segments, user.id));
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
  // What a creation that carries the whole file (creation-with-upload) completes with, so its
  // completion need not look the row up again; the folder was live and writable just now.
  const folderNow = { id: folder.id, ownerId: folder.ownerId, trashedAt: null };
  return { metadata, pending: { id: upload.id, ownerId: user.id, folderId: folder.id, name, size: BigInt(size), folder: folderNow } };
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
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

export function completeUpload(...args: Parameters<typeof recordCompletedUpload>): ReturnType<typeof recordCompletedUpload> {
  return inSpan("upload.complete", { "upload.size": args[1].size ?? -1 }, () => recordCompletedUpload(...args));
}

async function recordCompletedUpload(
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
    // An empty upload (finished at creation, no body for the stream hash to see) has a known hash.
    sha256: sha256 ?? (Number(pending.size) === 0 ? EMPTY_SHA256 : null),
  };
  // A name taken meanwhile under "cancel" keeps both rather than losing the bytes just received.
  const policy = uploadPolicyFrom(upload.metadata?.onConflict) === "replace" ? "replace" : "keep-both";
  let landed: LandedUpload;
  try {
    const arrival = {
      name: pending.name,
      folderId: pending.folderId,
      uploaderId: pending.ownerId,
      pendingId: pending.id,
      activity: uploadActivity(pending.ownerId, content.size),
    };
    landed = await landUpload(services, arrival, content, policy, pending.folder);
  } catch (error) {
    if (storageKey !== upload.id) await deleteUnreferencedObjects(services, [storageKey]);
    if (error instanceof NoRoomForOrphanError) {
      await services.prisma.upload.deleteMany({ where: { id: upload.id } });
      await discard();
    }
    throw error;
  }
  const { file, place } = landed;
  if (storageKey !== upload.id) await deleteUnreferencedObjects(services, [upload.id]);
  if (!content.sha256) hashQueue.schedule(services, [file.id]);
  // Where it went: the uploader is told when it was not the folder they chose (it went to the trash).
  return { ...file, place };
}

/** The activity of a file a signed-in user uploaded, recorded where it lands (landUpload). */
export function uploadActivity(uploaderId: string, size: number): LandingActivity {
  return (file, place) => ({
    userId: uploaderId,
    ownerId: file.ownerId,
    action: "file.uploaded",
    subjectType: "file",
    subjectId: file.id,
    details: { name: file.name, size, ...(place === "folder" ? {} : { landedIn: place }) },
  });
}

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
