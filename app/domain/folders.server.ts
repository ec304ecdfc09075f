import type { Services } from "~/services/index.server";
import type { Folder } from "~/generated/prisma/client";
import { canRead, canWrite } from "./access.server";
import { ConflictError, ForbiddenError, NotFoundError } from "./errors";
import { cleanName, nameKey } from "./names";
import type { SessionUser } from "./sessions.server";

type Actor = Pick<SessionUser, "id" | "role">;

export const PAGE_SIZE = 200;

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

/** The folder when the actor may read it; NotFound otherwise (never reveal what exists). */
export async function getReadableFolder(services: Services, actor: Actor, folderId: string | null): Promise<Folder> {
  if (folderId === null) return getRootFolder(services, actor.id);
  const folder = await services.prisma.folder.findUnique({ where: { id: folderId } });
  if (!folder || folder.trashedAt) throw new NotFoundError("That folder");
  if (!(await canRead(services, actor, { kind: "folder", id: folder.id, ownerId: folder.ownerId }))) throw new NotFoundError("That folder");
  return folder;
}

export async function getWritableFolder(services: Services, actor: Actor, folderId: string | null): Promise<Folder> {
  const folder = await getReadableFolder(services, actor, folderId);
  // Readable but not writable (a READ share): say so rather than pretend it is not there.
  if (!(await canWrite(services, actor, { kind: "folder", id: folder.id, ownerId: folder.ownerId }))) {
    throw new ForbiddenError("You can view this folder but not change it: it was shared with you read-only.");
  }
  return folder;
}

export interface Crumb {
  id: string;
  name: string;
  isRoot: boolean;
}

/** Root first, the folder itself last. */
export async function breadcrumbs(services: Services, folder: Folder): Promise<Crumb[]> {
  const rows = await services.prisma.$queryRaw<Array<{ id: string; name: string; parent_id: string | null; depth: number }>>`
    WITH RECURSIVE chain AS (
      SELECT id, name, parent_id, 0 AS depth FROM folders WHERE id = ${folder.id}
      UNION ALL
      SELECT f.id, f.name, f.parent_id, chain.depth + 1 FROM folders f JOIN chain ON f.id = chain.parent_id
      WHERE chain.depth < 1000
    )
    SELECT id, name, parent_id, depth FROM chain ORDER BY depth DESC`;
  return rows.map((row) => ({ id: row.id, name: row.parent_id === null ? "My files" : row.name, isRoot: row.parent_id === null }));
}

export interface FolderListing {
  folders: Array<{ id: string; name: string; updatedAt: Date }>;
  files: Array<{ id: string; name: string; size: number; mimeType: string; updatedAt: Date }>;
  nextCursor: string | null;
}

/**
 * Subfolders, then files by name. Files are paged by key (name, id) so a folder with
 * 100,000 files opens as fast as one with ten.
 */
export async function listFolder(services: Services, folder: Folder, cursor: string | null): Promise<FolderListing> {
  const after = decodeCursor(cursor);
  const [folders, files] = await Promise.all([
    after
      ? Promise.resolve([])
      : services.prisma.folder.findMany({
          where: { parentId: folder.id, trashedAt: null },
          orderBy: [{ nameKey: "asc" }, { id: "asc" }],
          select: { id: true, name: true, updatedAt: true },
        }),
    services.prisma.file.findMany({
      where: {
        folderId: folder.id,
        trashedAt: null,
        ...(after ? { OR: [{ nameKey: { gt: after.key } }, { nameKey: after.key, id: { gt: after.id } }] } : {}),
      },
      orderBy: [{ nameKey: "asc" }, { id: "asc" }],
      take: PAGE_SIZE + 1,
      select: { id: true, name: true, nameKey: true, size: true, mimeType: true, updatedAt: true },
    }),
  ]);
  const page = files.slice(0, PAGE_SIZE);
  const last = page.at(-1);
  return {
    folders,
    files: page.map(({ nameKey: _key, size, ...file }) => ({ ...file, size: Number(size) })),
    nextCursor: files.length > PAGE_SIZE && last ? encodeCursor(last.nameKey, last.id) : null,
  };
}

function encodeCursor(key: string, id: string): string {
  return Buffer.from(JSON.stringify([key, id])).toString("base64url");
}

function decodeCursor(cursor: string | null): { key: string; id: string } | null {
  if (!cursor) return null;
  try {
    const [key, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    return typeof key === "string" && typeof id === "string" ? { key, id } : null;
  } catch {
    return null;
  }
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

export async function createFolder(services: Services, actor: Actor, parentId: string | null, rawName: string) {
  const parent = await getWritableFolder(services, actor, parentId);
  const name = cleanName(rawName, "Folder name");
  await assertNameFree(services, parent.id, name);
  try {
    const folder = await services.prisma.folder.create({
      data: { ownerId: parent.ownerId, parentId: parent.id, name, nameKey: nameKey(name) },
    });
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
