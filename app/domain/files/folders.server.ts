// Folders: finding one the actor may read or change (the root on demand) and creating one.
// A folder's page of contents is in `folder-listing.server`; its place in the tree (breadcrumbs,
// the sidebar tree, destination pickers) in `folder-tree.server`.
import type { Folder } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import type { SessionUser } from "../accounts/sessions.server";
import { recordActivity } from "../audit/activity.server";
import { ConflictError, NotFoundError } from "../errors";
import { assertCanRead, assertCanWrite } from "../sharing/access.server";
import { cleanName, nameKey } from "./names";

type Actor = Pick<SessionUser, "id" | "role">;

export async function getRootFolder(services: Services, ownerId: string): Promise<Folder> {
  const root = await services.prisma.folder.findFirst({ where: { ownerId, parentId: null } });
  if (root) return root;
  // Accounts get a root at registration; recreate it if it was ever lost.
  try {
    return await services.prisma.folder.create({ data: { ownerId, parentId: null, name: "", nameKey: "" } });
  } catch {
    return services.prisma.folder.findFirstOrThrow({ where: { ownerId, parentId: null } });
  }
}

/** A folder by id, for a caller that has checked access (a share link's chain); throws when it is gone. */
export function folderById(services: Services, folderId: string): Promise<Folder> {
  return services.prisma.folder.findUniqueOrThrow({ where: { id: folderId } });
}

/** The folder when the actor may read it; NotFound otherwise (never reveal what exists). */
export async function getReadableFolder(services: Services, actor: Actor, folderId: string | null): Promise<Folder> {
  if (folderId === null) return getRootFolder(services, actor.id);
  const folder = await services.prisma.folder.findUnique({ where: { id: folderId } });
  if (!folder || folder.trashedAt) throw new NotFoundError("That folder");
  await assertCanRead(services, actor, { kind: "folder", id: folder.id, ownerId: folder.ownerId }, "That folder");
  return folder;
}

export async function getWritableFolder(services: Services, actor: Actor, folderId: string | null): Promise<Folder> {
  const folder = await getReadableFolder(services, actor, folderId);
  // Readable but not writable: say why rather than pretend it is not there.
  await assertCanWrite(services, actor, { kind: "folder", id: folder.id, ownerId: folder.ownerId });
  return folder;
}

/** Throws Conflict when a file or folder of that name (case-insensitively) is already there. */
export async function assertNameFree(services: Services, parentId: string, name: string): Promise<void> {
  const key = nameKey(name);
  const [folder, file] = await Promise.all([
    services.prisma.folder.findFirst({ where: { parentId, nameKey: key, trashedAt: null }, select: { id: true } }),
    services.prisma.file.findFirst({ where: { folderId: parentId, nameKey: key, trashedAt: null }, select: { id: true } }),
  ]);
  if (folder || file) {
    throw new ConflictError(`"${name}" already exists in this folder. Choose another name.`, {
      name: `"${name}" already exists here.`,
    });
  }
}

/**
 * The folder row and, when someone made it, its activity (and so its event), committed together
 * or not at all. A taken name fails with the database's unique violation.
 */
export function insertFolder(
  services: Services,
  parent: Pick<Folder, "id" | "ownerId">,
  name: string,
  actorId: string | null,
): Promise<Folder> {
  return services.prisma.$transaction(async (tx) => {
    const created = await tx.folder.create({ data: { ownerId: parent.ownerId, parentId: parent.id, name, nameKey: nameKey(name) } });
    if (actorId) {
      await recordActivity(tx, {
        userId: actorId,
        ownerId: created.ownerId,
        action: "folder.created",
        subjectType: "folder",
        subjectId: created.id,
        details: { name: created.name, folderId: parent.id },
      });
    }
    return created;
  });
}

export async function createFolder(services: Services, actor: Actor, parentId: string | null, rawName: string) {
  const parent = await getWritableFolder(services, actor, parentId);
  const name = cleanName(rawName, "Folder name");
  await assertNameFree(services, parent.id, name);
  try {
    const folder = await insertFolder(services, parent, name, actor.id);
    await services.search.upsert([
      {
        id: folder.id,
        ownerId: folder.ownerId,
        kind: "folder",
        name: folder.name,
        folderId: parent.id,
        mimeType: null,
        size: null,
        updatedAt: folder.updatedAt,
      },
    ]);
    services.notifier.toUser(folder.ownerId, { type: "folder:changed", folderId: parent.id });
    return folder;
  } catch (error) {
    if ((error as { code?: string }).code === "P2002") {
      throw new ConflictError(`"${name}" already exists in this folder. Choose another name.`, { name: `"${name}" already exists here.` });
    }
    throw error;
  }
}
