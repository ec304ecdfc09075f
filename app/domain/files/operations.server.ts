import { randomBytes, randomUUID } from "node:crypto";
import { z } from "zod";
import type { File as FileRecord, Folder, Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { assertCanRead, assertCanWrite, type AccessTarget } from "../sharing/access.server";
import { recordActivity } from "../audit/activity.server";
import { formatBytes } from "~/lib/format";
import { ConflictError, NotFoundError, PayloadTooLargeError, ValidationError } from "../errors";
import { assertTypeAllowed, lockStorage, ownerStorageFullError, STORAGE_LOCK_TX, storageUsage } from "./quota.server";
import { getWritableFolder } from "./folders.server";
import { cleanName, nameKey, numberedName } from "./names";
import type { SessionUser } from "../accounts/sessions.server";
import { getSettings, type Settings } from "../admin/settings.server";
import { scheduleContentIndexing } from "../search/content-index.server";
import { scheduleThumbnails } from "./thumbnails.server";
import { deleteObjectsQuietly, replaceFileContent } from "./versions.server";
import { fileSearchDocument, folderSearchDocument } from "../search/search-documents.server";

type Actor = Pick<SessionUser, "id" | "role">;
type Db = Prisma.TransactionClient;

export type ItemKind = "file" | "folder";
export const itemKindSchema = z.enum(["file", "folder"]);

/** What to do when the target name is already taken in the destination folder. */
export const conflictPolicySchema = z.enum(["keep-both", "replace", "cancel"]);
export type ConflictPolicy = z.infer<typeof conflictPolicySchema>;

/** Most items one folder copy may create, so a single click cannot run for hours. */
export const MAX_COPY_ITEMS = 10_000;
const MAX_NUMBERED_ATTEMPTS = 1000;
const COPY_CONCURRENCY = 8;

export type Item = { kind: "file"; file: FileRecord } | { kind: "folder"; folder: Folder };

export function parsePolicy(raw: unknown): ConflictPolicy {
  const parsed = conflictPolicySchema.safeParse(raw ?? "cancel");
  if (!parsed.success) {
    throw new ValidationError("Choose what to do when the name is taken: keep both, replace or cancel.", {
      policy: "Choose keep both, replace or cancel.",
    });
  }
  return parsed.data;
}

export function parseKind(raw: unknown): ItemKind {
  const parsed = itemKindSchema.safeParse(raw);
  if (!parsed.success) throw new NotFoundError("That item");
  return parsed.data;
}

export function newStorageKey(): string {
  return randomBytes(16).toString("hex");
}

function what(kind: ItemKind) {
  return kind === "file" ? "That file" : "That folder";
}

/** A live (not trashed) item the actor may read; NotFound otherwise, never revealing it exists. */
export async function getReadableItem(services: Services, actor: Actor, kind: ItemKind, id: string): Promise<Item> {
  if (kind === "file") {
    const file = await services.prisma.file.findUnique({ where: { id } });
    if (!file || file.trashedAt) throw new NotFoundError(what(kind));
    await assertCanRead(services, actor, accessTarget({ kind, file }), what(kind));
    return { kind, file };
  }
  const folder = await services.prisma.folder.findUnique({ where: { id } });
  if (!folder || folder.trashedAt) throw new NotFoundError(what(kind));
  await assertCanRead(services, actor, accessTarget({ kind, folder }), what(kind));
  return { kind, folder };
}

/** A live item the actor may change. The root folder is never renamed, moved or trashed. */
export async function getWritableItem(services: Services, actor: Actor, kind: ItemKind, id: string): Promise<Item> {
  const item = await getReadableItem(services, actor, kind, id);
  await assertCanWrite(services, actor, accessTarget(item));
  if (item.kind === "folder" && item.folder.parentId === null) {
    throw new ValidationError("Your top folder (“My files”) cannot be renamed, moved, copied or trashed.");
  }
  return item;
}

export function accessTarget(item: Item): AccessTarget {
  return item.kind === "file"
    ? { kind: "file", id: item.file.id, ownerId: item.file.ownerId, folderId: item.file.folderId }
    : { kind: "folder", id: item.folder.id, ownerId: item.folder.ownerId };
}

export function ownerOf(item: Item): string {
  return item.kind === "file" ? item.file.ownerId : item.folder.ownerId;
}
export function nameOf(item: Item): string {
  return item.kind === "file" ? item.file.name : item.folder.name;
}
export function parentOf(item: Item): string {
  return item.kind === "file" ? item.file.folderId : item.folder.parentId!;
}

type Occupant = { kind: ItemKind; id: string; name: string };

/** The live item named like `name` (case- and normalisation-insensitively) in `parentId`, if any. */
export async function findOccupant(db: Db, parentId: string, name: string, excludeId?: string): Promise<Occupant | null> {
  const key = nameKey(name);
  const notSelf = excludeId ? { id: { not: excludeId } } : {};
  const folder = await db.folder.findFirst({
    where: { parentId, nameKey: key, trashedAt: null, ...notSelf },
    select: { id: true, name: true },
  });
  if (folder) return { kind: "folder", ...folder };
  const file = await db.file.findFirst({
    where: { folderId: parentId, nameKey: key, trashedAt: null, ...notSelf },
    select: { id: true, name: true },
  });
  return file ? { kind: "file", ...file } : null;
}

/** The first of name, "name (1)", "name (2)", … that is free in `parentId`. */
export async function freeName(db: Db, parentId: string, name: string, excludeId?: string): Promise<string> {
  for (let n = 0; n < MAX_NUMBERED_ATTEMPTS; n++) {
    const candidate = n === 0 ? name : numberedName(name, n);
    if (!(await findOccupant(db, parentId, candidate, excludeId))) return candidate;
  }
  throw new ConflictError(`Too many items named like “${name}” in this folder. Choose another name.`);
}

function conflictMessage(name: string, folderLabel: string) {
  return new ConflictError(`“${name}” already exists in ${folderLabel}. Choose another name, keep both, or replace it.`, {
    name: `“${name}” already exists there.`,
  });
}

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string; cause?: { code?: string } };
  return e?.code === "P2002" || e?.cause?.code === "23505" || /unique constraint/i.test(e?.message ?? "");
}

