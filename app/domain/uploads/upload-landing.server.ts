// Where a finished upload lands (a tus upload or a form's): its folder, the trash with its
// folder, or the uploader's root when the folder is gone, claiming the room as it is recorded.
import type { File as FileRecord, Prisma } from "~/generated/prisma/client";
import { formatBytes } from "~/lib/format";
import type { Services } from "~/services/index.server";
import { countQuotaRefusal } from "~/services/metrics.server";
import { getSettings, type Settings } from "../admin/settings.server";
import { AppError, ConflictError, NotFoundError, PayloadTooLargeError } from "../errors";
import { addFile, type NewFile } from "../files/files.server";
import { getRootFolder } from "../files/folders.server";
import { nameKey, numberedName } from "../files/names";
import { lockStorage, STORAGE_LOCK_TX, storageUsage, tooLargeError, uploadAllowance } from "../files/quota.server";
import { addFileWithPolicy, type UploadPolicy } from "../files/versions.server";
import { deduplicateFile } from "../files/shared-objects.server";
import { carryVerdict, noticeInfectedFile, scanningEnabled, verdictOf } from "../files/malware-scans.server";
import { countUsage } from "../analytics/usage.server";
import { type ActivityEntry, recordActivity } from "../audit/activity.server";

export const UPLOAD_GONE =
  "This upload no longer exists: it was cancelled or expired, or the folder it was going into was deleted. Nothing more was saved.";

/**
 * A finished upload on its way into a folder: who sent it (null: a drop-link visitor) and, for a
 * tus upload, its pending row, which holds the room reserved at creation.
 */
type Arrival = { name: string; folderId: string; uploaderId: string | null; pendingId: string | null; activity: LandingActivity };

/** Records the arrival's activity for the file where it landed, in the landing's transaction. */
function recordLanding(arrival: Arrival, place: LandedUpload["place"]) {
  return (tx: Prisma.TransactionClient, file: FileRecord) => recordActivity(tx, arrival.activity(file, place));
}
/** The folder a pending upload goes into, as it was when looked up. */
export type PendingFolder = { id: string; ownerId: string; trashedAt: Date | null };
type UploadContent = Omit<NewFile, "ownerId" | "folderId">;
export type LandedUpload = { file: FileRecord; place: "folder" | "trash" | "root" };
/**
 * The activity of a landed file, recorded (with its event) in the transaction that records the
 * file: no round trip after it, and no event for a file that did not land.
 */
export type LandingActivity = (file: FileRecord, place: LandedUpload["place"]) => ActivityEntry;

/** The upload's folder was trashed, restored or deleted between looking at it and locking it. */
class TargetChangedError extends Error {}

/** The upload's folder is gone and the uploader's own storage cannot take the file. */
export class NoRoomForOrphanError extends PayloadTooLargeError {}

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
  activity: LandingActivity,
): Promise<LandedUpload> {
  // The folder was live when the form began; checked again under the lock.
  const known = { id: into.folderId, ownerId: into.ownerId, trashedAt: null };
  return landUpload(
    services,
    { name: content.name, folderId: into.folderId, uploaderId: into.uploaderId, pendingId: null, activity },
    content,
    policy,
    known,
  );
}

/**
 * `known`: the folder as the request already found it (a tus PATCH), tried first; under the lock,
 * claimInFolder finds out whether it changed since, and the next attempt looks again.
 */
export async function landUpload(
  services: Services,
  arrival: Arrival,
  content: UploadContent,
  policy: UploadPolicy,
  known?: PendingFolder | null,
): Promise<LandedUpload> {
  const placed = await placeUpload(services, arrival, content, policy, known);
  // Contents stored already are kept once; without a hash yet, the hash job does this later.
  const landed = { ...placed, file: await deduplicateFile(services, placed.file) };
  // The verdict of the bytes just stored (decision 0040): carried to the object they were
  // deduplicated into (same SHA-256, same bytes), and the owner told when they are infected.
  if (scanningEnabled(services)) {
    const verdict = await verdictOf(services, placed.file.storageKey);
    if (verdict && landed.file.storageKey !== placed.file.storageKey) await carryVerdict(services, landed.file.storageKey, verdict);
    if (verdict?.status === "infected") await noticeInfectedFile(services, landed.file, verdict.signature);
  }
  countUsage(services, "uploads");
  countUsage(services, "upload_bytes", content.size);
  return landed;
}

async function placeUpload(
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
            afterWrite: recordLanding(arrival, "folder"),
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
    const file = await tx.file.create({
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
    await recordLanding(arrival, "trash")(tx, file);
    return file;
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
          countQuotaRefusal("upload");
          const left = Math.max(0, usage.quotaBytes - usage.usedBytes);
          throw new NoRoomForOrphanError(
            `“${arrival.name}” was not saved: the folder it was uploading into was deleted meanwhile, and your storage has no room for it in My files (it needs ${formatBytes(content.size)}, ${formatBytes(left)} is left). Make room, then upload it again.`,
          );
        }
      },
      afterWrite: recordLanding(arrival, "root"),
    },
  );
}
