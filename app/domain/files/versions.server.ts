import type { File as FileRecord, FileVersion, Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { assertCanRead, assertCanWrite } from "../sharing/access.server";
import { recordActivity } from "../audit/activity.server";
import { offloadableDownloadReply, type FileReply } from "./downloads.server";
import { NotFoundError } from "../errors";
import { addFile, type NewFile, type RecordOptions } from "./files.server";
import { STORAGE_LOCK_TX } from "./quota.server";
import { assertNameFree } from "./folders.server";
import { cleanName, nameKey } from "./names";
import type { SessionUser } from "../accounts/sessions.server";
import { getSettings, versionLimit } from "../admin/settings.server";
import { scheduleContentIndexing } from "../search/content-index.server";
import { scheduleThumbnails } from "./thumbnails.server";
import { fileSearchDocument } from "../search/search-documents.server";
import { deleteUnreferencedObjects } from "./shared-objects.server";
import { heldFileIds } from "./holds.server";

type Actor = Pick<SessionUser, "id" | "role">;
type Db = Prisma.TransactionClient;

/** The content fields of a file: what a version holds. */
export interface FileContent {
  storageKey: string;
  size: bigint;
  mimeType: string;
  sha256: string | null;
  thumbnailKey?: string | null;
}

/**
 * Inside a transaction: the file's current content becomes a FileVersion and `content` becomes
 * current. Returns the updated file and the object keys that are no longer referenced (the old
 * thumbnail, versions beyond `versionsKept`; null keeps them all), to delete once the transaction has committed.
 */
export async function replaceFileContent(
  db: Db,
  file: FileRecord,
  content: FileContent,
  versionsKept: number | null,
): Promise<{ file: FileRecord; orphanKeys: string[] }> {
  await db.fileVersion.create({
    data: {
      fileId: file.id,
      storageKey: file.storageKey,
      size: file.size,
      mimeType: file.mimeType,
      sha256: file.sha256,
      createdAt: file.updatedAt,
    },
  });
  const updated = await db.file.update({
    where: { id: file.id },
    data: {
      storageKey: content.storageKey,
      size: content.size,
      mimeType: content.mimeType,
      sha256: content.sha256,
      thumbnailKey: content.thumbnailKey ?? null,
    },
  });
  const orphanKeys = file.thumbnailKey && file.thumbnailKey !== content.thumbnailKey ? [file.thumbnailKey] : [];
  orphanKeys.push(...(await pruneVersions(db, file.id, versionsKept)));
  return { file: updated, orphanKeys };
}

/**
 * Deletes the oldest version rows beyond `keep` (null: none); returns their object keys. A file
 * on legal hold keeps every version: replacing its content is allowed because nothing is lost.
 */
export async function pruneVersions(db: Db, fileId: string, keep: number | null): Promise<string[]> {
  if (keep === null) return [];
  if ((await heldFileIds(db, [fileId])).has(fileId)) return [];
  const excess = await db.fileVersion.findMany({
    where: { fileId },
    orderBy: [{ replacedAt: "desc" }, { createdAt: "desc" }, { id: "desc" }],
    skip: keep,
    select: { id: true, storageKey: true },
  });
  if (excess.length === 0) return [];
  await db.fileVersion.deleteMany({ where: { id: { in: excess.map((v) => v.id) } } });
  return excess.map((v) => v.storageKey);
}

/**
 * Deletes the objects of rows that were removed, unless another row still names them (a
 * duplicate or a copy shares them: see shared-objects.server.ts); failures only leave orphans,
 * so they are logged.
 */
export async function deleteObjectsQuietly(services: Services, keys: string[]): Promise<void> {
  await deleteUnreferencedObjects(services, keys);
}

async function fileFor(services: Services, actor: Actor, fileId: string, write: boolean): Promise<FileRecord> {
  const file = await services.prisma.file.findUnique({ where: { id: fileId } });
  if (!file || file.trashedAt) throw new NotFoundError("That file");
  const target = { kind: "file", id: file.id, ownerId: file.ownerId, folderId: file.folderId } as const;
  await assertCanRead(services, actor, target, "That file");
  if (write) await assertCanWrite(services, actor, target);
  return file;
}

export async function listVersions(
  services: Services,
  actor: Actor,
  fileId: string,
): Promise<{ file: FileRecord; versions: FileVersion[] }> {
  const file = await fileFor(services, actor, fileId, false);
  const versions = await services.prisma.fileVersion.findMany({
    where: { fileId: file.id },
    orderBy: [{ replacedAt: "desc" }, { createdAt: "desc" }, { id: "desc" }],
  });
  return { file, versions };
}

async function versionFor(services: Services, actor: Actor, versionId: string, write: boolean) {
  const version = await services.prisma.fileVersion.findUnique({ where: { id: versionId } });
  if (!version) throw new NotFoundError("That version");
  try {
    const file = await fileFor(services, actor, version.fileId, write);
    return { version, file };
  } catch (error) {
    if (error instanceof NotFoundError) throw new NotFoundError("That version");
    throw error;
  }
}

/** Streams an earlier version under the file's name, with Range and validators like a download. */
export async function versionDownloadReply(services: Services, actor: Actor, versionId: string, request: Request): Promise<FileReply> {
  const { version, file } = await versionFor(services, actor, versionId, false);
  return offloadableDownloadReply(
    services,
    {
      ...file,
      id: version.id,
      storageKey: version.storageKey,
      size: version.size,
      mimeType: version.mimeType,
      sha256: version.sha256,
      updatedAt: version.createdAt,
    },
    request,
  );
}

/**
 * The chosen version becomes the current content; the current content becomes a version. The
 * owner's usage does not grow (the same contents are counted, fewer if pruning drops one), so
 * this needs no room in their storage.
 */
export async function restoreVersion(services: Services, actor: Actor, versionId: string): Promise<FileRecord> {
  const { version, file } = await versionFor(services, actor, versionId, true);
  const settings = await getSettings(services);
  const { file: updated, orphanKeys } = await services.prisma.$transaction(async (tx) => {
    const current = await tx.file.findUniqueOrThrow({ where: { id: file.id } });
    // Under a legal hold the restored version stays in the list too (a hold keeps every version).
    const held = (await heldFileIds(tx, [file.id])).has(file.id);
    const deleted = held
      ? await tx.fileVersion.count({ where: { id: version.id } })
      : (await tx.fileVersion.deleteMany({ where: { id: version.id } })).count;
    if (deleted === 0) throw new NotFoundError("That version");
    // The restored content is kept even when versionsKept is 0: pruning never touches it.
    const result = await replaceFileContent(
      tx,
      current,
      { storageKey: version.storageKey, size: version.size, mimeType: version.mimeType, sha256: version.sha256 },
      versionLimit(settings),
    );
    await recordActivity(tx, {
      userId: actor.id,
      action: "file.version_restored",
      subjectType: "file",
      subjectId: file.id,
      details: { name: file.name, versionId: version.id, versionCreatedAt: version.createdAt.toISOString() },
    });
    return result;
  });
  await deleteObjectsQuietly(services, orphanKeys);
  await services.search.upsert([fileSearchDocument(updated)]);
  services.notifier.toUser(updated.ownerId, { type: "folder:changed", folderId: updated.folderId });
  scheduleThumbnails(services, [updated]);
  scheduleContentIndexing(services, [updated]);
  return updated;
}

export type UploadPolicy = "keep-both" | "replace" | "cancel";

/** What to do when an uploaded file's name is taken; keep both unless asked otherwise. */
export function uploadPolicyFrom(value: string | null | undefined): UploadPolicy {
  return value === "replace" || value === "cancel" ? value : "keep-both";
}

/**
 * Records an uploaded object in its folder under a conflict policy. "keep-both" is addFile's
 * behaviour; "replace" makes the existing file's content a version and the upload current;
 * "cancel" refuses (409) when the name is taken. The caller deletes `input.storageKey` on error.
 */
export async function addFileWithPolicy(
  services: Services,
  input: NewFile,
  policy: UploadPolicy,
  actorId: string | null = input.ownerId,
  options: RecordOptions = {},
): Promise<FileRecord> {
  if (policy === "keep-both") return addFile(services, input, options);
  const name = cleanName(input.name, "File name");
  if (policy === "cancel") {
    await assertNameFree(services, input.folderId, name);
    return addFile(services, { ...input, name }, options);
  }
  const existing = await services.prisma.file.findFirst({ where: { folderId: input.folderId, nameKey: nameKey(name), trashedAt: null } });
  if (!existing) return addFile(services, { ...input, name }, options);
  const settings = await getSettings(services);
  const { file, orphanKeys } = await services.prisma.$transaction(async (tx) => {
    await options.beforeWrite?.(tx);
    const current = await tx.file.findUniqueOrThrow({ where: { id: existing.id } });
    const result = await replaceFileContent(
      tx,
      current,
      { storageKey: input.storageKey, size: BigInt(input.size), mimeType: input.mimeType, sha256: input.sha256 },
      versionLimit(settings),
    );
    await recordActivity(tx, {
      userId: actorId,
      action: "file.replaced",
      subjectType: "file",
      subjectId: existing.id,
      details: { name: existing.name },
    });
    await options.afterWrite?.(tx, result.file);
    return result;
  }, STORAGE_LOCK_TX);
  await deleteObjectsQuietly(services, orphanKeys);
  await services.search.upsert([fileSearchDocument(file)]);
  services.notifier.toUser(file.ownerId, { type: "folder:changed", folderId: file.folderId });
  scheduleThumbnails(services, [file]);
  scheduleContentIndexing(services, [file]);
  return file;
}