/** Runs `attempt` again when a concurrent change took the name between our check and our write. */
async function retryOnNameRace<T>(attempt: () => Promise<T>, policy: ConflictPolicy, name: string): Promise<T> {
  for (let i = 0; i < 5; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      if (policy === "cancel") throw conflictMessage(name, "this folder");
    }
  }
  throw new ConflictError(`“${name}” is being changed by someone else right now. Please try again.`);
}

function assertReplaceAllowed(item: Item, policy: ConflictPolicy) {
  if (policy === "replace" && item.kind === "folder") {
    throw new ValidationError("Folders cannot replace other folders. Choose “keep both” or “cancel”.", {
      policy: "Replace is only available for files.",
    });
  }
}

type Resolution = { kind: "free"; name: string } | { kind: "replace"; target: FileRecord };

/** Decides, inside the transaction, the name to use or the file to replace. */
async function resolveName(
  db: Db,
  excludeId: string | undefined,
  parentId: string,
  name: string,
  policy: ConflictPolicy,
  folderLabel: string,
): Promise<Resolution> {
  const occupant = await findOccupant(db, parentId, name, excludeId);
  if (!occupant) return { kind: "free", name };
  if (policy === "cancel") throw conflictMessage(occupant.name, folderLabel);
  if (policy === "keep-both") return { kind: "free", name: await freeName(db, parentId, name) };
  if (occupant.kind === "folder") {
    throw new ConflictError(
      `A folder named “${occupant.name}” is already in ${folderLabel}; a file cannot replace a folder. Choose “keep both” or another name.`,
      {
        name: `A folder named “${occupant.name}” is already there.`,
      },
    );
  }
  return { kind: "replace", target: await db.file.findUniqueOrThrow({ where: { id: occupant.id } }) };
}

/**
 * `source` (a file) takes the place of `target`: the target keeps its id, shares and history,
 * its content becomes a version, and the source row goes away (its versions move to the target).
 */
