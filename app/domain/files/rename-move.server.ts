// Renaming an item in place and moving it to another folder of the same owner.
import type { File as FileRecord, Folder, Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { recordActivity } from "../audit/activity.server";
import { getSettings, versionLimit } from "../admin/settings.server";
import { ValidationError } from "../errors";
import { fileSearchDocument, folderSearchDocument } from "../search/search-documents.server";
import { removeDeadProperties } from "../webdav/properties.server";
import { getWritableFolder } from "./folders.server";
import { assertReplaceAllowed, folderLabel, resolveName, retryOnNameRace } from "./name-conflicts.server";
import { cleanName, nameKey } from "./names";
import {
  type Actor,
  type ConflictPolicy,
  getWritableItem,
  type Item,
  type ItemKind,
  nameOf,
  type OperationResult,
  ownerOf,
  parentOf,
} from "./operations.server";
import { assertTypeAllowed } from "./quota.server";
import { deleteObjectsQuietly, replaceFileContent } from "./versions.server";
import { assertNotHeld, rethrowHeld } from "./holds.server";

type Db = Prisma.TransactionClient;

/**
 * `source` (a file) takes the place of `target`: the target keeps its id, shares and history,
 * its content becomes a version, and the source row goes away (its versions move to the target).
 */
async function replaceWithFile(db: Db, source: FileRecord, target: FileRecord, versionsKept: number | null) {
  // The source row goes: a held source cannot replace anything (the target, held or not, keeps its content as a version).
  await assertNotHeld(db, "file", source.id, source.name);
  await db.fileVersion.updateMany({ where: { fileId: source.id }, data: { fileId: target.id } });
  await db.file.delete({ where: { id: source.id } });
  await removeDeadProperties(db, [source.id]);
  return replaceFileContent(db, target, source, versionsKept);
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
          const { file, orphanKeys } = await replaceWithFile(tx, item.file, resolution.target, versionLimit(settings!));
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
  ).catch(rethrowHeld);
  await deleteObjectsQuietly(services, outcome.orphanKeys);
  if (outcome.removed.length > 0) await services.search.remove(outcome.removed);
  await services.search.upsert([outcome.doc]);
  const owner = ownerOf(item);
  services.notifier.toUser(owner, { type: "folder:changed", folderId: parentId });
  if (fromParent !== parentId) services.notifier.toUser(owner, { type: "folder:changed", folderId: fromParent });
  return outcome.result;
}
