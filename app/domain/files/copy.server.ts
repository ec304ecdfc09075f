// Copying a file (server-side, never through the app) or a whole folder subtree, within the
// destination owner's storage quota.
import { randomUUID } from "node:crypto";
import type { File as FileRecord, Folder, Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { countQuotaRefusal } from "~/services/metrics.server";
import { formatBytes } from "~/lib/format";
import { getSettings, type Settings, versionLimit } from "../admin/settings.server";
import { recordActivity } from "../audit/activity.server";
import { ConflictError, NotFoundError, PayloadTooLargeError, ValidationError } from "../errors";
import { scheduleContentIndexing } from "../search/content-index.server";
import { fileSearchDocument, folderSearchDocument } from "../search/search-documents.server";
import { getWritableFolder } from "./folders.server";
import { assertReplaceAllowed, folderLabel, resolveName, retryOnNameRace } from "./name-conflicts.server";
import { nameKey } from "./names";
import { copyVerdicts } from "./malware-scans.server";
import { type Actor, type ConflictPolicy, getReadableItem, type ItemKind, newStorageKey, type OperationResult } from "./operations.server";
import { lockStorage, ownerStorageFullError, STORAGE_LOCK_TX, storageUsage } from "./quota.server";
import { scheduleThumbnails } from "./thumbnails.server";
import { deleteObjectsQuietly, replaceFileContent } from "./versions.server";
import { claimSharedKeys } from "./shared-objects.server";

type Db = Prisma.TransactionClient;

/** Most items one folder copy may create, so a single click cannot run for hours. */
export const MAX_COPY_ITEMS = 10_000;
const COPY_CONCURRENCY = 8;

/** Copies a file (server-side, never through the app) or a whole folder subtree into a folder. */
export async function copyItem(
  services: Services,
  actor: Actor,
  kind: ItemKind,
  id: string,
  destinationId: string,
  policy: ConflictPolicy = "cancel",
): Promise<OperationResult> {
  const item = await getReadableItem(services, actor, kind, id);
  if (item.kind === "folder" && item.folder.parentId === null) throw new ValidationError("Your top folder (“My files”) cannot be copied.");
  assertReplaceAllowed(item, policy);
  const destination = await getWritableFolder(services, actor, destinationId);
  const label = await folderLabel(services, destination.id);
  return item.kind === "file"
    ? copyFile(services, actor, item.file, destination, policy, label)
    : copyFolder(services, actor, item.folder, destination, policy, label);
}

/**
 * Copies count against the destination owner's storage; refused (413) before any bytes are
 * copied, and checked again under the owner's storage lock (`db` a transaction holding it) where
 * the copy is recorded. Into someone else's shared folder the refusal names the owner but not
 * their usage.
 */
async function assertRoomFor(
  services: Services,
  actor: Actor,
  ownerId: string,
  bytes: number,
  db: Db | Services["prisma"] = services.prisma,
  settings?: Settings,
) {
  const usage = await storageUsage(services, ownerId, db, settings);
  if (usage.quotaBytes !== null && usage.usedBytes + bytes > usage.quotaBytes) {
    countQuotaRefusal("copy");
    if (ownerId !== actor.id) {
      const owner = await db.user.findUnique({ where: { id: ownerId }, select: { name: true } });
      throw ownerStorageFullError(owner?.name ?? null, "copy");
    }
    const left = Math.max(0, usage.quotaBytes - usage.usedBytes);
    throw new PayloadTooLargeError(
      `Not enough room to copy: it needs ${formatBytes(bytes)} and only ${formatBytes(left)} of the storage is left. Nothing was copied.`,
    );
  }
}

/** The destination may have gone to the trash, or away with its owner's account, while bytes were copied. */
async function assertStillLive(tx: Db, folderId: string) {
  if ((await tx.folder.count({ where: { id: folderId, trashedAt: null } })) === 0) throw new NotFoundError("The destination folder");
}

async function copyFile(
  services: Services,
  actor: Actor,
  source: FileRecord,
  destination: Folder,
  policy: ConflictPolicy,
  label: string,
): Promise<OperationResult> {
  await assertRoomFor(services, actor, destination.ownerId, Number(source.size));
  // With deduplication the copy names its source's object (an instant copy); it still counts
  // its full size in the destination owner's storage.
  const shared = services.config.storageDedup;
  const storageKey = shared ? source.storageKey : newStorageKey();
  if (!shared) {
    await services.storage.copy(source.storageKey, storageKey);
    // The same bytes: the copy's object has its source's verdict, no rescan (decision 0040).
    await copyVerdicts(services, [[source.storageKey, storageKey]]);
  }
  const settings = await getSettings(services);
  try {
    const outcome = await retryOnNameRace(
      () =>
        services.prisma.$transaction(async (tx) => {
          await lockStorage(tx, destination.ownerId);
          await assertRoomFor(services, actor, destination.ownerId, Number(source.size), tx, settings);
          await assertStillLive(tx, destination.id);
          if (shared && !(await claimSharedKeys(tx, [storageKey]))) throw new NotFoundError("That file");
          const resolution = await resolveName(tx, undefined, destination.id, source.name, policy, label);
          if (resolution.kind === "replace") {
            if (resolution.target.id === source.id) {
              throw new ConflictError(`A file cannot replace itself. Choose “keep both” to make a copy of “${source.name}” here.`);
            }
            const content = { storageKey, size: source.size, mimeType: source.mimeType, sha256: source.sha256 };
            const { file, orphanKeys } = await replaceFileContent(tx, resolution.target, content, versionLimit(settings));
            await recordActivity(tx, {
              userId: actor.id,
              action: "file.copied",
              subjectType: "file",
              subjectId: source.id,
              details: { name: source.name, toFolderId: destination.id, copyId: file.id },
            });
            await recordActivity(tx, {
              userId: actor.id,
              action: "file.replaced",
              subjectType: "file",
              subjectId: file.id,
              details: { name: file.name, byFileId: source.id },
            });
            return { file, orphanKeys, replaced: true };
          }
          const file = await tx.file.create({
            data: {
              ownerId: destination.ownerId,
              folderId: destination.id,
              name: resolution.name,
              nameKey: nameKey(resolution.name),
              size: source.size,
              mimeType: source.mimeType,
              sha256: source.sha256,
              storageKey,
            },
          });
          await recordActivity(tx, {
            userId: actor.id,
            action: "file.copied",
            subjectType: "file",
            subjectId: source.id,
            details: { name: source.name, toFolderId: destination.id, copyId: file.id, copyName: file.name },
          });
          return { file, orphanKeys: [] as string[], replaced: false };
        }, STORAGE_LOCK_TX),
      policy,
      source.name,
    );
    await deleteObjectsQuietly(services, outcome.orphanKeys);
    await services.search.upsert([fileSearchDocument(outcome.file)]);
    services.notifier.toUser(destination.ownerId, { type: "folder:changed", folderId: destination.id });
    scheduleThumbnails(services, [outcome.file]);
    scheduleContentIndexing(services, [outcome.file]);
    return { kind: "file", id: outcome.file.id, name: outcome.file.name, parentId: destination.id, replaced: outcome.replaced };
  } catch (error) {
    if (!shared) await deleteObjectsQuietly(services, [storageKey]);
    throw error;
  }
}

/** Every live folder and file below (and including) `rootId`, parents before children. */
async function liveSubtree(db: Db | Services["prisma"], rootId: string) {
  const folders = await db.$queryRaw<Array<{ id: string; parent_id: string | null; name: string; depth: number }>>`
    WITH RECURSIVE sub AS (
      SELECT id, parent_id, name, 0 AS depth FROM folders WHERE id = ${rootId} AND trashed_at IS NULL
      UNION ALL
      SELECT f.id, f.parent_id, f.name, sub.depth + 1 FROM folders f JOIN sub ON f.parent_id = sub.id WHERE f.trashed_at IS NULL
    )
    SELECT id, parent_id, name, depth FROM sub ORDER BY depth`;
  const files = folders.length ? await db.file.findMany({ where: { folderId: { in: folders.map((f) => f.id) }, trashedAt: null } }) : [];
  return { folders, files };
}

async function copyFolder(
  services: Services,
  actor: Actor,
  source: Folder,
  destination: Folder,
  policy: ConflictPolicy,
  label: string,
): Promise<OperationResult> {
  const { folders, files } = await liveSubtree(services.prisma, source.id);
  if (folders.some((f) => f.id === destination.id)) {
    throw new ValidationError(`“${source.name}” cannot be copied into itself or one of its own subfolders. Choose another destination.`, {
      destination: "Choose a folder outside the one you are copying.",
    });
  }
  if (folders.length + files.length > MAX_COPY_ITEMS) {
    throw new ValidationError(
      `“${source.name}” holds more than ${MAX_COPY_ITEMS.toLocaleString("en")} items, too many to copy at once. Copy its subfolders one by one.`,
    );
  }
  const bytes = files.reduce((sum, f) => sum + Number(f.size), 0);
  await assertRoomFor(services, actor, destination.ownerId, bytes);
  const settings = await getSettings(services);
  const newIds = new Map(folders.map((f) => [f.id, randomUUID().replace(/-/g, "")]));
  // With deduplication the copies name their sources' objects; without, each gets its own.
  const shared = services.config.storageDedup;
  const newKeys = files.map((file) => (shared ? file.storageKey : newStorageKey()));
  const copied: string[] = [];
  try {
    // Server-side copies, a few at a time; the bytes never pass through the app.
    let next = 0;
    const worker = async () => {
      while (next < files.length) {
        const index = next++;
        await services.storage.copy(files[index].storageKey, newKeys[index]);
        copied.push(newKeys[index]);
      }
    };
    if (!shared) {
      await Promise.all(Array.from({ length: Math.min(COPY_CONCURRENCY, files.length) }, worker));
      await copyVerdicts(
        services,
        files.map((file, index) => [file.storageKey, newKeys[index]]),
      );
    }

    const rootCopyId = newIds.get(source.id)!;
    const outcome = await retryOnNameRace(
      () =>
        services.prisma.$transaction(
          async (tx) => {
            await lockStorage(tx, destination.ownerId);
            await assertRoomFor(services, actor, destination.ownerId, bytes, tx, settings);
            await assertStillLive(tx, destination.id);
            if (shared && !(await claimSharedKeys(tx, newKeys))) {
              throw new ConflictError(`Files in “${source.name}” were deleted while it was being copied. Nothing was copied; try again.`);
            }
            const resolution = await resolveName(tx, undefined, destination.id, source.name, policy, label);
            const rootName = resolution.kind === "free" ? resolution.name : source.name;
            const ownerId = destination.ownerId;
            await tx.folder.createMany({
              data: folders.map((f) => {
                const isRoot = f.id === source.id;
                const name = isRoot ? rootName : f.name;
                return {
                  id: newIds.get(f.id)!,
                  ownerId,
                  parentId: isRoot ? destination.id : newIds.get(f.parent_id!)!,
                  name,
                  nameKey: nameKey(name),
                };
              }),
            });
            const newFiles = await tx.file.createManyAndReturn({
              data: files.map((file, index) => ({
                ownerId,
                folderId: newIds.get(file.folderId)!,
                name: file.name,
                nameKey: file.nameKey,
                size: file.size,
                mimeType: file.mimeType,
                sha256: file.sha256,
                storageKey: newKeys[index],
              })),
            });
            await recordActivity(tx, {
              userId: actor.id,
              action: "folder.copied",
              subjectType: "folder",
              subjectId: source.id,
              details: {
                name: source.name,
                toFolderId: destination.id,
                copyId: rootCopyId,
                copyName: rootName,
                folders: folders.length,
                files: files.length,
              },
            });
            const newFolders = await tx.folder.findMany({ where: { id: { in: [...newIds.values()] } } });
            return { rootName, newFolders, newFiles };
          },
          { ...STORAGE_LOCK_TX, timeout: 60_000 },
        ),
      policy,
      source.name,
    );
    const docs = [...outcome.newFolders.map(folderSearchDocument), ...outcome.newFiles.map(fileSearchDocument)];
    for (let i = 0; i < docs.length; i += 500) await services.search.upsert(docs.slice(i, i + 500));
    services.notifier.toUser(destination.ownerId, { type: "folder:changed", folderId: destination.id });
    scheduleThumbnails(services, outcome.newFiles);
    scheduleContentIndexing(services, outcome.newFiles);
    return { kind: "folder", id: rootCopyId, name: outcome.rootName, parentId: destination.id, replaced: false };
  } catch (error) {
    await deleteObjectsQuietly(services, copied);
    throw error;
  }
}