async function replaceWithFile(db: Db, source: FileRecord, target: FileRecord, versionsKept: number) {
  await db.fileVersion.updateMany({ where: { fileId: source.id }, data: { fileId: target.id } });
  await db.file.delete({ where: { id: source.id } });
  return replaceFileContent(db, target, source, versionsKept);
}

async function folderLabel(services: Services, folderId: string): Promise<string> {
  const folder = await services.prisma.folder.findUnique({ where: { id: folderId }, select: { name: true, parentId: true } });
  return !folder || folder.parentId === null ? "My files" : `“${folder.name}”`;
}

export interface OperationResult {
  kind: ItemKind;
  /** The item that now holds the content: the renamed/moved/copied item, or the replaced file. */
  id: string;
  name: string;
  parentId: string;
  replaced: boolean;
}

/** Renames a file or folder in place. */
export async function renameItem(
  services: Services,
  actor: Actor,
  kind: ItemKind,
  id: string,
  rawName: string,
  policy: ConflictPolicy = "cancel",
): Promise<OperationResult> {
  const item = await getWritableItem(services, actor, kind, id);
  assertReplaceAllowed(item, policy);
  const name = cleanName(rawName, kind === "file" ? "File name" : "Folder name");
  // A rename must not turn a file into a type an admin blocked (the upload check would be moot).
  if (kind === "file") await assertTypeAllowed(services, name, "rename");
  const parentId = parentOf(item);
  return relocate(services, actor, item, parentId, name, policy, "renamed");
}

/** Moves a file or folder into another folder of the same owner, keeping its name. */
export async function moveItem(
  services: Services,
  actor: Actor,
  kind: ItemKind,
  id: string,
  destinationId: string,
  policy: ConflictPolicy = "cancel",
): Promise<OperationResult> {
  const item = await getWritableItem(services, actor, kind, id);
  assertReplaceAllowed(item, policy);
  const destination = await getWritableFolder(services, actor, destinationId);
  if (destination.ownerId !== ownerOf(item)) {
    throw new ValidationError("Items can only be moved between folders of the same owner. Copy it instead.");
  }
  if (item.kind === "folder") await assertNotIntoItself(services, item.folder, destination.id);
  if (destination.id === parentOf(item)) {
    throw new ValidationError(`“${nameOf(item)}” is already in that folder. Choose another destination.`, {
      destination: "Choose another folder.",
    });
  }
  return relocate(services, actor, item, destination.id, nameOf(item), policy, "moved");
}

/** Refuses moving a folder into itself or anywhere below it. */
async function assertNotIntoItself(services: Services, folder: Folder, destinationId: string) {
  const rows = await services.prisma.$queryRaw<Array<{ id: string }>>`
    WITH RECURSIVE chain AS (
      SELECT id, parent_id, 0 AS depth FROM folders WHERE id = ${destinationId}
      UNION ALL
      SELECT f.id, f.parent_id, chain.depth + 1 FROM folders f JOIN chain ON f.id = chain.parent_id WHERE chain.depth < 10000
    )
    SELECT id FROM chain WHERE id = ${folder.id}`;
  if (rows.length > 0) {
    throw new ValidationError(
      destinationId === folder.id
        ? `A folder cannot be moved into itself. Choose another destination for “${folder.name}”.`
        : `“${folder.name}” cannot be moved into one of its own subfolders. Choose another destination.`,
      { destination: "Choose a folder outside the one you are moving." },
    );
  }
}

async function relocate(
  services: Services,
  actor: Actor,
  item: Item,
  parentId: string,
  name: string,
  policy: ConflictPolicy,
  verb: "renamed" | "moved",
): Promise<OperationResult> {
  const fromParent = parentOf(item);
  const fromName = nameOf(item);
  const label = await folderLabel(services, parentId);
  const settings = item.kind === "file" && policy === "replace" ? await getSettings(services) : null;
  const outcome = await retryOnNameRace(
    () =>
      services.prisma.$transaction(async (tx) => {
        const resolution = await resolveName(tx, item.kind === "file" ? item.file.id : item.folder.id, parentId, name, policy, label);
        if (resolution.kind === "replace" && item.kind === "file") {
          const { file, orphanKeys } = await replaceWithFile(tx, item.file, resolution.target, settings!.versionsKept);
          await recordActivity(tx, {
            userId: actor.id,
            action: verb === "renamed" ? "file.renamed" : "file.moved",
            subjectType: "file",
            subjectId: item.file.id,
            details: { from: fromName, to: file.name, fromFolderId: fromParent, toFolderId: parentId, replacedFileId: file.id },
          });
          await recordActivity(tx, {
            userId: actor.id,
            action: "file.replaced",
            subjectType: "file",
            subjectId: file.id,
            details: { name: file.name, byFileId: item.file.id },
          });
          return {
            doc: fileSearchDocument(file),
            removed: [item.file.id],
            orphanKeys,
            result: { kind: "file" as const, id: file.id, name: file.name, parentId, replaced: true },
          };
        }
        const finalName = resolution.kind === "free" ? resolution.name : name;
        const details = { from: fromName, to: finalName, fromFolderId: fromParent, toFolderId: parentId };
        if (item.kind === "file") {
          const file = await tx.file.update({
            where: { id: item.file.id },
            data: { name: finalName, nameKey: nameKey(finalName), folderId: parentId },
          });
          await recordActivity(tx, {
            userId: actor.id,
            action: verb === "renamed" ? "file.renamed" : "file.moved",
            subjectType: "file",
            subjectId: file.id,
            details,
          });
          return {
            doc: fileSearchDocument(file),
            removed: [],
            orphanKeys: [],
            result: { kind: "file" as const, id: file.id, name: file.name, parentId, replaced: false },
          };
        }
        const folder = await tx.folder.update({
          where: { id: item.folder.id },
          data: { name: finalName, nameKey: nameKey(finalName), parentId },
        });
        await recordActivity(tx, {
          userId: actor.id,
          action: verb === "renamed" ? "folder.renamed" : "folder.moved",
          subjectType: "folder",
          subjectId: folder.id,
          details,
        });
        return {
          doc: folderSearchDocument(folder),
          removed: [],
          orphanKeys: [],
          result: { kind: "folder" as const, id: folder.id, name: folder.name, parentId, replaced: false },
        };
      }),
    policy,
    name,
  );
  await deleteObjectsQuietly(services, outcome.orphanKeys);
  if (outcome.removed.length > 0) await services.search.remove(outcome.removed);
  await services.search.upsert([outcome.doc]);
  const owner = ownerOf(item);
  services.notifier.toUser(owner, { type: "folder:changed", folderId: parentId });
  if (fromParent !== parentId) services.notifier.toUser(owner, { type: "folder:changed", folderId: fromParent });
  return outcome.result;
}

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
  const storageKey = newStorageKey();
  await services.storage.copy(source.storageKey, storageKey);
  const settings = await getSettings(services);
  try {
    const outcome = await retryOnNameRace(
      () =>
        services.prisma.$transaction(async (tx) => {
          await lockStorage(tx, destination.ownerId);
          await assertRoomFor(services, actor, destination.ownerId, Number(source.size), tx, settings);
          await assertStillLive(tx, destination.id);
          const resolution = await resolveName(tx, undefined, destination.id, source.name, policy, label);
          if (resolution.kind === "replace") {
            if (resolution.target.id === source.id) {
              throw new ConflictError(`A file cannot replace itself. Choose “keep both” to make a copy of “${source.name}” here.`);
            }
            const content = { storageKey, size: source.size, mimeType: source.mimeType, sha256: source.sha256 };
            const { file, orphanKeys } = await replaceFileContent(tx, resolution.target, content, settings.versionsKept);
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
    await services.storage.delete(storageKey).catch(() => {});
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
  const newKeys = files.map(() => newStorageKey());
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
    await Promise.all(Array.from({ length: Math.min(COPY_CONCURRENCY, files.length) }, worker));

    const rootCopyId = newIds.get(source.id)!;
    const outcome = await retryOnNameRace(
      () =>
        services.prisma.$transaction(
          async (tx) => {
            await lockStorage(tx, destination.ownerId);
            await assertRoomFor(services, actor, destination.ownerId, bytes, tx, settings);
            await assertStillLive(tx, destination.id);
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
            await tx.file.createMany({
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
            const newFiles = await tx.file.findMany({ where: { storageKey: { in: newKeys } } });
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
